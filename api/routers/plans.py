"""``/plans`` and ``/jobs``: create plans (background partitioning), read, edit, compare, publish.

Every edit names its base version (field ``base_version`` or header ``If-Match: "N"``) and
creates a new version with author and time; an edit on a stale version gets 409 and the
stored versions stay as they were. Viewers and grid workers see published versions only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from api.deps import PlannerDep, PrincipalDep, StateDep
from api.models import LockGrids, MoveUnit, PlanCreate, Repartition
from api.recovery import service_temp_dir
from api.routers.ogc import GEOJSON
from api.scopes import (
    allowed_communities,
    changed_grids,
    grid_communities,
    may_see_draft,
    require_communities,
    require_plan_in_scope,
)
from api.service import (
    ServiceState,
    content_from_plan,
    load_dataset,
    parse_base_version,
    plan_from_content,
    submit_job,
    visible_version,
)
from api.store.base import JobInfo, PlanContent, PlanInfo, VersionInfo
from gridgen.errors import ConflictError, ParameterError, PermissionDeniedError

router = APIRouter(tags=["plans"])
GPKG = "application/geopackage+sqlite3"
IfMatch = Annotated[str | None, Header(description='Base version of the edit, e.g. "3"')]


@router.post("/plans", status_code=202, summary="Create a plan (background partitioning job)")
def create_plan(state: StateDep, who: PlannerDep, body: PlanCreate) -> JobInfo:
    """Start partitioning a dataset; poll ``/jobs/{id}`` for progress and the plan id."""
    state.store.get_dataset(body.dataset_id)
    allowed = allowed_communities(state, who, body.dataset_id)
    if allowed is not None:  # a scoped planner plans its own communities only
        if body.communities is None:
            body = body.model_copy(update={"communities": sorted(allowed)})
        require_communities(state, who, body.dataset_id, body.communities or (), "creating a plan")
    from gridgen.partition.plan import default_band

    band = default_band(body.target, body.band)
    params = body.model_dump()
    job = state.store.create_job(kind="partition", params=params, actor=who.label)

    def work(progress: Any) -> dict[str, Any]:
        from gridgen.partition.community import partition_dataset

        dataset = load_dataset(state, body.dataset_id)
        progress(0.0, "partitioning")
        plan = partition_dataset(
            dataset,
            target=body.target,
            band=band,
            seed=body.seed,
            communities=body.communities,
            progress=lambda done, total: progress(
                done / max(total, 1), f"{done}/{total} communities"
            ),
        )
        info = state.store.create_plan(
            dataset_id=body.dataset_id,
            name=body.name,
            content=content_from_plan(plan),
            actor=who.label,
            message=f"partition target={body.target} band={band[0]},{band[1]} seed={body.seed}",
        )
        return {"plan_id": info.plan_id, "version": info.version}

    submit_job(state, job.id, work)
    return job


@router.get("/jobs/{job_id}", summary="A background job's status and progress")
def get_job(state: StateDep, who: PrincipalDep, job_id: str) -> JobInfo:
    """Return a job: status (queued, running, done, failed), progress 0-1, result or error."""
    who.require("planner", "admin", action="reading jobs")
    return state.store.get_job(job_id)


@router.get("/plans", summary="List plans")
def list_plans(state: StateDep, who: PrincipalDep, dataset_id: str | None = None) -> list[PlanInfo]:
    """Return plans, newest first (viewers: published plans only)."""
    plans = state.store.list_plans(dataset_id)
    return [
        p
        for p in plans
        if p.published_version is not None or may_see_draft(state, who, p.id, p.head_version)
    ]


@router.get("/plans/{plan_id}", summary="A plan and its versions")
def get_plan(state: StateDep, who: PrincipalDep, plan_id: str) -> dict[str, Any]:
    """Return the plan record and the versions the caller may see."""
    plan = state.store.get_plan(plan_id)
    versions = state.store.list_versions(plan_id)
    if not may_see_draft(state, who, plan_id, plan.head_version):
        versions = [v for v in versions if v.published]
        if not versions:
            msg = f"plan {plan_id} has no published version this key may see"
            raise PermissionDeniedError(msg)
    return {"plan": plan, "versions": versions}


def _version_number(state: ServiceState, plan_id: str, version: str) -> int:
    if version == "head":
        return state.store.get_plan(plan_id).head_version
    if version == "published":
        published = state.store.get_plan(plan_id).published_version
        if published is None:
            raise ParameterError(f"version: plan {plan_id} has no published version")
        return published
    if not version.isdigit():
        raise ParameterError(f"version={version!r}: give a number, 'head' or 'published'")
    return int(version)


def _grids_geojson(content: PlanContent) -> dict[str, Any]:
    import json

    return dict(json.loads(content.grids.to_json(drop_id=True, na="null")))


@router.get(
    "/plans/{plan_id}/versions/{version}",
    summary="A plan version as GeoJSON (grids + assignment) or GeoPackage",
    response_class=Response,
)
def get_version(
    *,
    state: StateDep,
    who: PrincipalDep,
    plan_id: str,
    version: str,
    f: Annotated[Literal["geojson", "json", "gpkg"], Query(description="Format")] = "geojson",
) -> Response:
    """Return a version's grids and assignment; ETag is the version number (for If-Match)."""
    number = _version_number(state, plan_id, version)
    info = visible_version(state, who, plan_id, number)
    if not info.published:
        require_plan_in_scope(state, who, plan_id, number, "reading an unpublished version")
    content = state.store.load_version(plan_id, number)
    headers = {"ETag": f'"{number}"'}
    if f == "gpkg":
        from gridgen.io.plan import write_plan

        folder = service_temp_dir(state.settings)
        with tempfile.TemporaryDirectory(prefix="plan-", dir=folder) as tmp:
            path = write_plan(plan_from_content(content), Path(tmp) / f"{plan_id}-v{number}.gpkg")
            data = path.read_bytes()
        headers["Content-Disposition"] = f'attachment; filename="{plan_id}-v{number}.gpkg"'
        return Response(data, media_type=GPKG, headers=headers)
    body = _grids_geojson(content)
    body["version"] = _version_json(info)
    body["assignment"] = dict(
        zip(
            content.assignment["building_id"].astype(str),
            content.assignment["grid_id"].astype(str),
            strict=True,
        )
    )
    return JSONResponse(body, media_type=GEOJSON, headers=headers)


