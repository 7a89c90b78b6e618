"""The grid editor's routes: the page, its data, unit tiles, one-step assignment, rebalance.

- ``GET /edit/{plan_id}``: the editor page (planner and admin keys; others get a 403 page);
- ``GET /plans/{plan_id}/editor``: one community's units, adjacency, grids and versions;
- ``GET /plans/{plan_id}/units/{z}/{x}/{y}.mvt?community=``: unit cells (unit id, households);
- ``GET /plans/{plan_id}/versions/{v}/grids/{z}/{x}/{y}.mvt``: grid outlines of a version;
- ``POST /plans/{plan_id}/edits/assign``: ``{unit_or_building_id: grid_id}`` as one edit;
- ``POST /plans/{plan_id}/edits/rebalance``: re-partition a community's unlocked grids (job);
- ``GET /plans/{plan_id}/editor/compare?a=&b=&community=``: units that changed grid and
  households per grid before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.assign_edit import PreparedAssign, prepare_assign
from api.auth import Principal
from api.deps import PlannerDep, StateDep, principal_for
from api.edit_conflicts import check_assign_base
from api.editor_bodies import (
    REBALANCERS,
    AssignUnits,
    Rebalance,
    check_rebalance,
    check_size,
)
from api.errors import ConflictError, PermissionDeniedError
from api.plan_edits import (
    check_scope,
    plan_dataset,
    save_plan,
    units_layer_key,
    units_of,
)
from api.responses import AssignSaved
from api.scopes import allowed_communities, plan_in_scope, require_plan_in_scope
from api.service import (
    ServiceState,
    check_edit_base,
    load_plan,
    parse_base_version,
    submit_job,
)
from api.store.base import JobInfo, VersionInfo, dataset_key, grids_key
from api.tile_encoder import check_tile
from api.tile_serving import layer_tile, tile_headers
from gridgen.errors import GridgenError, NotFoundError
from gridgen.partition.assign import editor_units
from gridgen.partition.compare import community_unit_changes
from gridgen.partition.plan import Plan
from gridgen.partition.unit_geometry import unit_shapes

router = APIRouter(tags=["editor"])
MVT = "application/vnd.mapbox-vector-tile"
MVT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {MVT: {}}}}
IfMatch = Annotated[str | None, Header(description='Base version of the edit, e.g. "3"')]


def _version_dict(info: VersionInfo) -> dict[str, Any]:
    """Return a version record without its metrics (not deep-copied: a plan's versions
    carry hundreds of problems each, and the editor lists every version)."""
    from dataclasses import fields

    out = {f.name: getattr(info, f.name) for f in fields(info) if f.name != "metrics"}
    out["locked"] = list(info.locked)
    return out


@router.get("/plans/{plan_id}/editor", summary="The editor's data for one community")
def editor_data(
    state: StateDep,
    who: PlannerDep,
    plan_id: str,
    community: str | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """Return units (id, households, grid), adjacency, grids, versions and the community."""
    info = state.store.get_plan(plan_id)
    number = info.head_version if version is None else version
    plan = load_plan(state, plan_id, number)
    locked = plan.locked
    communities = sorted(set(plan.grids["community_id"].astype(str)))
    allowed = allowed_communities(state, who, info.dataset_id)
    own = next((c for c in communities if allowed is not None and c in allowed), None)
    cid: str = community or own or communities[0]
    if cid not in communities:
        msg = f"community {cid!r} has no grids in plan {plan_id}: use one of {communities[:10]}"
        raise NotFoundError(msg)
    check_scope(state, who, info.dataset_id, {cid})
    dataset_id, dataset = plan_dataset(state, plan_id)
    graph = units_of(state, dataset_id, plan, cid)
    data = editor_units(dataset, plan, cid, units=graph)
    shapes_key = ("unit-shapes", dataset_id, cid, int(plan.band[1]))
    data.update(state.memo.get_or_make(shapes_key, lambda: unit_shapes(graph)))
    comm = dataset.communities
    row = comm[comm["community_id"].astype(str) == cid]
    data["community_name"] = "" if row.empty else str(row["name"].iloc[0] or "")
    data["bounds"] = [float(v) for v in row.total_bounds] if not row.empty else None
    data["communities"] = communities
    data["locked"] = [g for g in locked if g in {x["grid_id"] for x in data["grids"]}]
    data["plan"] = {"id": plan_id, "name": info.name, "dataset_id": dataset_id}
    data["version"] = number
    data["head_version"] = info.head_version
    data["published_version"] = info.published_version
    data["versions"] = [_version_dict(v) for v in state.store.list_versions(plan_id)]
    data["who"] = {"name": who.name, "role": who.role}
    data["rebalancers"] = list(REBALANCERS)
    data["may"] = {  # what this key may do here: the page offers nothing else
        "edit": True,
        "publish": plan_in_scope(state, who, plan_id, number),
        "rebalance_plan": allowed is None,
    }
    return data


def _message(body: AssignUnits, edit: PreparedAssign) -> str:
    if body.message:
        return body.message
    done = edit.summary()
    parts = [f"assign {len(body.assign)} units"] if body.assign else []
    parts += [f"lock {', '.join(done['locked'])}"] if done["locked"] else []
    parts += [f"unlock {', '.join(done['unlocked'])}"] if done["unlocked"] else []
    return "; ".join(parts)


@router.post(
    "/plans/{plan_id}/edits/assign",
    status_code=201,
    response_model=AssignSaved,
    summary="Assign units to grids (and lock or unlock grids) in one version",
)
def assign(
    *, state: StateDep, who: PlannerDep, plan_id: str, body: AssignUnits, if_match: IfMatch = None
) -> JSONResponse:
    """Give units (or buildings) to grids in one edit; rebuilds the touched grids' shapes.

    ``lock`` and ``unlock`` change locks in the same version (unlocking before the moves,
    locking after). A stale base gets 409 with ``conflicts``: the units of this edit that
    a later version moved elsewhere (who, where to); see :mod:`api.edit_conflicts`.
    """
    check_size(body)
    base = parse_base_version(if_match, body.base_version)
    check_assign_base(state, who, plan_id, base, body.assign, grids=[*body.lock, *body.unlock])
    edit = prepare_assign(
        state, who, plan_id, base, assign=body.assign, lock=body.lock, unlock=body.unlock
    )
    try:
        info = save_plan(
            state,
            plan_id,
            base=base,
            plan=edit.plan,
            locked=edit.locked,
            actor=who.label,
            message=_message(body, edit),
            communities=edit.communities,
        )
    except ConflictError:  # another save landed while this edit was applied: the 409 names
        grids = [*body.lock, *body.unlock]  # what it changed, as a stale base's 409 does
        check_assign_base(state, who, plan_id, base, body.assign, grids=grids)
        raise
    body_out = {"version": _version_dict(info), "assign": edit.summary()}
    return JSONResponse(body_out, status_code=201, headers={"ETag": f'"{info.version}"'})


@router.post(
    "/plans/{plan_id}/edits/assign/check",
    summary="Try an assignment without saving it (the server's verdict before a save)",
)
def assign_check(
    *, state: StateDep, who: PlannerDep, plan_id: str, body: AssignUnits, if_match: IfMatch = None
) -> dict[str, Any]:
    """Apply the edit to its base version as a save would, and report it without saving.

    The same checks as ``/edits/assign`` (422 naming what is refused: unknown ids, locked
    grids, grids left in several pieces); the answer lists what the edit does and the
    households of every grid it touches before and after, with their band status.
    """
    check_size(body)
    base = parse_base_version(if_match, body.base_version)
    edit = prepare_assign(
        state, who, plan_id, base, assign=body.assign, lock=body.lock, unlock=body.unlock
    )
    lo, hi = edit.plan.band
    return {
        "base_version": base,
        "assign": edit.summary(),
        "grids": edit.grid_households(),
        "retired": edit.retired(),
        "band": [int(lo), int(hi)],
    }


SAME_AREA_M2 = 1.0
"""Area (m²) by which a grid's shape may differ and still be the same grid (a degenerate
part a rebuild leaves is no change)."""


def _same_grids(before: Plan, after: Plan, community_id: str | None) -> bool:
    """Return whether ``after`` has the grids of ``before``: the same codes and buildings,
    shapes differing by less than :data:`SAME_AREA_M2` (in ``community_id`` when named)."""
    import shapely

    def part(plan: Plan, crs: Any) -> tuple[dict[str, Any], set[tuple[str, str]]]:
        g = plan.grids
        if community_id is not None:
            g = g[g["community_id"].astype(str) == community_id]
        shapes = dict(zip(g["grid_id"].astype(str), g.to_crs(crs).geometry, strict=True))
        a = plan.assignment[plan.assignment["grid_id"].astype(str).isin(shapes)]
        return shapes, set(zip(a["building_id"].astype(str), a["grid_id"].astype(str), strict=True))

    crs = before.grids.estimate_utm_crs()
    (sa, aa), (sb, ab) = part(before, crs), part(after, crs)
    if sa.keys() != sb.keys() or aa != ab:
        return False
    return all(shapely.area(shapely.symmetric_difference(sa[k], sb[k])) < SAME_AREA_M2 for k in sa)


def _rebalance_message(method: str, where: str, summary: dict[str, Any]) -> str:
    """Return the default version message of a rebalance."""
    if method == "repartition":
        return f"rebalance {where} (repartition)"
    moved, new = summary.get("households_moved", 0), summary.get("codes_new", 0)
    return f"rebalance {where}: {moved} households moved, {new} new codes"


@router.post("/plans/{plan_id}/edits/rebalance", status_code=202, summary="Rebalance (job)")
def rebalance(
    *, state: StateDep, who: PlannerDep, plan_id: str, body: Rebalance, if_match: IfMatch = None
) -> JobInfo:
    """Rebalance in the background (poll ``/jobs/{id}``); the job saves a new version.

    ``minimal_change`` (the default) moves as few households as it can, in the whole plan
    or in ``community_id`` only (the other communities are held as if locked); its result
    carries households moved, codes kept/new/retired and the crosswalk of the buildings
    whose grid changed. ``repartition`` redraws the unlocked grids of ``community_id``.
    """
    base = parse_base_version(if_match, body.base_version)
    check_edit_base(state, plan_id, base)
    dataset_id = state.store.get_plan(plan_id).dataset_id
    if body.community_id is not None:
        check_scope(state, who, dataset_id, {body.community_id})
    elif allowed_communities(state, who, dataset_id) is not None:
        raise PermissionDeniedError("community_id: a scoped key rebalances its own communities")
    check_rebalance(plan_id, load_plan(state, plan_id, base), body)
    job = state.create_job(kind="rebalance", params=body.model_dump(), actor=who.label)

    def work(progress: Callable[[float, str], None]) -> dict[str, Any]:
        from gridgen.partition.planner import best_repartition
        from gridgen.partition.rebalance_plan import rebalance_plan

        progress(0.05, "loading")
        plan = load_plan(state, plan_id, base)
        locked = plan.locked
        where = body.community_id or "the whole plan"
        progress(0.2, f"rebalancing {where} ({body.method})")
        summary: dict[str, Any] = {}
        _, dataset = plan_dataset(state, plan_id)
        if body.method == "repartition":
            new = best_repartition(dataset, plan, str(body.community_id), locked=locked)
        else:
            new, summary = rebalance_plan(
                dataset,
                plan,
                target=body.target,
                band=body.band,
                max_moved=body.max_moved,
                locked=locked,
                community_id=body.community_id,
            )
        if _same_grids(plan, new, body.community_id):  # nothing moved: no version saved
            return {"plan_id": plan_id, "version": base, "unchanged": True, **summary}
        progress(0.9, "saving")
        message = body.message or _rebalance_message(body.method, where, summary)
        info = save_plan(
            state, plan_id, base=base, plan=new, locked=locked, actor=who.label, message=message
        )
        return {"plan_id": plan_id, "version": info.version, **summary}

    submit_job(state, job.id, work)
    return job


@router.get("/plans/{plan_id}/editor/compare", summary="Units and households, two versions")
def editor_compare(
    *, state: StateDep, who: PlannerDep, plan_id: str, a: int, b: int, community: str
) -> dict[str, Any]:
    """Return the units of a community whose grid differs, and households per grid in a, b
    (grids matched by membership); a scoped key compares its own communities only."""
    check_scope(state, who, state.store.get_plan(plan_id).dataset_id, {community})
    pa = load_plan(state, plan_id, a)
    pb = load_plan(state, plan_id, b)
    dataset_id, dataset = plan_dataset(state, plan_id)
    graph = units_of(state, dataset_id, pa, community)
    changes = community_unit_changes(dataset, graph, pa, pb)
    return {"a": a, "b": b, "community_id": community, **changes}


async def _tile_response(
    state: ServiceState, *, key: str, layer: str, z: int, x: int, y: int
) -> Response:
    from api.access import PUBLIC

    check_tile(z, x, y)
    tile = await layer_tile(
        state, key=key, layer=layer, zxy=(z, x, y), access=PUBLIC, cache_class="editor"
    )
    failed = [layer] if tile.failed else []
    headers = tile_headers(tile.etag, public=False, failed=failed)
    return Response(content=tile.data, media_type=MVT, headers=headers)


async def _planner_of(request: Request, state: ServiceState, *, action: str) -> Principal:
    """Return the caller of a tile request (headers read directly), a planner or admin."""
    h = request.headers
    who = await principal_for(state, h.get("x-api-key"), h.get("authorization"))
    who.require("planner", "admin", action=action)
    return who


@router.get(
    "/plans/{plan_id}/units/{z}/{x}/{y}.mvt",
    responses=MVT_RESPONSES,
    summary="Unit cells of a community (MVT)",
)
async def units_tile(
    *, request: Request, plan_id: str, z: int, x: int, y: int, community: str, version: int
) -> Response:
    """Return a vector tile of layer ``units`` (unit_id, kind, compound_id, households)."""
    from fastapi.concurrency import run_in_threadpool

    state: ServiceState = request.app.state.gridgen
    who = await _planner_of(request, state, action="editing plans")
    if who.community_id is not None or who.street_id is not None:  # a scoped key: its own
        dataset_id = (await run_in_threadpool(state.store.get_plan, plan_id)).dataset_id
        await run_in_threadpool(check_scope, state, who, dataset_id, {community})

    def key() -> str:
        plan = load_plan(state, plan_id, version)
        dataset_id = state.store.get_plan(plan_id).dataset_id
        return units_layer_key(state, dataset_id, plan, community)

    memo_key = ("units-key", plan_id, version, community)
    layer_key = state.memo.get(memo_key)
    if layer_key is None:
        layer_key = await run_in_threadpool(key)
        state.memo.put(memo_key, layer_key)
    return await _tile_response(state, key=str(layer_key), layer="units", z=z, x=x, y=y)


@router.get(
    "/plans/{plan_id}/versions/{version}/grids/{z}/{x}/{y}.mvt",
    responses=MVT_RESPONSES,
    summary="Grids of a version",
)
async def version_grids_tile(
    *, request: Request, plan_id: str, version: int, z: int, x: int, y: int
) -> Response:
    """Return a vector tile of layer ``grids`` of any version (planners and admins; a scoped
    key, of the versions lying in its scope or published)."""
    from fastapi.concurrency import run_in_threadpool

    state: ServiceState = request.app.state.gridgen
    who = await _planner_of(request, state, action="reading draft versions")
    known = ("version-known", plan_id, version)  # versions are never deleted: asked once
    if state.memo.get(known) is None:  # an unknown version is 404, not an empty tile
        await run_in_threadpool(state.store.get_version, plan_id, version)
        state.memo.put(known, True)
    if who.community_id is not None or who.street_id is not None:
        info = await run_in_threadpool(state.store.get_plan, plan_id)
        if info.published_version != version:
            await run_in_threadpool(
                require_plan_in_scope, state, who, plan_id, version, "reading draft versions"
            )
    return await _tile_response(
        state, key=grids_key(plan_id, version), layer="grids", z=z, x=x, y=y
    )


DATASET_TILE_LAYERS = (
    "roads",
    "barriers",
    "stations",
    "communities",
    "compounds",
    "buildings",
)
"""Dataset layers the editor draws under the units (as vector tiles of the plan's dataset)."""


@router.get(
    "/plans/{plan_id}/layers/{layer}/{z}/{x}/{y}.mvt",
    responses=MVT_RESPONSES,
    summary="Dataset layer (MVT)",
)
async def dataset_layer_tile(
    *, request: Request, plan_id: str, layer: str, z: int, x: int, y: int
) -> Response:
    """Return a vector tile of a layer of the plan's dataset (roads, stations, ...)."""
    from fastapi.concurrency import run_in_threadpool

    if layer not in DATASET_TILE_LAYERS:
        raise NotFoundError(f"layer {layer!r}: use one of {', '.join(DATASET_TILE_LAYERS)}")
    check_tile(z, x, y)
    state: ServiceState = request.app.state.gridgen
    who = await _planner_of(request, state, action="editing plans")
    dataset_id = state.memo.get(("plan-dataset", plan_id))
    if dataset_id is None:
        dataset_id = (await run_in_threadpool(state.store.get_plan, plan_id)).dataset_id
        state.memo.put(("plan-dataset", plan_id), dataset_id)
    key = dataset_key(str(dataset_id), layer)
    access = who.access
    tile = await layer_tile(
        state, key=key, layer=layer, zxy=(z, x, y), access=access, cache_class=access.cache_class
    )
    headers = tile_headers(tile.etag, public=False, failed=[layer] if tile.failed else [])
    return Response(content=tile.data, media_type=MVT, headers=headers)


_FORBIDDEN = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>gridgen 网格编辑 – 403</title><link rel="stylesheet" href="/static/editor/editor.css">
</head><body class="forbidden"><h1>无权编辑 (403)</h1><p id="why">{why}</p>
<p><a href="/">返回地图 / back to the viewer</a></p></body></html>"""


@router.get("/edit/{plan_id}", response_class=HTMLResponse, summary="The grid editor page")
async def edit_page(request: Request, plan_id: str, key: str | None = None) -> Response:
    """Return the editor page; a key of another role than planner or admin gets a 403 page."""
    import html

    from maps import static_dir

    state: ServiceState = request.app.state.gridgen
    h = request.headers
    secret = key or h.get("x-api-key")
    if secret or h.get("authorization"):
        try:
            who = await principal_for(state, secret, h.get("authorization"))
        except GridgenError as exc:
            return HTMLResponse(_FORBIDDEN.format(why=html.escape(str(exc))), status_code=401)
        if who.role not in ("planner", "admin"):
            why = (
                f"编辑网格需要 planner 或 admin 角色；此密钥的角色是 {who.role}。"
                f" Editing grids needs a planner or admin key; this key has role {who.role}."
            )
            return HTMLResponse(_FORBIDDEN.format(why=html.escape(why)), status_code=403)
    folder = static_dir()
    page = None if folder is None else folder / "editor" / "index.html"
    if page is None or not page.is_file():
        raise NotFoundError("the editor page is not installed")
    return HTMLResponse(page.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})


__all__ = ["REBALANCERS", "router"]
