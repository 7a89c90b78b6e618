"""Print renderers of the compound sheet: PNG and PDF (A4/A3, portrait/landscape).

The page is laid out in millimetres on a :class:`matplotlib.figure.Figure` of the exact
paper size (no pyplot, no tight layout: fixed boxes are faster and print identically).
Text uses Noto Sans CJK SC with TrueType embedding (``pdf.fonttype`` 42) so the PDF's text
can be searched and extracted. Building labels are placed without overlaps by
:func:`maps.labels.place_labels`, degrading from a full three-line label to a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import get_font
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrow, Patch, Rectangle
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry

from gridgen.errors import ParameterError
from maps.assets import cjk_font_family
from maps.labels import Placement, place_labels
from maps.sheet import SheetBuilding, SheetData, SheetStation, building_rows
from maps.style import (
    COMPOUND_EDGE,
    GRID_EDGE,
    REACH_COLOR,
    UNCOVERED_COLOR,
    property_mode_color,
)

Paper = Literal["A4", "A3"]
Orientation = Literal["portrait", "landscape"]
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
MM_PER_INCH = 25.4
PT_PER_MM = 72.0 / MM_PER_INCH
BUILDING_FILL = "#f6d7a7"
BUILDING_EDGE = "#8a5a1c"
CONTEXT_FILL = "#e6e6e6"
ROAD_COLOR = "#c9c9c9"
LABEL_GID = "building-label"


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
class _Layout:
    """Boxes (x, y, w, h) in mm from the lower left corner, and a type scale."""

    page: tuple[float, float]
    scale: float
    map_box: tuple[float, float, float, float]
    summary_box: tuple[float, float, float, float]
    table_box: tuple[float, float, float, float]


def _layout(paper: str, orientation: str, n_buildings: int = 0) -> _Layout:
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
    return _Layout((w, h), s, map_box, summary_box, table_box)


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
    out = []
    for g in geoms:
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "LineString":
                out.append(np.asarray(part.coords))
    return out


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


def _label_variants(b: SheetBuilding) -> list[str]:
    """Return label texts for a building from fullest to shortest."""
    people = f" {b.residents}人" if b.residents is not None else ""
    full = [f"{b.number}号楼", f"{b.households}户{people}"]
    if b.leader_name:
        full.append(f"楼栋长 {b.leader_name}")
    return ["\n".join(full), f"{b.number}号 {b.households}户", str(b.number)]


def _text_size_px(renderer: Any, text: str, prop: Any, px_per_pt: float) -> tuple[float, float]:
    """Return the (width, height) in pixels of a possibly multi-line label with a small halo."""
    lines = text.split("\n")
    size = prop.get_size_in_points()
    # Sum of cached per-character advances (+4% for kerning/rounding): measuring each
    # candidate label with FreeType costs ~0.5 ms a line; this is ~100x cheaper.
    em = max(sum(_advance_em(renderer, ch, prop.get_family()[0]) for ch in ln) for ln in lines)
    width = em * size * px_per_pt * 1.04
    return (width + 2 * px_per_pt, len(lines) * size * 1.22 * px_per_pt)


_ADVANCES: dict[tuple[str, str], float] = {}


def _advance_em(renderer: Any, ch: str, family: str) -> float:
    """Return the advance width of character ``ch`` in ems (measured once, then cached)."""
    key = (family, ch)
    if key not in _ADVANCES:
        prop = mpl.font_manager.FontProperties(family=family, size=100)
        w_px = renderer.get_text_width_height_descent(ch, prop, ismath=False)[0]
        _ADVANCES[key] = w_px / (100 * renderer.dpi / 72.0)
    return _ADVANCES[key]


def _place_building_labels(
    fig: Figure, ax: Any, data: SheetData, base_pt: float, obstacles: list[tuple[float, ...]]
) -> list[tuple[SheetBuilding, str, float, Placement]]:
    """Return (building, text, font size, placement) for every building that gets a label.

    Every building gets the same kind of label, the fullest that fits for all of them
    (number, households, residents and leader; then number and households; then the
    number alone). Only when even numbers do not fit are they shrunk, then left to the
    building table (the sheet says how many).
    """
    if not data.buildings:
        return []
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    family = cjk_font_family()
    # Larger buildings first: they matter most and have the most room around them.
    order = sorted(data.buildings, key=lambda b: (-b.geometry.area, b.number))
    pts = np.array([[p.x, p.y] for p in (b.geometry.representative_point() for b in order)])
    anchors = ax.transData.transform(pts)
    bbox = ax.get_window_extent(renderer)
    frame = (bbox.x0 + 2, bbox.y0 + 2, bbox.x1 - 2, bbox.y1 - 2)
    taken = np.asarray(obstacles, float).reshape(-1, 4)
    px_per_pt = fig.dpi / 72.0
    gap = 2.5 * px_per_pt
    variants = [_label_variants(b) for b in order]

    def attempt(
        level: int, size: float, idx: list[int], rings: int, used: np.ndarray
    ) -> list[Placement | None]:
        prop = mpl.font_manager.FontProperties(family=family, size=size)
        sizes = np.array(
            [_text_size_px(renderer, variants[i][level], prop, px_per_pt) for i in idx]
        )
        return place_labels(anchors[idx], sizes, frame=frame, taken=used, rings=rings, gap=gap)

    everyone = list(range(len(order)))
    for level, rings in ((0, 1), (1, 2)):
        placed = attempt(level, base_pt, everyone, rings, taken)
        if all(p is not None for p in placed):
            return _to_data(ax, order, [variants[i][level] for i in everyone], base_pt, placed)
    done: dict[int, tuple[str, float, Placement]] = {}
    for size in (base_pt, base_pt * 0.85, base_pt * 0.7):
        todo = [i for i in everyone if i not in done]
        if not todo:
            break
        placed = attempt(2, size, todo, 4, taken)
        boxes = []
        for i, p in zip(todo, placed, strict=True):
            if p is not None:
                done[i] = (variants[i][2], size, p)
                boxes.append(p.box)
        if boxes:
            taken = np.vstack([taken, np.asarray(boxes)])
    out = []
    for i in sorted(done):
        text, size, p = done[i]
        out.extend(_to_data(ax, [order[i]], [text], size, [p]))
    return out


def _to_data(
    ax: Any,
    buildings: list[SheetBuilding],
    texts: list[str],
    size: float,
    placed: list[Placement | None],
) -> list[tuple[SheetBuilding, str, float, Placement]]:
    """Return placements converted from display to data coordinates."""
    inv = ax.transData.inverted()
    out = []
    for b, t, p in zip(buildings, texts, placed, strict=True):
        if p is None:
            continue
        cx, cy = inv.transform((p.x, p.y))
        out.append((b, t, size, Placement(float(cx), float(cy), p.width, p.height, p.leader)))
    return out


def _draw_map(fig: Figure, lay: _Layout, data: SheetData) -> None:
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
    s = lay.scale

    if data.context_roads:
        ax.add_collection(
            LineCollection(_lines(list(data.context_roads)), colors=ROAD_COLOR, linewidths=2.2 * s)
        )
    ctx = _paths(list(data.context_buildings))
    if ctx:
        ax.add_collection(
            PathCollection(ctx, facecolors=CONTEXT_FILL, edgecolors="#cfcfcf", linewidths=0.3)
        )
    st = data.station
    if st is not None:
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
    if st is not None:
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
            _station_pointer(ax, st, (x0, y0, x1, y1), s)
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

    # Furniture: north arrow (top right), scale bar (bottom left), legend (bottom right).
    span = x1 - x0
    _north_arrow(ax, s)
    _scale_bar(ax, span, s)
    _legend(fig, lay, data)
    # Scale bar (bottom left) and north arrow (top right) boxes, in display pixels.
    bar_box = ax.transAxes.transform([(0.0, 0.0), (0.03 + _nice_length(span) / span + 0.06, 0.1)])
    north_box = ax.transAxes.transform([(0.90, 0.78), (1.0, 1.0)])
    obstacles = [(*bar_box[0], *bar_box[1]), (*north_box[0], *north_box[1])]
    if st is not None:
        # The station star and its name (drawn right of and below the star).
        sx, sy = ax.transData.transform((st.geometry.x, st.geometry.y))
        px = fig.dpi / 72.0
        name_w = 7 * s * px * _width_em(st.name)
        obstacles.append((sx - 8 * px, sy - 18 * px, sx + 8 * px + name_w, sy + 8 * px))

    labels = _place_building_labels(fig, ax, data, 7.0 * s, obstacles)
    for b, text, size, p in labels:
        if p.leader:
            anchor = b.geometry.representative_point()
            ax.plot([anchor.x, p.x], [anchor.y, p.y], color="#555555", linewidth=0.5, zorder=6)
        ax.text(
            p.x,
            p.y,
            text,
            fontsize=size,
            ha="center",
            va="center",
            zorder=7,
            linespacing=1.05,
            gid=LABEL_GID,
            bbox={
                "boxstyle": "square,pad=0.12",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.78,
            },
        )
    missing = len(data.buildings) - len(labels)
    if missing:
        ax.text(
            0.01,
            0.99,
            f"另有 {missing} 栋楼标注见楼栋信息表",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=6.5 * s,
            color="#555555",
            zorder=8,
        )
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


def _legend(fig: Figure, lay: _Layout, data: SheetData) -> None:
    """Draw the legend as one row under the map frame."""
    W, H = lay.page
    mx, my, _, _ = lay.map_box
    s = lay.scale
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
    if any(b.covered is False for b in data.buildings):
        handles.append(
            Patch(
                facecolor=BUILDING_FILL,
                edgecolor=UNCOVERED_COLOR,
                linewidth=1.4,
                label="未覆盖楼栋",
            )
        )
    if data.station is not None:
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                color=REACH_COLOR,
                linestyle="none",
                markersize=8,
                label=data.station.kind_label,
            )
        )
        handles.append(
            Patch(
                facecolor=REACH_COLOR,
                alpha=0.15,
                edgecolor=REACH_COLOR,
                linestyle="--",
                label=f"服务范围 {data.station.radius_m:.0f} 米",
            )
        )
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


def _draw_summary(fig: Figure, lay: _Layout, data: SheetData) -> None:
    W, H = lay.page
    x, y, w, h = lay.summary_box
    s = lay.scale
    top = y + h
    fig.text(x / W, top / H, "小区概况", fontsize=10.5 * s, fontweight="bold", va="top")
    rows = list(data.summary)
    needed = len(rows) + (5 if data.three_teams is not None else 0) + 1.4 * len(data.notes) + 1
    row_h = min(5.2 * s, (h - 8 * s) / needed)
    fs = min(8.0 * s, row_h * PT_PER_MM * 0.62)
    cy = top - 8 * s
    for i, (label, value) in enumerate(rows):
        if i % 2 == 0:
            fig.add_artist(
                Rectangle(
                    (x / W, (cy - row_h * 0.75) / H),
                    w / W,
                    row_h / H,
                    transform=fig.transFigure,
                    facecolor="#f1f3f6",
                    edgecolor="none",
                )
            )
        fig.text(
            (x + 1.5 * s) / W,
            (cy - row_h * 0.25) / H,
            label,
            fontsize=fs,
            va="center",
            color="#444444",
        )
        fit = (0.62 * w) / max(_width_em(value), 1.0) * PT_PER_MM
        fig.text(
            (x + 0.36 * w) / W, (cy - row_h * 0.25) / H, value, fontsize=min(fs, fit), va="center"
        )
        cy -= row_h
    if data.three_teams is not None:
        t = data.three_teams
        cy -= 2 * s
        fig.text(x / W, cy / H, "三支队伍", fontsize=9.5 * s, fontweight="bold", va="top")
        cy -= 6.5 * s
        for label, value in (
            ("网格员", "—" if t.grid_workers is None else f"{t.grid_workers} 人"),
            ("楼栋长", f"{t.building_leaders} 人"),
            ("党员/志愿者", f"{t.party_members} 人"),
        ):
            fig.text((x + 1.5 * s) / W, cy / H, label, fontsize=fs, va="center", color="#444444")
            fig.text((x + 0.36 * w) / W, cy / H, value, fontsize=fs, va="center")
            cy -= row_h
    if data.notes:
        cy -= 2 * s
        for note in data.notes:
            fig.text(
                x / W, cy / H, f"注：{note}", fontsize=fs, va="top", color="#b2182b", wrap=True
            )
            cy -= row_h * 1.3


def _width_em(text: str) -> float:
    """Return the approximate width of ``text`` in ems."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.6 for ch in text)


