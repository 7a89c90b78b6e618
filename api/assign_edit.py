"""The editor's one-step edit, checked the same way whether it is saved or only tried.

An edit gives units (or buildings) to grids and may lock and unlock grids: locks ride with
the next save instead of making a version each. :func:`prepare_assign` applies it to its
base version (every id checked, the scope checked, locks applied first for unlocking and
last for locking, the touched grids rebuilt); the save route stores the result, the check
route (``/edits/assign/check``) only reports it, so the page knows the server's verdict
(422 naming what it refuses, grids emptied or out of band) before the planner saves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from api.auth import Principal
from api.plan_edits import check_scope, plan_dataset, units_of
from api.scopes import grid_communities
from api.service import ServiceState, load_plan
from gridgen.errors import ParameterError
from gridgen.partition.assign import AssignResult, assign_units, resolve_keys
from gridgen.partition.plan import Plan


@dataclass(frozen=True, eq=False)
class PreparedAssign:
    """An edit applied to its base: the plan to save, its locks, what it did, where."""

    base_plan: Plan
    plan: Plan
    locked: tuple[str, ...]
    result: AssignResult | None
    communities: set[str]
    lock_changes: tuple[tuple[str, bool], ...]
    households: pd.Series  # households per building id (the dataset's)

    def summary(self) -> dict[str, Any]:
        """Return what the edit does (JSON-ready): moves, grids touched, emptied, locks."""
        out: dict[str, Any] = (
            self.result.to_dict()
            if self.result is not None
            else {"moved_buildings": 0, "touched_grids": [], "new_grids": [], "removed_grids": []}
        )
        out["locked"] = [g for g, on in self.lock_changes if on]
        out["unlocked"] = [g for g, on in self.lock_changes if not on]
        return out

    def retired(self) -> dict[str, dict[str, int]]:
        """Return, for every code the edit retires, the grids its households are now in.

        A grid keeps its code only while it keeps most of its households
        (:mod:`gridgen.partition.codes`): a touched grid whose code is gone has its
        households in other grids now (``{grid: households}``, new codes or others'); an
        empty mapping means it was emptied.
        """
        if self.result is None:
            return {}
        gone = set(self.result.touched_grids) - set(self.plan.grids["grid_id"].astype(str))
        out: dict[str, dict[str, int]] = {}
        base, a = self.base_plan.assignment, self.plan.assignment
        for g in sorted(gone):
            ids = set(base.loc[base["grid_id"].astype(str) == g, "building_id"].astype(str))
            mine = a[a["building_id"].astype(str).isin(ids)]
            weight = self.households.reindex(mine["building_id"].astype(str)).fillna(0)
            per = pd.Series(weight.to_numpy(), index=mine["grid_id"].astype(str))
            out[g] = {str(k): int(v) for k, v in per.groupby(level=0).sum().items()}
        return out

    def grid_households(self) -> list[dict[str, Any]]:
        """Return households before and after of every grid the edit touches or creates.

        A retired code's row has ``after`` None and ``now_in`` (see :meth:`retired`); a new
        code's row has ``before`` None.
        """
        touched = set(self.summary()["touched_grids"])
        fresh = set(self.summary()["new_grids"])
        gone = self.retired()
        before = _households(self.base_plan, touched)
        after = _households(self.plan, touched | fresh)
        lo, hi = self.plan.band
        rows: list[dict[str, Any]] = []
        for g in sorted(touched | fresh):
            row: dict[str, Any] = {"grid_id": g, "before": before.get(g), "after": after.get(g, 0)}
            if g in gone:
                row["after"] = None
                row["now_in"] = gone[g]
            row["in_band"] = row["after"] is None or lo <= row["after"] <= hi
            rows.append(row)
        return rows


def _households(plan: Plan, names: set[str]) -> dict[str, int]:
    g = plan.grids[plan.grids["grid_id"].astype(str).isin(names)]
    return {str(k): int(v) for k, v in zip(g["grid_id"], g["households"], strict=True)}


def _lock_changes(
    plan: Plan, lock: Sequence[str], unlock: Sequence[str], new_grids: set[str]
) -> tuple[tuple[str, bool], ...]:
    """Return (grid, locked) of every lock change; raise naming grids that do not exist."""
    lock, unlock = list(dict.fromkeys(lock)), list(dict.fromkeys(unlock))  # once each
    if both := sorted(set(lock) & set(unlock)):
        raise ParameterError(f"lock, unlock: {_listed(both)} named in both")
    known = set(plan.grids["grid_id"].astype(str)) | new_grids
    if unknown := sorted((set(lock) | set(unlock)) - known):
        raise ParameterError(f"lock, unlock: {_listed(unknown)} are not grids of the plan")
    return tuple([(g, True) for g in lock] + [(g, False) for g in unlock])


def _listed(names: Sequence[str], most: int = 20) -> str:
    """Return the first ``most`` names, comma-separated, and how many there are in all."""
    more = f" ({len(names)} in all)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def prepare_assign(
    state: ServiceState,
    who: Principal,
    plan_id: str,
    base: int,
    *,
    assign: Mapping[str, str],
    lock: Sequence[str] = (),
    unlock: Sequence[str] = (),
) -> PreparedAssign:
    """Return the edit applied to version ``base`` (not saved).

    Raises
    ------
    ParameterError
        Naming every unknown id, wrong or locked grid, grid left in several pieces, or an
        edit that changes nothing.
    PermissionDeniedError
        When a scoped key edits or locks outside its communities.
    """
    plan = load_plan(state, plan_id, base)
    base_locked = plan.locked
    dataset_id, dataset = plan_dataset(state, plan_id)
    resolved, _ = resolve_keys(dataset, assign)
    bld = dataset.buildings
    named = bld["building_id"].astype(str).isin({b for ids in resolved.values() for b in ids})
    comms = set(bld.loc[named, "community_id"].astype(str))
    comms |= grid_communities(plan.grids, [*lock, *unlock])
    check_scope(state, who, dataset_id, comms)
    unlocked = tuple(g for g in base_locked if g not in set(unlock))
    result = None
    if assign:
        graphs = {c: units_of(state, dataset_id, plan, c) for c in comms}
        result = assign_units(dataset, plan, assign, locked=unlocked, units=graphs)
    new_grids = set(result.new_grids) if result is not None else set()
    changes = _lock_changes(plan, lock, unlock, new_grids)
    locked = tuple(sorted(set(unlocked) | set(lock)))
    if (result is None or not result.moved_buildings) and locked == tuple(sorted(base_locked)):
        msg = "assign: every unit is already in the grid named and no lock changes: nothing to save"
        raise ParameterError(msg)
    out = plan if result is None else result.plan
    hh = pd.Series(
        pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(),
        index=bld["building_id"].astype(str).to_numpy(),
    )
    return PreparedAssign(plan, out, locked, result, comms, changes, hh)
