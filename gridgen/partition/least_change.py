"""The relabelling of a settled community that keeps most households in their old grid.

:func:`gridgen.partition.settle.settle` reaches the band by a sequence of local moves
(chains, splits, dissolves, local redraws), each the cheapest it finds at its turn; the
sequence is not the cheapest overall. :func:`least_change` takes the settled grids and
solves a mixed integer programme (HiGHS, through ``highspy``, started from the settled
plan) over the same grids: each unit near a change (:data:`REACH`) may go to its settled
grid, its old grid or a grid of a neighbouring unit; every grid in the band stays in it;
a grid holding a stuck unit (no grid in the band can hold it) keeps that unit and goes no
further out of the band than it is; each grid keeps one anchor unit and stays connected
(each anchor sends one unit of flow to every other unit of its grid along edges inside
it); the objective is the households whose grid is not the old grid they were in
(``kept``: households of each unit per old grid, so a compound reunited from several old
grids costs what its buildings in the other grids hold).

It is a last step of a rebalance: a settled plan with a grid out of band not excused by a
stuck unit is returned as it is (the proofs stated for it stay true), and so is one within
:data:`SLACK` of the lower bound or one the programme does not improve within
:data:`SOLVE_SECONDS`. Written here rather than taken from a library: no partitioning
library minimises the households moved from a given plan under a band and contiguity.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csc_matrix, vstack
from scipy.sparse.csgraph import breadth_first_order

from gridgen.partition.regions import components

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
SOLVE_SECONDS = 0.5
"""Time limit of one HiGHS solve (it starts from the settled plan, so it stops with a
plan no worse)."""
MOST_ARCS = 400
"""Programmes with more flow arcs are not solved (they take seconds for a few households:
walled city, 1,795 arcs, 3.4 s for 8 households; make_city, 457 arcs, 0.5 s for 84)."""
NODES = 200
"""Branch-and-bound nodes of one solve (deterministic, unlike the time limit, which is a
guard: :data:`SOLVE_SECONDS`)."""
MOVES = 8
"""Most units with households the programme may move out of their settled grid (a local
branching: the search stays near the settled plan, where the gains are)."""
SLACK = 150
"""Households above the lower bound a settled community may change without the programme
being tried (it gains little there: on make_city and the filled city, 20 communities within
150 of the bound gave 34 households for 0.3 s)."""
REACH = 2
"""Units this many edges from a unit away from its old grid may change grid."""
STAY = 1e-3
"""Cost of a unit leaving its settled grid, per unit (ties keep the settled plan)."""


@dataclass(frozen=True)
class Programme:
    """The mixed integer programme: one 0/1 column per candidate ``pairs`` (unit, grid),
    then one flow column per ``arcs`` (tail pair, head pair)."""

    pairs: IntArray
    arcs: IntArray
    cost: FloatArray
    matrix: csc_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray


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
    labels: IntArray, home: IntArray, reunited: NDArray[np.bool_], edges: IntArray
) -> NDArray[np.bool_]:
    """Return per unit whether it keeps its settled grid: units more than :data:`REACH`
    edges from any unit away from its old grid (or reunited from several)."""
    near = ((home >= 0) & (labels != home)) | reunited
    for _ in range(REACH):
        step = near.copy()
        step[edges[:, 0]] |= near[edges[:, 1]]
        step[edges[:, 1]] |= near[edges[:, 0]]
        near = step
    out: NDArray[np.bool_] = ~near
    return out


def _candidates(
    labels: IntArray, home: IntArray, edges: IntArray, fixed: NDArray[np.bool_]
) -> IntArray:
    """Return sorted ``(u, g)`` pairs: each unit to its settled grid, its old grid (as a
    settled grid), or a settled or old grid of a neighbour; ``fixed`` units to their grid."""
    n = len(labels)
    u = np.r_[np.arange(n), np.arange(n), edges[:, 0], edges[:, 1], edges[:, 0], edges[:, 1]]
    g = np.r_[
        labels, home, labels[edges[:, 1]], labels[edges[:, 0]], home[edges[:, 1]], home[edges[:, 0]]
    ]
    keep = (g >= 0) & (~fixed[u] | (g == labels[u]))
    k = int(max(labels.max(), home.max())) + 1
    code = np.unique(u[keep] * k + g[keep])
    out: IntArray = np.c_[code // k, code % k].astype(np.int64)
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
    labels: IntArray, kept: FloatArray, as_old: IntArray, hh: FloatArray, fixed: NDArray[np.bool_]
) -> IntArray:
    """Return per settled grid the unit that stays in it: one that keeps its grid anyway
    (``fixed``) if any, of those the one with most households still in the old grid the
    grid is, else its largest."""
    out = np.zeros(len(as_old), dtype=np.int64)
    for g in range(len(as_old)):
        members = np.flatnonzero(labels == g)
        score = hh[members] + (kept[members, as_old[g]] * 1e6 if as_old[g] >= 0 else 0.0)
        score += fixed[members] * 1e12
        out[g] = members[int(np.argmax(score))]
    return out


def _arcs(pairs: IntArray, anchors: IntArray, edges: IntArray) -> IntArray:
    """Return ``(tail pair, head pair)`` for each edge direction and grid both ends may
    take, the head not the grid's anchor."""
    k = int(pairs[:, 1].max()) + 1
    code = pairs[:, 0] * k + pairs[:, 1]
    tails, heads = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
    out = []
    for g in range(k):
        t = np.searchsorted(code, tails * k + g)
        h = np.searchsorted(code, heads * k + g)
        t_ok = (t < len(code)) & (code[np.minimum(t, len(code) - 1)] == tails * k + g)
        h_ok = (h < len(code)) & (code[np.minimum(h, len(code) - 1)] == heads * k + g)
        ok = t_ok & h_ok & (heads != anchors[g])
        out.append(np.c_[t[ok], h[ok]])
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 2), dtype=np.int64)


