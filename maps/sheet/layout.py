"""Page geometry of the compound sheet: paper sizes, unit conversions and panel boxes.

Everything is in millimetres from the lower left corner of the page; the boxes scale
with the paper's short side (A4 portrait is the reference, type scale 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gridgen.errors import ParameterError

Paper = Literal["A4", "A3"]
Orientation = Literal["portrait", "landscape"]
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
MM_PER_INCH = 25.4
PT_PER_MM = 72.0 / MM_PER_INCH


def page_size_mm(paper: str, orientation: str) -> tuple[float, float]:
    """Return (width, height) in mm of ``paper`` in ``orientation``.

    Raises
    ------
    ParameterError
        For an unknown paper or orientation.
    """
    if paper not in PAPER_MM:
        msg = f"paper must be one of {', '.join(PAPER_MM)}, got {paper!r}"
        raise ParameterError(msg)
    if orientation not in ("portrait", "landscape"):
        msg = f"orientation must be 'portrait' or 'landscape', got {orientation!r}"
        raise ParameterError(msg)
    w, h = PAPER_MM[paper]
    return (w, h) if orientation == "portrait" else (h, w)


@dataclass(frozen=True)
class SheetLayout:
    """Boxes (x, y, w, h) in mm from the lower left corner, and a type scale."""

    page: tuple[float, float]
    scale: float
    map_box: tuple[float, float, float, float]
    summary_box: tuple[float, float, float, float]
    table_box: tuple[float, float, float, float]


def sheet_layout(paper: str, orientation: str, n_buildings: int = 0) -> SheetLayout:
    """Return the page boxes for ``paper`` in ``orientation``.

    With more than 28 buildings a portrait page gives the building table more room.

    Raises
    ------
    ParameterError
        For an unknown paper or orientation.
    """
    w, h = page_size_mm(paper, orientation)
    s = min(w, h) / 210.0
    m = 12 * s
    top = h - 30 * s  # below the title band
    bottom = 18 * s  # above the footer
    if orientation == "portrait":
        many = n_buildings > 28
        map_h = (0.50 if many else 0.56) * (top - bottom)
        map_box = (m, top - map_h, w - 2 * m, map_h)
        lower = top - map_h - 14 * s
        share = 0.33 if many else 0.40
        summary_box = (m, bottom, share * (w - 2 * m), lower - bottom)
        tx = m + (share + 0.03) * (w - 2 * m)
        table_box = (tx, bottom, w - m - tx, lower - bottom)
    else:
        map_w = 0.60 * (w - 2 * m)
        map_box = (m, bottom + 10 * s, map_w, top - bottom - 10 * s)
        rx = m + map_w + 7 * s
        rw = w - m - rx
        summary_h = 0.46 * (top - bottom)
        summary_box = (rx, top - summary_h, rw, summary_h)
        table_box = (rx, bottom, rw, top - summary_h - 5 * s - bottom)
    return SheetLayout((w, h), s, map_box, summary_box, table_box)


def text_width_em(text: str) -> float:
    """Return the approximate width of ``text`` in ems."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.6 for ch in text)
