"""The relabelling of a settled community that keeps most households in their old grid.

:func:`gridgen.partition.settle.settle` reaches the band by a sequence of local moves
(chains, splits, dissolves, local redraws), each the cheapest it finds at its turn; the
sequence is not the cheapest overall. :func:`least_change` takes the settled grids and
solves a mixed integer programme (HiGHS, through ``highspy``, started from the settled
plan) over the same grids: each unit near a change (:data:`NEIGHBOURHOODS`) may go to its settled
grid, its old grid or a grid of a neighbouring unit; every grid in the band stays in it;
a grid holding a stuck unit (no grid in the band can hold it) keeps that unit and goes no
further out of the band than it is; in a connected part proven to have ``q`` grids out of
band whatever the plan, any ``q`` of its grids may be out of band (the proof then names
them; it moved the filled city's Drift(seed=5) 79 households nearer its old plan and
make_city's Drift(seed=7) 136); each grid keeps one anchor unit and stays connected
(each anchor sends one unit of flow to every other unit of its grid along edges inside
it); the objective is the households whose grid is not the old grid they were in
(``kept``: households of each unit per old grid, so a compound reunited from several old
grids costs what its buildings in the other grids hold).

It is a last step of a rebalance: a settled plan with a grid out of band excused neither by
a stuck unit nor by a proof about its part is returned as it is, and so is one within
:data:`SLACK` of the lower bound or one the programme does not improve within its time
limit (:mod:`gridgen.partition.least_change_programme`). Written here rather than taken
from a library: no partitioning library minimises the households moved from a given plan
under a band and contiguity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from gridgen.partition.least_change_programme import (
    Flex,
    candidates,
    programme,
    relaxed,
    solve,
    start_of,
)
from gridgen.partition.proofs import fewest_out_proofs
from gridgen.partition.regions import components
from gridgen.partition.river_sides import across_edges, without_edges
from gridgen.partition.settle import part_proofs
from gridgen.partition.units import UnitGraph

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
SLACK = 150
"""Households above the lower bound a settled community may change without the programme
being tried (it gains little there: on make_city and the filled city, 20 communities within
150 of the bound gave 34 households for 0.3 s)."""


class Proven(NamedTuple):
    """Grids out of band that a proof about their connected part excuses (the part has
    that many grids out of band whatever the plan), not a stuck unit: ``part`` per unit
    (its connected part on the graph the proofs are on), ``grids`` the settled grids."""

    part: IntArray
    grids: IntArray


class Neighbourhood(NamedTuple):
    """Which units a programme may relabel: those ``reach`` edges from a unit away from
    its old grid, at most ``moves`` units with households out of their settled grid, in
    programmes of at most ``arcs`` flow arcs (larger ones take seconds for a few
    households: walled city, 1,795 arcs, 3.4 s for 8)."""

    reach: int
    moves: int
    arcs: int
    grow: int = 0


NEIGHBOURHOODS = (Neighbourhood(3, 12, 600), Neighbourhood(2, 8, 400))
"""The neighbourhoods tried in turn from the settled plan until one's programme is solved
to optimality: a wide one whose solve stops at its time limit, or that has too many arcs,
is followed by the narrow one from the settled plan and from the wide one's plan; the plan
that keeps most households home is taken. A wide neighbourhood's anchors are units the
narrow one keeps in place where it has them, so its plans include the narrow one's: solved,
it is no worse. Two edges, eight units and 400 arcs alone left the filled city at
30.3-30.8% of a redraw's changes on Drift seeds 3 and 11: chains whose cheaper route runs
three units from the settled change, and 60-70-unit communities whose changes are spread
(Drift(seed=11): 716 -> 518 and 443 -> 272 households in 0.1 s each)."""
FLEX_SHARE = 0.1
"""How far out of band (a share of the band minimum) a grid may go in place of one a proof
excuses (in a part proven to have that many grids out of band whatever the plan), when
the proven one is nearer the band."""
NEW_GRID_HOOD = Neighbourhood(2, 8, 400, grow=2)
"""Tried last, from the best plan, where a grid no old grid is (a new one) is left and the
plan is more than :data:`SLACK` above the lower bound: a unit within ``grow`` edges of a new
grid may join it (in the others, one edge). Where a new grid goes decides which grids give
it households; a unit two edges away joins it only with the unit between them, which
one-edge candidates cannot express (unseen filled41 city, 140109004005: a 68-household unit
of an overfull grid swapped with a neighbour's 43 instead of joining the new grid through a
48-household unit, 486 -> 443 households changed). A last try, taken only when it keeps
more households home, so no plan gets worse by it (0.02-0.05 s a city: 1-8 programmes)."""
STAY = 1e-3
"""Cost of a unit leaving its settled grid, per unit (ties keep the settled plan)."""


def proven_out(
    units: UnitGraph, labels: IntArray, *, stuck: IntArray, band: tuple[int, int]
) -> Proven:
    """Return the grids of ``labels`` out of band that a proof about their part excuses
    and no stuck unit does, as :func:`gridgen.partition.settle.band_problems` states them
    (on the unit graph without the edges across rivers and railways)."""
    lo, hi = band
    h = np.bincount(labels, weights=units.households)
    out = (h < lo) | (h > hi)
    out[labels[stuck]] = False
    if not out.any():
        return Proven(np.zeros(units.n, dtype=np.int64), np.zeros(0, dtype=np.int64))
    off = without_edges(units, across_edges(units, lo=lo, hi=hi))
    parts = part_proofs(off, labels, stuck=stuck, lo=lo, hi=hi)
    fewest = fewest_out_proofs(off, labels, stuck=stuck, band=band, proven=set(parts))
    grids = np.asarray(sorted((set(parts) | set(fewest)) & set(np.flatnonzero(out).tolist())))
    return Proven(components(units.n, off.edges), grids.astype(np.int64))


def old_of(kept: FloatArray, labels: IntArray) -> IntArray:
    """Return per settled grid the old grid it is (matched one-to-one by the households
    they share; ``-1``: a new grid)."""
    k = int(labels.max()) + 1
    m = np.zeros((k, kept.shape[1]))
    np.add.at(m, labels, kept)
    r, c = linear_sum_assignment(m, maximize=True)
    out = np.full(k, -1, dtype=np.int64)
    good = m[r, c] > 0
    out[r[good]] = c[good]
    return out


def _fixed(
    labels: IntArray, home: IntArray, reunited: NDArray[np.bool_], edges: IntArray, reach: int
) -> NDArray[np.bool_]:
    """Return per unit whether it keeps its settled grid: units more than ``reach``
    edges from any unit away from its old grid (or reunited from several)."""
    near = ((home >= 0) & (labels != home)) | reunited
    for _ in range(reach):
        step = near.copy()
        # NOTE: ``step[i] |= v`` keeps the last write per repeated index: the reach is
        # shorter than ``reach`` edges where the graph branches. NEIGHBOURHOODS are tuned on
        # it; the true reach (np.logical_or.at) with (2, 12, 800) then (1, 8, 400) changed
        # -611/-151/-293 households on filled/make_city/walled Drift(seed=11), +28 on walled
        # Drift(seed=7), at 2-3x the solving time.
        step[edges[:, 0]] |= near[edges[:, 1]]
        step[edges[:, 1]] |= near[edges[:, 0]]
        near = step
    out: NDArray[np.bool_] = ~near
    return out


def _revivable(kept: FloatArray, as_old: IntArray, stuck: IntArray) -> tuple[IntArray, IntArray]:
    """Return the old grids no settled grid is (dissolved by the settling) and, per such
    grid, its anchor: the unit with most of its households (not a stuck one)."""
    gone = np.setdiff1d(np.flatnonzero(kept.sum(axis=0) > 0), as_old)
    share = kept[:, gone].copy()
    share[stuck] = 0.0
    ok = share.max(axis=0) > 0 if len(gone) else np.zeros(0, dtype=bool)
    return gone[ok].astype(np.int64), share.argmax(axis=0)[ok].astype(np.int64)


def _anchors(
    labels: IntArray,
    kept: FloatArray,
    as_old: IntArray,
    hh: FloatArray,
    *,
    edges: IntArray,
    fixed: NDArray[np.bool_],
    core: NDArray[np.bool_],
) -> IntArray:
    """Return per settled grid the unit that stays in it: one that keeps its grid anyway
    (``fixed``) if any, else one a narrower neighbourhood keeps (``core``: its plans stay
    open to this one), of those the one with most households still in the old grid the
    grid is, then (ties) the one with most neighbours that were in that old grid, else
    its largest.

    The neighbours break ties between units of the same households: a unit inside its old
    grid stays there in more of the plans than one on its edge, which a neighbouring grid
    may need (unseen filled41 city: two units of 128 households, the one on the edge of an
    overfull grid fixed in place kept a new grid from taking it; 377 -> 295 households
    changed with the inner one).
    """
    out = np.zeros(len(as_old), dtype=np.int64)
    for g in range(len(as_old)):
        members = np.flatnonzero(labels == g)
        score = hh[members] + (kept[members, as_old[g]] * 1e6 if as_old[g] >= 0 else 0.0)
        if as_old[g] >= 0:
            was = kept[:, as_old[g]] > 0
            inner = np.bincount(edges[:, 0], weights=was[edges[:, 1]], minlength=len(labels))
            inner += np.bincount(edges[:, 1], weights=was[edges[:, 0]], minlength=len(labels))
            score += inner[members] * 1e4
        score += fixed[members] * 2e12 + core[members] * 1e12
        out[g] = members[int(np.argmax(score))]
    return out


def least_change(
    households: IntArray,
    edges: IntArray,
    labels: IntArray,
    kept: FloatArray,
    *,
    stuck: IntArray,
    band: tuple[int, int],
    floor: float = 0.0,
    proven: Callable[[], Proven] | None = None,
) -> IntArray:
    """Return settled ``labels`` relabelled to keep most households in their old grid
    (module doc), or ``labels`` when the programme finds nothing better.

    Parameters
    ----------
    households, edges
        Households per unit and the unit graph's edges ``(m, 2)``.
    labels
        Settled grid per unit (``0..k-1``).
    kept
        ``(n, k_old)`` households of each unit that were in each old grid.
    stuck
        Units no grid in the band can hold.
    band
        ``(lo, hi)``.
    floor
        Households no plan can keep from changing grid (the lower bound): a settled plan
        within :data:`SLACK` of it is returned as it is.
    proven
        Returns the grids out of band a proof excuses (called only when a grid is out of
        band without a stuck unit and the plan is more than :data:`SLACK` above ``floor``):
        as many grids of their part may be out of band (:func:`_flex`); default none (a
        grid out of band without a stuck unit leaves the plan as it is).
    """
    best, least = labels, _away(households, kept, labels)
    lo, hi = band
    size = np.bincount(labels, weights=households)
    loose = (size < lo) | (size > hi)
    loose[labels[stuck]] = False
    if loose.any() and (proven is None or least <= floor + SLACK):
        return labels
    found = proven() if loose.any() and proven is not None else None
    starts = [labels]
    for hood in NEIGHBOURHOODS:
        done = True
        for start in starts[:2]:
            out, solved = _least_change_in(
                hood,
                households,
                edges,
                start,
                kept,
                stuck=stuck,
                band=band,
                floor=floor,
                proven=found,
            )
            done &= solved
            if out is not start and _away(households, kept, out) < least:
                best, least = out, _away(households, kept, out)
        if done:
            break
        starts = [labels, best] if best is not labels else [labels]
    if least > floor + SLACK and (old_of(kept, best) < 0).any():
        out, _ = _least_change_in(
            NEW_GRID_HOOD,
            households,
            edges,
            best,
            kept,
            stuck=stuck,
            band=band,
            floor=floor,
            proven=found,
        )
        if out is not best and _away(households, kept, out) < least:
            best = out
    return best


def _away(households: IntArray, kept: FloatArray, labels: IntArray) -> float:
    """Return the households not in the old grid their grid is (:func:`old_of`)."""
    as_old = old_of(kept, labels)
    n = len(labels)
    here = np.where(as_old[labels] >= 0, kept[np.arange(n), np.maximum(as_old[labels], 0)], 0.0)
    return float(households.sum() - here.sum())


def _least_change_in(
    hood: Neighbourhood,
    households: IntArray,
    edges: IntArray,
    labels: IntArray,
    kept: FloatArray,
    *,
    stuck: IntArray,
    band: tuple[int, int],
    floor: float,
    proven: Proven | None,
) -> tuple[IntArray, bool]:
    """Return :func:`least_change`'s labels over ``hood`` and whether its programme was
    solved to optimality (or not needed)."""
    lo, hi = band
    n = len(labels)
    if n == 0 or len(edges) == 0:
        return labels, True
    hh = households.astype(float)
    k = int(labels.max()) + 1
    size = np.bincount(labels, weights=hh, minlength=k).astype(np.float64)
    excused = np.zeros(k, dtype=bool)
    excused[labels[stuck]] = True
    flex = _flex(proven, labels, size, excused, band=band)
    allowed = excused.copy()
    if proven is not None:  # a proven grid whose part may have that many out of band
        allowed[np.intersect1d(proven.grids, flex.grids)] = True
    if (((size < lo) | (size > hi)) & ~allowed).any():
        return labels, True
    if _away(households, kept, labels) <= floor + SLACK:
        return labels, True
    as_old = old_of(kept, labels)
    gone, revived = _revivable(kept, as_old, stuck)
    settled_as_old = as_old
    as_old = np.r_[as_old, gone]
    big = len(as_old)
    excused = np.r_[excused, np.zeros(big - k, dtype=bool)]
    size = np.r_[size, np.zeros(big - k)]
    to_settled = np.full(kept.shape[1] + 1, -1, dtype=np.int64)
    to_settled[as_old[as_old >= 0]] = np.flatnonzero(as_old >= 0)
    home = np.where(kept.max(axis=1) > 0, to_settled[kept.argmax(axis=1)], -1)
    reunited = kept.max(axis=1) < hh - 0.5
    fixed = _fixed(labels, home, reunited, edges, hood.reach)
    fixed[stuck] = True
    core = _fixed(labels, home, reunited, edges, min(h.reach for h in NEIGHBOURHOODS)) | fixed
    anchors = np.r_[
        _anchors(labels, kept, settled_as_old, hh, edges=edges, fixed=fixed, core=core), revived
    ]
    node, c_edges = _contracted(fixed, labels, edges)
    c_hh = np.bincount(node, weights=hh).astype(np.float64)
    c_kept = np.zeros((len(c_hh), kept.shape[1]))
    np.add.at(c_kept, node, kept)
    c_labels = np.zeros(len(c_hh), dtype=np.int64)
    c_labels[node] = labels
    c_home = np.full(len(c_hh), -1, dtype=np.int64)
    c_home[node] = np.where(fixed, labels, home)
    c_fixed = np.zeros(len(c_hh), dtype=bool)
    c_fixed[node] = fixed
    new, done = _relabelled(
        hood,
        c_hh,
        c_edges,
        c_labels,
        c_kept,
        home=c_home,
        fixed=c_fixed,
        anchors=node[anchors],
        as_old=as_old,
        limits=(
            np.where(excused, np.minimum(size, lo), lo),
            np.where(excused, np.maximum(size, hi), hi),
        ),
        vanish=~excused,
        k=k,
        flex=flex,
    )
    if new is None:
        return labels, done
    out = new[node]
    return (out, done) if _connected(out, edges, big) else (labels, True)


def _flex(
    proven: Proven | None,
    labels: IntArray,
    size: FloatArray,
    excused: NDArray[np.bool_],
    *,
    band: tuple[int, int],
) -> Flex:
    """Return the grids that may be out of band in place of the ``proven`` ones: in each
    connected part holding a proven grid (every unit of it in that part), any of its grids
    not ``excused`` by a stuck unit, as many as the part has proven grids, each at most as
    far out as the farthest of them or :data:`FLEX_SHARE` of the band minimum."""
    lo, hi = band
    k = len(size)
    none = np.zeros(0, dtype=np.int64)
    if proven is None or len(proven.grids) == 0:
        return Flex(none, none, np.zeros(0), np.zeros(0), none)
    first = np.full(k, -1, dtype=np.int64)
    first[labels] = proven.part
    mixed = np.zeros(k, dtype=bool)
    mixed[labels[proven.part != first[labels]]] = True
    part = np.where(mixed, -1, first)
    groups, quota = np.unique(part[proven.grids], return_counts=True)
    quota, groups = quota[groups >= 0], groups[groups >= 0]
    grids = np.flatnonzero(np.isin(part, groups) & ~excused)
    off = np.maximum(lo - size, size - hi)
    reach = np.zeros(len(groups))
    np.maximum.at(reach, np.searchsorted(groups, part[proven.grids]), off[proven.grids])
    group = np.searchsorted(groups, part[grids])
    width = np.maximum(reach[group], FLEX_SHARE * lo)
    return Flex(grids, group, np.minimum(width, lo), width, quota.astype(np.int64))


def _contracted(
    fixed: NDArray[np.bool_], labels: IntArray, edges: IntArray
) -> tuple[IntArray, IntArray]:
    """Return per unit its node (units that keep their grid, connected in it, make one
    node) and the nodes' edges."""
    same = fixed[edges[:, 0]] & fixed[edges[:, 1]] & (labels[edges[:, 0]] == labels[edges[:, 1]])
    node = components(len(labels), edges[same])
    c = node[edges]
    c = np.sort(c[c[:, 0] != c[:, 1]], axis=1)
    return node, np.unique(c, axis=0).reshape(-1, 2).astype(np.int64)


