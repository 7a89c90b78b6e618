"""``/reports/governance``: every figure the cities publish, as JSON, Excel or an A4 HTML page.

``plan_id``/``version`` choose the grid plan (default: the dataset's published plan; drafts
only for roles that see them); ``before`` names an earlier dataset to report the change
since. The report holds aggregates only (counts, shares, ratios per district, street and
community), so every role may read it; restricted columns are never read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from api.auth import Principal
from api.deps import PrincipalDep, StateDep
from api.scopes import resolve_version
from api.service import (
    ServiceState,
    current_dataset_id,
    load_dataset,
    load_plan,
)
from gridgen.coverage.stations import DEFAULT_RADIUS_M
from maps.report_html import REPORT_FORMATS

router = APIRouter(prefix="/reports", tags=["reports"])

ReportFormat = Annotated[Literal["json", "xlsx", "html"], Query(description="json, xlsx or html")]
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["district", "streets", "communities"],
    "properties": {
        "district": {"type": "object", "description": "figures keyed by stable English names"},
        "streets": {"type": "array", "items": {"type": "object"}},
        "communities": {"type": "array", "items": {"type": "object"}},
        "changes": {"type": "object", "description": "before, after and difference (--before)"},
    },
}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _plan(
    state: ServiceState, who: Principal, dataset_id: str, plan_id: str | None, version: int | None
) -> Any:
    """Return the requested plan (or the published one, or ``None``), checking visibility."""
    if plan_id is None:
        info = resolve_version(state, who, None, dataset_id=dataset_id)
    else:
        info = resolve_version(state, who, plan_id, version)
    return None if info is None else load_plan(state, info.plan_id, info.version)


def _coverage(state: ServiceState, dataset_id: str, radius: float, mode: str) -> Any:
    from gridgen.coverage.stations import station_coverage

    def make() -> Any:
        return station_coverage(load_dataset(state, dataset_id), radius=radius, mode=mode)

    return state.memo.get_or_make(("coverage", dataset_id, radius, mode), make)


def _figures(
    state: ServiceState, dataset_id: str, plan: Any, radius: float, mode: str | None
) -> Any:
    from gridgen.coverage.figures import governance_figures

    ds = load_dataset(state, dataset_id)
    if mode is None:
        from gridgen.coverage.network import walkable_roads

        mode = "walk" if not walkable_roads(ds.roads).empty else "line"
    cov = _coverage(state, dataset_id, radius, mode)
    return ds, governance_figures(ds, plan=plan, radius=radius, mode=mode, coverage=cov)


@router.get(
    "/governance",
    summary="Governance report: every published figure, and change",
    responses={
        200: {
            "content": {
                "application/json": {"schema": REPORT_SCHEMA},
                REPORT_FORMATS["xlsx"]: {},
                REPORT_FORMATS["html"]: {},
            }
        }
    },
)
def governance_report(
    *,
    state: StateDep,
    who: PrincipalDep,
    dataset: Annotated[str | None, Query(description="Dataset id (default: current)")] = None,
    plan_id: str | None = None,
    version: int | None = None,
    before: Annotated[str | None, Query(description="Earlier dataset id to compare")] = None,
    radius: Annotated[float, Query(gt=0, description="Station radius, metres")] = DEFAULT_RADIUS_M,
    mode: Annotated[
        Literal["walk", "line"] | None, Query(description="Default: walk where roads exist")
    ] = None,
    f: ReportFormat = "json",
) -> Response:
    """Return the figures for the district, each street and each community (and changes)."""
    from gridgen.coverage.figure_changes import figure_changes
    from gridgen.coverage.figures import figures_dict
    from maps.report_html import report_bytes

    dataset_id = current_dataset_id(state.store, dataset)
    plan = _plan(state, who, dataset_id, plan_id, version)
    ds, figures = _figures(state, dataset_id, plan, radius, mode)
    changes = None
    if before is not None:
        before_id = current_dataset_id(state.store, before)
        old_ds, old = _figures(state, before_id, plan, radius, figures.mode)
        changes = figure_changes(old, figures, before_dataset=old_ds, after_dataset=ds)
    if f == "json":
        return JSONResponse(figures_dict(figures, changes=changes))
    body = report_bytes(figures, changes=changes, fmt=f)
    headers = {"Content-Disposition": f'attachment; filename="governance-report.{f}"'}
    if f == "html":
        headers = {"Content-Security-Policy": CSP}
    return Response(body, media_type=REPORT_FORMATS[f], headers=headers)
