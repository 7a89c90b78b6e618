"""``/sheets``: the one-page sheet of a compound (一小区一图示) as PNG, PDF or HTML.

Restricted data (leader phones, key persons, the three teams) is asked of ``maps`` only
for admins and for grid workers of the compound's community; everyone else gets a sheet
rendered with ``restricted=False``, so nothing restricted is ever handed to the renderer.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import HTMLResponse

from api.access import may_see_restricted
from api.deps import PrincipalDep, StateDep
from api.scopes import access_for, resolve_version
from api.security import add_script_nonce, content_security_policy, nonce_or_new
from api.service import current_dataset_id, dataset_coverage, load_dataset, load_plan
from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.errors import NotFoundError

router = APIRouter(prefix="/sheets", tags=["sheets"])


@router.get(
    "/{compound_id}.{fmt}",
    summary="The sheet of one compound (一小区一图示)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/pdf": {}, "text/html": {}}}},
)
def sheet(
    *,
    state: StateDep,
    who: PrincipalDep,
    compound_id: str,
    fmt: Literal["png", "pdf", "html"],
    dataset: Annotated[str | None, Query(description="Dataset id (default: current)")] = None,
    radius: Annotated[float, Query(gt=0, description="Station reach, metres")] = DEFAULT_RADIUS_M,
    paper: Annotated[Literal["A4", "A3"], Query()] = "A4",
    x_gridgen_nonce: Annotated[
        str | None, Header(description="CSP nonce of the viewer page showing the sheet")
    ] = None,
) -> Response:
    """Return the compound's sheet; restricted data only for roles allowed to see it."""
    from maps.sheet.data import compound_sheet_data

    dataset_id = current_dataset_id(state.store, dataset)
    ds = load_dataset(state, dataset_id)
    compounds = ds.compounds
    hit = compounds[compounds["compound_id"].astype(str) == compound_id]
    if hit.empty:
        msg = f"compound {compound_id!r} does not exist in dataset {dataset_id}"
        raise NotFoundError(msg)
    community = hit["community_id"].iloc[0] if "community_id" in hit.columns else None
    community = None if community is None or pd.isna(community) else str(community)
    restricted = may_see_restricted(access_for(state, who, dataset_id), community)
    published = resolve_version(state, who, None, dataset_id=dataset_id)
    plan = None if published is None else load_plan(state, published.plan_id, published.version)
    coverage = dataset_coverage(state, dataset_id, radius=radius, mode="walk")
    data = compound_sheet_data(
        ds, compound_id, plan=plan, coverage=coverage, radius=radius, restricted=restricted
    )
    private = {"Cache-Control": "private, no-store"} if restricted else {}
    from maps.sheet.formats import SheetOptions, sheet_format

    found = sheet_format(fmt)
    options = SheetOptions(paper=paper, assets="served", static_url="/static")
    body = found.render(data, options)
    if fmt == "html":
        nonce = nonce_or_new(x_gridgen_nonce)
        page = add_script_nonce(body.decode("utf-8"), nonce)
        csp = {"Content-Security-Policy": content_security_policy(nonce)}
        return HTMLResponse(page, headers={**private, **csp})
    return Response(body, media_type=found.media_type, headers=private)
