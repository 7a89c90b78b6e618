"""Proofs and reports about a community's grids: parts too small to form a grid, and
units no plan can bring into the band (the proof reported for every grid left out of band).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.cut_proofs import cut_proof
from gridgen.partition.drawing import Drawing
from gridgen.partition.fewest_out import (
    FEWEST_OUT_BUDGET,
    FEWEST_OUT_UNITS,
    fewest_out_partition,
)
from gridgen.partition.objective import local_edges
from gridgen.partition.plan import Problem
from gridgen.partition.regions import components
from gridgen.partition.units import UnitGraph
from gridgen.rules import RuleKind

IntArray = NDArray[np.int64]


def detached_problems(
    drawing: Drawing, *, ids: list[str], order: NDArray[np.int64]
) -> list[Problem]:
    """Return a problem for each detached piece of the community a grid holds.

    The pieces come from :func:`gridgen.partition.finish.finish_grids`: a separate piece of
    the community too small for a grid of its own joins the nearest grid, which is then a
    MultiPolygon (every square metre belongs to some grid).
    """
    id_of_label = np.empty(len(drawing.geoms), dtype=object)
    id_of_label[order] = ids
    out = []
    for part in drawing.detached:
        gid = str(id_of_label[part.label])
        b_ids = part.building_ids
        who = f"with its buildings {', '.join(b_ids[:10])}" if b_ids else "without buildings"
        out.append(
            Problem(
                RuleKind.DETACHED_PART,
                drawing.units.community_id,
                f"a separate piece of community {drawing.units.community_id} "
                f"({part.area_m2:.0f} m², {who}) is too small for a grid of its own: it "
                f"belongs to grid {gid}, the nearest, which is therefore in several parts",
                grid_id=gid,
            )
        )
    return out


def unbalanceable_units(units: UnitGraph, *, lo: int, hi: int) -> NDArray[np.int64]:
    """Return units whose grid can never be in the band (a proof, not a heuristic).

    A unit with fewer households than the band minimum must share its grid with at least
    one populated unit it reaches directly or across land without households; when each
    such unit would push the pair above the maximum (or there is none), no grid holding it
    can be in the band.
    """
    return unbalanceable(units.households, units.edges, lo=lo, hi=hi)


def unbalanceable(
    households: NDArray[np.int64], edges: NDArray[np.int64], *, lo: float, hi: float
) -> NDArray[np.int64]:
    """Return the units of :func:`unbalanceable_units` for a graph given as arrays.

    The land without households is grouped once into connected pieces (scipy), each with its
    populated neighbours, so every small unit looks at its own neighbours and those pieces
    only (no search across the land per unit).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    hh = np.asarray(households, dtype=np.int64)
    n = len(hh)
    small = np.flatnonzero((hh > 0) & (hh < lo))
    if len(small) == 0:
        return np.zeros(0, dtype=np.int64)
    a = np.r_[edges[:, 0], edges[:, 1]].astype(np.int64)
    b = np.r_[edges[:, 1], edges[:, 0]].astype(np.int64)
    empty = hh == 0
    inner = empty[a] & empty[b]
    g = csr_matrix((np.ones(int(inner.sum())), (a[inner], b[inner])), shape=(n, n))
    comp = np.asarray(connected_components(g, directed=False)[1], dtype=np.int64)
    # per piece of empty land: its populated neighbours, smallest first
    rim = empty[a] & ~empty[b]
    piece, pop = comp[a[rim]], b[rim]
    order = np.lexsort((pop, hh[pop], piece))
    piece, pop = piece[order], pop[order]
    start = np.searchsorted(piece, np.arange(int(comp.max()) + 2))
    nbr = csr_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    out: list[int] = []
    for u in small.tolist():
        near = nbr.indices[nbr.indptr[u] : nbr.indptr[u + 1]]
        reach = [int(hh[v]) for v in near.tolist() if hh[v] > 0 and v != u]
        for c in np.unique(comp[near[empty[near]]]).tolist():
            for v in pop[start[c] : start[c + 1]].tolist():
                if v != u:
                    reach.append(int(hh[v]))
                    break
        if not reach or int(hh[u]) + min(reach) > hi:
            out.append(u)
    return np.asarray(out, dtype=np.int64)


