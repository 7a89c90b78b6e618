"""Grid boundaries inside a large compound moved onto its internal roads, where the band allows.

A compound above the band maximum is split among its buildings (大小区单独建); where it
has internal roads (:mod:`gridgen.partition.inner_roads`), its buildings fall into
*pieces*: the buildings between the same internal roads and walls, whose cells meet across
open land rather than across a road. A planner keeps a piece in one grid, so the grid
boundary runs on the roads around it. The region search balances households first and
often cuts a piece between two grids; :func:`snapped_to_roads` then moves, piece by piece,
the buildings of a cut piece into one of the grids holding it, alone or in exchange for one
unit of that grid bordering the grid they leave (so both stay balanced), when:

- no grid touched gets farther from the band (each stays in band, or gets no worse);
- every grid stays in one piece (contiguous over the unit graph);
- the cut cost (:func:`gridgen.partition.ground.ground_cut_costs`) falls: the move trades
  cuts through open land for cuts along roads, never the reverse.

Pieces come from the unit graph alone: two units of one compound are in one piece when
less than half of the boundary they share runs on a road.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from gridgen.partition.ground import KINDS, ON_LINE_KINDS
from gridgen.partition.objective import CUT_WEIGHT, MOMENT_WEIGHT, RegionProblem, band_penalty
from gridgen.partition.regions import best_regions
from gridgen.partition.units import UnitGraph

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

SWAP_TRIES = 30
"""Units of the receiving grid tried in exchange for a piece (bounded work per piece)."""
ROAD_SHARE = 0.5
"""Share of a shared boundary on roads above which two units are in different pieces."""


def road_pieces(units: UnitGraph) -> list[IntArray]:
    """Return the pieces (two units or more) of the split compounds of ``units``."""
    kinds = np.asarray(units.kinds, dtype=object)
    comp = np.asarray(units.compound_ids, dtype=object)
    a, b = units.edges[:, 0], units.edges[:, 1]
    road_cols = [KINDS.index(k) for k in ON_LINE_KINDS]
    on_road = units.edge_kinds[:, road_cols].sum(axis=1)
    inner = (
        (kinds[a] == "subunit")
        & (kinds[b] == "subunit")
        & (comp[a] == comp[b])
        & (on_road < ROAD_SHARE * np.maximum(units.shared_length, 1e-9))
    )
    if not inner.any():
        return []
    n = units.n
    g = csr_matrix((np.ones(int(inner.sum())), (a[inner], b[inner])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    order = np.argsort(lab, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(lab[order])) + 1)
    return [np.asarray(p, dtype=np.int64) for p in groups if len(p) > 1]


def inner_road_pieces(units: UnitGraph) -> list[IntArray]:
    """Return the pieces of :func:`road_pieces` that are not a whole compound: those of
    compounds their internal roads divide (a compound without them is one piece)."""
    comp = np.asarray(units.compound_ids, dtype=object)
    sizes = dict(zip(*np.unique(comp, return_counts=True), strict=True))
    return [p for p in road_pieces(units) if len(p) < sizes[comp[p[0]]]]


def _off_band(h: IntArray, lo: int, hi: int) -> IntArray:
    return np.maximum(np.maximum(lo - h, h - hi), 0)


class _Snap:
    """Labels, their households and the unit adjacency, for trying moves."""

    def __init__(self, prob: RegionProblem, labels: IntArray, band: tuple[int, int]) -> None:
        self.prob = prob
        self.labels = labels.copy()
        self.lo, self.hi = band
        k = int(labels.max()) + 1 if len(labels) else 0
        self.hh = np.bincount(labels, weights=prob.households, minlength=k).astype(np.int64)
        n = prob.n
        e = prob.edges
        g = csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        self.adj = (g + g.T).tocsr()

    def cut_delta(self, new: IntArray, moved: IntArray) -> float:
        """Return the change in cut cost from ``self.labels`` to ``new`` (``moved`` units)."""
        mask = np.zeros(self.prob.n, dtype=bool)
        mask[moved] = True
        e = self.prob.edges
        near = mask[e[:, 0]] | mask[e[:, 1]]
        ea, eb, c = e[near, 0], e[near, 1], self.prob.cut_cost[near]
        before = c[self.labels[ea] != self.labels[eb]].sum()
        after = c[new[ea] != new[eb]].sum()
        return float(after - before)

    def connected(self, new: IntArray, label: int) -> bool:
        """Return whether ``label``'s units under ``new`` are one piece (and not none)."""
        rest = np.flatnonzero(new == label)
        if len(rest) == 0:
            return False
        sub = self.adj[rest][:, rest]
        return int(connected_components(sub, directed=False)[0]) == 1

    def apply_if_better(self, moved: IntArray, to: IntArray) -> bool:
        """Give units ``moved`` the labels ``to`` if no grid gets farther from the band, the
        cut cost falls and every grid touched stays in one piece; return whether done."""
        new = self.labels.copy()
        new[moved] = to
        k = len(self.hh)
        after = np.bincount(new, weights=self.prob.households, minlength=k).astype(np.int64)
        touched = np.unique(np.r_[self.labels[moved], to])
        off_after = _off_band(after[touched], self.lo, self.hi)
        if (off_after > _off_band(self.hh[touched], self.lo, self.hi)).any():
            return False
        if self.cut_delta(new, moved) >= 0:
            return False
        if not all(self.connected(new, int(g)) for g in touched):
            return False
        self.labels, self.hh = new, after
        return True

    def try_piece(self, piece: IntArray) -> bool:
        """Move ``piece`` whole into one of its grids if allowed, alone or swapped against a
        unit of that grid bordering the grid it leaves; return whether it moved."""
        held = self.labels[piece]
        if len(np.unique(held)) < 2:
            return False
        piece_hh = np.bincount(held, weights=self.prob.households[piece], minlength=len(self.hh))
        for to in np.argsort(-piece_hh, kind="stable").tolist():
            if piece_hh[to] <= 0:
                break
            movers = piece[held != to]
            if self.apply_if_better(movers, np.full(len(movers), to)):
                return True
            donors = np.unique(self.labels[movers])
            if len(donors) != 1:
                continue
            for u in self.swaps(piece, to, int(donors[0])).tolist():
                moved = np.r_[movers, u]
                if self.apply_if_better(moved, np.r_[np.full(len(movers), to), donors[0]]):
                    return True
        return False

    def swaps(self, piece: IntArray, to: int, donor: int) -> IntArray:
        """Return units of grid ``to`` outside ``piece`` that border grid ``donor`` and whose
        households would bring both grids back into the band after the piece moves."""
        moved_hh = int(self.prob.households[piece][self.labels[piece] == donor].sum())
        mine = np.flatnonzero(self.labels == to)
        mine = mine[~np.isin(mine, piece)]
        touches = np.asarray(
            (self.adj[mine] @ (self.labels == donor).astype(float)) > 0, dtype=bool
        ).ravel()
        cand = mine[touches]
        h = self.prob.households[cand]
        to_after = self.hh[to] + moved_hh - h
        donor_after = self.hh[donor] - moved_hh + h
        ok = (to_after >= self.lo) & (to_after <= self.hi)
        ok &= (donor_after >= self.lo) & (donor_after <= self.hi)
        return np.asarray(cand[ok][:SWAP_TRIES], dtype=np.int64)


