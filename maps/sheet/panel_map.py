"""Map panel of the compound sheet: the compound, its neighbourhood and map furniture.

Draws context roads and buildings, the compound, grid boundaries, buildings (uncovered
ones outlined), the nearest station with its reach (or an arrow at the frame when it is
far), the north arrow, the scale bar and the legend (:mod:`maps.sheet.legend`), then the
building labels (:mod:`maps.sheet.labels`) around those obstacles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrow, Rectangle
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry

from gridgen.palette import (
    BARRIER_KIND_COLORS,
    BARRIER_KIND_WIDTHS_MM,
    COMPOUND_EDGE,
    GRID_EDGE,
    REACH_COLOR,
    UNCOVERED_COLOR,
)
from maps.sheet.data import SheetData, SheetStation
from maps.sheet.labels import draw_building_labels
from maps.sheet.layout import SheetLayout, text_width_em
from maps.sheet.legend import BUILDING_EDGE, BUILDING_FILL, CONTEXT_FILL, draw_legend
from maps.style import property_mode_color

ROAD_COLOR = "#c9c9c9"


def _paths(geoms: list[BaseGeometry]) -> list[MplPath]:
    """Return one matplotlib path per polygonal geometry (holes kept)."""
    out: list[MplPath] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        parts = list(getattr(g, "geoms", [g]))
        verts: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for part in parts:
            if part.geom_type != "Polygon":
                continue
            for ring in (part.exterior, *part.interiors):
                xy = np.asarray(ring.coords)
                c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                c[0] = MplPath.MOVETO
                c[-1] = MplPath.CLOSEPOLY
                verts.append(xy)
                codes.append(c)
        if verts:
            out.append(MplPath(np.concatenate(verts), np.concatenate(codes)))
    return out


def _lines(geoms: list[BaseGeometry]) -> list[np.ndarray]:
    """Return the vertex arrays of every line part of ``geoms``."""
    parts = [p for g in geoms for p in getattr(g, "geoms", [g])]
    return [np.asarray(p.coords) for p in parts if p.geom_type == "LineString"]


def _nice_length(span: float) -> float:
    """Return a round scale bar length near a quarter of ``span`` metres."""
    target = span / 4
    for v in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if v >= target * 0.6:
            return float(v)
    return float(10 ** math.floor(math.log10(max(target, 1))))


def _map_extent(data: SheetData, aspect: float) -> tuple[float, float, float, float]:
    """Return (x0, y0, x1, y1) around the compound (and a near station), at ``aspect`` w/h."""
    geoms = [data.compound_geometry, *(b.geometry for b in data.buildings)]
    x0, y0, x1, y1 = shapely.GeometryCollection(geoms).bounds
    # A near station is drawn in place; a far one gets an arrow at the frame instead, so
    # the compound keeps a legible scale.
    if data.station is not None and data.station.distance_m <= max(
        150.0, 0.75 * max(x1 - x0, y1 - y0)
    ):
        geoms.append(data.station.geometry)
        x0, y0, x1, y1 = shapely.GeometryCollection(geoms).bounds
    w, h = max(x1 - x0, 40.0), max(y1 - y0, 40.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = w * 1.18, h * 1.18
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def draw_map_panel(fig: Figure, lay: SheetLayout, data: SheetData) -> None:
    """Draw the map panel (context, compound, grids, buildings, station, furniture, labels)."""
    ax, extent = _map_axes(fig, lay, data)
    s = lay.scale
    st = data.station
    _draw_context(ax, data, s)
    if st is not None:
        _draw_station_reach(ax, st, s)
    _draw_compound_and_grids(ax, data, s)
    _draw_buildings(ax, data, s)
    if st is not None:
        _draw_station(ax, st, extent, s)
    # Furniture: north arrow (top right), scale bar (bottom left), legend (bottom right).
    span = extent[2] - extent[0]
    _north_arrow(ax, s)
    _scale_bar(ax, span, s)
    draw_legend(fig, lay, data, extent=extent)
    obstacles = _label_obstacles(fig, ax, span=span, station=st, s=s)
    draw_building_labels(fig, ax, data, scale=s, obstacles=obstacles)
    if not data.buildings:
        ax.text(
            0.5,
            0.5,
            "无楼栋数据",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=20 * s,
            color="#999999",
        )


def _map_axes(
    fig: Figure, lay: SheetLayout, data: SheetData
) -> tuple[Any, tuple[float, float, float, float]]:
    """Return the map frame's axes (no ticks, equal aspect) and its extent (x0, y0, x1, y1)."""
    W, H = lay.page
    mx, my, mw, mh = lay.map_box
    ax = fig.add_axes((mx / W, my / H, mw / W, mh / H))
    ax.set_facecolor("#fbfbf8")
    x0, y0, x1, y1 = _map_extent(data, mw / mh)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    return ax, (x0, y0, x1, y1)