def unsplittable_parts(
    units: UnitGraph, *, lo: int, hi: int, exhaustive: bool = False
) -> list[NDArray[np.int64]]:
    """Return the connected parts (of at least ``lo`` households) no in-band grids can hold.

    A part of ``T`` households needs ``k`` grids with ``k * lo <= T <= k * hi``; when no
    ``k`` fits (417 households in a band of 240-360: one grid is too big, two too small), at
    least one of its grids is out of band whatever the plan (a proof). With ``exhaustive``,
    also the parts the partitioner's exhaustive search proves have no partition into
    connected in-band grids (parts of up to :data:`gridgen.partition.exact.EXACT_UNITS`
    units without a unit proven out of band; :func:`gridgen.partition.exact.
    in_band_partition` with the partitioner's budget, so the same parts).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from gridgen.partition.bits import fits_some_count
    from gridgen.partition.exact import EXACT_UNITS, in_band_partition

    if units.n == 0:
        return []
    e = units.edges
    g = csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(units.n, units.n))
    _, comp = connected_components(g, directed=False)
    forced = np.zeros(units.n, dtype=bool)
    if exhaustive:
        forced = units.households > hi
        forced[unbalanceable_units(units, lo=lo, hi=hi)] = True
    out: list[NDArray[np.int64]] = []
    for c in np.unique(comp).tolist():
        nodes = np.flatnonzero(comp == c)
        total = int(units.households[nodes].sum())
        if total < lo:
            continue
        if not fits_some_count(total, lo=lo, hi=hi):
            out.append(nodes.astype(np.int64))
        elif exhaustive and total > hi and len(nodes) <= EXACT_UNITS and not forced[nodes].any():
            sub, _ = local_edges(e, nodes, units.n)
            if in_band_partition(units.households[nodes], sub, lo=lo, hi=hi).status == "none":
                out.append(nodes.astype(np.int64))
    return out


def unbalanceable_problems(
    drawing: Drawing, *, ids: list[str], order: NDArray[np.int64], band: tuple[int, int]
) -> list[Problem]:
    """Return a problem for each grid holding a unit that no in-band grid can hold."""
    lo, hi = band
    units = drawing.units
    id_of_label = np.empty(len(drawing.geoms), dtype=object)
    id_of_label[order] = ids
    out: list[Problem] = []
    for u in drawing.unbalanceable.tolist():
        gid = str(id_of_label[drawing.labels[u]])
        what = (
            f"compound {units.compound_ids[u]}"
            if units.kinds[u] == "compound"
            else f"unit {units.unit_ids[u]}"
        )
        out.append(
            Problem(
                RuleKind.UNBALANCEABLE,
                units.community_id,
                f"{what} has {int(units.households[u])} households, below the band minimum "
                f"{lo}, and adding any neighbouring unit exceeds the maximum {hi}: grid {gid} "
                "cannot be in the band (widen --band or review the compound)",
                grid_id=gid,
            )
        )
    return out


def part_proof(households: NDArray[np.int64], edges: NDArray[np.int64], *, lo: int, hi: int) -> str:
    """Return why a connected part (``edges`` local to it) cannot be divided into connected
    grids of ``lo..hi`` households: :data:`~gridgen.partition.search.COUNT_PROOF` (no
    number of grids fits its households), :data:`gridgen.partition.cut_proofs.CUT_PROOF`
    (a cut unit or pair of units, :mod:`gridgen.partition.cut_proofs`),
    :data:`~gridgen.partition.search.SEARCH_PROOF` (the exhaustive search of a part of at
    most :data:`gridgen.partition.exact.EXACT_UNITS` units finds none within
    :data:`gridgen.partition.exact.REPAIR_EXACT_BUDGET` sets: rebalance and merge-grids ask
    it), or ``""`` when there is no proof.
    """
    from gridgen.partition.bits import fits_some_count
    from gridgen.partition.cut_proofs import CUT_PROOF, cut_proof
    from gridgen.partition.exact import EXACT_UNITS, REPAIR_EXACT_BUDGET, in_band_partition
    from gridgen.partition.search import COUNT_PROOF, NO_PROOF, SEARCH_PROOF

    total = int(np.sum(households))
    if total < lo:
        return NO_PROOF
    if not fits_some_count(total, lo=lo, hi=hi):
        return COUNT_PROOF
    if total <= hi:
        return NO_PROOF
    if cut_proof(households, edges, band=(lo, hi)):
        return CUT_PROOF
    if len(households) > EXACT_UNITS:
        return NO_PROOF
    found = in_band_partition(households, edges, lo=lo, hi=hi, budget=REPAIR_EXACT_BUDGET)
    return SEARCH_PROOF if found.status == "none" else NO_PROOF


def proven_part_grid(
    households: NDArray[np.int64],
    labels: NDArray[np.int64],
    nodes: NDArray[np.int64],
    *,
    lo: int,
    hi: int,
    forced: NDArray[np.bool_],
) -> int:
    """Return the grid (label) a proof that part ``nodes`` has a grid out of band names,
    or -1.

    A part that no plan divides into in-band grids has at least one grid out of band; when
    the plan has exactly one there and none of the part's units is ``forced`` (out of band
    whatever the plan for a reason of its own, which may be the same grid), the proof is
    that grid's.
    """
    if forced[nodes].any():
        return -1
    h = np.bincount(labels, weights=households, minlength=int(labels.max()) + 1)
    mine = np.unique(labels[nodes[households[nodes] > 0]])
    out = mine[(h[mine] < lo) | (h[mine] > hi)]
    return int(out[0]) if len(out) == 1 else -1


def unsplittable_reason(
    total: int, n_units: int, proof: str, *, lo: int, hi: int, grid: str = ""
) -> str:
    """Return the sentence of an ``unsplittable`` problem (naming ``grid`` when given)."""
    from gridgen.partition.cut_proofs import CUT_PROOF
    from gridgen.partition.search import BARRIER_CUT_PROOF, BARRIER_PROOFS, COUNT_PROOF

    cut = (
        "one unit, or two, cut it into pieces no number of grids fits, and the grids holding "
        "those units cannot take up what the pieces leave over"
    )
    why = {COUNT_PROOF: "no number of grids fits", CUT_PROOF: cut, BARRIER_CUT_PROOF: cut}.get(
        proof, f"an exhaustive search of its {n_units} units finds no such division"
    )
    plans = "whatever the plan"
    if proof in BARRIER_PROOFS.values():
        plans = "in any plan that keeps grids off the river or railway bounding the part"
    which = f"grid {grid} is the one out of band" if grid else "one of its grids is out of band"
    return (
        f"a connected part of the community with {total} households cannot be divided "
        f"into grids of {lo}-{hi} households ({why}): {which} {plans}"
    )


def fewest_reason(
    total: int,
    n_units: int,
    q: int,
    window: tuple[int, int],
    *,
    band: tuple[int, int],
    grid: str,
) -> str:
    """Return the sentence of an ``unsplittable`` problem proven by
    :func:`fewest_out_proofs`: the part's plan leaves ``q`` grids
    out of band, as few as any plan can without a grid outside ``window``."""
    lo, hi = band
    head = (
        f"a connected part of the community with {total} households ({n_units} units) "
        f"cannot be divided into grids of {lo}-{hi} households"
    )
    if q == 1:
        return (
            f"{head} (grids holding a unit out of band whatever the plan aside, each holding "
            f"at most {window[1]} households): grid {grid} is the one out of band"
        )
    return (
        f"{head} with fewer than {q} grids out of band (grids holding a unit out of band "
        f"whatever the plan aside) unless some grid holds more than {window[1]} households "
        f"or one out of band fewer than {window[0]} (exhaustive search): grid {grid} is one "
        f"of the {q}"
    )


def _named_and_forced(
    drawing: Drawing, *, ids: list[str], order: NDArray[np.int64], band: tuple[int, int]
) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """Return the code of each label of the drawing and, per unit, whether no in-band grid
    can hold it (above the maximum, or unbalanceable)."""
    id_of_label = np.empty(len(drawing.geoms), dtype=object)
    id_of_label[order] = ids
    forced = drawing.units.households > band[1]
    forced[drawing.unbalanceable] = True
    return id_of_label, forced


def unsplittable_problems(
    drawing: Drawing, *, ids: list[str], order: NDArray[np.int64], band: tuple[int, int]
) -> list[Problem]:
    """Return an ``unsplittable`` problem for each part of the drawing proven to hold a
    grid out of band (:attr:`Drawing.proofs`), naming the grid when the plan has exactly
    one out of band there (:func:`proven_part_grid`)."""
    lo, hi = band
    units = drawing.units
    id_of_label, forced = _named_and_forced(drawing, ids=ids, order=order, band=band)
    out: list[Problem] = []
    for nodes, proof in drawing.proofs:
        lab = proven_part_grid(units.households, drawing.labels, nodes, lo=lo, hi=hi, forced=forced)
        gid = str(id_of_label[lab]) if lab >= 0 else ""
        total = int(units.households[nodes].sum())
        reason = unsplittable_reason(total, len(nodes), proof, lo=lo, hi=hi, grid=gid)
        out.append(Problem(RuleKind.UNSPLITTABLE, units.community_id, reason, grid_id=gid))
    return out


PROOF_WINDOW = (0.5, 1.5)
"""The window of the proof that no plan has fewer grids out of band (:func:`fewest_out_proofs`):
every such plan has a grid above 1.5 times the band maximum or one out of band below half
the minimum."""


def fewest_out_proofs(
    units: UnitGraph,
    labels: IntArray,
    *,
    stuck: IntArray,
    band: tuple[int, int],
    proven: set[int],
    budget: int = FEWEST_OUT_BUDGET,
) -> dict[int, tuple[int, int, int, tuple[int, int]]]:
    """Return, per grid (label) out of band in a connected part of at most
    :data:`gridgen.partition.fewest_out.FEWEST_OUT_UNITS` units whose ``q`` grids out of
    band (those holding a ``stuck`` unit aside) are as few as any plan can have with no
    grid outside :data:`PROOF_WINDOW` (:func:`gridgen.partition.fewest_out.
    fewest_out_partition` proves there is none with ``q - 1``): the part's households,
    units, ``q`` and the window. Parts with one such grid and no stuck unit are
    :func:`part_proofs`' (``proven``). ``budget``: sets each search examines."""
    lo, hi = band
    if units.n == 0:
        return {}
    hh = units.households
    forced = np.zeros(units.n, dtype=bool)
    forced[stuck] = True
    h = np.bincount(labels, weights=hh, minlength=int(labels.max()) + 1)
    window = (math.ceil(PROOF_WINDOW[0] * lo), math.floor(PROOF_WINDOW[1] * hi))
    comp = components(units.n, units.edges)
    out: dict[int, tuple[int, int, int, tuple[int, int]]] = {}
    for c in np.unique(comp).tolist():
        nodes = np.flatnonzero(comp == c)
        mine = np.setdiff1d(np.unique(labels[nodes[hh[nodes] > 0]]), labels[forced])
        outs = [int(x) for x in mine if not lo <= h[x] <= hi]
        q = len(outs)
        if not outs or proven & set(outs):
            continue
        if q == 1 and not forced[nodes].any():
            continue  # part_proofs searched it
        e, _ = local_edges(units.edges, nodes, units.n)
        total = int(hh[nodes].sum())
        caps = (2 * hi, window[1]) if q == 1 else ()
        cap = next(
            (c for c in caps if cut_proof(hh[nodes], e, band=band, stuck=forced[nodes], cap=c)), 0
        )
        if cap:
            out[outs[0]] = (total, len(nodes), q, (1, cap))
            continue
        if len(nodes) > FEWEST_OUT_UNITS:
            continue
        found = fewest_out_partition(
            hh[nodes], e, stuck=forced[nodes], band=band, most=q - 1, window=window, budget=budget
        )
        if found.status == "none":
            out |= {lab: (total, len(nodes), q, window) for lab in outs}
    return out


