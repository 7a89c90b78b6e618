"""Greedy label placement without overlaps, in display (pixel) coordinates.

Each label has an anchor (the feature's representative point) and a box size. Labels are
placed in priority order; each tries its anchor first, then positions around it on rings
of growing distance (drawn with a leader line), and takes the first position whose box
stays inside the frame and overlaps no box placed before it nor any obstacle. This is the
classic greedy candidate-position scheme (Imhof; Christensen, Marks and Shieber 1995);
matplotlib has no label placer and adjustText is iterative and slower for our sizes, so
it is implemented here with vectorised numpy box tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# Directions tried on each ring: right, left, up, down, then the diagonals.
_DIRECTIONS: tuple[tuple[float, float], ...] = (
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (1, 1),
    (-1, 1),
    (1, -1),
    (-1, -1),
)


@dataclass(frozen=True)
class Placement:
    """Where one label went: the centre of its box and whether it needs a leader line."""

    x: float
    y: float
    width: float
    height: float
    leader: bool

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Return ``(x0, y0, x1, y1)``."""
        hw, hh = self.width / 2, self.height / 2
        return (self.x - hw, self.y - hh, self.x + hw, self.y + hh)


def _overlaps(box: FloatArray, boxes: FloatArray) -> bool:
    """Return whether ``box`` (4,) intersects any of ``boxes`` (n, 4)."""
    if boxes.shape[0] == 0:
        return False
    return bool(
        np.any(
            (box[0] < boxes[:, 2])
            & (box[2] > boxes[:, 0])
            & (box[1] < boxes[:, 3])
            & (box[3] > boxes[:, 1])
        )
    )


def candidate_centres(
    anchor: tuple[float, float], size: tuple[float, float], *, rings: int = 4, gap: float = 3.0
) -> list[tuple[float, float, bool]]:
    """Return candidate label centres around ``anchor``: (x, y, needs_leader) in try order."""
    ax, ay = anchor
    w, h = size
    out: list[tuple[float, float, bool]] = [(ax, ay, False)]
    for k in range(1, rings + 1):
        step = gap + (k - 1) * (h + gap)
        for dx, dy in _DIRECTIONS:
            cx = ax + dx * (w / 2 + step)
            cy = ay + dy * (h / 2 + step)
            out.append((cx, cy, True))
    return out


def place_labels(
    anchors: FloatArray,
    sizes: FloatArray,
    *,
    frame: tuple[float, float, float, float],
    taken: FloatArray | None = None,
    rings: int = 4,
    gap: float = 3.0,
    pad: float = 1.0,
) -> list[Placement | None]:
    """Return one non-overlapping placement per label (``None`` when none was found).

    Parameters
    ----------
    anchors
        ``(n, 2)`` anchor points, in priority order (most important first).
    sizes
        ``(n, 2)`` box widths and heights.
    frame
        ``(x0, y0, x1, y1)``: every box must lie inside it.
    taken
        ``(m, 4)`` boxes already occupied (obstacles, labels placed earlier).
    rings, gap
        Number of candidate rings around the anchor and the distance step between them.
    pad
        Margin kept between boxes.

    Returns
    -------
    list of Placement or None
        Aligned with ``anchors``. Boxes of returned placements do not overlap each other
        nor ``taken``.
    """
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=float).reshape(-1, 2)
    occupied = np.zeros((0, 4)) if taken is None else np.asarray(taken, float).reshape(-1, 4)
    boxes = [occupied]
    fx0, fy0, fx1, fy1 = frame
    out: list[Placement | None] = []
    for (axx, ayy), (w, h) in zip(anchors, sizes, strict=True):
        placed: Placement | None = None
        current = np.vstack(boxes) if len(boxes) > 1 else boxes[0]
        for cx, cy, leader in candidate_centres((axx, ayy), (w, h), rings=rings, gap=gap):
            box = np.array([cx - w / 2 - pad, cy - h / 2 - pad, cx + w / 2 + pad, cy + h / 2 + pad])
            if box[0] < fx0 or box[1] < fy0 or box[2] > fx1 or box[3] > fy1:
                continue
            if _overlaps(box, current):
                continue
            placed = Placement(float(cx), float(cy), float(w), float(h), leader)
            boxes = [current, box[None, :]]
            break
        out.append(placed)
    return out


def boxes_overlap(boxes: FloatArray) -> list[tuple[int, int]]:
    """Return the index pairs of overlapping boxes among ``boxes`` ``(n, 4)``."""
    b = np.asarray(boxes, float).reshape(-1, 4)
    pairs: list[tuple[int, int]] = []
    for i in range(len(b)):
        hit = (
            (b[i, 0] < b[i + 1 :, 2])
            & (b[i, 2] > b[i + 1 :, 0])
            & (b[i, 1] < b[i + 1 :, 3])
            & (b[i, 3] > b[i + 1 :, 1])
        )
        pairs.extend((i, i + 1 + int(j)) for j in np.flatnonzero(hit))
    return pairs
