"""The editor's request bodies and the checks made on them before any work starts.

:class:`AssignUnits` (``/edits/assign`` and its ``/check``) and :class:`Rebalance`
(``/edits/rebalance``): a refusal names the field (422), or the community (404), before a
version is touched or a job queued.
"""

from __future__ import annotations

from pydantic import Field

from api.models import Households, Id, RequestBody, Version
from gridgen.errors import NotFoundError, ParameterError
from gridgen.partition.plan import Plan, default_band

MAX_ASSIGN = 20000
"""Most units or buildings one assignment may name."""


class AssignUnits(RequestBody):
    """Give units (or buildings) to grids in one edit."""

    base_version: Version | None = Field(None, description="Version the edit was made on")
    assign: dict[Id, Id] = Field(
        default_factory=dict,
        description="unit or building id → grid id (a new grid: community id + 3 digits)",
    )
    lock: list[Id] = Field(
        default_factory=list, max_length=MAX_ASSIGN, description="grids to lock with this edit"
    )
    unlock: list[Id] = Field(
        default_factory=list, max_length=MAX_ASSIGN, description="grids to unlock with this edit"
    )
    message: str = Field("", max_length=500)


class Rebalance(RequestBody):
    """Rebalance a plan version as a background job that saves a new version.

    ``minimal_change`` (the default) moves as few households as it can to fix what the
    audit finds, in the whole plan or, with ``community_id``, in that community only;
    ``repartition`` redraws the unlocked grids of ``community_id`` from scratch with the
    plan's target and band (``target``, ``band`` and ``max_moved`` are minimal_change's).
    """

    base_version: Version | None = None
    community_id: str | None = Field(None, max_length=200)
    method: str = Field("minimal_change", description="minimal_change or repartition")
    target: int | None = Field(default=None, gt=0, le=100_000, description="Households/grid")
    band: tuple[Households, Households] | None = Field(
        default=None, description="MIN, MAX households"
    )
    max_moved: int | None = Field(
        default=None, ge=0, le=2**63 - 1, description="Most households to move"
    )
    message: str = Field("", max_length=500)


REBALANCERS: tuple[str, ...] = ("repartition", "minimal_change")
"""Rebalance methods, in the order the editor offers them (repartition works around locks;
the minimal-change rebalance leaves a community with a locked grid as it is)."""


def check_size(body: AssignUnits) -> None:
    """Raise naming ``assign`` unless the edit names something, and not too much."""
    if not (body.assign or body.lock or body.unlock):
        raise ParameterError("assign: name at least one unit or building id, or grids to lock")
    if len(body.assign) > MAX_ASSIGN:
        raise ParameterError(f"assign: at most {MAX_ASSIGN} ids per edit")


def check_rebalance(plan_id: str, plan: Plan, body: Rebalance) -> None:
    """Raise naming the field unless the job can do what ``body`` asks of ``plan``."""
    if body.method not in REBALANCERS:
        raise ParameterError(f"method {body.method!r}: use one of {', '.join(REBALANCERS)}")
    if body.method == "repartition":
        if body.community_id is None:
            raise ParameterError("community_id: repartition redraws one community; name it")
        given = [k for k in ("target", "band", "max_moved") if getattr(body, k) is not None]
        if given:
            msg = (
                f"{', '.join(given)}: repartition keeps the plan's target and band; leave "
                "them out, or use method minimal_change"
            )
            raise ParameterError(msg)
    if body.community_id is not None:
        communities = set(plan.grids["community_id"].astype(str))
        if body.community_id not in communities:
            msg = (
                f"community_id: community {body.community_id!r} has no grids in plan "
                f"{plan_id}: use one of {sorted(communities)[:10]}"
            )
            raise NotFoundError(msg)
    if body.band is not None:
        default_band(body.target or plan.target, body.band)


__all__ = ["MAX_ASSIGN", "REBALANCERS", "AssignUnits", "Rebalance", "check_rebalance", "check_size"]