@cache
def _line_height_em(family: str) -> float:
    """Return the font's typographic line height (ascender + descender) in ems."""
    font = get_font(mpl.font_manager.findfont(family))
    os2: Any = font.get_sfnt_table("OS/2")
    head: Any = font.get_sfnt_table("head")
    if os2 is None or head is None:
        return 1.2
    return float(os2["sTypoAscender"] - os2["sTypoDescender"]) / float(head["unitsPerEm"])


def _column_text(
    fig: Figure, *, x: float, top: float, row_h: float, cells: list[str], fs: float, **kw: Any
) -> None:
    """Draw one table column as a single multi-line text whose lines step by ``row_h`` mm.

    One text per column instead of one per cell keeps a 60-row table fast to render.
    With a numeric ``linespacing`` matplotlib (≥ 3.10) gives every line the height
    ``linespacing × (typo ascender + descender)``, so the lines match the row stripes.
    """
    W, H = fig.get_size_inches() * MM_PER_INCH
    spacing = row_h * PT_PER_MM / (fs * _line_height_em(cjk_font_family()))
    fig.text(
        x / W,
        top / H,
        "\n".join(cells),
        fontsize=fs,
        va="top",
        linespacing=spacing,
        multialignment="center",
        ha="center",
        **kw,
    )


