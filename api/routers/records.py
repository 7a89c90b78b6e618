"""Grid records: each code's history, change orders (变更单) between versions, grid attributes.

- ``GET /plans/{plan_id}/grids/{code}/history``: when a code was created, changed, retired;
- ``GET /plans/{plan_id}/changes?from=&to=&f=json|xlsx|pdf``: the change order between two
  versions (the workbook and the PDF are the handover sheets, 交接单);
- ``POST /plans/{plan_id}/grid-attributes``: grid workers, party organisations and the
  responsible party from an office's sheet, saved as a new version.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import PlannerDep, PrincipalDep, StateDep
from api.params import NoNul
from api.scopes import access_for, grid_communities, require_communities, resolve_version
from api.service import check_edit_base, load_dataset, load_plan, parse_base_version
from api.store.base import version_date
from api.store.history import code_history
from api.uploads import read_capped
from gridgen.errors import NotFoundError, ParameterError

router = APIRouter(tags=["records"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ChangeOrderJSON(BaseModel):
    """A change order (变更单): the summary and one entry per code of either version."""

    old: str
    new: str
    effective_date: str
    summary: dict[str, int]
    grids: list[dict[str, Any]]


class GridAttributesSaved(BaseModel):
    """The version a grid sheet saved and how the sheet matched the grids."""

    version: int
    columns: list[str]
    ignored: list[str]
    matched: int
    changed: int
    cells_changed: int
    unmatched_grids: int


CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ChangeOrderJSON,
        "content": {"application/json": {}, XLSX: {}, "application/pdf": {}},
    }
}
ChangeFormat = Annotated[Literal["json", "xlsx", "pdf"], Query(description="json, xlsx or pdf")]
VERSION_PATTERN = r"^([1-9][0-9]{0,17}|head|published)$"
VersionQuery = Annotated[
    str, Query(pattern=VERSION_PATTERN, description="a version number, 'head' or 'published'")
]


@router.get("/plans/{plan_id}/grids/{code}/history", summary="A grid code's history")
def grid_history(state: StateDep, who: PrincipalDep, plan_id: str, code: str) -> dict[str, Any]:
    """Return when ``code`` was created, changed and retired, version by version.

    Planners and admins (in scope) see every version; other roles see the published one.
    """
    if not who.sees_drafts and state.store.get_plan(plan_id).published_version is None:
        msg = f"plan {plan_id} has no published version: its grid codes have no history to show"
        raise NotFoundError(msg)
    head = resolve_version(state, who, plan_id, "head" if who.sees_drafts else "published")
    versions = state.store.list_versions(plan_id)
    if not who.sees_drafts:
        versions = [v for v in versions if v.version == head.version]
    return code_history(state.store, plan_id, code, versions=versions)


@router.get(
    "/plans/{plan_id}/changes",
    summary="Change order between two versions (变更单)",
    response_class=Response,
    responses=CHANGE_RESPONSES,
)
def changes(
    *,
    state: StateDep,
    who: PrincipalDep,
    plan_id: str,
    from_: Annotated[
        str, Query(alias="from", pattern=VERSION_PATTERN, description="the version before")
    ],
    to: VersionQuery = "head",
    f: ChangeFormat = "json",
) -> Response:
    """Return what changed from version ``from`` to ``to``: per code its status, households
    before, after, in and out and the buildings that moved; ``xlsx`` and ``pdf`` are the
    handover sheets (交接单), one per changed grid. Grid workers' names appear only for
    callers who see restricted values of the grid's community; the effective date is the
    date of version ``to``."""
    from gridgen.records.changes import change_order

    old_info = resolve_version(state, who, plan_id, from_)
    new_info = resolve_version(state, who, plan_id, to)
    if old_info.version > new_info.version:
        msg = (
            f"from={from_} (version {old_info.version}) is later than to={to} (version "
            f"{new_info.version}): a change order goes from the older version to the newer"
        )
        raise ParameterError(msg)
    old = load_plan(state, plan_id, old_info.version)
    new = load_plan(state, plan_id, new_info.version)
    dataset_id = state.store.get_plan(plan_id).dataset_id
    access = access_for(state, who, dataset_id)
    order = change_order(
        load_dataset(state, dataset_id),
        old,
        new,
        effective=version_date(new_info.created_at),
        restricted=True if access.full else access.communities,
        labels=(f"{plan_id} v{old_info.version}", f"{plan_id} v{new_info.version}"),
    ).to_dict()
    if f == "json":
        return JSONResponse(order)
    name = f"changes-{plan_id}-v{old_info.version}-v{new_info.version}.{f}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if f == "xlsx":
        from gridgen.io.records_xlsx import changes_workbook

        return Response(changes_workbook(order), media_type=XLSX, headers=disposition)
    from maps.handover import handover_pdf

    return Response(handover_pdf(order), media_type="application/pdf", headers=disposition)


@router.post(
    "/plans/{plan_id}/grid-attributes",
    status_code=201,
    response_model=GridAttributesSaved,
    summary="Grid workers, party organisations, 责任主体 from an office's sheet (new version)",
)
def grid_attributes(
    *,
    state: StateDep,
    who: PlannerDep,
    plan_id: str,
    file: Annotated[UploadFile, File(description="Grid sheet: .xlsx or .csv, by 网格编码")],
    base_version: Annotated[int | None, Form(ge=1)] = None,
    message: Annotated[str, Form(max_length=1000), NoNul] = "",
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Apply the sheet (网格员 restricted like phones, 网格党组织 是/否 and name, 责任主体) to
    the grids it names and save a new version; a refused sheet saves nothing."""
    from gridgen.io.ledger import read_ledger_bytes
    from gridgen.records.attributes import grid_sheet_updated

    base = parse_base_version(if_match, base_version)
    check_edit_base(state, plan_id, base)
    plan = load_plan(state, plan_id, base)
    name = file.filename or "grids.xlsx"
    sheet = read_ledger_bytes(read_capped(file, limit=state.settings.upload_limit_bytes), name)
    new, result = grid_sheet_updated(plan, sheet)
    cols = list(result.columns)
    was = plan.grids[cols].astype("string").fillna("").to_numpy()
    now = new.grids[cols].astype("string").fillna("").to_numpy()
    changed = new.grids.loc[(was != now).any(axis=1), "grid_id"].astype(str).tolist()
    dataset_id = state.store.get_plan(plan_id).dataset_id
    communities = grid_communities(new.grids, changed)
    require_communities(state, who, dataset_id, communities, "updating grid attributes")
    info = state.store.add_version(
        plan_id,
        base_version=base,
        plan=new.with_locked(plan.locked),
        actor=who.label,
        message=message or f"grid attributes from {name}",
        changed_grids=changed,
        changed_assignment={},
    )
    body = {
        "version": info.version,
        "columns": list(result.columns),
        "ignored": list(result.ignored),
        "matched": result.matched,
        "changed": result.changed,
        "cells_changed": result.cells_changed,
        "unmatched_grids": result.unmatched_layer,
    }
    return JSONResponse(body, status_code=201, headers={"ETag": f'"{info.version}"'})
