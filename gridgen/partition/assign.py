"""Assign planning units to grids in one step (the browser editor's save) and rebuild shapes.

The editor keeps a grid as a set of unit ids (DistrictBuilder's design): the planner paints
units, and a save sends ``{unit_or_building_id: grid_id}``. :func:`assign_units` checks every
id, moves the buildings, and draws the grids of every touched community again from its
planning units through the one finishing step (:mod:`gridgen.partition.refinish`, which
calls :func:`gridgen.partition.finish.finish_grids` as partition does): the community stays
tiled, every building lies inside its grid, every grid is valid in every output CRS, and
grids whose units did not change come out as the partition drew them. A grid the edit
leaves in several pieces is refused (the planner must paint a connected grid).

:func:`editor_units` gives the editor what it needs of one community: unit ids, households,
current grid per unit and the unit adjacency (for live contiguity checks in the page).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84
from gridgen.partition.lifecycle import new_code_refusal, offered_codes, successor
from gridgen.partition.plan import Plan
from gridgen.partition.refinish import refinished_community
from gridgen.partition.replace import replace_community
from gridgen.partition.units import UnitGraph, build_units

SNAP = 0.001
"""Precision (metres) of the overlay operations."""


@dataclass(frozen=True, eq=False)
class AssignResult:
    """The plan after an assignment (not saved) and what moved."""

    plan: Plan
    moved_buildings: tuple[str, ...]
    touched_grids: tuple[str, ...]
    new_grids: tuple[str, ...]
    removed_grids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "moved_buildings": len(self.moved_buildings),
            "touched_grids": list(self.touched_grids),
            "new_grids": list(self.new_grids),
            "removed_grids": list(self.removed_grids),
        }


def community_units(dataset: Dataset, plan: Plan, community_id: str) -> UnitGraph:
    """Return the units of ``community_id`` as the partitioner builds them for ``plan``."""
    return build_units(dataset, community_id, band_max=plan.band[1])


def unit_grids(dataset: Dataset, units: UnitGraph, plan: Plan) -> list[str]:
    """Return the grid of every unit: where most of its households (or its area) lie."""
    mine = {str(b) for b in units.building_ids}
    grid_of = _pairs(plan.assignment, "building_id", "grid_id", only=mine)
    hh = _building_households(dataset, only=mine)
    weight: dict[int, dict[str, float]] = {}
    for b, u in zip(units.building_ids, units.building_unit, strict=True):
        g = grid_of.get(str(b))
        if g is not None:
            row = weight.setdefault(int(u), {})
            row[g] = row.get(g, 0.0) + hh.get(str(b), 0) + 1e-6
    out = [""] * units.n
    for u, row in weight.items():
        out[u] = max(sorted(row), key=lambda g: row[g])
    missing = [u for u in range(units.n) if not out[u]]
    cg = plan.grids[plan.grids["community_id"].astype(str) == units.community_id]
    if missing and len(cg):
        geoms = cg.to_crs(dataset.metric_crs).geometry.to_numpy()
        ids = cg["grid_id"].astype(str).to_numpy()
        for u in missing:
            inter = shapely.area(shapely.intersection(geoms, units.cells[u]))
            out[u] = str(ids[int(np.argmax(inter))])
    return out


def editor_units(
    dataset: Dataset, plan: Plan, community_id: str, *, units: UnitGraph | None = None
) -> dict[str, Any]:
    """Return the editor's data for one community (JSON-ready).

    ``units`` lists per unit its id, kind, compound, households and grid; ``edges`` the
    index pairs of neighbouring units; ``grids`` the community's grids (id, households).
    """
    units = units or community_units(dataset, plan, community_id)
    grids = unit_grids(dataset, units, plan)
    building_hh = _building_households(dataset, only={str(b) for b in units.building_ids})
    hh = np.zeros(units.n, dtype=np.int64)
    for b, u in zip(units.building_ids, units.building_unit, strict=True):
        hh[int(u)] += building_hh.get(str(b), 0)
    names = _compound_names(dataset)
    cg = plan.grids[plan.grids["community_id"].astype(str) == community_id]
    return {
        "community_id": community_id,
        "target": int(plan.target),
        "band": [int(plan.band[0]), int(plan.band[1])],
        "units": [
            {
                "id": units.unit_ids[i],
                "kind": units.kinds[i],
                "compound_id": units.compound_ids[i],
                "name": names.get(units.compound_ids[i], ""),
                "households": int(hh[i]),
                "grid": grids[i],
            }
            for i in range(units.n)
        ],
        "edges": units.edges.tolist(),
        "grids": [
            {"grid_id": str(g), "households": int(h)}
            for g, h in zip(cg["grid_id"], cg["households"], strict=True)
        ],
        "mean_polsby_popper": (
            float(cg["polsby_popper"].mean()) if "polsby_popper" in cg.columns and len(cg) else None
        ),
        "new_codes": offered_codes(dataset, plan, community_id),
    }


def _building_households(dataset: Dataset, only: set[str] | None = None) -> dict[str, int]:
    """Return households per building (``only``: of these buildings)."""
    bld = dataset.buildings
    if only is not None:
        bld = bld[bld["building_id"].astype(str).isin(only)]
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).astype(np.int64)
    return dict(zip(bld["building_id"].astype(str).to_numpy().tolist(), hh.tolist(), strict=True))


def _compound_names(dataset: Dataset) -> dict[str, str]:
    comp = dataset.compounds
    if "name" not in comp.columns:
        return {}
    names = comp["name"].astype(object).where(comp["name"].notna(), "")
    ids = comp["compound_id"].astype(str).tolist()
    return dict(zip(ids, names.astype(str).tolist(), strict=True))


def units_frame(
    dataset: Dataset, plan: Plan, community_id: str, *, units: UnitGraph | None = None
) -> gpd.GeoDataFrame:
    """Return the unit cells of a community (EPSG:4326) with id, kind, compound, households."""
    units = units or community_units(dataset, plan, community_id)
    frame = units.frame().to_crs(WGS84)
    frame["community_id"] = community_id
    frame["households"] = frame["households"].astype(np.int64)
    frame.geometry = shapely.make_valid(frame.geometry.to_numpy())
    return frame


def resolve_keys(dataset: Dataset, keys: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Return (key → building ids, unknown keys) for unit ids or building ids.

    A key is a compound id (all its buildings), a building id, ``b:<building>`` (a
    scattered building unit) or ``<compound>/<building>`` (a building of a split compound).
    """
    keys = [str(k) for k in keys]
    bld = dataset.buildings
    b_ids = bld["building_id"].astype(str).to_numpy()
    known_b = set(b_ids.tolist())
    comp = bld["compound_id"]
    comp_text = comp.astype(str)
    # only the compounds named (a city has tens of thousands of buildings; an edit, a few)
    hit = (comp.notna() & comp_text.isin(set(keys))).to_numpy()
    by_comp: dict[str, list[str]] = {}
    for b, c in zip(b_ids[hit].tolist(), comp_text.to_numpy()[hit].tolist(), strict=True):
        by_comp.setdefault(c, []).append(b)
    # <compound>/<building>: the building must be in that compound
    pairs = {tuple(k.split("/", 1)) for k in keys if "/" in k and k not in by_comp}
    in_comp = {
        b: c
        for b, c in zip(b_ids.tolist(), comp_text.to_numpy().tolist(), strict=True)
        if (c, b) in pairs
    }
    out: dict[str, list[str]] = {}
    unknown: list[str] = []
    for k in keys:
        if k in by_comp:
            out[k] = sorted(by_comp[k])
        elif k in known_b:
            out[k] = [k]
        elif k.startswith("b:") and k[2:] in known_b:
            out[k] = [k[2:]]
        elif "/" in k and in_comp.get(k.split("/", 1)[1]) == k.split("/", 1)[0]:
            out[k] = [k.split("/", 1)[1]]
        else:
            unknown.append(k)
    return out, unknown


