"""Existing grids in the service: import a city's grid layer as a plan, audit a version.

The minimal-change rebalance of a version is a method (``minimal_change``) of the one
rebalance edit, ``POST /plans/{id}/edits/rebalance`` in :mod:`api.routers.editor`; its work
is :func:`gridgen.partition.rebalance_plan.rebalance_plan`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import PlannerDep, PrincipalDep, StateDep
from api.params import NoNul
from api.scopes import grid_communities, require_communities, resolve_version
from api.service import load_dataset, load_plan
from api.uploads import copy_capped, upload_names
from gridgen.errors import InputError, ParameterError
from gridgen.rules import RuleKind

router = APIRouter(tags=["existing grids"])
AUDIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "version"],
    "properties": {
        "summary": {"type": "object", "description": "grids, out_of_band, gap_m2, ..."},
        "version": {"type": "integer"},
        "grids": {"type": "array", "items": {"type": "object"}, "description": "per grid"},
        "features": {"type": "array", "description": "f=geojson: gaps, overlaps, splits"},
    },
}


class ImportedGrids(BaseModel):
    """The plan an imported grid layer became (version 1) and its audit summary."""

    plan_id: str
    version: int
    audit: dict[str, Any]


SUFFIXES = (".gpkg", ".geojson", ".json", ".zip")


def _save_upload(upload: UploadFile, folder: Path, limit: int) -> Path:
    name = Path(upload.filename or "grids.gpkg").name
    if not name.lower().endswith(SUFFIXES):
        msg = f"file {name!r}: upload a grid layer as .gpkg, .geojson or a zipped Shapefile"
        raise InputError(msg)
    path = folder / name
    with path.open("wb") as out:
        copy_capped(upload, out, limit=limit)
    return path


@router.post(
    "/datasets/{dataset_id}/grids",
    status_code=201,
    response_model=ImportedGrids,
    summary="Import an existing grid layer",
)
def import_grid_layer(
    *,
    state: StateDep,
    who: PlannerDep,
    dataset_id: str,
    file: Annotated[UploadFile, File(description="Grid polygons: .gpkg, .geojson, .zip")],
    name: Annotated[str | None, Form(max_length=200), NoNul] = None,
    id_column: Annotated[str | None, Form(description="Grid code column"), NoNul] = None,
    crs: Annotated[str | None, Form(description="EPSG code, gcj02 or bd09"), NoNul] = None,
    target: Annotated[int, Form(gt=0)] = 300,
    band: Annotated[str | None, Form(description="MIN,MAX"), NoNul] = None,
) -> JSONResponse:
    """Store the layer as a new plan (version 1 = as imported) and return its audit summary."""
    from gridgen.io.grids import read_grid_layer
    from gridgen.partition.audit import audit_grids
    from gridgen.partition.existing import import_grids
    from gridgen.partition.plan import default_band, parse_band

    dataset = load_dataset(state, dataset_id)
    lo_hi = default_band(target, parse_band(band or None, option="band"))
    with tempfile.TemporaryDirectory(prefix="gridgen-grids-") as tmp, upload_names(Path(tmp)):
        path = _save_upload(file, Path(tmp), state.settings.upload_limit_bytes)
        grids = read_grid_layer(path, id_column=id_column or None, crs=crs or None)
    label = name or Path(file.filename or "grids").stem
    plan = import_grids(dataset, grids, target=target, band=lo_hi, source=label)
    # a scoped planner imports grids of its own communities only, as it plans them
    require_communities(
        state, who, dataset_id, grid_communities(plan.grids), "importing a grid layer"
    )
    audit = audit_grids(dataset, grids, band=lo_hi)
    info = state.store.create_plan(
        dataset_id=dataset_id,
        name=label,
        plan=plan,
        actor=who.label,
        message=f"imported grid layer {Path(file.filename or '').name}",
    )
    body = {"plan_id": info.plan_id, "version": info.version, "audit": audit.summary}
    return JSONResponse(body, status_code=201, headers={"ETag": f'"{info.version}"'})


def _number(state: Any, plan_id: str, version: str) -> int:
    if version == "head":
        return int(state.store.get_plan(plan_id).head_version)
    if not version.isdigit():
        msg = f"version={version!r}: give a number or 'head'"
        raise ParameterError(msg)
    return int(version)


def _findings_geojson(audit: Any) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for kind, frame in (
        (RuleKind.GAP, audit.gaps),
        (RuleKind.OVERLAP, audit.overlaps),
        (RuleKind.SPLIT_COMPOUND, audit.split_compounds),
    ):
        if len(frame) == 0:
            continue
        data = json.loads(frame.to_crs(4326).to_json(drop_id=True, na="null"))
        for feat in data["features"]:
            feat["properties"] = {"finding": kind.value, **feat["properties"]}
            features.append(feat)
    return {"type": "FeatureCollection", "features": features, "summary": audit.summary}


@router.get(
    "/plans/{plan_id}/versions/{version}/audit",
    responses={200: {"content": {"application/json": {"schema": AUDIT_SCHEMA}}}},
    summary="Audit a plan version",
)
def audit_version(
    *,
    state: StateDep,
    who: PrincipalDep,
    plan_id: str,
    version: str,
    f: Annotated[Literal["json", "geojson"], Query(description="Format")] = "json",
) -> JSONResponse:
    """Return what breaks the rules (gaps, overlaps, split compounds, band, parts, roads).

    ``f=geojson`` returns the findings with a place (gaps, overlaps, split compounds) as one
    FeatureCollection with a ``finding`` property, for a map layer.
    """
    from gridgen.partition.audit import audit_grids

    number = _number(state, plan_id, version)
    plan = load_plan(state, plan_id, resolve_version(state, who, plan_id, number).version)
    dataset = load_dataset(state, state.store.get_plan(plan_id).dataset_id)
    audit = audit_grids(dataset, plan.grids, band=plan.band)
    body = _findings_geojson(audit) if f == "geojson" else audit.to_dict()
    body["version"] = number
    return JSONResponse(body)
