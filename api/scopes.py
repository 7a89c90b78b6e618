"""Scoped keys: a planner limited to one community or one street, and report redaction.

A key may name a ``community_id`` or a ``street_id`` (planner or grid worker). A scoped
planner creates, edits, locks, re-partitions and publishes only inside its scope (403
otherwise) and sees unpublished versions only of plans lying wholly inside it. A scoped grid
worker sees restricted columns of features in its community, or in every community of its
street (:func:`access_for`). A key naming a community or street found in no stored dataset
is refused (422). The key table keeps both ids in their own columns.

Routes call these checks at their top; they raise gridgen errors mapped by ``api.errors``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, overload

import pandas as pd

from api.access import Access
from api.auth import Principal
from api.errors import PermissionDeniedError
from api.service import ServiceState, load_dataset
from api.store.base import VersionInfo
from gridgen.errors import ParameterError
from gridgen.schema import restricted_columns


@dataclass(frozen=True)
class Scope:
    """What part of the city a key is limited to (one of the two ids is set)."""

    community_id: str | None = None
    street_id: str | None = None

    @property
    def label(self) -> str:
        """Return ``community X`` or ``street Y``."""
        return f"community {self.community_id}" if self.community_id else f"street {self.street_id}"


def scope_of(who: Principal) -> Scope | None:
    """Return the scope limiting ``who`` (None for admins and unscoped keys)."""
    if who.role == "admin" or not (who.community_id or who.street_id):
        return None
    if who.community_id:
        return Scope(community_id=who.community_id)
    return Scope(street_id=who.street_id)


def _known_ids(state: ServiceState) -> tuple[set[str], set[str]]:
    communities: set[str] = set()
    streets: set[str] = set()
    for info in state.store.list_datasets():
        ds = load_dataset(state, info.id)
        communities |= set(ds.communities["community_id"].dropna().astype(str))
        if "street_id" in ds.communities:
            streets |= set(ds.communities["street_id"].dropna().astype(str))
        streets |= set(ds.streets["street_id"].dropna().astype(str))
    return communities, streets


def check_key_scope(
    state: ServiceState, *, role: str, community_id: str | None, street_id: str | None
) -> Scope | None:
    """Return the scope of a new key, or raise ParameterError (422).

    A scope must name a community or street of a stored dataset; only planners and grid
    workers are scoped.
    """
    if community_id and street_id:
        raise ParameterError("community_id, street_id: give one of them, not both")
    if not community_id and not street_id:
        return None
    if role not in ("planner", "grid_worker"):
        msg = f"community_id/street_id: only planner and grid_worker keys are scoped, not {role}"
        raise ParameterError(msg)
    communities, streets = _known_ids(state)
    if community_id and community_id not in communities:
        msg = f"community_id: {community_id!r} is in no stored dataset; give a known community"
        raise ParameterError(msg)
    if street_id and street_id not in streets:
        msg = f"street_id: {street_id!r} is in no stored dataset; give a known street"
        raise ParameterError(msg)
    return Scope(community_id=community_id or None, street_id=street_id or None)


def access_for(state: ServiceState, who: Principal, dataset_id: str) -> Access:
    """Return ``who``'s access to restricted columns of ``dataset_id``'s features.

    A street-scoped grid worker sees the communities of its street in this dataset (as a
    community-scoped one sees its community); every other caller's access is
    :attr:`api.auth.Principal.access`.
    """
    if who.role != "grid_worker" or not who.street_id or who.community_id:
        return who.access
    key = ("street-communities", dataset_id, who.street_id)
    communities: frozenset[str] = state.memo.get_or_make(
        key, lambda: frozenset(allowed_communities(state, who, dataset_id) or ())
    )
    return Access(communities=communities)


def allowed_communities(state: ServiceState, who: Principal, dataset_id: str) -> set[str] | None:
    """Return the communities of ``dataset_id`` that ``who`` may plan (None: all of them)."""
    scope = scope_of(who)
    if scope is None:
        return None
    if scope.community_id is not None:
        return {scope.community_id}
    communities = load_dataset(state, dataset_id).communities
    if "street_id" not in communities:
        return set()
    hit = communities["street_id"].astype("string").eq(scope.street_id).fillna(False)
    return set(communities.loc[hit.to_numpy(), "community_id"].astype(str))


def require_communities(
    state: ServiceState, who: Principal, dataset_id: str, communities: Iterable[str], action: str
) -> None:
    """Raise PermissionDeniedError (403) if any of ``communities`` is outside ``who``'s scope."""
    allowed = allowed_communities(state, who, dataset_id)
    if allowed is None:
        return
    outside = sorted(set(map(str, communities)) - allowed)
    if outside:
        scope = scope_of(who)
        label = scope.label if scope else "its scope"
        msg = f"{action}: community {', '.join(outside)} is outside this key's scope ({label})"
        raise PermissionDeniedError(msg)