def _programme(
    pairs: IntArray,
    anchors: IntArray,
    edges: IntArray,
    *,
    cost: FloatArray,
    hh: FloatArray,
    band: tuple[FloatArray, FloatArray],
    vanish: NDArray[np.bool_],
    moving: NDArray[np.bool_],
) -> Programme:
    """Return the programme (module doc): one grid per unit, grid households within
    ``band`` (per grid), anchors fixed, flows for connectivity."""
    n, k = int(pairs[:, 0].max()) + 1, len(anchors)
    m = len(pairs)
    arcs = _arcs(pairs, anchors, edges)
    f = len(arcs)
    cols = m + np.arange(f)
    size = np.bincount(pairs[:, 1], minlength=k).astype(float)[pairs[arcs[:, 0], 1]]
    j = np.arange(m)
    ar = np.arange(f)
    not_anchor = anchors[pairs[:, 1]] != pairs[:, 0]
    bal_row = np.full(m, -1, dtype=np.int64)
    bal_row[not_anchor] = np.arange(int(not_anchor.sum()))
    blocks = [
        coo_matrix((np.ones(m), (pairs[:, 0], j)), shape=(n, m + f)),  # one grid per unit
        # in band (or empty when it may vanish)
        _band_rows(pairs, anchors, hh=hh, band=band, vanish=vanish, width=m + f),
        coo_matrix(  # flow <= size * x[tail]
            (np.r_[np.ones(f), -size], (np.r_[ar, ar], np.r_[cols, arcs[:, 0]])), shape=(f, m + f)
        ),
        coo_matrix(  # flow <= size * x[head]
            (np.r_[np.ones(f), -size], (np.r_[ar, ar], np.r_[cols, arcs[:, 1]])), shape=(f, m + f)
        ),
        _balance(bal_row, arcs, cols, m + f),  # inflow - outflow = x
        coo_matrix(  # at most MOVES units change grid
            (np.ones(int(moving.sum())), (np.zeros(int(moving.sum())), np.flatnonzero(moving))),
            shape=(1, m + f),
        ),
    ]
    nb = int(not_anchor.sum())
    lower = np.zeros(m + f)
    lower[np.flatnonzero(~not_anchor & ~vanish[pairs[:, 1]])] = 1.0
    return Programme(
        pairs=pairs,
        arcs=arcs,
        cost=np.r_[cost, np.zeros(f)],
        matrix=vstack(blocks).tocsc(),
        row_lower=np.r_[
            np.ones(n),
            np.where(vanish, 0, band[0]),
            np.full(k + 2 * f, -np.inf),
            np.zeros(nb),
            [0],
        ],
        row_upper=np.r_[
            np.ones(n),
            np.full(k, np.inf),
            np.where(vanish, 0, band[1]),
            np.zeros(2 * f),
            np.zeros(nb),
            [MOVES],
        ],
        col_lower=lower,
        col_upper=np.r_[np.ones(m), np.full(f, np.inf)],
    )


