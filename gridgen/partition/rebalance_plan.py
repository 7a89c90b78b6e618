"""The minimal-change rebalance of a stored plan version, as the service's rebalance edit
runs it: options default to the plan's, one community can be rebalanced alone, and the
summary is the one saved with the new version (:func:`gridgen.partition.rebalance.rebalance`
does the work)."""

from __future__ import annotations

import json
from typing import Any

from gridgen.dataset import Dataset
from gridgen.partition.plan import Plan, default_band
from gridgen.partition.rebalance import RebalanceResult, rebalance

CROSSWALK_ROWS = 50_000
"""Most crosswalk rows (buildings that changed grid) in the summary of :func:`rebalance_plan`."""


def rebalance_plan(
    dataset: Dataset,
    plan: Plan,
    *,
    target: int | None = None,
    band: tuple[int, int] | None = None,
    max_moved: int | None = None,
    locked: tuple[str, ...] = (),
    community_id: str | None = None,
) -> tuple[Plan, dict[str, Any]]:
    """Return ``plan`` rebalanced with the fewest households moved, and what it did.

    The target defaults to the plan's, and the band to the plan's when the target is the
    plan's (else target ±20%). Grids in ``locked`` are kept exactly (their communities are
    left as they are), and so, with ``community_id``, is every grid of another community;
    the new plan's locked grids are ``locked``. The summary holds households moved, codes
    kept, new and retired, the grids out of band before and after, and the crosswalk of
    the buildings whose grid changed (at most :data:`CROSSWALK_ROWS`).
    """
    goal = target or plan.target
    lo_hi = default_band(goal, band or (plan.band if goal == plan.target else None))
    result = rebalance(
        dataset,
        plan.grids,
        assignment=plan.assignment,
        target=goal,
        band=lo_hi,
        max_moved=max_moved,
        locked=_held_grids(plan, locked, community_id),
        codes=plan.codes,
    )
    return result.plan.with_locked(locked), _edit_summary(result)


def _held_grids(plan: Plan, locked: tuple[str, ...], community_id: str | None) -> tuple[str, ...]:
    """Return ``locked`` plus, for a one-community rebalance, every grid outside it."""
    if community_id is None:
        return locked
    grids = plan.grids
    outside = grids.loc[grids["community_id"].astype(str) != community_id, "grid_id"]
    return tuple(sorted({*locked, *outside.astype(str)}))


def _edit_summary(result: RebalanceResult) -> dict[str, Any]:
    """Return the JSON-ready summary of a rebalance saved as a plan version."""
    cw = result.crosswalk
    changed = cw[cw["old_grid"] != cw["new_grid"]]
    s = result.summary
    keys = ("households_moved", "grids_changed", "codes_kept", "codes_new", "codes_retired")
    return {
        **{k: s[k] for k in keys},
        "retired_codes": s["retired_codes"],
        "skipped_locked": s["skipped_locked"],
        "out_of_band_before": s["audit_before"]["out_of_band"],
        "out_of_band_after": s["audit_after"]["out_of_band"],
        "crosswalk": json.loads(changed.head(CROSSWALK_ROWS).to_json(orient="records")),
    }
