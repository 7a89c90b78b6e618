"""Per-file subsetting of the cached PDF font without re-reading it for every PDF.

matplotlib embeds a TrueType font in each PDF by running fontTools' subsetter on the font
*file*: it opens and decompiles ``glyf``, ``hmtx``, ``post`` and ``cmap`` of every glyph of
the source before keeping the few dozen a page uses. For the 7,800-glyph GB 2312 copy of
WenQuanYi (:mod:`maps.pdf_font`) that is ~45-60 ms per file, a fifth of a whole PDF sheet,
and it is the same work for every file.

:class:`CachedFace` reads the font once per process (raw glyph records, advances, the
reverse character map and the small header tables) and :func:`subset_font` assembles the
subset from it with fontTools' table classes in a few milliseconds: the source's glyph
records byte for byte (composite glyphs re-encoded with their components' new glyph ids),
advances and names. This is hand-written because fontTools' subsetter changes the font it
works on, and a copy of the parsed font costs more than re-reading the file (for this font:
``copy.deepcopy`` 0.42 s, unpickling 0.19 s; see ``bench/RESULTS.md``).

:func:`install` routes matplotlib's subsetting of *this* font through it; every other font
still goes through fontTools' own subsetter, and so does this one should the fast path ever
fail.
"""

from __future__ import annotations

import copy
import logging
import struct
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fontTools.ttLib.tables.DefaultTable import DefaultTable

__all__ = ["CachedFace", "cached_face", "install", "subset_font"]

_log = logging.getLogger(__name__)
_FAST_PATHS: set[str] = set()
_INSTALL_LOCK = threading.Lock()
_RAW_TABLES = ("OS/2", "name", "cvt ", "gasp", "fpgm", "prep")
_POST_FIELDS = (
    "italicAngle",
    "underlinePosition",
    "underlineThickness",
    "isFixedPitch",
    "minMemType42",
    "maxMemType42",
    "minMemType1",
    "maxMemType1",
)


@dataclass(frozen=True)
class CachedFace:
    """A TrueType font read once: what a per-file subset needs, never mutated."""

    font: TTFont
    """The parsed font (its ``glyf`` table decodes composite glyphs' components)."""
    order: tuple[str, ...]
    raw: tuple[bytes, ...]
    """The ``glyf`` record of each glyph id, as stored in the file."""
    components: dict[int, tuple[int, ...]]
    """Glyph ids of the components of each composite glyph."""
    metrics: dict[str, tuple[int, int]]
    codepoints: dict[int, tuple[int, ...]]
    """Code points mapped to each glyph id."""
    tables: dict[str, bytes]
    """Tables copied into every subset unchanged, as stored in the file."""


@cache
def cached_face(path: str) -> CachedFace:
    """Return the parsed font at ``path`` (read once per process)."""
    font = TTFont(path)
    order = tuple(font.getGlyphOrder())
    index = {name: gid for gid, name in enumerate(order)}
    data = font.reader["glyf"]
    offsets = font["loca"].locations
    raw = tuple(bytes(data[offsets[i] : offsets[i + 1]]) for i in range(len(order)))
    glyf = font["glyf"]
    components: dict[int, tuple[int, ...]] = {}
    for gid, record in enumerate(raw):
        if len(record) >= 2 and struct.unpack(">h", record[:2])[0] < 0:  # composite
            comps = glyf[order[gid]].components
            components[gid] = tuple(index[c.glyphName] for c in comps)
    codepoints: dict[int, list[int]] = {}
    for cp, name in font.getBestCmap().items():
        codepoints.setdefault(index[name], []).append(cp)
    return CachedFace(
        font=font,
        order=order,
        raw=raw,
        components=components,
        metrics=dict(font["hmtx"].metrics),
        codepoints={gid: tuple(cps) for gid, cps in codepoints.items()},
        tables={t: bytes(font.reader[t]) for t in _RAW_TABLES if t in font.reader},
    )


def _closure(face: CachedFace, gids: Iterable[int]) -> list[int]:
    """Return ``gids`` plus ``.notdef`` and every component they use, sorted."""
    keep = {0}
    todo = [int(g) for g in gids]
    while todo:
        gid = todo.pop()
        if gid in keep:
            continue
        keep.add(gid)
        todo.extend(face.components.get(gid, ()))
    return sorted(keep)


