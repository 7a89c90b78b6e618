"""Balanced, contiguous, compact regions on a weighted unit graph (pure arrays, no geometry).

The partitioner of :mod:`gridgen.partition.community` calls :func:`best_regions` on each connected
component of a community's unit graph. The method:

1. **choose k**: candidates around ``total / target`` inside ``[ceil(total/max),
   floor(total/min)]`` (when that range is empty, the two nearest counts);
2. **recursive bisection** (:mod:`gridgen.partition.cuts`): split the units into two
   connected sides whose households fit ``k1`` and ``k2`` grids, by a straight sweep cut or
   by cutting one edge of a spanning tree (several random minimum spanning trees of
   jittered centroid distances); take the cut with the best balance plus boundary cost
   (short, along roads);
3. **local search**: move boundary units to a neighbouring region when that lowers
   ``Σ balance(h_g) + λ Σ_cut c_e`` and the region they leave stays connected;
4. **repair**: regions out of band are redrawn with their neighbours (recombination);
5. keep the candidate k with the largest share of regions in the band, then the lowest
   objective.

GerryChain's ``recursive_tree_part`` also cuts spanning trees, but with one symmetric ε and
k fixed in advance, and without the local search that makes the boundaries compact; both
matter with coarse units (whole compounds), see ``bench/partition.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from gridgen.partition.cuts import bisect_regions
from gridgen.partition.local_search import local_search
from gridgen.partition.moves import chain_moves
from gridgen.partition.objective import (
    CUT_WEIGHT,
    IntArray,
    RegionProblem,
    band_penalty,
)

SHARED_MOVES = True
"""Finish with the rebalance engine's ejection chains (:func:`chain_moves`)."""


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
    unsplittable: bool = False,
) -> int:
    """Return the regions out of band that a better plan could bring into it.

    Regions holding a ``forced`` unit (one no in-band region can hold: a building above the
    maximum, a unit proven unbalanceable) do not count, nor, in a part no number of in-band
    regions can hold (:func:`fits_band`, or ``unsplittable``: proven by search), one region.
    """
    h = np.bincount(labels, weights=prob.households)
    out = (h < lo) | (h > hi)
    if forced is not None and forced.any():
        out[np.unique(labels[forced])] = False
    n = int(out.sum())
    split = unsplittable or not fits_band(float(prob.households.sum()), lo=lo, hi=hi)
    return n - 1 if n and split else n


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
            labels = bisect_regions(
                prob, np.arange(prob.n), k, target=target, lo=lo, hi=hi, rng=rng
            )
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


def polished(
    labels: IntArray,
    prob: RegionProblem,
    *,
    target: float,
    lo: float,
    hi: float,
    rng: np.random.Generator,
) -> IntArray:
    """Return ``labels`` (0..k-1) improved by the local search and the ejection chains (the
    shape and boundary terms; a move that takes a region out of band costs more than any
    shape gain)."""
    nbrs, costs = _adjacency_lists(prob)
    k = int(labels.max()) + 1
    scale = CUT_WEIGHT / (4.0 * math.sqrt(float(prob.area.sum()) / k))
    labels = local_search(
        labels, prob, nbrs, costs, target=target, lo=lo, hi=hi, scale=scale, rng=rng
    )
    return chain_moves(labels, prob, lo=lo, hi=hi) if SHARED_MOVES else labels


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
            sub = bisect_regions(prob, nodes, m2, target=target, lo=lo, hi=hi, rng=rng)
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


def components(n: int, edges: IntArray) -> IntArray:
    """Return the connected component label of each of ``n`` units."""

    if n == 0:
        return np.zeros(0, dtype=np.int64)
    g = csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    return np.asarray(lab, dtype=np.int64)