def _draw_context(ax: Any, data: SheetData, s: float) -> None:
    """Draw the roads and the other compounds' buildings around the compound."""
    if data.context_roads:
        ax.add_collection(
            LineCollection(_lines(list(data.context_roads)), colors=ROAD_COLOR, linewidths=2.2 * s)
        )
    _draw_barriers(ax, data, s)
    ctx = _paths(list(data.context_buildings))
    if ctx:
        ax.add_collection(
            PathCollection(ctx, facecolors=CONTEXT_FILL, edgecolors="#cfcfcf", linewidths=0.3)
        )


def _draw_barriers(ax: Any, data: SheetData, s: float) -> None:
    """Draw rivers (water areas filled), railways (dashed) and walls near the compound."""
    for kind, geom in data.context_barriers:
        colour = BARRIER_KIND_COLORS.get(kind, COMPOUND_EDGE)
        water = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"]
        if water:
            ax.add_collection(PathCollection(_paths(water), facecolors=colour, alpha=0.35))
        width = BARRIER_KIND_WIDTHS_MM.get(kind, 0.6) * 2.0 * s
        dash = (0, (4, 2)) if kind == "railway" else "solid"
        lines = _lines([shapely.boundary(w) for w in water] or [geom])
        ax.add_collection(LineCollection(lines, colors=colour, linewidths=width, linestyles=dash))


def _draw_station_reach(ax: Any, st: SheetStation, s: float) -> None:
    """Draw the station's reach as a dashed, faintly filled circle."""
    ax.add_patch(
        Circle(
            (st.geometry.x, st.geometry.y),
            st.radius_m,
            facecolor=REACH_COLOR,
            alpha=0.05,
            edgecolor=REACH_COLOR,
            linewidth=0.9 * s,
            linestyle=(0, (4, 3)),
        )
    )


def _draw_compound_and_grids(ax: Any, data: SheetData, s: float) -> None:
    """Draw the compound's fill (property mode colour), the grid boundaries, its outline."""
    ax.add_collection(
        PathCollection(
            _paths([data.compound_geometry]),
            facecolors=property_mode_color(data.property_mode),
            alpha=0.18,
            edgecolors="none",
        )
    )
    grid_paths = _paths(list(data.grid_geometries))
    if grid_paths:
        ax.add_collection(
            PathCollection(
                grid_paths,
                facecolors="none",
                edgecolors=GRID_EDGE,
                linewidths=2.0 * s,
                linestyles=(0, (5, 3)),
                zorder=4,
            )
        )
    ax.add_collection(
        PathCollection(
            _paths([data.compound_geometry]),
            facecolors="none",
            edgecolors=COMPOUND_EDGE,
            linewidths=1.6 * s,
        )
    )


def _draw_buildings(ax: Any, data: SheetData, s: float) -> None:
    """Draw the compound's buildings (footprints, or squares for points), uncovered in red."""
    polys = [b for b in data.buildings if b.geometry.geom_type != "Point"]
    points = [b for b in data.buildings if b.geometry.geom_type == "Point"]
    if polys:
        edge = [UNCOVERED_COLOR if b.covered is False else BUILDING_EDGE for b in polys]
        ax.add_collection(
            PathCollection(
                _paths([b.geometry for b in polys]),
                facecolors=BUILDING_FILL,
                edgecolors=edge,
                linewidths=[1.4 * s if b.covered is False else 0.6 * s for b in polys],
            )
        )
    if points:
        xy = shapely.get_coordinates([b.geometry for b in points])
        colors = [UNCOVERED_COLOR if b.covered is False else BUILDING_EDGE for b in points]
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=30 * s,
            marker="s",
            c=BUILDING_FILL,
            edgecolors=colors,
            linewidths=0.8,
            zorder=3,
        )


def _draw_station(
    ax: Any, st: SheetStation, extent: tuple[float, float, float, float], s: float
) -> None:
    """Draw the station as a star with its name, or an arrow at the frame when outside."""
    x0, y0, x1, y1 = extent
    ax.scatter(
        [st.geometry.x],
        [st.geometry.y],
        s=160 * s,
        marker="*",
        c=REACH_COLOR,
        edgecolors="white",
        linewidths=0.8,
        zorder=5,
    )
    if not (x0 <= st.geometry.x <= x1 and y0 <= st.geometry.y <= y1):
        _station_pointer(ax, st, extent, s)
    else:
        ax.annotate(
            st.name,
            (st.geometry.x, st.geometry.y),
            xytext=(6, -10),
            textcoords="offset points",
            fontsize=7 * s,
            color=REACH_COLOR,
            zorder=6,
            annotation_clip=True,
            clip_on=True,
        )


