"""The local search of the region objective (moves of single boundary units).

:func:`local_search` is the hot loop of :func:`gridgen.partition.regions.best_regions`:
it keeps per-region sums (households, area moments) and scores a move by the change of
the balance penalty, the cut cost and the shape term, in plain Python floats (numpy per
scalar is ten times slower here).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.objective import (
    DEVIATION_WEIGHT,
    MOMENT_WEIGHT,
    OUT_DISTANCE_WEIGHT,
    OUT_OF_BAND_WEIGHT,
    IntArray,
    RegionProblem,
)

MAX_PASSES = 12


def _moments(
    prob: RegionProblem, labels: IntArray, k: int
) -> tuple[tuple[list[float], ...], tuple[list[float], ...]]:
    """Return per-unit (area, area·x, area·y, inertia) and their sums per region.

    Moment of inertia per region: units as point masses plus their own disk inertia,
    normalised so that a disk scores 1: 2π I / A² (a shape term like Polsby-Popper but
    additive over units).
    """
    ua = prob.area.astype(float)
    cx = prob.xy[:, 0] - prob.xy[:, 0].mean() if prob.n else prob.xy[:, 0]
    cy = prob.xy[:, 1] - prob.xy[:, 1].mean() if prob.n else prob.xy[:, 1]
    uq = ua * (cx * cx + cy * cy) + ua * ua / (2 * math.pi)
    units = (ua.tolist(), (ua * cx).tolist(), (ua * cy).tolist(), uq.tolist())
    sums = tuple(
        np.bincount(labels, weights=w, minlength=k).tolist() for w in (ua, ua * cx, ua * cy, uq)
    )
    return units, sums


def _connected_without(
    region_nodes: set[int], removed: int, nbrs: list[list[int]], labels: list[int]
) -> bool:
    """Return whether ``region_nodes - {removed}`` is connected (BFS over the unit graph)."""
    rest = len(region_nodes) - 1
    if rest <= 0:
        return False
    g = labels[removed]
    start = next(iter(v for v in nbrs[removed] if labels[v] == g), None)
    if start is None:
        return False
    seen = {start, removed}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in nbrs[v]:
            if w not in seen and labels[w] == g:
                seen.add(w)
                queue.append(w)
    return len(seen) - 1 == rest


def local_search(
    labels: IntArray,
    prob: RegionProblem,
    nbrs: list[list[int]],
    costs: list[list[float]],
    *,
    target: float,
    lo: float,
    hi: float,
    scale: float,
    rng: np.random.Generator,
    frozen: NDArray[np.bool_] | None = None,
) -> IntArray:
    """Return ``labels`` improved by moving single boundary units between regions.

    A move is taken when it lowers the objective and leaves the source region connected
    and non-empty. ``frozen`` units never move.
    """
    k = int(labels.max()) + 1
    h = np.bincount(labels, weights=prob.households.astype(float), minlength=k).tolist()
    # plain lists in the hot loop (a numpy scalar read is ~5x slower; same float64 results)
    hh = prob.households.astype(float).tolist()
    lab = labels.tolist()
    still = [False] * prob.n if frozen is None else frozen.tolist()
    members: list[set[int]] = [set() for _ in range(k)]
    for u, g in enumerate(lab):
        members[g].add(u)
    (ua_l, cx_l, cy_l, uq_l), (sa, sx, sy, sq) = _moments(prob, labels, k)

    def shape(a_: float, x_: float, y_: float, q_: float) -> float:
        if a_ <= 0:
            return 0.0
        return 2 * math.pi * (q_ - (x_ * x_ + y_ * y_) / a_) / (a_ * a_)

    def pen(x: float) -> float:
        # scalar twin of band_penalty (this loop is hot; numpy per scalar is 10x slower)
        out = max(0.0, lo - x, x - hi) / target
        dev = (x - target) / target
        return (
            DEVIATION_WEIGHT * dev * dev
            + OUT_DISTANCE_WEIGHT * out
            + (OUT_OF_BAND_WEIGHT if out > 0 else 0.0)
        )

    for _ in range(MAX_PASSES):
        moved = 0
        for u in rng.permutation(prob.n).tolist():
            if still[u]:
                continue
            a = lab[u]
            gain_to: dict[int, float] = {}
            same = 0.0
            for v, c in zip(nbrs[u], costs[u], strict=True):
                gv = lab[v]
                if gv == a:
                    same += c
                else:
                    gain_to[gv] = gain_to.get(gv, 0.0) + c
            if not gain_to:
                continue
            base_a = pen(h[a])
            new_a = pen(h[a] - hh[u])
            au, xu, yu, qu = ua_l[u], cx_l[u], cy_l[u], uq_l[u]
            shape_a = shape(sa[a] - au, sx[a] - xu, sy[a] - yu, sq[a] - qu) - shape(
                sa[a], sx[a], sy[a], sq[a]
            )
            best_delta, best_b = -1e-9, -1
            for b, c_b in sorted(gain_to.items()):
                delta = new_a - base_a + pen(h[b] + hh[u]) - pen(h[b]) + scale * (same - c_b)
                if MOMENT_WEIGHT:
                    shape_b = shape(sa[b] + au, sx[b] + xu, sy[b] + yu, sq[b] + qu) - shape(
                        sa[b], sx[b], sy[b], sq[b]
                    )
                    delta += MOMENT_WEIGHT * (shape_a + shape_b)
                if delta < best_delta:
                    best_delta, best_b = delta, b
            if best_b < 0 or not _connected_without(members[a], u, nbrs, lab):
                continue
            lab[u] = best_b
            members[a].discard(u)
            members[best_b].add(u)
            h[a] -= hh[u]
            h[best_b] += hh[u]
            for sums, value in ((sa, au), (sx, xu), (sy, yu), (sq, qu)):
                sums[a] -= value
                sums[best_b] += value
            moved += 1
        if moved == 0:
            break
    return np.asarray(lab, dtype=np.int64)