PARTITION_FEWEST_BUDGET = 3_000
"""Sets each search of :func:`fewest_out_problems` examines: a tenth of rebalance's
(:data:`gridgen.partition.fewest_out.FEWEST_OUT_BUDGET`), so that partition stays fast
(walled city: 0.43 CPU s with rebalance's budget, for no more proofs)."""


def fewest_out_problems(
    drawing: Drawing,
    *,
    ids: list[str],
    order: NDArray[np.int64],
    band: tuple[int, int],
    named: set[str],
) -> list[Problem]:
    """Return an ``unsplittable`` problem for each grid of a partition out of band in a part
    no plan leaves fewer grids out of band in (:func:`fewest_out_proofs`, the proof rebalance
    and merge-grids report), but those a problem already names."""
    units = drawing.units
    id_of_label, forced = _named_and_forced(drawing, ids=ids, order=order, band=band)
    proven = {lab for lab, gid in enumerate(id_of_label.tolist()) if str(gid) in named}
    found = fewest_out_proofs(
        units,
        drawing.labels,
        stuck=np.flatnonzero(forced),
        band=band,
        proven=proven,
        budget=PARTITION_FEWEST_BUDGET,
    )
    return [
        Problem(
            RuleKind.UNSPLITTABLE,
            units.community_id,
            fewest_reason(*found[lab], band=band, grid=str(id_of_label[lab])),
            grid_id=str(id_of_label[lab]),
        )
        for lab in sorted(found)
        if str(id_of_label[lab]) not in named
    ]