def _draw_table(fig: Figure, lay: _Layout, data: SheetData) -> None:
    W, H = lay.page
    x, y, w, h = lay.table_box
    s = lay.scale
    top = y + h
    fig.text(
        x / W,
        top / H,
        f"楼栋信息（{len(data.buildings)} 栋）",
        fontsize=10.5 * s,
        fontweight="bold",
        va="top",
    )
    rows = building_rows(data)
    if len(rows) == 1:
        fig.text(x / W, (top - 10 * s) / H, "无楼栋数据", fontsize=9 * s, color="#b2182b", va="top")
        return
    # Column widths in ems from their longest cell (CJK 1 em, other characters ~0.6 em).
    weights = [max(_width_em(r[ci]) for r in rows) + 1.0 for ci in range(len(rows[0]))]
    avail_h = h - 8 * s
    n = len(rows) - 1
    blocks = 1
    row_h = min(4.6 * s, avail_h / (n + 1))
    min_block_w = (56 if data.restricted else 48) * s
    while row_h < 3.4 * s and (w - blocks * 3 * s) / (blocks + 1) >= min_block_w:
        blocks += 1
        row_h = min(4.6 * s, avail_h / (math.ceil(n / blocks) + 1))
    per_block = math.ceil(n / blocks)
    block_w = (w - (blocks - 1) * 3 * s) / blocks
    fs = max(3.5, min(7.5 * s, row_h * PT_PER_MM * 0.6, block_w / sum(weights) * PT_PER_MM))
    total = sum(weights)
    for bi in range(blocks):
        bx = x + bi * (block_w + 3 * s)
        body = rows[1 + bi * per_block : 1 + (bi + 1) * per_block]
        if not body:
            continue
        cy = top - 8 * s
        fig.add_artist(
            Rectangle(
                (bx / W, (cy - row_h) / H),
                block_w / W,
                row_h / H,
                transform=fig.transFigure,
                facecolor="#2f4b7c",
                edgecolor="none",
            )
        )
        for ri in range(1, len(body) + 1, 2):
            ry = cy - (ri + 1) * row_h
            fig.add_artist(
                Rectangle(
                    (bx / W, ry / H),
                    block_w / W,
                    row_h / H,
                    transform=fig.transFigure,
                    facecolor="#f1f3f6",
                    edgecolor="none",
                )
            )
        fig.add_artist(
            Line2D(
                [bx / W, (bx + block_w) / W],
                [(cy - (len(body) + 1) * row_h) / H] * 2,
                transform=fig.transFigure,
                color="#2f4b7c",
                linewidth=0.6 * s,
            )
        )
        cx = bx
        for ci, wt in enumerate(weights):
            cw = block_w * wt / total
            _column_text(
                fig,
                x=cx + cw / 2,
                top=cy,
                row_h=row_h,
                cells=[rows[0][ci]],
                fs=fs,
                color="white",
                fontweight="bold",
            )
            _column_text(
                fig,
                x=cx + cw / 2,
                top=cy - row_h,
                row_h=row_h,
                cells=[r[ci] for r in body],
                fs=fs,
                color="#222222",
            )
            cx += cw