def _relabelled(
    hood: Neighbourhood,
    hh: FloatArray,
    edges: IntArray,
    labels: IntArray,
    kept: FloatArray,
    *,
    home: IntArray,
    fixed: NDArray[np.bool_],
    anchors: IntArray,
    as_old: IntArray,
    limits: tuple[FloatArray, FloatArray],
    vanish: NDArray[np.bool_],
    k: int,
    flex: Flex,
) -> tuple[IntArray | None, bool]:
    """Return the programme's labels of the (contracted) units when it keeps more
    households home than ``labels`` (else None) and whether it was solved to optimality."""
    grow = np.flatnonzero(as_old[:k] < 0) if hood.grow else None
    pairs = candidates(labels, home, edges, fixed, grow=grow, reach=hood.grow)
    o = as_old[pairs[:, 1]]
    cost = hh[pairs[:, 0]] - np.where(o >= 0, kept[pairs[:, 0], np.maximum(o, 0)], 0.0)
    cost += STAY * (labels[pairs[:, 0]] != pairs[:, 1])
    moving = (labels[pairs[:, 0]] != pairs[:, 1]) & (hh[pairs[:, 0]] > 0)
    prog = programme(
        pairs,
        anchors,
        edges,
        cost=cost,
        hh=hh,
        band=limits,
        vanish=vanish,
        moving=moving,
        moves=hood.moves,
    )
    if len(prog.arcs) > hood.arcs:
        return None, False
    prog = relaxed(prog, flex, n=len(labels), k=len(anchors))
    start = start_of(prog, labels, anchors[:k], edges)
    size = np.bincount(labels, weights=hh, minlength=k)[flex.grids]
    start[len(start) - len(flex.grids) :] = (size < limits[0][flex.grids]) | (
        size > limits[1][flex.grids]
    )
    x, proven = solve(prog, start)
    if x is None:
        return None, proven
    on = x[: len(pairs)] > 0.5
    if float(cost @ on) >= float(cost[labels[pairs[:, 0]] == pairs[:, 1]].sum()) - 0.5:
        return None, proven
    new = labels.copy()
    new[pairs[on, 0]] = pairs[on, 1]
    return new, proven


def _connected(labels: IntArray, edges: IntArray, k: int) -> bool:
    """Return whether every grid is one connected set of units."""
    inside = labels[edges[:, 0]] == labels[edges[:, 1]]
    count = int(components(len(labels), edges[inside]).max()) + 1
    return count == len(np.unique(labels)) and len(np.unique(labels)) <= k
