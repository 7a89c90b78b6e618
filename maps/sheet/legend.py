"""Legend of the compound sheet's map panel: one row under the map frame.

Lists only what the frame shows: a river, railway or wall is listed when it reaches into
the frame (the sheet's context window is wider than the frame, so a barrier can be drawn
off the page).
"""

from __future__ import annotations

from typing import Any

import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from gridgen.palette import (
    BARRIER_KIND_COLORS,
    COMPOUND_EDGE,
    GRID_EDGE,
    REACH_COLOR,
    UNCOVERED_COLOR,
)
from gridgen.schema import BARRIER_KIND_LABELS, BARRIER_KINDS
from maps.sheet.data import SheetData
from maps.sheet.layout import SheetLayout
from maps.style import property_mode_color

BUILDING_FILL = "#f6d7a7"
BUILDING_EDGE = "#8a5a1c"
CONTEXT_FILL = "#e6e6e6"


def barrier_kinds_in_frame(data: SheetData, extent: tuple[float, float, float, float]) -> list[str]:
    """Return the barrier kinds (in :data:`BARRIER_KINDS` order) that reach into ``extent``.

    Parameters
    ----------
    data
        The sheet's data (its ``context_barriers`` in the metric CRS).
    extent
        The map frame (x0, y0, x1, y1), metric CRS.
    """
    frame = shapely.box(*extent)
    shown = {kind for kind, geom in data.context_barriers if geom.intersects(frame)}
    return [k for k in BARRIER_KINDS if k in shown]


def _station_handles(data: SheetData) -> list[Any]:
    """Return the station's and its reach's legend entries (none without a station)."""
    if data.station is None:
        return []
    return [
        Line2D(
            [],
            [],
            marker="*",
            color=REACH_COLOR,
            linestyle="none",
            markersize=8,
            label=data.station.kind_label,
        ),
        Patch(
            facecolor=REACH_COLOR,
            alpha=0.15,
            edgecolor=REACH_COLOR,
            linestyle="--",
            label=f"服务范围 {data.station.radius_m:.0f} 米",
        ),
    ]


def legend_handles(data: SheetData, *, extent: tuple[float, float, float, float]) -> list[Any]:
    """Return the legend entries of the sheet, in drawing order, for what the frame shows."""
    handles: list[Any] = [
        Patch(
            facecolor=property_mode_color(data.property_mode),
            alpha=0.35,
            edgecolor=COMPOUND_EDGE,
            linewidth=1.2,
            label=f"小区（{data.property_label}）",
        ),
        Patch(facecolor=BUILDING_FILL, edgecolor=BUILDING_EDGE, label="本小区楼栋"),
        Patch(facecolor=CONTEXT_FILL, edgecolor="#cfcfcf", label="周边楼栋"),
    ]
    if data.grid_geometries:
        handles.append(
            Line2D([], [], color=GRID_EDGE, linestyle="--", linewidth=1.4, label="网格边界")
        )
    handles += [
        Line2D([], [], color=BARRIER_KIND_COLORS[k], linewidth=2, label=BARRIER_KIND_LABELS[k])
        for k in barrier_kinds_in_frame(data, extent)
    ]
    if any(b.covered is False for b in data.buildings):
        handles.append(
            Patch(
                facecolor=BUILDING_FILL,
                edgecolor=UNCOVERED_COLOR,
                linewidth=1.4,
                label="未覆盖楼栋",
            )
        )
    return handles + _station_handles(data)


def draw_legend(
    fig: Figure, lay: SheetLayout, data: SheetData, *, extent: tuple[float, float, float, float]
) -> None:
    """Draw the legend as one row under the map frame (``extent``: the frame, metric CRS)."""
    W, H = lay.page
    mx, my, _, _ = lay.map_box
    s = lay.scale
    handles = legend_handles(data, extent=extent)
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(mx / W, (my - 0.8 * s) / H),
        ncol=len(handles) if lay.page[0] > lay.page[1] or len(handles) <= 6 else 4,
        fontsize=6.5 * s,
        frameon=False,
        handlelength=1.5,
        columnspacing=1.2,
        borderaxespad=0.0,
        borderpad=0.1,
    )
