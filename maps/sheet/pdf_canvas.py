"""Faster text in the PDF sheet: a PDF canvas that caches font look-ups and text metrics.

matplotlib's PDF renderer resolves the font of every text twice (measure, then draw), each
time through the font manager (``_find_fonts_by_props`` walks the family list, fallbacks
included), and measures every string with a full HarfBuzz layout, although a sheet and an
atlas repeat the same strings ("楼栋长", headings, numbers) many times, and it lays out
and encodes every string again each time it draws it.
:class:`SheetRendererPdf` keeps, per page, the resolved font files of each font
property, per process, the metrics of each (string, font files, size), and, per PDF file,
the encoded text object of each string drawn: the values are the ones matplotlib computes,
so layout and output are unchanged, byte for byte.

Use :func:`print_sheet_pdf` instead of ``Figure.savefig(format="pdf")`` (it also accepts a
:class:`~matplotlib.backends.backend_pdf.PdfPages` for an atlas page).
"""

from __future__ import annotations

import math
import weakref
from pathlib import Path
from typing import IO, Any

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_pdf import FigureCanvasPdf, Op, PdfFile, PdfPages, RendererPdf
from matplotlib.figure import Figure
from matplotlib.ft2font import LoadFlags

__all__ = ["SheetRendererPdf", "print_sheet_pdf"]

# (string, font files, size in points) -> (width, height, descent) in points
_METRICS: dict[tuple[Any, ...], tuple[float, float, float]] = {}
_MAX_ENTRIES = 100_000
# PDF file -> (string, font files, size, features, language) -> its text object's bytes
_TEXT_BODIES: weakref.WeakKeyDictionary[PdfFile, dict[tuple[Any, ...], bytes]] = (
    weakref.WeakKeyDictionary()
)


def _prop_key(prop: Any) -> tuple[Any, ...]:
    return (
        tuple(prop.get_family()),
        prop.get_style(),
        prop.get_variant(),
        prop.get_weight(),
        prop.get_stretch(),
        prop.get_size_in_points(),
        prop.get_file(),
    )


class SheetRendererPdf(RendererPdf):
    """PDF renderer that resolves each font once per page and caches text metrics."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fnames: dict[tuple[Any, ...], Any] = {}

    def _font_files(self, prop: Any) -> Any:
        key = _prop_key(prop)
        fnames = self._fnames.get(key)
        if fnames is None:
            fnames = font_manager.fontManager._find_fonts_by_props(prop)
            self._fnames[key] = fnames
        return fnames

    def _get_font_ttf(self, prop: Any) -> Any:
        """Return the FT2Font of ``prop`` at its size, as matplotlib's renderer does."""
        font = font_manager.get_font(self._font_files(prop))
        font.clear()
        font.set_size(prop.get_size_in_points(), 72)
        return font

    def get_text_width_height_descent(
        self, s: str, prop: Any, ismath: Any
    ) -> tuple[float, float, float]:
        """Return (width, height, descent) in points, cached per string, font and size."""
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)  # type: ignore[no-any-return]
        key = (s, tuple(self._font_files(prop)), prop.get_size_in_points())
        hit = _METRICS.get(key)
        if hit is None:
            if len(_METRICS) > _MAX_ENTRIES:
                _METRICS.clear()
            font = self._get_font_ttf(prop)
            font.set_text(s, 0.0, flags=LoadFlags.NO_HINTING)
            w, h = font.get_width_height()
            hit = (w / 64, h / 64, font.get_descent() / 64)
            _METRICS[key] = hit
        return hit

    def draw_text(  # type: ignore[override]  # noqa: PLR0917 (matplotlib's signature)
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
        """Draw ``s`` as matplotlib does, replaying the text object of a string already drawn.

        In one PDF file, a string in a given font and size always yields the same text
        object (font resources, glyph codes and kerning; its glyphs are tracked for the
        file's font subset when first drawn); only its placement differs. The first drawing
        goes through matplotlib and its text object is kept; later ones write the placement
        and the kept bytes.
        """
        if ismath or gc.get_url() is not None or mpl.rcParams["pdf.use14corefonts"]:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        self.check_gc(gc, gc._rgb)
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        key = (s, tuple(self._font_files(prop)), prop.get_size_in_points(), features, language)
        bodies = _TEXT_BODIES.setdefault(self.file, {})
        body = bodies.get(key)
        if body is None:
            body = bodies[key] = self._captured_text(gc, s, prop, mtext)
        a = math.radians(angle)
        self.file.output(Op.gsave)
        self.file.output(
            math.cos(a), math.sin(a), -math.sin(a), math.cos(a), x, y, Op.concat_matrix
        )
        self.file.write(body)

    def _captured_text(self, gc: Any, s: str, prop: Any, mtext: Any) -> bytes:
        """Return what matplotlib writes for ``s`` after its placement (text object, restore)."""
        chunks: list[bytes] = []
        self.file.write = chunks.append  # type: ignore[method-assign]
        try:
            super().draw_text(gc, 0.0, 0.0, s, prop, 0.0, False, mtext)
        finally:
            del self.file.write
        head, matrix, body = b"".join(chunks).split(b"\n", 2)
        if head != b"q" or not matrix.endswith(b" cm"):  # pragma: no cover - matplotlib changed
            msg = f"unexpected PDF text output from matplotlib: {head!r} {matrix!r}"
            raise RuntimeError(msg)
        return body


class _SheetCanvasPdf(FigureCanvasPdf):
    def print_pdf(  # type: ignore[override]
        self, filename: str | Path | IO[bytes] | PdfPages, *, metadata: dict[str, Any] | None = None
    ) -> None:
        fig = self.figure
        dpi = fig.dpi
        width, height = fig.get_size_inches()
        file = filename._ensure_file() if isinstance(filename, PdfPages) else None
        own = file is None
        if file is None:
            file = PdfFile(filename, metadata=metadata)
        fig.dpi = 72  # PDF points
        try:
            file.newPage(width, height)
            renderer = MixedModeRenderer(
                fig, width, height, dpi, SheetRendererPdf(file, dpi, height, width)
            )
            fig.draw(renderer)  # type: ignore[arg-type]  # matplotlib does the same
            renderer.finalize()
            if own:
                file.finalize()
        finally:
            fig.dpi = dpi
            if own:
                file.close()
            else:
                file.endStream()


def print_sheet_pdf(fig: Figure, target: str | Path | IO[bytes] | PdfPages) -> None:
    """Write ``fig`` as one PDF page to a path, a binary stream or a ``PdfPages``."""
    _SheetCanvasPdf(fig).print_pdf(target)