def _named_twice(resolved: Mapping[str, list[str]], assign: Mapping[str, str]) -> list[str]:
    """Return 'building (key → grid, key → grid)' for buildings two keys give to two grids
    (a compound and one of its buildings, a building and ``b:`` it)."""
    seen: dict[str, tuple[str, str]] = {}
    out: list[str] = []
    for key, bids in resolved.items():
        for b in bids:
            first = seen.setdefault(b, (key, str(assign[key])))
            if first[1] != str(assign[key]):
                out.append(f"{b} ({first[0]} → {first[1]}, {key} → {assign[key]})")
    return out


UNKNOWN_IDS = "unknown unit or building ids"
OPEN_LAND = "open-land units (no buildings: they follow the grids around them)"
TWICE = "buildings given to two grids"
BAD_GRID = "unknown grid ids (a new grid takes a code never used in its community)"
OUTSIDE = "units of communities this plan does not cover (partition them first)"
WRONG_COMMUNITY = "grids of another community"
ON_LOCKED = "locked grids (unlock them first)"


def _check(
    dataset: Dataset, plan: Plan, assign: Mapping[str, str], locked: Iterable[str]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Return (building → new grid, new grid → community, building → grid of every building
    the edit names, moved or not) or raise naming every bad id."""
    resolved, unknown = resolve_keys(dataset, assign)
    land = sorted(k for k in unknown if k.startswith("e:"))  # units.py names open land e:N
    found: dict[str, list[str]] = {
        UNKNOWN_IDS: sorted(set(unknown) - set(land)),
        OPEN_LAND: land,
        TWICE: _named_twice(resolved, assign),
        BAD_GRID: [],
        OUTSIDE: [],
        WRONG_COMMUNITY: [],
        ON_LOCKED: [],
    }
    comm_of_grid = _pairs(plan.grids, "grid_id", "community_id")
    named = {b for bids in resolved.values() for b in bids}
    comm_of_b = _pairs(dataset.buildings, "building_id", "community_id", only=named)
    old = _pairs(plan.assignment, "building_id", "grid_id", only=named)
    locked_set = {str(g) for g in locked}
    moves: dict[str, str] = {}
    new_grids: dict[str, str] = {}
    planned = set(comm_of_grid.values())
    for key, bids in resolved.items():
        gid = str(assign[key])
        comms = {comm_of_b[b] for b in bids}
        comm = sorted(comms)[0]
        if not comms & planned:  # a grid there would hold this unit and leave the rest bare
            found[OUTSIDE].append(f"{key} (community {comm})")
            continue
        if gid in comm_of_grid:
            if comm_of_grid[gid] not in comms:
                found[WRONG_COMMUNITY].append(f"{key} (community {comm}) → {gid}")
                continue
        elif (why := new_code_refusal(dataset, plan, comm, gid)) is None:
            new_grids[gid] = comm
        else:
            found[BAD_GRID].append(f"{key} → {gid} ({why})")
            continue
        for b in bids:
            if old.get(b) == gid:
                continue
            if gid in locked_set or old.get(b) in locked_set:
                found[ON_LOCKED].append(f"{key} ({old.get(b)} → {gid})")
                break
            moves[b] = gid
    if problems := [f"{what}: {', '.join(items[:20])}" for what, items in found.items() if items]:
        raise ParameterError("assign: " + "; ".join(problems))
    sent = {b: str(assign[k]) for k, bids in resolved.items() for b in bids}
    return moves, new_grids, sent


def _with_unit_mates(
    plan: Plan,
    moves: dict[str, str],
    graphs: Mapping[str, UnitGraph],
    *,
    named: Mapping[str, str],
    locked: Iterable[str],
) -> dict[str, str]:
    """Return ``moves`` with the buildings that share a unit with a moved one moved too.

    Buildings whose footprints overlap are one unit (:mod:`gridgen.partition.overlaps`): one
    grid holds all of them, so moving one alone would leave it drawn in its old grid.

    ``named``: building → grid of every building the edit names (moved or not).

    Raises
    ------
    ParameterError
        When buildings of one unit are sent to different grids, or a mate's grid is locked.
    """
    out = {**named, **moves}
    clashes: set[str] = set()
    for graph in graphs.values():
        for b, mates in graph.unit_mates(moves).items():
            for mate in mates:
                if out.setdefault(mate, moves[b]) != moves[b]:
                    pair = (f"{b} → {moves[b]}", f"{mate} → {out[mate]}")
                    clashes.add(" and ".join(sorted(pair)))
    if clashes:
        msg = "assign: overlapping buildings are one unit, for one grid: " + "; ".join(
            sorted(clashes)
        )
        raise ParameterError(msg)
    joined = set(out) - set(moves) - set(named)  # the mates the edit did not name
    was = _pairs(plan.assignment, "building_id", "grid_id", only=joined)
    held = {str(g) for g in locked}
    if on_locked := sorted(f"{b} ({was[b]})" for b in joined if was.get(b) in held):
        msg = "assign: buildings one unit with a moved one are in locked grids: " + ", ".join(
            on_locked
        )
        raise ParameterError(msg)
    return {b: g for b, g in out.items() if b in moves or (b in joined and was.get(b) != g)}


def assign_units(
    dataset: Dataset,
    plan: Plan,
    assign: Mapping[str, str],
    *,
    locked: Iterable[str] = (),
    units: Mapping[str, UnitGraph] | None = None,
    on: date | None = None,
) -> AssignResult:
    """Return the plan with units (or buildings) moved to the grids in ``assign``.

    Parameters
    ----------
    dataset
        The dataset the plan was drawn on.
    plan
        The plan to change.
    assign
        ``{unit_or_building_id: grid_id}``; a grid id not in the plan that is a code never
        used in the community (:func:`offered_codes`) creates a new grid there.
    locked
        Locked grids: moving a unit into or out of one is refused.
    units
        Unit graphs per community already built (:func:`community_units`), to save time.
    on
        Date of the edit (default: today); codes follow :func:`lifecycle.successor`.

    Raises
    ------
    ParameterError
        Naming every unknown id, wrong grid, locked grid, or grid left in several pieces.
    """
    moves, new_grids, named = _check(dataset, plan, assign, locked)
    comm_of_b = _pairs(dataset.buildings, "building_id", "community_id", only=set(moves))
    graphs = {
        cid: (units or {}).get(cid) or community_units(dataset, plan, cid)
        for cid in sorted(set(comm_of_b.values()))
    }
    moves = _with_unit_mates(plan, moves, graphs, named=named, locked=locked)
    a = plan.assignment.astype({"building_id": str, "grid_id": str}).copy()
    old = _pairs(a, "building_id", "grid_id", only=set(moves))
    touched = sorted({g for g in moves.values()} | {old[b] for b in moves if b in old})
    if not moves:
        return AssignResult(plan, (), (), (), ())
    a.loc[a["building_id"].isin(moves), "grid_id"] = a["building_id"].map(moves)
    missing = sorted(set(moves) - set(old))
    if missing:
        add = pd.DataFrame({"building_id": missing, "grid_id": [moves[b] for b in missing]})
        a = pd.concat([a, add], ignore_index=True)
    comm_of_grid = _pairs(plan.grids, "grid_id", "community_id")
    comm_of_grid.update(new_grids)
    out, comms = plan, {comm_of_grid[g] for g in touched}
    for cid in sorted(comms):
        graph = graphs.get(cid) or (units or {}).get(cid) or community_units(dataset, plan, cid)
        codes = sorted(g for g, c in comm_of_grid.items() if c == cid)
        done = refinished_community(dataset, out, graph, a, codes)
        if done.pieces:
            detail = ", ".join(f"{g} ({n} pieces)" for g, n in sorted(done.pieces.items()))
            msg = (
                f"assign: grids {detail} would not be one connected polygon: "
                "paint the units that join their pieces to the same grid"
            )
            raise ParameterError(msg)
        rows = done.rows
        ids = set(rows["grid_id"].astype(str))
        comm_a = a[a["grid_id"].isin(ids)]
        out = replace_community(dataset, out, graph, rows, comm_a)
    out = successor(out, before=plan, dataset=dataset, on=on, communities=comms)
    before, after = set(plan.grids["grid_id"].astype(str)), set(out.grids["grid_id"].astype(str))
    return AssignResult(
        plan=out,
        moved_buildings=tuple(sorted(moves)),
        touched_grids=tuple(touched),
        new_grids=tuple(sorted(after - before)),
        removed_grids=tuple(sorted(before - after)),
    )


def _pairs(
    frame: pd.DataFrame, key: str, value: str, *, only: set[str] | None = None
) -> dict[str, str]:
    """Return ``{key: value}`` of two columns as text (fast: no pandas iteration).

    ``only``: the rows whose key is one of these (an edit names few of a city's buildings).
    """
    if only is not None:
        frame = frame[frame[key].astype(str).isin(only)]
    keys = frame[key].astype(str).to_numpy().tolist()
    values = frame[value].astype(str).to_numpy().tolist()
    return dict(zip(keys, values, strict=True))


__all__ = [
    "AssignResult",
    "assign_units",
    "community_units",
    "editor_units",
    "resolve_keys",
    "unit_grids",
    "units_frame",
]