def _band_rows(
    pairs: IntArray,
    anchors: IntArray,
    *,
    hh: FloatArray,
    band: tuple[FloatArray, FloatArray],
    vanish: NDArray[np.bool_],
    width: int,
) -> coo_matrix:
    """Return the band rows: per grid its households (less ``lo`` times its anchor pair
    when it may vanish), then again (less ``hi`` times it): a grid that may vanish is
    in the band or empty."""
    k = len(anchors)
    m = len(pairs)
    j = np.arange(m)
    load = (hh[pairs[:, 0]], (pairs[:, 1], j))
    is_anchor = np.flatnonzero(anchors[pairs[:, 1]] == pairs[:, 0])
    g = pairs[is_anchor, 1]
    v = vanish[g]
    rows = np.r_[load[1][0], g[v], k + load[1][0], k + g[v]]
    cols = np.r_[j, is_anchor[v], j, is_anchor[v]]
    vals = np.r_[load[0], -band[0][g[v]], load[0], -band[1][g[v]]]
    return coo_matrix((vals, (rows, cols)), shape=(2 * k, width))


def _balance(bal_row: IntArray, arcs: IntArray, cols: IntArray, width: int) -> coo_matrix:
    """Return the flow balance rows: per pair not an anchor, inflow - outflow - x = 0."""
    p = np.flatnonzero(bal_row >= 0)
    h_ok = bal_row[arcs[:, 1]] >= 0
    t_ok = bal_row[arcs[:, 0]] >= 0
    rows = np.r_[bal_row[p], bal_row[arcs[h_ok, 1]], bal_row[arcs[t_ok, 0]]]
    cs = np.r_[p, cols[h_ok], cols[t_ok]]
    vals = np.r_[-np.ones(len(p)), np.ones(int(h_ok.sum())), -np.ones(int(t_ok.sum()))]
    return coo_matrix((vals, (rows, cs)), shape=(len(p), width))


def _start(prog: Programme, labels: IntArray, anchors: IntArray, edges: IntArray) -> FloatArray:
    """Return the settled plan as a solution: its pairs and, along a breadth-first tree of
    each grid from its anchor, the flows."""
    m = len(prog.pairs)
    x = np.zeros(m + len(prog.arcs))
    on = labels[prog.pairs[:, 0]] == prog.pairs[:, 1]
    x[:m] = on
    n = len(labels)
    inside = labels[edges[:, 0]] == labels[edges[:, 1]]
    e = edges[inside]
    both = (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])
    adj = coo_matrix((np.ones(2 * len(e)), both), shape=(n, n)).tocsr()
    pair_of = np.full(n, -1, dtype=np.int64)
    pair_of[prog.pairs[on, 0]] = np.flatnonzero(on)
    arc_of = {(int(a), int(b)): i for i, (a, b) in enumerate(prog.arcs.tolist())}
    for a in anchors.tolist():
        order, pred = breadth_first_order(adj, a, directed=False)
        below = np.ones(n)
        for v in order[::-1].tolist():
            p = int(pred[v])
            if p >= 0:
                below[p] += below[v]
                i = arc_of.get((int(pair_of[p]), int(pair_of[v])), -1)
                if i >= 0:
                    x[m + i] = below[v]
    return x


