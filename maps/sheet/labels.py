"""Building labels of the compound sheet's map panel.

Each building gets the fullest label that fits for all of them (number, households,
residents and leader; then number and households; then the number alone), placed
without overlaps by :func:`maps.labels.place_labels`.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from maps.fonts import cjk_font_family
from maps.labels import Placement, place_labels
from maps.sheet.data import SheetBuilding, SheetData

LABEL_GID = "building-label"


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


def sheet_font_family() -> str:
    """Return the family the sheet is drawn with (set by ``sheet_figure``'s rc context)."""
    current = mpl.rcParams["font.family"]
    name = current[0] if isinstance(current, list) and current else str(current)
    return name if name not in ("sans-serif", "serif", "monospace") else cjk_font_family()


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
    family = sheet_font_family()
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


def draw_building_labels(
    fig: Figure, ax: Any, data: SheetData, *, scale: float, obstacles: list[tuple[float, ...]]
) -> None:
    """Draw the building labels on the map axes ``ax``, avoiding the ``obstacles`` boxes.

    ``obstacles`` are (x0, y0, x1, y1) boxes in display pixels (scale bar, north arrow,
    station marker). Buildings left without a label are counted in a note at the top left.
    """
    s = scale
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
