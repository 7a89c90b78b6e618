"""The fonts of sheets and reports: Noto Sans CJK SC on screen and in PNGs, WenQuanYi Zen
Hei (TrueType outlines) in PDFs, registered with matplotlib on first use.

Both come from Debian (``fonts-noto-cjk``, ``fonts-wqy-zenhei``). When matplotlib's font
cache predates a font's installation, the font files are added to the running font
manager, which has the same effect as rebuilding the cache.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

from maps.errors import MissingAssetError

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
    serve_as_regular(PDF_FONT_FAMILY)
    return _registered_family(
        PDF_FONT_FAMILY,
        pattern="wqy-zenhei*",
        package="fonts-wqy-zenhei",
        purpose="write Chinese PDFs",
    )


def serve_as_regular(family: str) -> None:
    """Let the single face of ``family`` serve every weight without a warning per text size.

    WenQuanYi Zen Hei ships one face, weighted 500 (medium): matplotlib draws it for
    normal and bold text alike, and logs "Failed to find font weight" for every text size
    of every PDF. Its registered faces are declared regular (400), and the warning is
    filtered for this family only (other families keep it). Call before the family's first
    look-up; a face registered later keeps its weight, and its warning is filtered too.
    """
    import dataclasses

    from matplotlib import font_manager

    _SINGLE_WEIGHT.add(family)
    logger = logging.getLogger("matplotlib.font_manager")
    if not any(isinstance(f, _SingleWeightFilter) for f in logger.filters):
        logger.addFilter(_SingleWeightFilter())
    manager = font_manager.fontManager
    faces = [i for i, f in enumerate(manager.ttflist) if f.name == family and f.weight != 400]
    for i in faces:
        manager.ttflist[i] = dataclasses.replace(manager.ttflist[i], weight=400)
    if faces:
        manager._findfont_cached.cache_clear()  # type: ignore[attr-defined]


_SINGLE_WEIGHT: set[str] = set()


class _SingleWeightFilter(logging.Filter):
    """Drop matplotlib's "Failed to find font weight" for a family known to have one weight.

    Bold headings of a PDF are drawn in that one face; saying so for every size of every
    page is noise (other families keep the warning).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("findfont: Failed to find font weight"):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) >= 2 and args[1] in _SINGLE_WEIGHT)