def _label_obstacles(
    fig: Figure, ax: Any, *, span: float, station: SheetStation | None, s: float
) -> list[tuple[float, ...]]:
    """Return the boxes (display pixels) building labels must avoid: the scale bar, the
    north arrow and the station star with its name."""
    bar_box = ax.transAxes.transform([(0.0, 0.0), (0.03 + _nice_length(span) / span + 0.06, 0.1)])
    north_box = ax.transAxes.transform([(0.90, 0.78), (1.0, 1.0)])
    obstacles: list[tuple[float, ...]] = [
        (*bar_box[0], *bar_box[1]),
        (*north_box[0], *north_box[1]),
    ]
    if station is not None:
        # The station star and its name (drawn right of and below the star).
        sx, sy = ax.transData.transform((station.geometry.x, station.geometry.y))
        px = fig.dpi / 72.0
        name_w = 7 * s * px * text_width_em(station.name)
        obstacles.append((sx - 8 * px, sy - 18 * px, sx + 8 * px + name_w, sy + 8 * px))
    return obstacles


def _station_pointer(
    ax: Any, st: SheetStation, extent: tuple[float, float, float, float], s: float
) -> None:
    """Draw an arrow at the map frame pointing to a station outside the map, with its distance."""
    x0, y0, x1, y1 = extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = st.geometry.x - cx, st.geometry.y - cy
    t = min(
        (x1 - x0) / 2 * 0.9 / abs(dx) if dx else math.inf,
        (y1 - y0) / 2 * 0.82 / abs(dy) if dy else math.inf,
    )
    tip = (cx + dx * t, cy + dy * t)
    tail = (cx + dx * t * 0.78, cy + dy * t * 0.78)
    ax.annotate(
        "",
        xy=tip,
        xytext=tail,
        arrowprops={"arrowstyle": "-|>", "color": REACH_COLOR, "lw": 1.6 * s},
        zorder=6,
    )
    ax.text(
        tail[0],
        tail[1],
        f"{st.name}\n{st.distance_m:.0f} 米",
        ha="left" if dx < 0 else "right",
        va="bottom" if dy < 0 else "top",
        fontsize=7 * s,
        color=REACH_COLOR,
        zorder=6,
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )


def _north_arrow(ax: Any, s: float) -> None:
    ax.add_patch(
        FancyArrow(
            0.95,
            0.84,
            0,
            0.1,
            width=0.012,
            head_width=0.035,
            head_length=0.04,
            transform=ax.transAxes,
            color="#222222",
            zorder=8,
        )
    )
    ax.text(
        0.95,
        0.81,
        "北",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=9 * s,
        fontweight="bold",
        zorder=8,
    )


def _scale_bar(ax: Any, span: float, s: float) -> tuple[Any, ...]:
    """Draw a two-segment metric scale bar; return its artists (for label obstacles)."""
    length = _nice_length(span)
    x_frac = length / span
    x, y, h = 0.03, 0.035, 0.012
    half = x_frac / 2
    r1 = Rectangle(
        (x, y),
        half,
        h,
        transform=ax.transAxes,
        facecolor="#222222",
        edgecolor="#222222",
        linewidth=0.6,
        zorder=8,
    )
    r2 = Rectangle(
        (x + half, y),
        half,
        h,
        transform=ax.transAxes,
        facecolor="white",
        edgecolor="#222222",
        linewidth=0.6,
        zorder=8,
    )
    ax.add_patch(r1)
    ax.add_patch(r2)
    unit = f"{length / 1000:g} 千米" if length >= 1000 else f"{length:g} 米"
    t0 = ax.text(
        x,
        y + h + 0.006,
        "0",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=6.5 * s,
        zorder=8,
    )
    t1 = ax.text(
        x + x_frac,
        y + h + 0.006,
        unit,
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=6.5 * s,
        zorder=8,
    )
    back = Rectangle(
        (x - 0.015, y - 0.012),
        x_frac + 0.06,
        h + 0.05,
        transform=ax.transAxes,
        facecolor="white",
        alpha=0.75,
        edgecolor="none",
        zorder=7,
    )
    ax.add_patch(back)
    return (back, r1, r2, t0, t1)