def _version_json(info: VersionInfo) -> dict[str, Any]:
    from dataclasses import asdict

    out = asdict(info)
    out["locked"] = list(info.locked)
    return out


@router.get("/plans/{plan_id}/versions/{version}/metrics", summary="Quality of a version")
def get_metrics(state: StateDep, who: PrincipalDep, plan_id: str, version: str) -> dict[str, Any]:
    """Return plan metrics, problems, and per-grid households, deviation and compactness."""
    number = _version_number(state, plan_id, version)
    info = visible_version(state, who, plan_id, number)
    if not info.published:
        require_plan_in_scope(state, who, plan_id, number, "reading an unpublished version")
    content = state.store.load_version(plan_id, number)
    grids = content.grids.drop(columns=content.grids.geometry.name)
    per_grid = grids.astype(object).where(grids.notna(), None).to_dict(orient="records")
    return {"version": info.version, **info.metrics, "grids": per_grid}


@router.get("/plans/{plan_id}/compare", summary="Compare two versions")
def compare(state: StateDep, who: PrincipalDep, plan_id: str, a: int, b: int) -> dict[str, Any]:
    """Return what changed from version ``a`` to ``b`` (buildings, grids, metric deltas)."""
    from gridgen.partition.planner import compare_plans

    for v in (a, b):
        if not visible_version(state, who, plan_id, v).published:
            require_plan_in_scope(state, who, plan_id, v, "reading an unpublished version")
    plan = state.store.get_plan(plan_id)
    dataset = load_dataset(state, plan.dataset_id)
    pa = plan_from_content(state.store.load_version(plan_id, a))
    pb = plan_from_content(state.store.load_version(plan_id, b))
    return {"a": a, "b": b, **compare_plans(pa, pb, dataset=dataset).to_dict()}


def _start_edit(
    state: ServiceState, plan_id: str, body: Any, if_match: str | None
) -> tuple[int, PlanContent]:
    base = parse_base_version(if_match, body.base_version)
    head = state.store.get_plan(plan_id).head_version
    if base != head:
        msg = (
            f"plan {plan_id} is at version {head}, the edit was made on version {base}: "
            f"reload version {head} and apply the edit again"
        )
        err = ConflictError(msg)
        err.http_extra = {"head_version": head, "base_version": base}  # type: ignore[attr-defined]
        raise err
    return base, state.store.load_version(plan_id, base)


def _saved(info: VersionInfo, extra: dict[str, Any] | None = None) -> JSONResponse:
    body = {"version": _version_json(info), **(extra or {})}
    return JSONResponse(body, status_code=201, headers={"ETag": f'"{info.version}"'})


