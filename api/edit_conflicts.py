"""The 409 of a stale editor save: which units of the edit others changed, by whom, where to.

A save made on a version older than the head is refused (the optimistic concurrency every
plan edit has); its 409 body carries, besides who saved the head, ``conflicts``: the units
of this edit that a later version moved to another grid (:mod:`gridgen.partition.conflicts`),
each with the grid the edit wants (``mine``), the base's and the head's (``theirs``) grid and
the version, author and time of the change. An empty list means the edit touches nothing
anyone else changed: the page re-applies it on the head without asking. ``renamed`` maps
the base's codes that later versions retired to the grid now holding most of their
households, so the page re-applies an edit to the grids it meant, under their new codes;
``merged`` lists those of them whose grid went into another grid (the rest were only
renumbered), so the page asks before re-applying paint meant for a grid that is gone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from api.auth import Principal
from api.errors import ConflictError
from api.plan_edits import check_scope, plan_dataset
from api.scopes import grid_communities
from api.service import ServiceState, check_edit_base, load_plan
from gridgen.partition.assign import resolve_keys
from gridgen.partition.conflicts import Renames, VersionStep, edit_conflicts, renamed_codes


class EditConflictError(ConflictError):
    """A stale editor save, with the units of the edit that others changed since its base."""

    def __init__(
        self,
        error: ConflictError,
        conflicts: list[dict[str, Any]],
        renames: Renames,
        *,
        named: Collection[str] = (),
    ) -> None:
        n = len(conflicts)
        renamed = renames.codes
        gone = sorted(set(renamed) & set(named))
        which = (
            f"{n} unit(s) of this edit were moved elsewhere since: "
            + ", ".join(str(c["unit"]) for c in conflicts[:10])
            if n
            else "no unit of this edit was changed since: it can be applied on the head"
            + (
                ", with grid(s) it names now known as "
                + ", ".join(f"{g} → {renamed[g]}" for g in gone[:10])
                if gone
                else " as is"
            )
        )
        super().__init__(
            f"{error}; {which}",
            head_version=error.head_version,
            base_version=error.base_version,
            head_author=error.head_author,
            head_created_at=error.head_created_at,
            head_message=error.head_message,
        )
        self.conflicts = conflicts
        self.renamed = renamed
        self.merged = sorted(renames.merged)


def check_assign_base(
    state: ServiceState,
    who: Principal,
    plan_id: str,
    base: int,
    assign: Mapping[str, str],
    *,
    grids: Sequence[str] = (),
) -> None:
    """Return when ``base`` is the head; else raise :class:`EditConflictError` (409).

    A base that is not a version of the plan fails as :func:`check_edit_base` says. The
    409 names other planners' changes, so a scoped key gets it only for an edit inside its
    scope (the units of ``assign`` and the grids it locks or unlocks, ``grids``): else
    PermissionDeniedError, as the save would.
    """
    try:
        check_edit_base(state, plan_id, base)
    except ConflictError as exc:
        head = exc.head_version
        if head is None or not 1 <= base < head:
            raise
        steps = []
        for v in range(base + 1, head + 1):
            info = state.store.get_version(plan_id, v)
            plan = load_plan(state, plan_id, v)
            steps.append(VersionStep(v, info.author, info.created_at, plan))
        dataset_id, dataset = plan_dataset(state, plan_id)
        base_plan = load_plan(state, plan_id, base)
        members, _ = resolve_keys(dataset, assign)
        named = {b for ids in members.values() for b in ids}
        bld = dataset.buildings
        comms = set(bld.loc[bld["building_id"].astype(str).isin(named), "community_id"].astype(str))
        check_scope(state, who, dataset_id, comms | grid_communities(base_plan.grids, grids))
        found = edit_conflicts(dataset, base_plan, steps, assign)
        renames = renamed_codes(dataset, base_plan, steps[-1].plan, communities=comms or None)
        named_grids = {*assign.values(), *grids}
        raise EditConflictError(
            exc, [c.to_dict() for c in found], renames, named=named_grids
        ) from None
