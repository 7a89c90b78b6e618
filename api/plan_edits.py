"""Saving edited plan versions, and the unit graphs and unit layers edits work on.

The editor's store-facing code is kept in these few functions (:func:`save_plan`,
:func:`units_layer_key`, and :func:`api.service.load_plan` for reading a version) so a
change of the store's plan representation touches only them. The routes are in
:mod:`api.routers.editor`.
"""

from __future__ import annotations

from collections.abc import Collection

from api.auth import Principal
from api.scopes import require_communities
from api.service import ServiceState, check_edit_base, load_dataset, load_plan, plan_key
from api.store.base import VersionInfo, dataset_key, version_date
from api.store.delta import assignment_patch
from gridgen.dataset import Dataset
from gridgen.partition.assign import community_units, units_frame
from gridgen.partition.lifecycle import restamped
from gridgen.partition.plan import Plan
from gridgen.partition.units import UnitGraph


def save_plan(
    state: ServiceState,
    plan_id: str,
    *,
    base: int,
    plan: Plan,
    locked: tuple[str, ...],
    actor: str,
    message: str,
    communities: Collection[str] | None = None,
) -> VersionInfo:
    """Save ``plan`` as the version after ``base`` (ConflictError naming the head's author).

    ``communities``: the only communities whose grids differ from ``base`` (the store then
    copies the other grid rows in the database); None: any grid may have changed.
    """
    check_edit_base(state, plan_id, base)
    saved = plan.with_locked(locked)
    changed, patch = None, None
    if communities is not None:  # an edit: the base plan is in the cache
        grids = plan.grids
        inside = grids["community_id"].astype(str).isin({str(c) for c in communities})
        changed = set(grids.loc[inside, "grid_id"].astype(str))
        patch = assignment_patch(load_plan(state, plan_id, base).assignment, plan.assignment)
    info = state.store.add_version(
        plan_id,
        base_version=base,
        plan=saved,
        actor=actor,
        message=message,
        changed_grids=changed,
        changed_assignment=patch,
    )
    before = load_plan(state, plan_id, base)
    since = dict(zip(before.grids["grid_id"].astype(str), before.grids["valid_from"], strict=True))
    codes = (since, {r.code for r in before.codes.retired})
    saved = restamped(saved, before=codes, on=version_date(info.created_at))  # as stored
    state.memo.put(plan_key(plan_id, info.version), saved)
    return info


def plan_dataset(state: ServiceState, plan_id: str) -> tuple[str, Dataset]:
    """Return (dataset id, dataset) of a plan."""
    dataset_id = state.store.get_plan(plan_id).dataset_id
    return dataset_id, load_dataset(state, dataset_id)


def units_of(state: ServiceState, dataset_id: str, plan: Plan, community_id: str) -> UnitGraph:
    """Return the unit graph of a community (cached per dataset, community and band)."""
    dataset = load_dataset(state, dataset_id)
    key = ("units", dataset_id, community_id, int(plan.band[1]))
    graph: UnitGraph = state.memo.get_or_make(
        key, lambda: community_units(dataset, plan, community_id)
    )
    return graph


def units_layer_key(state: ServiceState, dataset_id: str, plan: Plan, community_id: str) -> str:
    """Return the layer key of a community's unit cells, storing the layer on first use."""
    key = dataset_key(dataset_id, f"units/{int(plan.band[1])}/{community_id}")
    if not state.store.has_layer(key):
        dataset = load_dataset(state, dataset_id)
        graph = units_of(state, dataset_id, plan, community_id)
        frame = units_frame(dataset, plan, community_id, units=graph)
        state.store.add_layer(key, frame, layer="units", actor="service (editor units)")
    return key


def check_scope(
    state: ServiceState, who: Principal, dataset_id: str, community_ids: set[str]
) -> None:
    """Raise PermissionDeniedError when a community- or street-scoped key edits outside."""
    require_communities(state, who, dataset_id, community_ids, "editing")
