"""Balanced, contiguous, compact regions on a weighted unit graph (pure arrays, no geometry).

The partitioner of :mod:`gridgen.partition.community` calls :func:`best_regions` on each connected
component of a community's unit graph. The method:

1. **choose k**: candidates around ``total / target`` inside ``[ceil(total/max),
   floor(total/min)]`` (when that range is empty, the two nearest counts);
2. **recursive bisection along spanning trees**: split the units into two connected sides
   whose households fit ``k1`` and ``k2`` grids, by cutting one edge of a spanning tree
   (several random minimum spanning trees of jittered centroid distances); among cuts that
   fit the band, take the one with the best balance plus boundary cost (short, along roads);
3. **local search**: move boundary units to a neighbouring region when that lowers
   ``Σ balance(h_g) + λ Σ_cut c_e`` and the region they leave stays connected;
4. keep the candidate k with the largest share of regions in the band, then the lowest
   objective.

GerryChain's ``recursive_tree_part`` also cuts spanning trees, but with one symmetric ε and
k fixed in advance, and without the local search that makes the boundaries compact; both
matter with coarse units (whole compounds), see ``bench/partition.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, depth_first_order, minimum_spanning_tree

from gridgen.partition.local_search import local_search
from gridgen.partition.moves import chain_moves
from gridgen.partition.objective import (
    CUT_WEIGHT,
    SPLIT_DEVIATION_WEIGHT,
    FloatArray,
    IntArray,
    RegionProblem,
    band_penalty,
)

SHARED_MOVES = True
"""Finish with the rebalance engine's ejection chains (:func:`chain_moves`)."""
TREES_PER_SPLIT = 4
"""Random minimum spanning trees tried per bisection."""
SWEEP_ANGLES = 8
"""Directions of the straight sweep cuts tried per bisection."""


def candidate_counts(total: int, *, target: float, lo: float, hi: float, n_units: int) -> list[int]:
    """Return the region counts worth trying for ``total`` households."""
    if total <= 0 or n_units <= 1:
        return [1]
    k_lo = max(1, math.ceil(total / hi))
    k_hi = max(1, math.floor(total / lo))
    k0 = max(1, round(total / target))
    near = {min(max(k0 + d, k_lo), k_hi) for d in (-1, 0, 1)}
    ks = near if k_lo <= k_hi else {k_hi, k_lo}
    return sorted(k for k in ks if 1 <= k <= n_units) or [1]


def avoidable_out(
    labels: IntArray,
    prob: RegionProblem,
    *,
    lo: float,
    hi: float,
    forced: NDArray[np.bool_] | None = None,
) -> int:
    """Return the regions out of band that a better plan could bring into it.

    Regions holding a ``forced`` unit (one no in-band region can hold: a building above the
    maximum, a unit proven unbalanceable) do not count, nor, in a part no number of in-band
    regions can hold (:func:`fits_band`), one region.
    """
    h = np.bincount(labels, weights=prob.households)
    out = (h < lo) | (h > hi)
    if forced is not None and forced.any():
        out[np.unique(labels[forced])] = False
    n = int(out.sum())
    return n - 1 if n and not fits_band(float(prob.households.sum()), lo=lo, hi=hi) else n


