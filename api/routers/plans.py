"""``/plans`` and ``/jobs``: create plans (background partitioning), read, edit, compare, publish.

Every edit names its base version (field ``base_version`` or header ``If-Match: "N"``) and
creates a new version with author and time; an edit on a stale version gets 409 and the
stored versions stay as they were. Viewers and grid workers see published versions only.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from api.access import visible_frame
from api.deps import PlannerDep, PrincipalDep, StateDep
from api.models import LockGrids, MoveUnit, PlanCreate, Repartition
from api.recovery import service_temp_dir
from api.responses import Comparison, PlanDetail, SavedVersion, VersionGeoJSON, VersionMetrics
from api.routers.ogc import GEOJSON
from api.scopes import (
    access_for,
    allowed_communities,
    changed_grids,
    grid_communities,
    may_see_draft,
    require_communities,
    require_plan_in_scope,
    resolve_version,
)
from api.service import (
    ServiceState,
    check_edit_base,
    load_dataset,
    load_plan,
    parse_base_version,
    submit_job,
)
from api.store.base import JobInfo, PlanInfo, VersionInfo
from gridgen.errors import NotFoundError, ParameterError
from gridgen.partition.plan import Plan

router = APIRouter(tags=["plans"])
GPKG = "application/geopackage+sqlite3"
IfMatch = Annotated[str | None, Header(description='Base version of the edit, e.g. "3"')]


def _check_communities(state: ServiceState, dataset_id: str, communities: list[str]) -> None:
    """Raise naming ``communities`` unless it names communities of the dataset (the job
    failed later, with 'merge_plans needs at least one plan' for an empty list)."""
    if not communities:
        msg = "communities: name at least one community, or leave it out to plan them all"
        raise ParameterError(msg)
    known = set(load_dataset(state, dataset_id).communities["community_id"].astype(str))
    if unknown := sorted(set(communities) - known):
        msg = (
            f"communities: {', '.join(unknown[:20])} not in dataset {dataset_id}; pass "
            "community_id values of its communities layer"
        )
        raise NotFoundError(msg)


@router.post("/plans", status_code=202, summary="Create a plan (background partitioning job)")
def create_plan(state: StateDep, who: PlannerDep, body: PlanCreate) -> JobInfo:
    """Start partitioning a dataset; poll ``/jobs/{id}`` for progress and the plan id."""
    state.store.get_dataset(body.dataset_id)
    allowed = allowed_communities(state, who, body.dataset_id)
    if allowed is not None:  # a scoped planner plans its own communities only
        if body.communities is None:
            body = body.model_copy(update={"communities": sorted(allowed)})
        require_communities(state, who, body.dataset_id, body.communities or (), "creating a plan")
    if body.communities is not None:
        _check_communities(state, body.dataset_id, body.communities)
    from gridgen.partition.plan import default_band

    band = default_band(body.target, body.band)
    scheme = None
    if body.code_scheme is not None or body.object_code is not None:
        from gridgen.partition.codes import scheme_for

        communities = load_dataset(state, body.dataset_id).communities
        scheme = scheme_for(communities, body.code_scheme, object_code=body.object_code)
    params = body.model_dump()
    job = state.create_job(kind="partition", params=params, actor=who.label)

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
            executor=state.compute,
            scheme=scheme,
            progress=lambda done, total: progress(
                done / max(total, 1), f"{done}/{total} communities"
            ),
        )
        info = state.store.create_plan(
            dataset_id=body.dataset_id,
            name=body.name,
            plan=plan,
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
def get_plan(state: StateDep, who: PrincipalDep, plan_id: str) -> PlanDetail:
    """Return the plan record and the versions the caller may see."""
    plan = state.store.get_plan(plan_id)
    versions = state.store.list_versions(plan_id)
    if not may_see_draft(state, who, plan_id, plan.head_version):
        versions = [v for v in versions if v.published]
        if not versions:
            resolve_version(state, who, plan_id, plan.head_version)
    return PlanDetail(plan=plan, versions=versions)


def _grids_geojson(plan: Plan) -> dict[str, Any]:
    import json

    return dict(json.loads(plan.grids.to_json(drop_id=True, na="null")))


@router.get(
    "/plans/{plan_id}/versions/{version}",
    summary="A plan version as GeoJSON (grids + assignment) or GeoPackage",
    response_class=Response,
    responses={200: {"model": VersionGeoJSON, "content": {GEOJSON: {}, GPKG: {}}}},
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
    info = resolve_version(state, who, plan_id, version)
    number = info.version
    plan = load_plan(state, info.plan_id, info.version)
    access = access_for(state, who, state.store.get_plan(plan_id).dataset_id)
    if not access.full:  # grid workers' names and phones are restricted
        plan = replace(plan, grids=visible_frame(plan.grids, layer="grids", access=access))
    headers = {"ETag": f'"{number}"'}
    if f == "gpkg":
        from gridgen.io.plan import write_plan

        folder = service_temp_dir(state.settings)
        with tempfile.TemporaryDirectory(prefix="plan-", dir=folder) as tmp:
            path = write_plan(plan, Path(tmp) / f"{plan_id}-v{number}.gpkg")
            data = path.read_bytes()
        headers["Content-Disposition"] = f'attachment; filename="{plan_id}-v{number}.gpkg"'
        return Response(data, media_type=GPKG, headers=headers)
    body = _grids_geojson(plan)
    body["version"] = _version_json(info)
    body["assignment"] = dict(
        zip(
            plan.assignment["building_id"].astype(str),
            plan.assignment["grid_id"].astype(str),
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
def get_metrics(state: StateDep, who: PrincipalDep, plan_id: str, version: str) -> VersionMetrics:
    """Return plan metrics, problems, and per-grid households, deviation and compactness."""
    info = resolve_version(state, who, plan_id, version)
    grids = load_plan(state, info.plan_id, info.version).grids
    grids = grids.drop(columns=grids.geometry.name)
    per_grid = grids.astype(object).where(grids.notna(), None).to_dict(orient="records")
    return VersionMetrics.model_validate(
        {**info.metrics, "version": info.version, "grids": per_grid}
    )


@router.get("/plans/{plan_id}/compare", summary="Compare two versions")
def compare(state: StateDep, who: PrincipalDep, plan_id: str, a: int, b: int) -> Comparison:
    """Return what changed from version ``a`` to ``b`` (buildings, grids, metric deltas)."""
    from gridgen.partition.compare import compare_plans

    pa = load_plan(state, plan_id, resolve_version(state, who, plan_id, a).version)
    pb = load_plan(state, plan_id, resolve_version(state, who, plan_id, b).version)
    dataset = load_dataset(state, state.store.get_plan(plan_id).dataset_id)
    return Comparison(a=a, b=b, **compare_plans(pa, pb, dataset=dataset).to_dict())


def _start_edit(
    state: ServiceState, plan_id: str, body: Any, if_match: str | None
) -> tuple[int, Plan]:
    """Return the base version of an edit and its plan (ConflictError when it is stale)."""
    base = parse_base_version(if_match, body.base_version)
    check_edit_base(state, plan_id, base)
    return base, state.store.load_version(plan_id, base)


def _saved(
    response: Response, info: VersionInfo, move: dict[str, Any] | None = None
) -> SavedVersion:
    """Return the saved version's body; its number is the ETag (the next edit's If-Match)."""
    response.headers["ETag"] = f'"{info.version}"'
    return SavedVersion(version=info, move=move)


@router.post("/plans/{plan_id}/edits/move", status_code=201, summary="Move a building or compound")
def move(
    *,
    state: StateDep,
    who: PlannerDep,
    plan_id: str,
    body: MoveUnit,
    response: Response,
    if_match: IfMatch = None,
) -> SavedVersion:
    """Move a building or a whole compound to another grid; saves a new version.

    A move that would leave a grid in several pieces, empty, or away from the units it
    receives is refused with 422 and nothing is saved; other broken rules (band, split
    compound) are listed in the answer's ``move.violations``.
    """
    from gridgen.partition.planner import move_unit

    base, plan = _start_edit(state, plan_id, body, if_match)
    dataset_id = state.store.get_plan(plan_id).dataset_id
    target = grid_communities(plan.grids, [body.to_grid])
    require_communities(state, who, dataset_id, target, "moving buildings")
    dataset = load_dataset(state, dataset_id)
    result = move_unit(
        dataset,
        plan,
        to_grid=body.to_grid,
        building_id=body.building_id,
        compound_id=body.compound_id,
    )
    result.require_savable()
    touched = changed_grids(plan.assignment, result.plan.assignment) | {body.to_grid}
    communities = grid_communities(plan.grids, touched) | grid_communities(
        result.plan.grids, touched
    )
    require_communities(state, who, dataset_id, communities, "moving buildings")
    what = f"building {body.building_id}" if body.building_id else f"compound {body.compound_id}"
    info = state.store.add_version(
        plan_id,
        base_version=base,
        plan=result.plan.with_locked(plan.locked),
        actor=who.label,
        message=body.message or f"move {what} to {body.to_grid}",
    )
    return _saved(response, info, result.to_dict())


@router.post("/plans/{plan_id}/edits/lock", status_code=201, summary="Lock or unlock grids")
def lock(
    *,
    state: StateDep,
    who: PlannerDep,
    plan_id: str,
    body: LockGrids,
    response: Response,
    if_match: IfMatch = None,
) -> SavedVersion:
    """Lock grids (re-partitioning keeps them) or unlock them; saves a new version."""
    base, plan = _start_edit(state, plan_id, body, if_match)
    known = set(plan.grids["grid_id"].astype(str))
    if unknown := sorted(set(body.grid_ids) - known):
        raise ParameterError(f"grid_ids: {', '.join(unknown)} not in version {base} of the plan")
    dataset_id = state.store.get_plan(plan_id).dataset_id
    communities = grid_communities(plan.grids, body.grid_ids)
    require_communities(state, who, dataset_id, communities, "locking grids")
    locked = set(plan.locked)
    locked = locked | set(body.grid_ids) if body.locked else locked - set(body.grid_ids)
    verb = "lock" if body.locked else "unlock"
    info = state.store.add_version(
        plan_id,
        base_version=base,
        plan=plan.with_locked(locked),
        actor=who.label,
        message=body.message or f"{verb} {', '.join(body.grid_ids)}",
        changed_grids=(),  # grids and assignment are the base version's: the store copies them
        changed_assignment={},
    )
    return _saved(response, info)


@router.post(
    "/plans/{plan_id}/edits/repartition", status_code=201, summary="Re-partition unlocked grids"
)
def repartition_unlocked(
    *,
    state: StateDep,
    who: PlannerDep,
    plan_id: str,
    body: Repartition,
    response: Response,
    if_match: IfMatch = None,
) -> SavedVersion:
    """Redraw the unlocked part of some communities (all by default); saves a new version."""
    from gridgen.partition.planner import repartition

    base, plan = _start_edit(state, plan_id, body, if_match)
    dataset = load_dataset(state, state.store.get_plan(plan_id).dataset_id)
    locked = plan.locked
    communities = body.communities or plan.community_ids()
    dataset_id = state.store.get_plan(plan_id).dataset_id
    require_communities(state, who, dataset_id, communities, "re-partitioning")
    for cid in communities:
        plan = repartition(
            dataset,
            plan,
            cid,
            locked=locked,
            target=body.target,
            band=body.band,
            seed=plan.seed if body.seed is None else body.seed,
        )
    info = state.store.add_version(
        plan_id,
        base_version=base,
        plan=plan.with_locked(locked),
        actor=who.label,
        message=body.message or f"repartition {', '.join(communities)}",
    )
    return _saved(response, info)


@router.post(
    "/plans/{plan_id}/versions/{version}/publish", summary="Publish a version as the current plan"
)
def publish(state: StateDep, who: PlannerDep, plan_id: str, version: int) -> VersionInfo:
    """Make ``version`` the current plan of its dataset (map layers show it)."""
    require_plan_in_scope(state, who, plan_id, version, "publishing")
    info = state.store.publish(plan_id, version, actor=who.label)
    state.bump()
    return info
