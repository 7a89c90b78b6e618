"""Print renderers of the compound sheet: PNG and PDF (A4/A3, portrait/landscape).

The page is laid out in millimetres on a :class:`matplotlib.figure.Figure` of the exact
paper size (no pyplot, no tight layout: fixed boxes are faster and print identically).
Text uses Noto Sans CJK SC on PNG and WenQuanYi Zen Hei (TrueType outlines, embedded once
as a CID TrueType subset, ``pdf.fonttype`` 42) in PDF, so the PDF's text can be searched and
extracted and poppler finds the font as declared. Building labels are placed without overlaps by
:func:`maps.labels.place_labels`, degrading from a full three-line label to a number.

This module assembles the page and writes the files; the parts live in
:mod:`maps.sheet.layout` (paper sizes and boxes), :mod:`maps.sheet.panel_map` (map panel and
furniture), :mod:`maps.sheet.labels` (building labels) and :mod:`maps.sheet.tables`
(summary and building table); import their names from those modules.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gridgen.io.atomic import atomic_path, write_bytes_atomic
from maps.fonts import PDF_RC, cjk_font_family
from maps.pdf_font import pdf_font_families
from maps.sheet.data import SheetData
from maps.sheet.layout import (
    MM_PER_INCH,
    Orientation,
    Paper,
    sheet_layout,
)
from maps.sheet.panel_map import (
    draw_map_panel,
)
from maps.sheet.pdf_canvas import print_sheet_pdf
from maps.sheet.tables import draw_building_table, draw_summary
from maps.sheet.text import SheetCanvas

__all__ = [
    "figure_png",
    "render_sheet_pdf",
    "render_sheet_png",
    "sheet_figure",
]


def sheet_figure(
    data: SheetData,
    *,
    paper: Paper = "A4",
    orientation: Orientation = "portrait",
    dpi: float = 150,
    family: str | list[str] | None = None,
) -> Figure:
    """Return the compound sheet as a matplotlib figure of the exact paper size.

    Parameters
    ----------
    data
        From :func:`maps.sheet.data.compound_sheet_data`.
    paper
        ``"A4"`` (210 × 297 mm) or ``"A3"`` (297 × 420 mm).
    orientation
        ``"portrait"`` or ``"landscape"``.
    dpi
        Resolution used for PNG output and for label measurement.
    family
        Font family of every text, or families in fallback order (default
        :func:`maps.fonts.cjk_font_family`; PDF output passes
        :func:`maps.pdf_font.pdf_font_families`).
    """
    lay = sheet_layout(paper, orientation, len(data.buildings))
    W, H = lay.page
    family = family or cjk_font_family()
    with mpl.rc_context({"font.family": family, "pdf.fonttype": 42, "axes.unicode_minus": False}):
        fig = Figure(figsize=(W / MM_PER_INCH, H / MM_PER_INCH), dpi=dpi)
        SheetCanvas(fig)
        s = lay.scale
        fig.text(
            12 * s / W,
            (H - 14 * s) / H,
            data.title,
            fontsize=17 * s,
            fontweight="bold",
            va="baseline",
        )
        fig.text(
            12 * s / W,
            (H - 21 * s) / H,
            data.subtitle,
            fontsize=9 * s,
            color="#555555",
            va="baseline",
        )
        fig.text(
            (W - 12 * s) / W,
            (H - 14 * s) / H,
            f"制图日期 {data.made_on}",
            fontsize=8 * s,
            color="#555555",
            ha="right",
            va="baseline",
        )
        fig.add_artist(
            Line2D(
                [12 * s / W, (W - 12 * s) / W],
                [(H - 25 * s) / H] * 2,
                transform=fig.transFigure,
                color="#2f4b7c",
                linewidth=1.6 * s,
            )
        )
        draw_map_panel(fig, lay, data)
        draw_summary(fig, lay, data)
        draw_building_table(fig, lay, data)
        foot = (
            "含受限个人信息，仅限授权人员使用，注意保密" if data.restricted else "不含受限个人信息"
        )
        fig.text(
            12 * s / W,
            8 * s / H,
            f"gridgen · 一小区一图示 · 坐标系 {data.metric_crs.name}",
            fontsize=6.5 * s,
            color="#777777",
        )
        fig.text(
            (W - 12 * s) / W,
            8 * s / H,
            foot,
            fontsize=6.5 * s,
            ha="right",
            color="#b2182b" if data.restricted else "#777777",
        )
    return fig


def render_sheet_png(
    data: SheetData,
    path: str | Path,
    *,
    paper: Paper = "A4",
    orientation: Orientation = "portrait",
    dpi: float = 150,
) -> Path:
    """Write the sheet as a PNG of the paper size at ``dpi``; return the path."""
    fig = sheet_figure(data, paper=paper, orientation=orientation, dpi=dpi)
    return write_bytes_atomic(path, figure_png(fig, dpi=dpi))


def figure_png(fig: Figure, *, dpi: float) -> bytes:
    """Return ``fig`` as PNG bytes (RGB, fast zlib level; ~5x faster than the default save).

    The sheet is opaque, so the alpha channel is dropped; zlib level 1 costs ~3% in size
    against level 6 on these pages but saves most of the encoding time.
    """
    import io

    from PIL import Image

    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    with mpl.rc_context({"font.family": cjk_font_family()}):
        fig.set_dpi(dpi)
        canvas.draw()
    w, h = canvas.get_width_height(physical=True)
    img = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="png", compress_level=1, dpi=(dpi, dpi))
    return buf.getvalue()


def render_sheet_pdf(
    data: SheetData,
    path: str | Path,
    *,
    paper: Paper = "A4",
    orientation: Orientation = "portrait",
) -> Path:
    """Write the sheet as a one-page PDF (text extractable, fonts embedded); return the path."""
    family = pdf_font_families()
    fig = sheet_figure(data, paper=paper, orientation=orientation, dpi=150, family=family)
    with (
        atomic_path(path) as tmp,
        mpl.rc_context({"font.family": family, **PDF_RC}),  # type: ignore[dict-item]
    ):
        print_sheet_pdf(fig, tmp)
    return Path(path)
