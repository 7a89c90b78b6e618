"""``/coverage`` and ``/siting``: station coverage, governance figures and new sites (CSV/JSON).

Options follow the coverage issue: ``radius`` (metres), ``mode`` (walk or line), ``level``
(building, grid, community, street, district). Grid level uses the published plan of the
dataset, or ``plan_id``/``version`` (planners). Viewers get aggregates only (no building
level); grid workers get building rows of their own community only.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from api.access import visible_frame
from api.auth import Principal
from api.deps import PrincipalDep, StateDep
from api.errors import PermissionDeniedError
from api.responses import TABLE_RESPONSES, SitingResponse
from api.scopes import access_for, resolve_version
from api.service import (
    ServiceState,
    current_dataset_id,
    dataset_coverage,
    load_dataset,
    load_plan,
)
from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.errors import ParameterError
from gridgen.io.csvsafe import csv_text
from gridgen.partition.plan import Plan

router = APIRouter(tags=["coverage"])

Format = Annotated[Literal["json", "csv"], Query(description="json or csv")]
DatasetQ = Annotated[str | None, Query(description="Dataset id (default: current)")]
Radius = Annotated[float, Query(gt=0, description="Service radius, metres")]
Mode = Annotated[Literal["walk", "line"], Query(description="walk (road network) or line")]
LevelQ = Annotated[
    Literal["building", "grid", "community", "street", "district"], Query(description="Roll-up")
]


def table_response(frame: pd.DataFrame, f: str, *, name: str) -> Response:
    """Return ``frame`` as CSV (UTF-8 with BOM, for Excel) or JSON records."""
    frame = frame.drop(columns=[c for c in ("geometry",) if c in frame.columns])
    if f == "csv":
        return Response(
            csv_text(frame),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    records = json.loads(frame.to_json(orient="records", force_ascii=False))
    return JSONResponse({"rows": records, "count": len(records)})


def _plan(
    state: ServiceState, who: Principal, dataset_id: str, plan_id: str | None, version: int | None
) -> Plan | None:
    """Return the plan a request names (default: the dataset's published one, if any)."""
    if plan_id is None:
        info = resolve_version(state, who, None, dataset_id=dataset_id)
    else:
        info = resolve_version(state, who, plan_id, version)
    return None if info is None else load_plan(state, info.plan_id, info.version)


def _scoped(
    state: ServiceState, frame: pd.DataFrame, who: Principal, dataset_id: str, level: str
) -> pd.DataFrame:
    if level != "building":
        return frame
    if who.role == "viewer":
        raise PermissionDeniedError(
            "level=building needs role grid_worker, planner or admin; viewers see aggregates"
        )
    access = access_for(state, who, dataset_id)
    if who.role == "grid_worker" and "community_id" in frame.columns:
        own = frame["community_id"].astype("string").isin(access.communities).fillna(False)
        frame = frame[own.to_numpy()]
    return visible_frame(frame, layer="buildings", access=access)


def _coverage(state: ServiceState, dataset_id: str, radius: float, mode: str) -> pd.DataFrame:
    return dataset_coverage(state, dataset_id, radius=radius, mode=mode)


@router.get(
    "/coverage",
    summary="Station coverage rolled up to a level",
    response_class=Response,
    responses=TABLE_RESPONSES,
)
def coverage(
    *,
    state: StateDep,
    who: PrincipalDep,
    dataset: DatasetQ = None,
    radius: Radius = DEFAULT_RADIUS_M,
    mode: Mode = "walk",
    level: LevelQ = "community",
    plan_id: str | None = None,
    version: int | None = None,
    f: Format = "json",
) -> Response:
    """Return covered households per group (share, uncovered, unreachable, compounds)."""
    from gridgen.coverage.stations import coverage_by_level

    dataset_id = current_dataset_id(state.store, dataset)
    ds = load_dataset(state, dataset_id)
    plan = _plan(state, who, dataset_id, plan_id, version) if level == "grid" or plan_id else None
    if level == "grid" and plan is None:
        raise ParameterError("level=grid needs a plan: publish one or give plan_id")
    cov = _coverage(state, dataset_id, radius, mode)
    table = coverage_by_level(ds, cov, level=level, plan=plan)
    rows = _scoped(state, table, who, dataset_id, level)
    return table_response(rows, f, name=f"coverage-{level}")


@router.get(
    "/coverage/stations",
    summary="Households served per station against capacity",
    response_class=Response,
    responses=TABLE_RESPONSES,
)
def stations(
    *,
    state: StateDep,
    who: PrincipalDep,
    dataset: DatasetQ = None,
    radius: Radius = DEFAULT_RADIUS_M,
    mode: Mode = "walk",
    f: Format = "json",
) -> Response:
    """Return each station's load (served households, capacity, overloaded)."""
    from gridgen.coverage.stations import station_load

    dataset_id = current_dataset_id(state.store, dataset)
    table = station_load(
        load_dataset(state, dataset_id), _coverage(state, dataset_id, radius, mode)
    )
    return table_response(table, f, name="station-load")


@router.get(
    "/coverage/{measure}",
    summary="Governance figures: property, party, staffing",
    response_class=Response,
    responses=TABLE_RESPONSES,
)
def governance(
    *,
    state: StateDep,
    who: PrincipalDep,
    measure: Literal["property", "party", "staffing"],
    dataset: DatasetQ = None,
    level: Annotated[
        Literal["grid", "community", "street", "district"], Query(description="Roll-up")
    ] = "community",
    plan_id: str | None = None,
    version: int | None = None,
    f: Format = "json",
) -> Response:
    """Return property-service, party-organisation or staffing figures per group."""
    from gridgen.coverage import governance as gov

    dataset_id = current_dataset_id(state.store, dataset)
    ds = load_dataset(state, dataset_id)
    plan = _plan(state, who, dataset_id, plan_id, version)
    if measure == "property":
        table = gov.property_stats(ds, level=level)
    elif measure == "party":
        table = gov.party_stats(ds, plan=plan, level=level)
    else:
        table = gov.staffing_stats(ds, plan=plan, level=level)
    return table_response(table, f, name=f"{measure}-{level}")


@router.get(
    "/siting",
    summary="Propose new station sites",
    response_class=Response,
    responses={200: {"model": SitingResponse, "content": {"text/csv": {}}}},
)
def siting(
    *,
    state: StateDep,
    who: PrincipalDep,
    dataset: DatasetQ = None,
    add: Annotated[int | None, Query(ge=1, description="Number of new stations")] = None,
    target_share: Annotated[
        float | None, Query(gt=0, le=1, description="Or: fewest stations reaching this share")
    ] = None,
    radius: Radius = DEFAULT_RADIUS_M,
    mode: Mode = "walk",
    time_limit: Annotated[float, Query(gt=0, le=120)] = 20.0,
    f: Format = "json",
) -> Response:
    """Return the proposed sites (``add`` sites, or the fewest reaching ``target_share``)."""
    from gridgen.coverage.siting import maximal_covering, minimal_stations

    who.require("planner", "admin", action="siting")
    if (add is None) == (target_share is None):
        raise ParameterError("give exactly one of add (number of new stations) and target_share")
    ds = load_dataset(state, current_dataset_id(state.store, dataset))
    if add is not None:
        result = maximal_covering(ds, k=add, radius=radius, mode=mode, time_limit=time_limit)
    else:
        assert target_share is not None
        result = minimal_stations(
            ds, target_share=target_share, radius=radius, mode=mode, time_limit=time_limit
        )
    sites = result.sites.copy()
    sites["lon"] = sites.geometry.x
    sites["lat"] = sites.geometry.y
    if f == "csv":
        return table_response(pd.DataFrame(sites), f, name="sites")
    body = {
        "sites": json.loads(result.sites.to_json(drop_id=True, na="null")),
        "newly_covered_households": result.newly_covered_households,
        "covered_share_before": result.covered_share_before,
        "covered_share_after": result.covered_share_after,
        "method": result.method,
        "status": result.status,
        "gap": result.gap,
        "bound": result.bound,
        "bound_kind": result.bound_kind,
        "uncovered_buildings": len(result.uncovered_building_ids),
    }
    return JSONResponse(body)