@router.post("/plans/{plan_id}/edits/move", status_code=201, summary="Move a building or compound")
def move(
    *, state: StateDep, who: PlannerDep, plan_id: str, body: MoveUnit, if_match: IfMatch = None
) -> JSONResponse:
    """Move a building or a whole compound to another grid; saves a new version."""
    from gridgen.partition.planner import move_unit

    base, content = _start_edit(state, plan_id, body, if_match)
    dataset_id = state.store.get_plan(plan_id).dataset_id
    target = grid_communities(content.grids, [body.to_grid])
    require_communities(state, who, dataset_id, target, "moving buildings")
    dataset = load_dataset(state, dataset_id)
    result = move_unit(
        dataset,
        plan_from_content(content),
        to_grid=body.to_grid,
        building_id=body.building_id,
        compound_id=body.compound_id,
    )
    touched = changed_grids(content.assignment, result.plan.assignment) | {body.to_grid}
    communities = grid_communities(content.grids, touched) | grid_communities(
        result.plan.grids, touched
    )
    require_communities(state, who, dataset_id, communities, "moving buildings")
    what = f"building {body.building_id}" if body.building_id else f"compound {body.compound_id}"
    info = state.store.add_version(
        plan_id,
        base_version=base,
        content=content_from_plan(result.plan, locked=content.locked),
        actor=who.label,
        message=body.message or f"move {what} to {body.to_grid}",
    )
    return _saved(info, {"move": result.to_dict()})


@router.post("/plans/{plan_id}/edits/lock", status_code=201, summary="Lock or unlock grids")
def lock(
    *, state: StateDep, who: PlannerDep, plan_id: str, body: LockGrids, if_match: IfMatch = None
) -> JSONResponse:
    """Lock grids (re-partitioning keeps them) or unlock them; saves a new version."""
    base, content = _start_edit(state, plan_id, body, if_match)
    known = set(content.grids["grid_id"].astype(str))
    if unknown := sorted(set(body.grid_ids) - known):
        raise ParameterError(f"grid_ids: {', '.join(unknown)} not in version {base} of the plan")
    dataset_id = state.store.get_plan(plan_id).dataset_id
    communities = grid_communities(content.grids, body.grid_ids)
    require_communities(state, who, dataset_id, communities, "locking grids")
    locked = set(content.locked)
    locked = locked | set(body.grid_ids) if body.locked else locked - set(body.grid_ids)
    new = PlanContent(content.grids, content.assignment, tuple(sorted(locked)), content.metrics)
    verb = "lock" if body.locked else "unlock"
    info = state.store.add_version(
        plan_id,
        base_version=base,
        content=new,
        actor=who.label,
        message=body.message or f"{verb} {', '.join(body.grid_ids)}",
    )
    return _saved(info)


@router.post(
    "/plans/{plan_id}/edits/repartition", status_code=201, summary="Re-partition unlocked grids"
)
def repartition_unlocked(
    *, state: StateDep, who: PlannerDep, plan_id: str, body: Repartition, if_match: IfMatch = None
) -> JSONResponse:
    """Redraw the unlocked part of some communities (all by default); saves a new version."""
    from gridgen.partition.planner import repartition

    base, content = _start_edit(state, plan_id, body, if_match)
    dataset = load_dataset(state, state.store.get_plan(plan_id).dataset_id)
    plan = plan_from_content(content)
    communities = body.communities or plan.community_ids()
    dataset_id = state.store.get_plan(plan_id).dataset_id
    require_communities(state, who, dataset_id, communities, "re-partitioning")
    for cid in communities:
        plan = repartition(
            dataset,
            plan,
            cid,
            locked=content.locked,
            target=body.target,
            band=body.band,
            seed=plan.seed if body.seed is None else body.seed,
        )
    info = state.store.add_version(
        plan_id,
        base_version=base,
        content=content_from_plan(plan, locked=content.locked),
        actor=who.label,
        message=body.message or f"repartition {', '.join(communities)}",
    )
    return _saved(info)


@router.post(
    "/plans/{plan_id}/versions/{version}/publish", summary="Publish a version as the current plan"
)
def publish(state: StateDep, who: PlannerDep, plan_id: str, version: int) -> VersionInfo:
    """Make ``version`` the current plan of its dataset (map layers show it)."""
    require_plan_in_scope(state, who, plan_id, version, "publishing")
    info = state.store.publish(plan_id, version, actor=who.label)
    state.bump()
    return info
