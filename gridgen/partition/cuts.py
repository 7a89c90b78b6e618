"""Bisections of a set of units into connected sides (the region search's splits).

:func:`bisect_regions` splits a part into ``k`` connected regions by recursive bisection:
each split is the best straight-line sweep cut whose two sides are connected
(:func:`_best_sweep_cut`) or, when none is, the best cut of a random spanning tree
(:func:`_best_tree_cut`), scored by balance and boundary cost.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import depth_first_order, minimum_spanning_tree

from gridgen.partition.objective import (
    CUT_WEIGHT,
    SPLIT_DEVIATION_WEIGHT,
    FloatArray,
    IntArray,
    RegionProblem,
)

TREES_PER_SPLIT = 4
"""Random minimum spanning trees tried per bisection."""
SWEEP_ANGLES = 8
"""Directions of the straight sweep cuts tried per bisection."""


def bisect_regions(
    prob: RegionProblem,
    nodes: IntArray,
    k: int,
    *,
    target: float,
    lo: float,
    hi: float,
    rng: np.random.Generator,
) -> IntArray:
    """Return labels (global array) for ``nodes`` split into ``k`` connected regions."""
    labels = np.zeros(prob.n, dtype=np.int64)
    stack: list[tuple[IntArray, int]] = [(nodes, k)]
    next_label = 0
    while stack:
        part, kk = stack.pop()
        if kk == 1 or len(part) == 1:
            labels[part] = next_label
            next_label += 1
            continue
        found = _best_sweep_cut(prob, part, kk, target=target, lo=lo, hi=hi, rng=rng)
        if found is None:
            found = _best_tree_cut(prob, part, kk, target=target, lo=lo, hi=hi, rng=rng)
        side, k1 = found
        stack.append((part[~side], kk - k1))
        stack.append((part[side], k1))
    return labels


def _split_scores(
    s: FloatArray, total: float, k: int, *, target: float, lo: float, hi: float
) -> FloatArray:
    """Return the balance score of putting ``s`` households on a side of ``k1 = 1..k-1``
    (one more axis, last, than ``s``)."""
    k1s = np.arange(1, k)
    s = s[..., None]
    per1 = s / k1s
    per2 = (total - s) / (k - k1s)
    out = (
        np.maximum(0, np.maximum(lo - per1, per1 - hi))
        + np.maximum(0, np.maximum(lo - per2, per2 - hi))
    ) / target
    dev = (np.abs(per1 - target) + np.abs(per2 - target)) / target
    return np.asarray(10.0 * out + SPLIT_DEVIATION_WEIGHT * dev, dtype=float)


def smallest_first(values: FloatArray, count: int) -> IntArray:
    """Return the flat indices of the ``count`` smallest values, smallest first (ties: lower
    index first), as ``np.argsort(values, axis=None, kind="stable")[:count]`` but in
    linear time (a partition, then a sort of the few)."""
    flat = values.ravel()
    if count >= len(flat):
        return np.argsort(flat, kind="stable")
    kth = flat[np.argpartition(flat, count - 1)[count - 1]]
    below = np.flatnonzero(flat < kth)
    ties = np.flatnonzero(flat == kth)[: count - len(below)]
    pick = np.r_[below, ties]
    return np.asarray(pick[np.lexsort((pick, flat[pick]))], dtype=np.int64)


def both_sides_connected(side: list[bool], adj: list[list[int]]) -> bool:
    """Return whether the nodes where ``side`` is True, and those where it is False, are
    each connected (``adj``: local adjacency lists; both sides non-empty)."""
    n = len(side)
    seen = [False] * n
    for value in (True, False):
        start = side.index(value)
        seen[start] = True
        stack = [start]
        count = 1
        while stack:
            v = stack.pop()
            for w in adj[v]:
                if not seen[w] and side[w] is value:
                    seen[w] = True
                    count += 1
                    stack.append(w)
        if count != side.count(value):
            return False
    return True


CANDIDATES = 4 * SWEEP_ANGLES
"""Sweep cuts checked per bisection (the best by balance)."""


def _best_sweep_cut(
    prob: RegionProblem,
    part: IntArray,
    k: int,
    *,
    target: float,
    lo: float,
    hi: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.bool_], int] | None:
    """Return the best straight-line (sweep) cut of ``part`` whose two sides are connected.

    Units are ordered along ``SWEEP_ANGLES`` directions; every prefix is a candidate side.
    The best candidates by balance are checked for contiguity
    (:func:`both_sides_connected`) and scored with their boundary cost. ``None`` when no
    candidate is connected (the tree cut is used then).
    """
    n = len(part)
    hh = prob.households[part].astype(float)
    total = float(hh.sum())
    xy = prob.xy[part] - prob.xy[part].mean(axis=0)
    offset = float(rng.uniform(0, np.pi / SWEEP_ANGLES))
    angles = offset + np.arange(SWEEP_ANGLES) * np.pi / SWEEP_ANGLES
    proj = xy @ np.vstack([np.cos(angles), np.sin(angles)])  # (n, angles)
    orders = np.argsort(proj, axis=0, kind="stable")
    cum = np.cumsum(hh[orders], axis=0)[:-1]  # (n-1, angles): prefix sums
    scores = _split_scores(cum.T, total, k, target=target, lo=lo, hi=hi)  # (angles, n-1, k-1)
    flat = smallest_first(scores, CANDIDATES)
    a_i, i_i, k_i = np.unravel_index(flat, scores.shape)
    rank = np.empty_like(orders)
    rank[orders, np.arange(SWEEP_ANGLES)[None, :]] = np.arange(n)[:, None]
    masks = rank.T[a_i] <= i_i[:, None]  # (candidates, n): the prefix side of each
    local = np.full(prob.n, -1, dtype=np.int64)
    local[part] = np.arange(n)
    ea, eb = local[prob.edges[:, 0]], local[prob.edges[:, 1]]
    inside = (ea >= 0) & (eb >= 0)
    ea, eb, ec = ea[inside], eb[inside], prob.cut_cost[inside]
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, v in zip(ea.tolist(), eb.tolist(), strict=True):
        adj[u].append(v)
        adj[v].append(u)
    perim = 4.0 * math.sqrt(float(prob.area[part].sum()) / k)
    best_score = math.inf
    best: tuple[NDArray[np.bool_], int] | None = None
    checked = 0
    bals = scores[a_i, i_i, k_i].tolist()
    for c in range(len(flat)):
        bal = bals[c]
        if bal >= best_score:
            break
        if not both_sides_connected(masks[c].tolist(), adj):
            continue
        checked += 1
        cut = float(ec[masks[c][ea] != masks[c][eb]].sum())
        total_score = bal + CUT_WEIGHT * cut / perim
        if total_score < best_score:
            best_score, best = total_score, (masks[c], int(k_i[c]) + 1)
        if checked >= 6:
            break
    return best


def _best_tree_cut(
    prob: RegionProblem,
    part: IntArray,
    k: int,
    *,
    target: float,
    lo: float,
    hi: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.bool_], int]:
    """Return (mask over ``part`` of one side, regions on that side) for the best tree cut."""
    n = len(part)
    local = np.full(prob.n, -1, dtype=np.int64)
    local[part] = np.arange(n)
    ea, eb = local[prob.edges[:, 0]], local[prob.edges[:, 1]]
    inside = (ea >= 0) & (eb >= 0)
    ea, eb, ec = ea[inside], eb[inside], prob.cut_cost[inside]
    hh = prob.households[part].astype(float)
    total = float(hh.sum())
    xy = prob.xy[part]
    dist = np.hypot(*(xy[ea] - xy[eb]).T) + 1.0
    perim = 4.0 * math.sqrt(float(prob.area[part].sum()) / k)
    best_score = math.inf
    best: tuple[NDArray[np.bool_], int] = (np.arange(n) == 0, 1)
    k1s = np.arange(1, k)
    for _ in range(TREES_PER_SPLIT):
        w = dist * rng.uniform(0.5, 1.5, size=len(dist))
        tree = minimum_spanning_tree(coo_matrix((w, (ea, eb)), shape=(n, n)).tocsr())
        tree = tree + tree.T
        order, pred = depth_first_order(tree, 0, directed=False, return_predecessors=True)
        sub = hh.copy()
        size = np.ones(n, dtype=np.int64)
        for v in order[:0:-1]:
            p = pred[v]
            sub[p] += sub[v]
            size[p] += size[v]
        cand = order[1:]
        s = sub[cand][:, None]
        per1 = s / k1s[None, :]
        per2 = (total - s) / (k - k1s)[None, :]
        out = (
            np.maximum(0, np.maximum(lo - per1, per1 - hi))
            + np.maximum(0, np.maximum(lo - per2, per2 - hi))
        ) / target
        dev = (np.abs(per1 - target) + np.abs(per2 - target)) / target
        score = 10.0 * out + dev
        flat = np.argsort(score, axis=None, kind="stable")[:8]
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        for f in flat:
            ci, kj = np.unravel_index(int(f), score.shape)
            v = int(cand[ci])
            side = np.zeros(n, dtype=bool)
            side[order[pos[v] : pos[v] + size[v]]] = True
            cut = float(ec[side[ea] != side[eb]].sum())
            total_score = float(score[ci, kj]) + CUT_WEIGHT * cut / perim
            if total_score < best_score:
                best_score = total_score
                best = (side, int(k1s[kj]))
    return best