def sheet_figure(
    data: SheetData,
    *,
    paper: Paper = "A4",
    orientation: Orientation = "portrait",
    dpi: float = 150,
) -> Figure:
    """Return the compound sheet as a matplotlib figure of the exact paper size.

    Parameters
    ----------
    data
        From :func:`maps.sheet.compound_sheet_data`.
    paper
        ``"A4"`` (210 × 297 mm) or ``"A3"`` (297 × 420 mm).
    orientation
        ``"portrait"`` or ``"landscape"``.
    dpi
        Resolution used for PNG output and for label measurement.
    """
    lay = _layout(paper, orientation, len(data.buildings))
    W, H = lay.page
    family = cjk_font_family()
    with mpl.rc_context({"font.family": family, "pdf.fonttype": 42, "axes.unicode_minus": False}):
        fig = Figure(figsize=(W / MM_PER_INCH, H / MM_PER_INCH), dpi=dpi)
        FigureCanvasAgg(fig)
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
        _draw_map(fig, lay, data)
        _draw_summary(fig, lay, data)
        _draw_table(fig, lay, data)
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
    out = Path(path)
    out.write_bytes(figure_png(fig, dpi=dpi))
    return out


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
    fig = sheet_figure(data, paper=paper, orientation=orientation, dpi=150)
    out = Path(path)
    with mpl.rc_context({"font.family": cjk_font_family(), "pdf.fonttype": 42}):
        fig.savefig(out, format="pdf")
    return out
