"""The mixed integer programme of :mod:`gridgen.partition.least_change` and its solve.

One 0/1 column per candidate (unit, grid) pair, one flow column per arc (an edge direction
both of whose ends may take the grid): one grid per unit, each grid's households within
its limits (or none, for a grid that may vanish), at most ``moves`` units with households
out of their settled grid, and each anchor sending one unit of flow to every other unit of
its grid along edges inside it (so every grid stays connected); :func:`relaxed` lets some
grids leave their limits, at most so many of a group. Solved by HiGHS (through ``highspy``)
started from the settled plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import highspy
import numpy as np
from highspy._core import _Highs
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix, vstack
from scipy.sparse.csgraph import breadth_first_order

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
SOLVE_SECONDS = 2.0
"""Time limit of one HiGHS solve (it starts from the settled plan, so it stops with a plan
no worse): a guard against a root that does not settle, not a budget. The limit is
wall-clock, so a solve it cuts gives another plan under another load (at load 5-6, 0.3 s
moved the filled city's Drift(seed=3) from 29.8% to 30.7% of a redraw's changes);
:data:`NODES` and the programmes' size (at most 600 arcs,
:data:`gridgen.partition.least_change.NEIGHBOURHOODS`) bound the work: on nine cached
drifts the longest of 124 solves took 0.7 s CPU at load 5-6, four took over 0.3 s."""
NODES = 200
"""Branch-and-bound nodes of one solve (deterministic, unlike the time limit, which is a
guard: :data:`SOLVE_SECONDS`)."""


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
    integer: NDArray[np.bool_]


@dataclass(frozen=True)
class Flex:
    """Grids that may be out of band, at most ``quota[j]`` of group ``j`` (a connected part
    proven to have that many grids out of band whatever the plan): per grid its ``group``,
    and how far below its lower limit (``low``) and above its upper one (``high``) it may go."""

    grids: IntArray
    group: IntArray
    low: FloatArray
    high: FloatArray
    quota: IntArray


def candidates(
    labels: IntArray,
    home: IntArray,
    edges: IntArray,
    fixed: NDArray[np.bool_],
    *,
    grow: IntArray | None = None,
    reach: int = 0,
) -> IntArray:
    """Return sorted ``(u, g)`` pairs: each unit to its settled grid, its old grid (as a
    settled grid), or a settled or old grid of a neighbour, and each unit within ``reach``
    edges of a ``grow`` grid (the new ones) to it; ``fixed`` units to their grid."""
    n = len(labels)
    u = np.r_[np.arange(n), np.arange(n), edges[:, 0], edges[:, 1], edges[:, 0], edges[:, 1]]
    g = np.r_[
        labels, home, labels[edges[:, 1]], labels[edges[:, 0]], home[edges[:, 1]], home[edges[:, 0]]
    ]
    if grow is not None and len(grow):
        far_u, far_g = _near_grids(labels, edges, grow, reach)
        u, g = np.r_[u, far_u], np.r_[g, far_g]
    keep = (g >= 0) & (~fixed[u] | (g == labels[u]))
    k = int(max(labels.max(), home.max())) + 1
    code = np.unique(u[keep] * k + g[keep])
    out: IntArray = np.c_[code // k, code % k].astype(np.int64)
    return out


def _near_grids(
    labels: IntArray, edges: IntArray, grids: IntArray, reach: int
) -> tuple[IntArray, IntArray]:
    """Return ``(u, g)`` for each unit ``u`` within ``reach`` edges of a unit of grid ``g``
    (one of ``grids``)."""
    n = len(labels)
    both = (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])
    adj = csr_matrix((np.ones(2 * len(edges)), both), shape=(n, n))
    col = np.searchsorted(grids, labels)
    inside = (col < len(grids)) & (grids[np.minimum(col, len(grids) - 1)] == labels)
    near = csr_matrix(
        (np.ones(int(inside.sum())), (np.flatnonzero(inside), col[inside])), shape=(n, len(grids))
    )
    for _ in range(reach):
        near = near + adj @ near
    u, j = near.nonzero()
    return u.astype(np.int64), grids[j].astype(np.int64)


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


def programme(
    pairs: IntArray,
    anchors: IntArray,
    edges: IntArray,
    *,
    cost: FloatArray,
    hh: FloatArray,
    band: tuple[FloatArray, FloatArray],
    vanish: NDArray[np.bool_],
    moving: NDArray[np.bool_],
    moves: int,
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
        coo_matrix(  # at most ``moves`` units change grid
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
            [moves],
        ],
        col_lower=lower,
        col_upper=np.r_[np.ones(m), np.full(f, np.inf)],
        integer=np.r_[np.ones(m, dtype=bool), np.zeros(f, dtype=bool)],
    )


def relaxed(prog: Programme, flex: Flex, *, n: int, k: int) -> Programme:
    """Return ``prog`` where each of ``flex.grids`` may leave its limits (by up to its
    ``low`` / ``high``) when its 0/1 column (after the others) says so, at most
    ``flex.quota[j]`` of group ``j`` (rows after the others); ``n`` units, ``k`` grids."""
    nf, width = len(flex.grids), len(prog.cost)
    if nf == 0:
        return prog
    j = width + np.arange(nf)
    grow = coo_matrix(
        (np.r_[flex.low, -flex.high], (np.r_[n + flex.grids, n + k + flex.grids], np.r_[j, j])),
        shape=(len(prog.row_lower), width + nf),
    )
    a = prog.matrix.tocoo()
    wider = coo_matrix((a.data, (a.row, a.col)), shape=(len(prog.row_lower), width + nf))
    quota = coo_matrix((np.ones(nf), (flex.group, j)), shape=(len(flex.quota), width + nf))
    return replace(
        prog,
        cost=np.r_[prog.cost, np.zeros(nf)],
        matrix=vstack([wider + grow, quota]).tocsc(),
        row_lower=np.r_[prog.row_lower, np.full(len(flex.quota), -np.inf)],
        row_upper=np.r_[prog.row_upper, flex.quota.astype(float)],
        col_lower=np.r_[prog.col_lower, np.zeros(nf)],
        col_upper=np.r_[prog.col_upper, np.ones(nf)],
        integer=np.r_[prog.integer, np.ones(nf, dtype=bool)],
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


def start_of(prog: Programme, labels: IntArray, anchors: IntArray, edges: IntArray) -> FloatArray:
    """Return the settled plan as a solution: its pairs and, along a breadth-first tree of
    each grid from its anchor, the flows."""
    m = len(prog.pairs)
    x = np.zeros(len(prog.cost))
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


def solve(prog: Programme, start: FloatArray) -> tuple[FloatArray | None, bool]:
    """Return HiGHS's best answer within :data:`SOLVE_SECONDS` (None: none) and whether
    it is proven optimal."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(prog.cost), len(prog.row_lower)
    lp.col_cost_ = prog.cost
    lp.col_lower_, lp.col_upper_ = prog.col_lower, prog.col_upper
    lp.row_lower_, lp.row_upper_ = prog.row_lower, prog.row_upper
    a = prog.matrix
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
        for i in prog.integer.tolist()
    ]
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
    proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
        return None, proven
    return np.asarray(h.getSolution().col_value, dtype=float), proven