def fits_band(total: float, *, lo: float, hi: float) -> bool:
    """Return whether some number ``k`` of regions has ``k * lo <= total <= k * hi``."""
    return total <= 0 or any(k * lo <= total <= k * hi for k in range(1, int(total // lo) + 2))


def best_regions(
    prob: RegionProblem,
    *,
    target: float,
    lo: float,
    hi: float,
    rng: np.random.Generator,
    forced: NDArray[np.bool_] | None = None,
) -> IntArray:
    """Return a region label per unit (0..k-1) for one connected unit graph.

    Parameters
    ----------
    prob
        The connected unit graph.
    target, lo, hi
        Target households per region and the band.
    rng
        Random generator (the result is a function of its state).
    forced
        Units whose region is out of band whatever the plan (proven): their regions are
        not repaired, and the search stops when every other region is in band.

    Returns
    -------
    numpy.ndarray
        Labels, numbered in the order regions were created.
    """
    total = int(prob.households.sum())
    nbrs, costs = _adjacency_lists(prob)
    best: tuple[float, float] | None = None
    best_labels = np.zeros(prob.n, dtype=np.int64)
    total_area = float(prob.area.sum())
    ks = candidate_counts(total, target=target, lo=lo, hi=hi, n_units=prob.n)
    for k in sorted(ks, key=lambda k: (abs(k - total / target), k)):
        if k == 1:
            labels = np.zeros(prob.n, dtype=np.int64)
        else:
            labels = _bisect(prob, np.arange(prob.n), k, target=target, lo=lo, hi=hi, rng=rng)
            scale = CUT_WEIGHT / (4.0 * math.sqrt(total_area / k))
            labels = local_search(
                labels, prob, nbrs, costs, target=target, lo=lo, hi=hi, scale=scale, rng=rng
            )
            labels = repair_regions(
                labels,
                prob,
                nbrs,
                target=target,
                lo=lo,
                hi=hi,
                scale=scale,
                rng=rng,
                forced=forced,
            )
            labels = local_search(
                labels, prob, nbrs, costs, target=target, lo=lo, hi=hi, scale=scale, rng=rng
            )
            if SHARED_MOVES:
                labels = chain_moves(labels, prob, lo=lo, hi=hi)
        h = np.bincount(labels, weights=prob.households).astype(float)
        share = float(np.mean((h >= lo) & (h <= hi)))
        obj = float(band_penalty(h, target=target, lo=lo, hi=hi).sum()) / len(h)
        score = (-share, obj)
        if best is None or score < best:
            best, best_labels = score, labels
        if avoidable_out(labels, prob, lo=lo, hi=hi, forced=forced) == 0:
            break
    return best_labels


def _patch_cost(
    labels: IntArray,
    nodes: IntArray,
    prob: RegionProblem,
    *,
    target: float,
    lo: float,
    hi: float,
    scale: float,
) -> tuple[int, float]:
    """Return (regions out of band, penalty + boundary cost) of the regions on ``nodes``."""
    lab = labels[nodes]
    _, inv = np.unique(lab, return_inverse=True)
    h = np.bincount(inv, weights=prob.households[nodes]).astype(float)
    out = int(np.sum((h < lo) | (h > hi)))
    inside = np.zeros(prob.n, dtype=bool)
    inside[nodes] = True
    ea, eb = prob.edges[:, 0], prob.edges[:, 1]
    sel = inside[ea] & inside[eb] & (labels[ea] != labels[eb])
    cost = float(band_penalty(h, target=target, lo=lo, hi=hi).sum())
    return out, cost + scale * float(prob.cut_cost[sel].sum())


def repair_regions(
    labels: IntArray,
    prob: RegionProblem,
    nbrs: list[list[int]],
    *,
    target: float,
    lo: float,
    hi: float,
    scale: float,
    rng: np.random.Generator,
    rounds: int = 1,
    forced: NDArray[np.bool_] | None = None,
) -> IntArray:
    """Return ``labels`` with out-of-band regions redrawn together with their neighbours.

    Each region outside the band is visited ``rounds`` times at most: the patch made of it
    and one neighbour, or of it and all its neighbours, is split again into one fewer, as
    many, or one more regions (recombination, as in ReCom), and the redraw that lowers the
    patch's penalty + boundary cost most is taken. The number of grids can thus change
    locally. Regions no patch improves are left (and reported by the caller), as are
    regions holding a ``forced`` unit (out of band whatever the plan).
    """
    labels = labels.copy()
    h = np.bincount(labels, weights=prob.households).astype(float)
    steps = rounds * int(np.sum((h < lo) | (h > hi))) + 1
    failed: set[tuple[int, ...]] = set()
    for _ in range(steps):
        h = np.bincount(labels, weights=prob.households).astype(float)
        stuck = set(labels[forced].tolist()) if forced is not None else set()
        todo = [
            int(g)
            for g in np.argsort(-np.abs(h - target), kind="stable")
            if (h[g] < lo or h[g] > hi)
            and int(g) not in stuck
            and tuple(np.flatnonzero(labels == g).tolist()) not in failed
        ]
        if not todo:
            break
        g = todo[0]
        members = np.flatnonzero(labels == g)
        neigh = sorted({int(labels[w]) for v in members.tolist() for w in nbrs[v]} - {g})
        one_hop = [[g, n] for n in neigh]
        if len(neigh) > 1:
            one_hop.append([g, *neigh[:5]])
        found = _best_patch(
            labels, one_hop, prob, target=target, lo=lo, hi=hi, scale=scale, rng=rng
        )
        if found is None:
            failed.add(tuple(members.tolist()))
            continue
        _, inv = np.unique(found, return_inverse=True)
        labels = inv.astype(np.int64)
    return labels


def _best_patch(
    labels: IntArray,
    patches: list[list[int]],
    prob: RegionProblem,
    *,
    target: float,
    lo: float,
    hi: float,
    scale: float,
    rng: np.random.Generator,
) -> IntArray | None:
    """Return the labels after the best improving redraw of one patch, or None."""
    best_cost = math.inf
    best: IntArray | None = None
    for patch in patches:
        nodes = np.flatnonzero(np.isin(labels, patch))
        _, old_cost = _patch_cost(labels, nodes, prob, target=target, lo=lo, hi=hi, scale=scale)
        m = len(patch)
        patch_total = float(prob.households[nodes].sum())
        for m2 in (m - 1, m, m + 1):
            if m2 < 1 or m2 > len(nodes):
                continue
            if m2 != m and not lo <= patch_total / m2 <= hi:
                continue
            sub = _bisect(prob, nodes, m2, target=target, lo=lo, hi=hi, rng=rng)
            trial = labels.copy()
            trial[nodes] = int(labels.max()) + 1 + sub[nodes]
            _, cost = _patch_cost(trial, nodes, prob, target=target, lo=lo, hi=hi, scale=scale)
            if cost < old_cost - 1e-9 and cost < best_cost:
                best_cost, best = cost, trial
    return best


def _adjacency_lists(prob: RegionProblem) -> tuple[list[list[int]], list[list[float]]]:
    nbrs: list[list[int]] = [[] for _ in range(prob.n)]
    costs: list[list[float]] = [[] for _ in range(prob.n)]
    for (a, b), c in zip(prob.edges.tolist(), prob.cut_cost.tolist(), strict=True):
        nbrs[a].append(b)
        nbrs[b].append(a)
        costs[a].append(c)
        costs[b].append(c)
    return nbrs, costs


def _bisect(
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


def components(n: int, edges: IntArray) -> IntArray:
    """Return the connected component label of each of ``n`` units."""

    if n == 0:
        return np.zeros(0, dtype=np.int64)
    g = csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    return np.asarray(lab, dtype=np.int64)
