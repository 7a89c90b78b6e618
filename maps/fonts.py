"""The fonts of sheets and reports: Noto Sans CJK SC on screen and in PNGs, WenQuanYi Zen
Hei (TrueType outlines) in PDFs, registered with matplotlib on first use.

Both come from Debian (``fonts-noto-cjk``, ``fonts-wqy-zenhei``). When matplotlib's font
cache predates a font's installation, the font files are added to the running font
manager, which has the same effect as rebuilding the cache.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from gridgen.errors import MissingAssetError

CJK_FONT_FAMILY = "Noto Sans CJK SC"
PDF_FONT_FAMILY = "WenQuanYi Zen Hei"
"""CJK font of PDF output: TrueType outlines, so it embeds as the CID TrueType font it is
(Noto Sans CJK is CFF-flavoured OpenType; matplotlib embeds it as TrueType and poppler
warns "Mismatch between font type and embedded font file")."""
PDF_RC: dict[str, Any] = {"pdf.fonttype": 42, "ps.fonttype": 42}
"""matplotlib settings of PDF output: TrueType (type 42) embedding, text extractable. The
PDF backend sizes its font subsets from ``ps.fonttype`` (256 glyphs for type 3, the
default), which split each CJK font into several embedded copies; 42 embeds it once."""
_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


def _registered_family(family: str, *, pattern: str, package: str, purpose: str) -> str:
    """Return ``family`` once matplotlib finds it, adding files matching ``pattern`` if needed.

    Raises
    ------
    MissingAssetError
        When no installed font file provides ``family`` (the message names the package).
    """
    from matplotlib import font_manager

    try:
        font_manager.findfont(family, fallback_to_default=False)
    except ValueError:
        files = [f for d in _FONT_DIRS if d.is_dir() for f in d.rglob(pattern)]
        for f in sorted(files):
            font_manager.fontManager.addfont(str(f))
        try:
            font_manager.findfont(family, fallback_to_default=False)
        except ValueError:
            msg = (
                f"font {family!r} is not installed: install Debian's {package} "
                f"(apt-get install {package}) to {purpose}"
            )
            raise MissingAssetError(msg) from None
    return family


@cache
def cjk_font_family() -> str:
    """Return the CJK font family for matplotlib (:data:`CJK_FONT_FAMILY`), registering it."""
    return _registered_family(
        CJK_FONT_FAMILY,
        pattern="NotoSansCJK*",
        package="fonts-noto-cjk",
        purpose="render Chinese sheets",
    )


@cache
def pdf_font_family() -> str:
    """Return the CJK font family of PDF output (:data:`PDF_FONT_FAMILY`), registering it."""
    return _registered_family(
        PDF_FONT_FAMILY,
        pattern="wqy-zenhei*",
        package="fonts-wqy-zenhei",
        purpose="write Chinese PDFs",
    )