def _glyf_table(face: CachedFace, kept: list[int], order: list[str]) -> Any:
    """Return a ``glyf`` table of the kept glyphs: records unchanged, composites re-encoded."""
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for gid, name in zip(kept, order, strict=True):
        glyph = Glyph(face.raw[gid])
        if gid in face.components:
            glyph.expand(face.font["glyf"])  # component ids -> names; new ids on compile
        glyf.glyphs[name] = glyph
    return glyf


def _cmap_table(face: CachedFace, kept: list[int]) -> Any:
    """Return a Windows Unicode BMP (3, 1) format 4 ``cmap`` of the kept glyphs."""
    sub = CmapSubtable.newSubtable(4)
    sub.platformID, sub.platEncID, sub.language = 3, 1, 0
    sub.cmap = {
        cp: face.order[g] for g in kept for cp in face.codepoints.get(g, ()) if cp <= 0xFFFF
    }
    table = newTable("cmap")
    table.tableVersion = 0
    table.tables = [sub]
    return table


def _post_table(face: CachedFace) -> Any:
    """Return a format 3 ``post`` (no glyph names) with the source's other fields."""
    source = face.font["post"]
    post = newTable("post")
    for field in _POST_FIELDS:
        setattr(post, field, getattr(source, field))
    post.formatType = 3.0
    return post


def subset_font(face: CachedFace, gids: Iterable[int]) -> tuple[TTFont, dict[int, int]]:
    """Return a font holding the glyphs ``gids`` of ``face`` and the old -> new glyph ids.

    Glyph records (outlines, bounding boxes, hinting) and advances are the source's, byte
    for byte; so are ``name``, ``OS/2`` and the hinting tables. ``head``, ``hhea`` and
    ``maxp`` are the source's with the glyph count and loca format of the subset; the
    ``cmap`` is a format 4 table of the kept characters and ``post`` has no glyph names (a
    PDF font does not use them).
    """
    requested = [int(g) for g in gids]
    kept = _closure(face, requested)
    new_id = {gid: i for i, gid in enumerate(kept)}
    order = [face.order[g] for g in kept]
    font = TTFont(recalcBBoxes=False, recalcTimestamp=False)
    font.setGlyphOrder(order)
    for tag in ("head", "hhea", "maxp"):
        font[tag] = copy.deepcopy(face.font[tag])
    for tag, data in face.tables.items():
        table = DefaultTable(tag)
        table.data = data
        font[tag] = table
    font["glyf"] = _glyf_table(face, kept, order)
    font["loca"] = newTable("loca")
    hmtx = newTable("hmtx")
    hmtx.metrics = {name: face.metrics[name] for name in order}
    font["hmtx"] = hmtx
    font["cmap"] = _cmap_table(face, kept)
    font["post"] = _post_table(face)
    return font, {g: new_id[g] for g in requested}


SubsetFn = Callable[[Any, Any], AbstractContextManager[Any]]


def install(path: Path) -> None:
    """Route matplotlib's per-file subsetting of the font at ``path`` through :func:`subset_font`.

    Idempotent and thread-safe; other fonts keep fontTools' subsetter.
    """
    from matplotlib.backends import _backend_pdf_ps

    with _INSTALL_LOCK:
        _FAST_PATHS.add(str(path))
        current = _backend_pdf_ps.get_glyphs_subset
        if getattr(current, "_gridgen_fast", False):
            return
        original: SubsetFn = current

        def get_glyphs_subset(fontfile: Any, glyphs: Any) -> AbstractContextManager[Any]:
            fname = str(getattr(fontfile, "path", fontfile))
            index = int(getattr(fontfile, "face_index", 0) or 0)
            if fname in _FAST_PATHS and index == 0:
                try:
                    font, mapping = subset_font(cached_face(fname), glyphs)
                    return _backend_pdf_ps.SubsetResults(font, mapping)._as_cm()
                except Exception:  # pragma: no cover - fall back to fontTools, still correct
                    _log.exception("fast font subset failed; using fontTools' subsetter")
            return original(fontfile, glyphs)

        get_glyphs_subset._gridgen_fast = True  # type: ignore[attr-defined]
        get_glyphs_subset.__wrapped__ = original  # type: ignore[attr-defined]
        _backend_pdf_ps.get_glyphs_subset = get_glyphs_subset
