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
from collections import deque

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import depth_first_order, minimum_spanning_tree

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


def best_regions(
    prob: RegionProblem, *, target: float, lo: float, hi: float, rng: np.random.Generator
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
            labels = _bisect(
                prob, np.arange(prob.n), k, target=target, lo=lo, hi=hi, rng=rng, nbrs=nbrs
            )
            scale = CUT_WEIGHT / (4.0 * math.sqrt(total_area / k))
            labels = local_search(
                labels, prob, nbrs, costs, target=target, lo=lo, hi=hi, scale=scale, rng=rng
            )
            labels = repair_regions(
                labels, prob, nbrs, target=target, lo=lo, hi=hi, scale=scale, rng=rng
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
        if share == 1.0:
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
) -> IntArray:
    """Return ``labels`` with out-of-band regions redrawn together with their neighbours.

    Each region outside the band is visited ``rounds`` times at most: the patch made of it
    and one neighbour, or of it and all its neighbours, is split again into one fewer, as
    many, or one more regions (recombination, as in ReCom), and the redraw that lowers the
    patch's penalty + boundary cost most is taken. The number of grids can thus change
    locally. Regions no patch improves are left (and reported by the caller).
    """
    labels = labels.copy()
    h = np.bincount(labels, weights=prob.households).astype(float)
    steps = rounds * int(np.sum((h < lo) | (h > hi))) + 1
    failed: set[tuple[int, ...]] = set()
    for _ in range(steps):
        h = np.bincount(labels, weights=prob.households).astype(float)
        todo = [
            int(g)
            for g in np.argsort(-np.abs(h - target), kind="stable")
            if (h[g] < lo or h[g] > hi)
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
            labels, one_hop, prob, nbrs, target=target, lo=lo, hi=hi, scale=scale, rng=rng
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
    nbrs: list[list[int]],
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
            sub = _bisect(prob, nodes, m2, target=target, lo=lo, hi=hi, rng=rng, nbrs=nbrs)
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
    nbrs: list[list[int]] | None = None,
) -> IntArray:
    """Return labels (global array) for ``nodes`` split into ``k`` connected regions."""
    if nbrs is None:
        nbrs, _ = _adjacency_lists(prob)
    labels = np.zeros(prob.n, dtype=np.int64)
    stack: list[tuple[IntArray, int]] = [(nodes, k)]
    next_label = 0
    while stack:
        part, kk = stack.pop()
        if kk == 1 or len(part) == 1:
            labels[part] = next_label
            next_label += 1
            continue
        found = _best_sweep_cut(prob, part, kk, nbrs, target=target, lo=lo, hi=hi, rng=rng)
        if found is None:
            found = _best_tree_cut(prob, part, kk, target=target, lo=lo, hi=hi, rng=rng)
        side, k1 = found
        stack.append((part[~side], kk - k1))
        stack.append((part[side], k1))
    return labels


def _split_scores(
    s: FloatArray, total: float, k: int, *, target: float, lo: float, hi: float
) -> FloatArray:
    """Return the balance score of putting ``s`` households on a side of ``k1 = 1..k-1``."""
    k1s = np.arange(1, k)
    s = s[:, None]
    per1 = s / k1s[None, :]
    per2 = (total - s) / (k - k1s)[None, :]
    out = (
        np.maximum(0, np.maximum(lo - per1, per1 - hi))
        + np.maximum(0, np.maximum(lo - per2, per2 - hi))
    ) / target
    dev = (np.abs(per1 - target) + np.abs(per2 - target)) / target
    return np.asarray(10.0 * out + SPLIT_DEVIATION_WEIGHT * dev, dtype=float)


def _side_connected(side_nodes: IntArray, nbrs: list[list[int]]) -> bool:
    """Return whether the units ``side_nodes`` form one connected piece of the graph."""
    members = set(side_nodes.tolist())
    start = int(side_nodes[0])
    seen = {start}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in nbrs[v]:
            if w in members and w not in seen:
                seen.add(w)
                queue.append(w)
    return len(seen) == len(members)


def _best_sweep_cut(
    prob: RegionProblem,
    part: IntArray,
    k: int,
    nbrs: list[list[int]],
    *,
    target: float,
    lo: float,
    hi: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.bool_], int] | None:
    """Return the best straight-line (sweep) cut of ``part`` whose two sides are connected.

    Units are ordered along ``SWEEP_ANGLES`` directions; every prefix is a candidate side.
    The best candidates by balance are checked for contiguity and scored with their
    boundary cost. ``None`` when no candidate is connected (the tree cut is used then).
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
    scores = np.stack(
        [
            _split_scores(cum[:, a], total, k, target=target, lo=lo, hi=hi)
            for a in range(len(angles))
        ]
    )  # (angles, n-1, k-1)
    flat = np.argsort(scores, axis=None, kind="stable")[: 4 * SWEEP_ANGLES]
    local = np.full(prob.n, -1, dtype=np.int64)
    local[part] = np.arange(n)
    ea, eb = local[prob.edges[:, 0]], local[prob.edges[:, 1]]
    inside = (ea >= 0) & (eb >= 0)
    ea, eb, ec = ea[inside], eb[inside], prob.cut_cost[inside]
    perim = 4.0 * math.sqrt(float(prob.area[part].sum()) / k)
    best_score = math.inf
    best: tuple[NDArray[np.bool_], int] | None = None
    checked = 0
    for f in flat:
        a, i, kj = np.unravel_index(int(f), scores.shape)
        bal = float(scores[a, i, kj])
        if bal >= best_score:
            break
        side = np.zeros(n, dtype=bool)
        side[orders[: i + 1, a]] = True
        if not (_side_connected(part[side], nbrs) and _side_connected(part[~side], nbrs)):
            continue
        checked += 1
        total_score = bal + CUT_WEIGHT * float(ec[side[ea] != side[eb]].sum()) / perim
        if total_score < best_score:
            best_score, best = total_score, (side, int(kj) + 1)
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
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, dtype=np.int64)
    g = csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    return np.asarray(lab, dtype=np.int64)
