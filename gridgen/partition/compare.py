"""Comparing two plans: buildings that changed grid, grids added, removed or reshaped,
metric deltas, whether locked grids stayed as they were, and (for the editor) the units of
a community that changed grid."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.partition.assign import unit_grids
from gridgen.partition.matching import building_households, matched_grids
from gridgen.partition.plan import Plan, PlanMetrics
from gridgen.partition.units import UnitGraph


@dataclass(frozen=True, eq=False)
class PlanComparison:
    """Differences between plan ``a`` and plan ``b``.

    Attributes
    ----------
    buildings
        ``building_id, grid_a, grid_b`` for every building whose grid differs (NA where a
        plan lacks the building).
    compounds
        Compounds with at least one building that changed grid (when a dataset was given).
    grids_added, grids_removed, grids_reshaped
        Grid ids only in ``b``, only in ``a``, and in both with different geometry.
    metric_deltas
        ``b - a`` for every numeric metric.
    """

    buildings: pd.DataFrame
    compounds: tuple[str, ...]
    grids_added: tuple[str, ...]
    grids_removed: tuple[str, ...]
    grids_reshaped: tuple[str, ...]
    metric_deltas: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        rows = self.buildings.astype(object).where(self.buildings.notna(), None)
        return {
            "buildings_changed": len(self.buildings),
            "buildings": rows.to_dict(orient="records"),
            "compounds_changed": list(self.compounds),
            "grids_added": list(self.grids_added),
            "grids_removed": list(self.grids_removed),
            "grids_reshaped": list(self.grids_reshaped),
            "metric_deltas": self.metric_deltas,
        }


def compare_plans(a: Plan, b: Plan, *, dataset: Dataset | None = None) -> PlanComparison:
    """Return what changed from plan ``a`` to plan ``b``.

    With ``dataset``, compounds with a building that changed grid are listed too.
    """
    m = a.assignment.astype(str).merge(
        b.assignment.astype(str), on="building_id", how="outer", suffixes=("_a", "_b")
    )
    changed = m[m["grid_id_a"].fillna("") != m["grid_id_b"].fillna("")]
    changed = changed.rename(columns={"grid_id_a": "grid_a", "grid_id_b": "grid_b"})
    changed = changed.sort_values("building_id", kind="stable").reset_index(drop=True)
    compounds: tuple[str, ...] = ()
    if dataset is not None and len(changed):
        bld = dataset.buildings
        comp = bld.loc[bld["building_id"].astype(str).isin(changed["building_id"]), "compound_id"]
        compounds = tuple(sorted({str(c) for c in comp if not pd.isna(c)}))
    ga = dict(zip(a.grids["grid_id"].astype(str), a.grids.geometry, strict=True))
    gb = dict(zip(b.grids["grid_id"].astype(str), b.grids.geometry, strict=True))
    both = sorted(set(ga) & set(gb))
    reshaped = tuple(g for g in both if not shapely.equals_exact(ga[g], gb[g], tolerance=1e-9))
    deltas: dict[str, float] = {}
    for f in fields(PlanMetrics):
        va, vb = getattr(a.metrics, f.name), getattr(b.metrics, f.name)
        if isinstance(va, bool) or not isinstance(va, int | float):
            continue
        d = float(vb) - float(va)
        deltas[f.name] = d if math.isfinite(d) else float("nan")
    return PlanComparison(
        buildings=changed[["building_id", "grid_a", "grid_b"]],
        compounds=compounds,
        grids_added=tuple(sorted(set(gb) - set(ga))),
        grids_removed=tuple(sorted(set(ga) - set(gb))),
        grids_reshaped=reshaped,
        metric_deltas=deltas,
    )


def locked_unchanged(before: Plan, after: Plan, locked: Iterable[str]) -> bool:
    """Return whether every locked grid has the same geometry and buildings in both plans."""
    for g in locked:
        ga = before.grids.loc[before.grids["grid_id"] == g].geometry
        gb = after.grids.loc[after.grids["grid_id"] == g].geometry
        if len(ga) != 1 or len(gb) != 1 or not shapely.equals_exact(ga.iloc[0], gb.iloc[0], 0.0):
            return False
        ba = set(before.assignment.loc[before.assignment["grid_id"] == g, "building_id"])
        bb = set(after.assignment.loc[after.assignment["grid_id"] == g, "building_id"])
        if ba != bb:
            return False
    return True


def community_unit_changes(
    dataset: Dataset, units: UnitGraph, a: Plan, b: Plan
) -> dict[str, list[dict[str, Any]]]:
    """Return the units of a community that changed grid from plan ``a`` to ``b``, and
    households per grid in both, grids matched by membership (not by code).

    A grid of ``a`` is the grid of ``b`` it shares most households with
    (:func:`gridgen.partition.matching.matched_grids`): a grid renamed because it lost most
    of its households, or renumbered by a rebalance, is the same grid. ``changed`` lists
    ``{"id", "a", "b"}`` (unit id, its grid code in each plan) for the units whose grid in
    ``b`` is not their grid of ``a``; ``grids`` lists ``{"grid_id", "code_a", "code_b",
    "a", "b"}`` per matched pair (the code in ``b``, else in ``a``; households, None where
    a plan lacks the grid), sorted by code in ``a`` then in ``b``.
    """
    hh = building_households(dataset)
    pairs = matched_grids(a, b, hh, community_id=units.community_id)
    same = {m.a: m.b for m in pairs if m.a is not None}
    ga, gb = unit_grids(dataset, units, a), unit_grids(dataset, units, b)
    changed: list[dict[str, Any]] = [
        {"id": units.unit_ids[i], "a": ga[i], "b": gb[i]}
        for i in range(units.n)
        if same.get(ga[i]) != gb[i]
    ]
    ha = _grid_households(a, units.community_id)
    hb = _grid_households(b, units.community_id)
    rows: list[dict[str, Any]] = [
        {
            "grid_id": m.b or m.a,
            "code_a": m.a,
            "code_b": m.b,
            "a": ha.get(m.a) if m.a else None,
            "b": hb.get(m.b) if m.b else None,
        }
        for m in pairs
    ]
    return {"changed": changed, "grids": rows}


def _grid_households(plan: Plan, community_id: str) -> dict[str, int]:
    """Return households per grid of one community of ``plan``."""
    g = plan.grids[plan.grids["community_id"].astype(str) == community_id]
    return {str(k): int(v) for k, v in zip(g["grid_id"], g["households"], strict=True)}
