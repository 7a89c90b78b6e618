"""Faster text in the PDF sheet: a PDF canvas that caches font look-ups and text metrics.

matplotlib's PDF renderer resolves the font of every text twice (measure, then draw), each
time through the font manager (``_find_fonts_by_props`` walks the family list, fallbacks
included), and measures every string with a full HarfBuzz layout, although a sheet and an
atlas repeat the same strings ("楼栋长", headings, numbers) many times.
:class:`SheetRendererPdf` keeps, per page, the resolved font files of each font
property, and, per process, the metrics of each (string, font files, size): the values
are the ones matplotlib computes, so layout and output are unchanged.

Use :func:`print_sheet_pdf` instead of ``Figure.savefig(format="pdf")`` (it also accepts a
:class:`~matplotlib.backends.backend_pdf.PdfPages` for an atlas page).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from matplotlib import font_manager
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_pdf import FigureCanvasPdf, PdfFile, PdfPages, RendererPdf
from matplotlib.figure import Figure
from matplotlib.ft2font import LoadFlags

__all__ = ["SheetRendererPdf", "print_sheet_pdf"]

# (string, font files, size in points) -> (width, height, descent) in points
_METRICS: dict[tuple[Any, ...], tuple[float, float, float]] = {}
_MAX_ENTRIES = 100_000


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