def snapped_to_roads(
    units: UnitGraph, prob: RegionProblem, labels: IntArray, *, band: tuple[int, int]
) -> IntArray:
    """Return ``labels`` (a grid per unit) with cut pieces of split compounds moved whole
    into one grid where the band, contiguity and the cut cost allow (module docstring)."""
    hi = band[1]
    pieces = [p for p in road_pieces(units) if int(units.households[p].sum()) <= hi]
    if not pieces or len(labels) == 0:
        return labels
    snap = _Snap(prob, labels, band)
    for _ in range(3):  # a move can free another piece's move
        moved = sum(snap.try_piece(p) for p in pieces)
        if not moved:
            break
    return snap.labels


def contracted(prob: RegionProblem, group: IntArray) -> RegionProblem:
    """Return ``prob`` with the units of each group (``group``: ``0..g-1`` per unit) made
    one: households and areas summed, centroids area-weighted, cut costs of the edges
    between two groups summed, edges inside a group dropped."""
    g = int(group.max()) + 1
    area = np.bincount(group, weights=prob.area, minlength=g)
    w = np.maximum(prob.area, 1e-9)
    xy = (
        np.column_stack(
            [np.bincount(group, weights=prob.xy[:, k] * w, minlength=g) for k in (0, 1)]
        )
        / np.maximum(np.bincount(group, weights=w, minlength=g), 1e-9)[:, None]
    )
    a, b = group[prob.edges[:, 0]], group[prob.edges[:, 1]]
    keep = a != b
    pairs = np.column_stack([np.minimum(a, b), np.maximum(a, b)])[keep]
    key: IntArray = np.zeros((0, 2), dtype=np.int64)
    cost: FloatArray = np.zeros(0)
    if len(pairs):
        found, inv = np.unique(pairs, axis=0, return_inverse=True)
        key = np.asarray(found, dtype=np.int64)
        cost = np.asarray(
            np.bincount(inv.ravel(), weights=prob.cut_cost[keep], minlength=len(key)),
            dtype=float,
        )
    return RegionProblem(
        households=np.bincount(group, weights=prob.households, minlength=g).astype(np.int64),
        edges=np.asarray(key, dtype=np.int64),
        cut_cost=np.asarray(cost, dtype=float),
        xy=np.asarray(xy, dtype=float),
        area=np.asarray(area, dtype=float),
    )