def _solve(prog: Programme, start: FloatArray) -> FloatArray | None:
    """Return HiGHS's best answer within :data:`SOLVE_SECONDS`, or None."""
    m = len(prog.pairs)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(prog.cost), len(prog.row_lower)
    lp.col_cost_ = prog.cost
    lp.col_lower_, lp.col_upper_ = prog.col_lower, prog.col_upper
    lp.row_lower_, lp.row_upper_ = prog.row_lower, prog.row_upper
    a = prog.matrix
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * (
        len(prog.cost) - m
    )
    # highspy.Highs() turns on callbacks at once, which prints HiGHS' banner on stdout
    # before any option can be set; the core object (highspy's export) does not
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", SOLVE_SECONDS)
    h.setOptionValue("mip_max_nodes", NODES)
    h.setOptionValue("mip_allow_restart", False)
    h.setOptionValue("presolve", "off")  # the programmes are small: presolve costs more
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    sol = highspy.HighsSolution()
    sol.col_value = start.tolist()
    h.setSolution(sol)
    h.run()
    if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
        return None
    return np.asarray(h.getSolution().col_value, dtype=float)


def least_change(
    households: IntArray,
    edges: IntArray,
    labels: IntArray,
    kept: FloatArray,
    *,
    stuck: IntArray,
    band: tuple[int, int],
    floor: float = 0.0,
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
    """
    lo, hi = band
    n = len(labels)
    if n == 0 or len(edges) == 0:
        return labels
    hh = households.astype(float)
    k = int(labels.max()) + 1
    size = np.bincount(labels, weights=hh, minlength=k)
    excused = np.zeros(k, dtype=bool)
    excused[labels[stuck]] = True
    if (((size < lo) | (size > hi)) & ~excused).any():
        return labels
    as_old = old_of(kept, labels)
    here = np.where(as_old[labels] >= 0, kept[np.arange(n), np.maximum(as_old[labels], 0)], 0.0)
    if hh.sum() - here.sum() <= floor + SLACK:
        return labels
    gone, revived = _revivable(kept, as_old, stuck)
    settled_as_old = as_old
    as_old = np.r_[as_old, gone]
    big = len(as_old)
    excused = np.r_[excused, np.zeros(big - k, dtype=bool)]
    size = np.r_[size, np.zeros(big - k)]
    to_settled = np.full(kept.shape[1] + 1, -1, dtype=np.int64)
    to_settled[as_old[as_old >= 0]] = np.flatnonzero(as_old >= 0)
    home = np.where(kept.max(axis=1) > 0, to_settled[kept.argmax(axis=1)], -1)
    fixed = _fixed(labels, home, kept.max(axis=1) < hh - 0.5, edges)
    fixed[stuck] = True
    anchors = np.r_[_anchors(labels, kept, settled_as_old, hh, fixed), revived]
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
    new = _relabelled(
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
    )
    if new is None:
        return labels
    out = new[node]
    return out if _connected(out, edges, big) else labels


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
) -> IntArray | None:
    """Return the programme's labels of the (contracted) units when it keeps more
    households home than ``labels``, else None."""
    pairs = _candidates(labels, home, edges, fixed)
    o = as_old[pairs[:, 1]]
    cost = hh[pairs[:, 0]] - np.where(o >= 0, kept[pairs[:, 0], np.maximum(o, 0)], 0.0)
    cost += STAY * (labels[pairs[:, 0]] != pairs[:, 1])
    moving = (labels[pairs[:, 0]] != pairs[:, 1]) & (hh[pairs[:, 0]] > 0)
    prog = _programme(
        pairs, anchors, edges, cost=cost, hh=hh, band=limits, vanish=vanish, moving=moving
    )
    if len(prog.arcs) > MOST_ARCS:
        return None
    x = _solve(prog, _start(prog, labels, anchors[:k], edges))
    if x is None:
        return None
    on = x[: len(pairs)] > 0.5
    if float(cost @ on) >= float(cost[labels[pairs[:, 0]] == pairs[:, 1]].sum()) - 0.5:
        return None
    new = labels.copy()
    new[pairs[on, 0]] = pairs[on, 1]
    return new


def _connected(labels: IntArray, edges: IntArray, k: int) -> bool:
    """Return whether every grid is one connected set of units."""
    inside = labels[edges[:, 0]] == labels[edges[:, 1]]
    count = int(components(len(labels), edges[inside]).max()) + 1
    return count == len(np.unique(labels)) and len(np.unique(labels)) <= k
