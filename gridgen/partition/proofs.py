"""Proofs and reports about a community's grids: parts too small to form a grid, and
units no plan can bring into the band (the proof reported for every grid left out of band).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgen.partition.drawing import Drawing
from gridgen.partition.plan import Problem
from gridgen.partition.units import UnitGraph
from gridgen.rules import RuleKind


def detached_parts(
    units: UnitGraph, labels: NDArray[np.int64], geoms: NDArray[np.object_]
) -> tuple[tuple[int, float, tuple[str, ...]], ...]:
    """Return the parts of grids detached from their grid's largest piece.

    They are parts of a multi-part community too small to form a grid of their own: their
    buildings stay with the grid (the nearest one, joined through the unit graph) while the
    grid keeps only its largest piece, so that it is one polygon; each is reported.
    """
    out: list[tuple[int, float, tuple[str, ...]]] = []
    for g, geom in enumerate(geoms):
        if geom is None or shapely.get_type_id(geom) == 3:
            continue
        parts = shapely.get_parts(geom)
        if len(parts) < 2:
            continue
        areas = shapely.area(parts)
        members = np.flatnonzero(labels == g)
        for i in np.argsort(-areas)[1:].tolist():
            reach = shapely.area(shapely.intersection(units.cells[members], parts[i]))
            inside = set(members[reach > 0].tolist())
            b_ids = tuple(
                sorted(
                    str(b)
                    for b, u in zip(units.building_ids, units.building_unit, strict=True)
                    if int(u) in inside
                )
            )
            out.append((g, float(areas[i]), b_ids))
    return tuple(out)


def detached_problems(
    drawing: Drawing, *, ids: list[str], order: NDArray[np.int64]
) -> list[Problem]:
    """Return a problem for each detached community part (see :func:`detached_parts`)."""
    id_of_label = np.empty(len(drawing.geoms), dtype=object)
    id_of_label[order] = ids
    out = []
    for label, area, b_ids in drawing.detached:
        gid = str(id_of_label[label])
        who = f"its buildings {', '.join(b_ids)}" if b_ids else "it has no buildings; it"
        out.append(
            Problem(
                RuleKind.DETACHED_PART,
                drawing.units.community_id,
                f"a separate part of community {drawing.units.community_id} ({area:.0f} m²) is "
                f"too small to form a grid: {who} joined grid {gid}, the nearest; its land "
                "is left outside the grids so that every grid is one polygon",
                grid_id=gid,
            )
        )
    return out


def unbalanceable_units(units: UnitGraph, *, lo: int, hi: int) -> NDArray[np.int64]:
    """Return units whose grid can never be in the band (a proof, not a heuristic).

    A unit with fewer households than the band minimum must share its grid with at least
    one neighbour; when every neighbour would push the pair above the maximum (or it has
    no neighbour), no grid holding it can be in the band.
    """
    hh = units.households
    n = units.n
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ea, eb = units.edges[:, 0], units.edges[:, 1]
    big = np.iinfo(np.int64).max // 4
    smallest = np.full(n, big, dtype=np.int64)
    np.minimum.at(smallest, ea, hh[eb])
    np.minimum.at(smallest, eb, hh[ea])
    stuck = (hh > 0) & (hh < lo) & ((smallest == big) | (hh + smallest > hi))
    return np.flatnonzero(stuck).astype(np.int64)


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
