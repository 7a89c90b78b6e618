"""Fast text rendering for the PNG sheet: an Agg canvas that caches glyphs across sheets.

Matplotlib's Agg backend shapes every text line with HarfBuzz (via raqm) and loads every
glyph from the font twice (measure, then draw) before rendering it. With Noto Sans CJK (a
20 MB CFF font) that costs ~0.13 ms per line plus ~40 µs per glyph per pass, about half of
a sheet's time. :class:`SheetCanvas` draws the same glyphs from process-wide caches:

- per character: glyph index, hinted advance and ink box (loaded once per font and size);
- per glyph and sub-pixel phase: the rendered bitmap (rendered once per font and size).

Line metrics are computed exactly as FreeType's ``set_text`` reports them (width = sum of
the advances, height and descent = ink box), so layout is unchanged. The only difference
to matplotlib's own drawing is that each line's origin is snapped to a whole pixel (as
matplotlib's Agg did up to 3.x), which moves text by at most half a pixel.

Strings that could need real shaping (Latin letters: kerning; mathtext; rotation; font
features or a language) take matplotlib's own path, so the output stays correct for any
text. Hand-written because matplotlib has no glyph cache: on the sample district the
canvas draw of a dense A4 sheet went from ~0.32 s to ~0.17 s, the whole PNG sheet from
0.38 s to ~0.22 s on average (bench/sheets.py); the text metrics are identical to
matplotlib's for every string of those sheets.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import fontManager, get_font
from matplotlib.ft2font import FT2Font, RenderMode

__all__ = ["SheetCanvas"]

# Latin letters may kern or form ligatures (HarfBuzz); such strings use matplotlib's path.
_NEEDS_SHAPING = re.compile(r"[A-Za-z\u0300-\u036f\u0590-\u08ff\u0900-\u0dff]")
# (font file, face, size, dpi, flags, char) -> (glyph index, advance 26.6, ink box 26.6)
_GLYPHS: dict[tuple[Any, ...], tuple[int, int, tuple[int, int, int, int]]] = {}
# (font file, face, size, dpi, flags, glyph, x phase, antialiased) -> (left, top, buffer)
_BITMAPS: dict[tuple[Any, ...], tuple[int, int, np.ndarray]] = {}
_IDENTITY = [[0x10000, 0], [0, 0x10000]]
_MAX_ENTRIES = 200_000  # a safety valve for long-running services; ~100 MB at most


def _font_key(font: FT2Font, size: float, dpi: float) -> tuple[Any, ...]:
    return (font.fname, font.face_index, size, dpi, get_hinting_flag())


def _glyphs(
    font: Any, key: tuple[Any, ...], s: str
) -> list[tuple[int, int, tuple[int, int, int, int]]]:
    """Return (glyph index, advance, ink box) per character of ``s`` (cached)."""
    out = []
    flags = get_hinting_flag()
    for ch in s:
        k = (*key, ch)
        g = _GLYPHS.get(k)
        if g is None:
            if len(_GLYPHS) > _MAX_ENTRIES:
                _GLYPHS.clear()
            font._set_transform(_IDENTITY, [0, 0])
            glyph = font.load_char(ord(ch), flags=flags)
            bx0, by0, bx1, by1 = (int(v) for v in glyph.bbox)
            g = (int(font.get_char_index(ord(ch))), int(glyph.horiAdvance), (bx0, by0, bx1, by1))
            _GLYPHS[k] = g
        out.append(g)
    return out


class SheetRenderer(RendererAgg):
    """Agg renderer that measures and draws plain horizontal text from glyph caches."""

    def _fast_font(self, s: str, prop: Any) -> tuple[Any, tuple[Any, ...]] | None:
        if not s or _NEEDS_SHAPING.search(s):
            return None
        font = get_font(fontManager._find_fonts_by_props(prop))
        size = prop.get_size_in_points()
        font.set_size(size, self.dpi)
        return font, _font_key(font, size, self.dpi)

    def get_text_width_height_descent(
        self, s: str, prop: Any, ismath: Any
    ) -> tuple[float, float, float]:
        """Return (width, height, descent) in pixels, as FreeType's ``set_text`` does."""
        fast = None if ismath else self._fast_font(s, prop)
        if fast is None:
            return super().get_text_width_height_descent(s, prop, ismath)  # type: ignore[no-any-return]
        font, key = fast
        pen = 0
        x0 = y0 = 1 << 40
        x1 = y1 = -(1 << 40)
        for _, adv, (bx0, by0, bx1, by1) in _glyphs(font, key, s):
            if bx1 > bx0:  # a blank has no ink
                x0, x1 = min(x0, pen + bx0), max(x1, pen + bx1)
                y0, y1 = min(y0, by0), max(y1, by1)
            pen += adv
        if y1 < y0:
            y0 = y1 = 0
        return pen / 64.0, (y1 - y0) / 64.0, -y0 / 64.0

    def draw_text(  # noqa: PLR0917 (matplotlib's signature)
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: Any,
        angle: float,
        ismath: Any = False,
        mtext: Any = None,
    ) -> None:
        """Draw ``s`` with its origin snapped to a whole pixel, from cached glyph bitmaps."""
        fast = None if ismath or angle % 360 else self._fast_font(s, prop)
        if fast is None or (
            mtext is not None
            and (mtext.get_fontfeatures() is not None or mtext.get_language() is not None)
        ):
            super().draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
            return
        font, key = fast
        aa = bool(gc.get_antialiased())
        flags = get_hinting_flag()
        ox = round(x)
        base = round(self.height - y)  # baseline, FreeType's y is upwards
        canvas_h = int(self.height)
        pen = 0
        draw = self._renderer.draw_text_image
        for index, adv, box in _glyphs(font, key, s):
            if box[2] > box[0]:
                phase = pen % 64
                bk = (*key, index, phase, aa)
                bm = _BITMAPS.get(bk)
                if bm is None:
                    if len(_BITMAPS) > _MAX_ENTRIES:
                        _BITMAPS.clear()
                    font._set_transform(_IDENTITY, [phase, 0])
                    bitmap = font._render_glyph(
                        index, flags, RenderMode.NORMAL if aa else RenderMode.MONO
                    )
                    buf = np.array(bitmap.buffer, copy=True)
                    if not aa:
                        buf *= 0xFF
                    bm = (int(bitmap.left), int(bitmap.top), buf)
                    _BITMAPS[bk] = bm
                    font._set_transform(_IDENTITY, [0, 0])
                left, top, buf = bm
                if buf.size:
                    draw(
                        buf,
                        ox + pen // 64 + left,
                        canvas_h - (base + top) + buf.shape[0],
                        0,
                        gc,
                    )
            pen += adv


class SheetCanvas(FigureCanvasAgg):
    """Agg canvas whose renderer is :class:`SheetRenderer`."""

    def get_renderer(self) -> RendererAgg:
        """Return the (reused) renderer for the figure's size and dpi."""
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = SheetRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