def piece_groups(n: int, pieces: list[IntArray]) -> IntArray:
    """Return ``0..g-1`` per unit of ``n``: each piece one group, every other unit its own."""
    group = np.full(n, -1, dtype=np.int64)
    for k, p in enumerate(pieces):
        group[p] = k
    rest = np.flatnonzero(group < 0)
    group[rest] = len(pieces) + np.arange(len(rest))
    out = np.unique(group, return_inverse=True)[1]
    return np.asarray(out, dtype=np.int64).ravel()


def cut_cost(prob: RegionProblem, labels: IntArray) -> float:
    """Return the summed cost of the edges ``labels`` cut."""
    e = prob.edges
    return float(prob.cut_cost[labels[e[:, 0]] != labels[e[:, 1]]].sum())


def region_score(
    prob: RegionProblem, labels: IntArray, *, target: float, band: tuple[int, int]
) -> float:
    """Return the region objective of ``labels`` (:mod:`gridgen.partition.objective`):
    band penalties, the cut cost scaled by a typical region perimeter, and the shape term
    of the local search (2πI/A² per region, units as point masses plus their own disks)."""
    k = int(labels.max()) + 1
    h = np.bincount(labels, weights=prob.households, minlength=k).astype(float)
    pen = float(band_penalty(h, target=target, lo=band[0], hi=band[1]).sum())
    scale = CUT_WEIGHT / (4.0 * math.sqrt(max(float(prob.area.sum()), 1e-9) / k))
    ua = prob.area.astype(float)
    cx = prob.xy[:, 0] - prob.xy[:, 0].mean()
    cy = prob.xy[:, 1] - prob.xy[:, 1].mean()
    sums = [
        np.bincount(labels, weights=w, minlength=k)
        for w in (ua, ua * cx, ua * cy, ua * (cx * cx + cy * cy) + ua * ua / (2 * math.pi))
    ]
    sa = np.maximum(sums[0], 1e-9)
    shape = 2 * math.pi * (sums[3] - (sums[1] ** 2 + sums[2] ** 2) / sa) / (sa * sa)
    return pen + scale * cut_cost(prob, labels) + MOMENT_WEIGHT * float(shape.sum())


def out_of_band(prob: RegionProblem, labels: IntArray, band: tuple[int, int]) -> int:
    """Return the number of regions of ``labels`` out of ``band``."""
    h = np.bincount(labels, weights=prob.households)
    return int(np.sum((h < band[0]) | (h > band[1])))


def road_following(
    prob: RegionProblem,
    labels: IntArray,
    pieces: list[IntArray],
    *,
    target: int,
    band: tuple[int, int],
    rng: np.random.Generator,
    forced: NDArray[np.bool_],
) -> IntArray:
    """Return the labels of one connected part: a second search over it (one run of
    :func:`gridgen.partition.regions.best_regions`) with each piece of at most the band
    maximum as one unit (:func:`contracted`), where that leaves no more regions out of band
    and scores better on the region objective (:func:`region_score`: balance, cut cost and
    shape, so a road-following plan of much worse shape is not taken); else ``labels``.

    Pieces as units let the search draw grids whose boundaries inside large compounds run
    only on internal roads; the search over single buildings stays the fallback wherever
    whole pieces balance worse. ``pieces`` index the part's units; ``rng`` is only spawned
    from, so the parts after this one draw the same numbers either way.
    """
    hi = band[1]
    pieces = [p for p in pieces if int(prob.households[p].sum()) <= hi]
    if not any(len(np.unique(labels[p])) > 1 for p in pieces):
        return labels  # no piece is cut: nothing to gain
    group = piece_groups(prob.n, pieces)
    coarse = contracted(prob, group)
    c_forced = np.zeros(coarse.n, dtype=bool)
    np.logical_or.at(c_forced, group, forced)
    found = best_regions(
        coarse, target=target, lo=band[0], hi=band[1], rng=rng.spawn(1)[0], forced=c_forced
    )
    alt = np.asarray(found[group], dtype=np.int64)
    if out_of_band(prob, alt, band) > out_of_band(prob, labels, band):
        return labels
    if region_score(prob, alt, target=target, band=band) < region_score(
        prob, labels, target=target, band=band
    ):
        return alt
    return labels