def grid_communities(grids: pd.DataFrame, grid_ids: Iterable[str] | None = None) -> set[str]:
    """Return the communities of ``grid_ids`` (all grids when None)."""
    frame = grids if grid_ids is None else grids[grids["grid_id"].astype(str).isin(set(grid_ids))]
    return set(frame["community_id"].dropna().astype(str))


def changed_grids(old: pd.DataFrame, new: pd.DataFrame) -> set[str]:
    """Return the grid ids gaining or losing a building between two assignments."""
    a = old.set_index(old["building_id"].astype(str))["grid_id"].astype(str)
    b = new.set_index(new["building_id"].astype(str))["grid_id"].astype(str)
    both = a.index.intersection(b.index)
    moved = both[(a.loc[both] != b.loc[both]).to_numpy()]
    gone = a.index.difference(b.index)
    added = b.index.difference(a.index)
    return set(a.loc[moved]) | set(b.loc[moved]) | set(a.loc[gone]) | set(b.loc[added])


def plan_in_scope(state: ServiceState, who: Principal, plan_id: str, version: int) -> bool:
    """Return whether every grid of a plan version lies in ``who``'s scope."""
    plan = state.store.get_plan(plan_id)
    allowed = allowed_communities(state, who, plan.dataset_id)
    if allowed is None:
        return True
    key = ("plan-communities", plan_id, version)
    communities: set[str] = state.memo.get_or_make(
        key, lambda: grid_communities(state.store.load_version(plan_id, version).grids)
    )
    return communities <= allowed


def require_plan_in_scope(
    state: ServiceState, who: Principal, plan_id: str, version: int, action: str
) -> None:
    """Raise PermissionDeniedError unless the plan version lies wholly in ``who``'s scope."""
    if not plan_in_scope(state, who, plan_id, version):
        scope = scope_of(who)
        label = scope.label if scope else "its scope"
        msg = f"{action}: plan {plan_id} reaches outside this key's scope ({label})"
        raise PermissionDeniedError(msg)


def may_see_draft(state: ServiceState, who: Principal, plan_id: str, version: int) -> bool:
    """Return whether ``who`` sees unpublished version ``version`` of a plan."""
    return who.sees_drafts and plan_in_scope(state, who, plan_id, version)


def redact_report(report: dict[str, Any], who: Principal) -> dict[str, Any]:
    """Return a validation report without restricted values unless ``who`` is an admin.

    A finding on a restricted column (leader phone, key persons) keeps its row, rule and
    action; its message no longer repeats the cell's value.
    """
    if who.role == "admin":
        return report
    findings = []
    for finding in report.get("findings", []):
        f = dict(finding)
        layer, field = str(f.get("layer")), f.get("field")
        if field in restricted_columns(layer):
            row = f.get("row")
            where = f"{layer} row {row}" if row is not None else f"layer {layer}"
            f["message"] = (
                f"{where}: {field}: value withheld (restricted column); "
                f"{f.get('rule')} ({f.get('action')})"
            )
        findings.append(f)
    return {**report, "findings": findings}


VersionRef = int | str | None
"""How a request names a version: a number, ``"head"``, ``"published"`` (None: head)."""


@overload
def resolve_version(
    state: ServiceState, who: Principal, plan_id: str, version: VersionRef = None
) -> VersionInfo: ...


@overload
def resolve_version(
    state: ServiceState,
    who: Principal,
    plan_id: None,
    version: VersionRef = None,
    *,
    dataset_id: str,
) -> VersionInfo | None: ...


def resolve_version(
    state: ServiceState,
    who: Principal,
    plan_id: str | None,
    version: VersionRef = None,
    *,
    dataset_id: str | None = None,
) -> VersionInfo | None:
    """Return the plan version a request names, checked visible to ``who``.

    ``version`` is a number (or its digits), ``"head"`` (also None) or ``"published"``.
    Without ``plan_id`` it is the published version of ``dataset_id``, or None when the
    dataset has none. Viewers and grid workers see published versions only, and a planner
    key scoped to a community or street sees drafts of plans inside its scope only
    (PermissionDeniedError otherwise); unknown plans or versions are NotFoundError.
    """
    store = state.store
    if plan_id is None:
        if dataset_id is None:
            msg = "resolve_version needs plan_id or dataset_id"
            raise ParameterError(msg)
        return store.published(dataset_id)  # published: visible to every role
    number: int
    if version is None or version == "head":
        number = store.get_plan(plan_id).head_version
    elif version == "published":
        published = store.get_plan(plan_id).published_version
        if published is None:
            msg = f"version: plan {plan_id} has no published version"
            raise ParameterError(msg)
        number = published
    elif isinstance(version, int) or version.isdigit():
        number = int(version)
    else:
        msg = f"version={version!r}: give a number, 'head' or 'published'"
        raise ParameterError(msg)
    info = store.get_version(plan_id, number)
    if not who.sees_drafts and not info.published:
        msg = f"plan {plan_id} version {number} is not published; viewers see published plans only"
        raise PermissionDeniedError(msg)
    if not info.published:
        require_plan_in_scope(state, who, plan_id, number, "reading an unpublished version")
    return info
