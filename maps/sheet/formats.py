"""The sheet formats: one registry ``{format: (media type, render → bytes)}``.

The command line (``gridgen sheet``), the atlas, the demo's map outputs and the service's
``/sheets/{compound}.{format}`` all render through :data:`SHEET_FORMATS`, in memory (no
temporary files). To add a format, write a function ``render(data, options) -> bytes``
and add one :class:`SheetFormat` to the registry; every caller then accepts it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gridgen.errors import UnsupportedFormatError
from maps.assets import AssetMode
from maps.sheet.data import SheetData
from maps.sheet.layout import Orientation, Paper

__all__ = [
    "SHEET_FORMATS",
    "SheetFormat",
    "SheetOptions",
    "render_sheet",
    "sheet_format",
    "write_sheet",
]


@dataclass(frozen=True)
class SheetOptions:
    """How to render a sheet: page (print formats) and where HTML finds Leaflet."""

    paper: Paper = "A4"
    orientation: Orientation = "portrait"
    dpi: float = 150
    assets: AssetMode = "inline"
    static_url: str = "/static"


@dataclass(frozen=True)
class SheetFormat:
    """One output format of the compound sheet."""

    name: str
    media_type: str
    render: Callable[[SheetData, SheetOptions], bytes]


def _png(data: SheetData, options: SheetOptions) -> bytes:
    from maps.sheet.render import figure_png, sheet_figure

    fig = sheet_figure(data, paper=options.paper, orientation=options.orientation, dpi=options.dpi)
    return figure_png(fig, dpi=options.dpi)


def _pdf(data: SheetData, options: SheetOptions) -> bytes:
    import matplotlib as mpl

    from maps.fonts import PDF_RC
    from maps.pdf_font import pdf_font_families
    from maps.sheet.pdf_canvas import print_sheet_pdf
    from maps.sheet.render import sheet_figure

    family = pdf_font_families()
    fig = sheet_figure(
        data, paper=options.paper, orientation=options.orientation, dpi=150, family=family
    )
    buf = io.BytesIO()
    with mpl.rc_context({"font.family": family, **PDF_RC}):  # type: ignore[dict-item]
        print_sheet_pdf(fig, buf)
    return buf.getvalue()


def _html(data: SheetData, options: SheetOptions) -> bytes:
    from maps.sheet.html import sheet_html

    page = sheet_html(data, mode=options.assets, static_url=options.static_url)
    return page.encode("utf-8")


SHEET_FORMATS: dict[str, SheetFormat] = {
    f.name: f
    for f in (
        SheetFormat("png", "image/png", _png),
        SheetFormat("pdf", "application/pdf", _pdf),
        SheetFormat("html", "text/html; charset=utf-8", _html),
    )
}
"""Every sheet format by name (the file suffix without its dot)."""


def sheet_format(name: str) -> SheetFormat:
    """Return the format ``name`` (``png``, ``.PNG`` ...); UnsupportedFormatError otherwise."""
    key = name.lower().removeprefix(".")
    if key not in SHEET_FORMATS:
        known = ", ".join(f".{k}" for k in SHEET_FORMATS)
        msg = f"a sheet is written as {known}; got {name!r}"
        raise UnsupportedFormatError(msg)
    return SHEET_FORMATS[key]


def render_sheet(data: SheetData, fmt: str, options: SheetOptions | None = None) -> bytes:
    """Return the sheet rendered in format ``fmt`` (in memory)."""
    return sheet_format(fmt).render(data, options or SheetOptions())


def write_sheet(data: SheetData, path: str | Path, options: SheetOptions | None = None) -> Path:
    """Write the sheet to ``path`` in the format its suffix names; return the path."""
    out = Path(path)
    body = render_sheet(data, out.suffix, options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)
    return out
