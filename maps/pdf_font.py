"""A small, cached subset of the PDF font, so that writing a PDF does not parse 45,000 glyphs.

matplotlib's PDF backend subsets the embedded font with fontTools for every file it writes.
fontTools' cost grows with the size of the *source* font (it decompiles ``hmtx``, ``glyf``,
``post`` and ``cmap`` of every glyph): for WenQuanYi Zen Hei (44,960 glyphs) that is ~0.35 s
per PDF, more than the whole PNG sheet. This module builds, once per machine, a copy of the
font restricted to the characters sheets commonly need (printable ASCII, punctuation and
symbols, CJK punctuation, fullwidth forms, and the 6,763 hanzi and the symbols of GB 2312,
which include every character of the sheets' fixed labels), stores it in matplotlib's cache
folder and registers it with the font manager under its own family name (:data:`PDF_SUBSET_FAMILY`).

PDF output then asks for ``[PDF_SUBSET_FAMILY, "WenQuanYi Zen Hei"]``: matplotlib's
per-glyph font fallback takes any character missing from the subset (a rare hanzi of a
name) from the full font, so no text is ever lost or drawn as a box; only such pages embed a
second font (a subset of the full face). The glyph outlines are WenQuanYi's own, unchanged;
the PostScript name stays ``WenQuanYiZenHei``. Each PDF's own subset of this font is then
cut from an in-memory copy (:mod:`maps.pdf_subset`) instead of re-reading the file.
"""

from __future__ import annotations

import hashlib
import io
import logging
from functools import cache
from pathlib import Path

from gridgen.io.atomic import write_bytes_atomic
from maps.errors import MissingAssetError
from maps.pdf_subset import install as install_fast_subset

__all__ = ["PDF_SUBSET_FAMILY", "pdf_font_families", "pdf_subset_path", "subset_chars"]

PDF_SUBSET_FAMILY = "gridgen WenQuanYi Zen Hei"
"""Family name of the cached subset (name IDs 1, 4 and 16; ID 6 is WenQuanYi's own)."""
_VERSION = "2"  # bump when the character set or the build changes
_log = logging.getLogger(__name__)

_RANGES = (
    (0x20, 0x7E),  # printable ASCII
    (0xA0, 0xFF),  # Latin-1 symbols (· ° ² × ±)
    (0x2010, 0x205E),  # general punctuation (— ‘ ’ “ ” … ‰)
    (0x2100, 0x2199),  # letterlike symbols, number forms, arrows (№ Ⅰ ← ↑)
    (0x2460, 0x24FF),  # enclosed alphanumerics (① ⑴)
    (0x25A0, 0x25FF),  # geometric shapes (■ ● ▲)
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF01, 0xFF5E),  # fullwidth forms
)


def subset_chars() -> frozenset[int]:
    """Return the code points the subset is built from (before the font's own coverage)."""
    chars = {c for lo, hi in _RANGES for c in range(lo, hi + 1)}
    # GB 2312: symbols (rows 1-9) and its 6,763 hanzi (level 1, the 3,755 most frequent, in
    # rows 16-55; level 2 in rows 56-87), which cover nearly all names of places and people.
    for row in (*range(0xA1, 0xAA), *range(0xB0, 0xF8)):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def _cache_path(source: Path) -> Path:
    import fontTools
    import matplotlib as mpl

    st = source.stat()
    key = f"{_VERSION}|{source}|{st.st_size}|{st.st_mtime_ns}|{fontTools.version}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(mpl.get_cachedir()) / "gridgen" / f"wqy-zenhei-subset-{digest}.ttf"


def _build(source: Path, face_index: int) -> bytes:
    """Return the subset font's bytes (fontTools; ~1.5 s for WenQuanYi Zen Hei)."""
    from fontTools import subset

    options = subset.Options(
        glyph_names=True,  # post format 2: matplotlib's per-file subsetting keeps names
        recommended_glyphs=True,
        notdef_outline=True,
        name_IDs=["*"],
        name_languages=["*"],
        name_legacy=True,
        font_number=face_index,
    )
    # Horizontal text only: no OpenType layout (WenQuanYi's GSUB holds vertical forms).
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BDF", "FFTM", "EBDT", "EBLC", "EBSC"]
    options.layout_features = []
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    with subset.load_font(str(source), options) as font:
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(unicodes=subset_chars())
        subsetter.subset(font)
        name = font["name"]
        for rec in name.names:
            if rec.nameID in (1, 4, 16):
                rec.string = PDF_SUBSET_FAMILY
        font["OS/2"].usWeightClass = 400  # one regular face: no weight-mismatch warnings
        buf = io.BytesIO()
        font.save(buf)
    return buf.getvalue()


@cache
def pdf_subset_path() -> Path:
    """Return the cached subset font file, building and registering it on first use.

    Raises
    ------
    MissingAssetError
        When WenQuanYi Zen Hei is not installed.
    """
    from matplotlib import font_manager

    from maps.fonts import PDF_FONT_FAMILY, pdf_font_family, serve_as_regular

    pdf_font_family()
    found = font_manager.findfont(PDF_FONT_FAMILY, fallback_to_default=False)
    source = Path(found)
    face = next(
        (
            f
            for f in font_manager.fontManager.ttflist
            if f.name == PDF_FONT_FAMILY and Path(f.fname) == source
        ),
        None,
    )
    if face is None:  # pragma: no cover (findfont found it)
        msg = f"font {PDF_FONT_FAMILY!r} is not registered with matplotlib"
        raise MissingAssetError(msg)
    path = _cache_path(source)
    if not path.is_file():
        _log.info("building the PDF font subset %s from %s", path, source)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, _build(source, getattr(face, "index", 0) or 0))
    font_manager.fontManager.addfont(str(path))
    serve_as_regular(PDF_SUBSET_FAMILY)
    install_fast_subset(path)
    return path


def pdf_font_families() -> list[str]:
    """Return the font families of PDF output: the cached subset, then the full font."""
    from maps.fonts import PDF_FONT_FAMILY

    pdf_subset_path()
    return [PDF_SUBSET_FAMILY, PDF_FONT_FAMILY]
