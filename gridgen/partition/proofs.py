"""Proofs and reports about a community's grids: parts too small to form a grid, and
units no plan can bring into the band (the proof reported for every grid left out of band).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.drawing import Drawing
from gridgen.partition.plan import Problem
from gridgen.partition.units import UnitGraph
from gridgen.rules import RuleKind


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
    hh = units.households
    n = units.n
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in units.edges.tolist():
        nbrs[a].append(b)
        nbrs[b].append(a)
    out: list[int] = []
    for u in np.flatnonzero((hh > 0) & (hh < lo)).tolist():
        smallest = _smallest_reached(u, nbrs, hh)
        if smallest is None or int(hh[u]) + smallest > hi:
            out.append(u)
    return np.asarray(out, dtype=np.int64)


def _smallest_reached(u: int, nbrs: list[list[int]], hh: NDArray[np.int64]) -> int | None:
    """Return the fewest households of a populated unit ``u`` reaches across empty land."""
    seen = {u}
    stack = list(nbrs[u])
    best: int | None = None
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if hh[v] > 0:
            best = int(hh[v]) if best is None else min(best, int(hh[v]))
        else:
            stack.extend(nbrs[v])
    return best


def unsplittable_parts(units: UnitGraph, *, lo: int, hi: int) -> list[NDArray[np.int64]]:
    """Return the connected parts (of at least ``lo`` households) no in-band grids can hold.

    A part of ``T`` households needs ``k`` grids with ``k * lo <= T <= k * hi``; when no
    ``k`` fits (417 households in a band of 240-360: one grid is too big, two too small), at
    least one of its grids is out of band whatever the plan (a proof).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if units.n == 0:
        return []
    e = units.edges
    g = csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(units.n, units.n))
    _, comp = connected_components(g, directed=False)
    out: list[NDArray[np.int64]] = []
    for c in np.unique(comp).tolist():
        nodes = np.flatnonzero(comp == c)
        total = int(units.households[nodes].sum())
        if total >= lo and not any(k * lo <= total <= k * hi for k in range(1, total // lo + 2)):
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
    for u in unbalanceable_units(units, lo=lo, hi=hi).tolist():
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
