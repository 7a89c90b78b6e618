"""Existing grids in the service: import a city's grid layer as a plan, audit a version,
rebalance a version (a background job that saves a new version with its crosswalk).

Store calls used: ``get_plan``, ``get_version`` (through ``visible_version``),
``load_version``, ``create_plan``, ``add_version``, ``create_job`` / ``update_job``
(through ``submit_job``) and the dataset cache of ``load_dataset``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import PlannerDep, PrincipalDep, StateDep
from api.service import (
    content_from_plan,
    load_dataset,
    parse_base_version,
    plan_from_content,
    submit_job,
    visible_version,
)
from api.store.base import JobInfo, PlanContent
from gridgen.errors import ConflictError, InputError, ParameterError, PayloadTooLargeError

router = APIRouter(tags=["existing grids"])
SUFFIXES = (".gpkg", ".geojson", ".json", ".zip")
CHUNK = 1 << 20
CROSSWALK_ROWS = 50_000
"""Most crosswalk rows (changed buildings) kept with a version."""


class RebalanceEdit(BaseModel):
    """Rebalance a plan version with as few households moved as possible (a job)."""

    base_version: int | None = Field(default=None, description="Version the edit starts from.")
    target: int | None = Field(default=None, gt=0, description="Households per grid.")
    band: tuple[int, int] | None = Field(default=None, description="MIN, MAX households.")
    max_moved: int | None = Field(default=None, ge=0, description="Most households to move.")
    message: str | None = Field(default=None, max_length=500)


def _save_upload(upload: UploadFile, folder: Path, limit: int) -> Path:
    name = Path(upload.filename or "grids.gpkg").name
    if not name.lower().endswith(SUFFIXES):
        msg = f"file {name!r}: upload a grid layer as .gpkg, .geojson or a zipped Shapefile"
        raise InputError(msg)
    path = folder / name
    total = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            total += len(chunk)
            if total > limit:
                msg = f"file: upload exceeds the limit of {limit} bytes"
                raise PayloadTooLargeError(msg)
            out.write(chunk)
    return path


def _band(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        msg = f"band {text!r}: give MIN,MAX, e.g. 240,360"
        raise ParameterError(msg)
    return int(parts[0]), int(parts[1])


@router.post(
    "/datasets/{dataset_id}/grids", status_code=201, summary="Import an existing grid layer"
)
def import_grid_layer(
    *,
    state: StateDep,
    who: PlannerDep,
    dataset_id: str,
    file: Annotated[UploadFile, File(description="Grid polygons: .gpkg, .geojson, .zip")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    id_column: Annotated[str | None, Form(description="Grid code column")] = None,
    crs: Annotated[str | None, Form(description="EPSG code, gcj02 or bd09")] = None,
    target: Annotated[int, Form(gt=0)] = 300,
    band: Annotated[str | None, Form(description="MIN,MAX")] = None,
) -> JSONResponse:
    """Store the layer as a new plan (version 1 = as imported) and return its audit summary."""
    from gridgen.io.grids import read_grid_layer
    from gridgen.partition.audit import audit_grids
    from gridgen.partition.existing import import_grids
    from gridgen.partition.plan import default_band

    dataset = load_dataset(state, dataset_id)
    lo_hi = default_band(target, _band(band))
    with tempfile.TemporaryDirectory(prefix="gridgen-grids-") as tmp:
        path = _save_upload(file, Path(tmp), state.settings.upload_limit_bytes)
        grids = read_grid_layer(path, id_column=id_column or None, crs=crs or None)
    label = name or Path(file.filename or "grids").stem
    plan = import_grids(dataset, grids, target=target, band=lo_hi, source=label)
    audit = audit_grids(dataset, grids, band=lo_hi)
    info = state.store.create_plan(
        dataset_id=dataset_id,
        name=label,
        content=content_from_plan(plan),
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
        ("gap", audit.gaps),
        ("overlap", audit.overlaps),
        ("split_compound", audit.split_compounds),
    ):
        if len(frame) == 0:
            continue
        data = json.loads(frame.to_crs(4326).to_json(drop_id=True, na="null"))
        for feat in data["features"]:
            feat["properties"] = {"finding": kind, **feat["properties"]}
            features.append(feat)
    return {"type": "FeatureCollection", "features": features, "summary": audit.summary}


@router.get("/plans/{plan_id}/versions/{version}/audit", summary="Audit a plan version")
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
    visible_version(state, who, plan_id, number)
    content = state.store.load_version(plan_id, number)
    plan = plan_from_content(content)
    dataset = load_dataset(state, state.store.get_plan(plan_id).dataset_id)
    audit = audit_grids(dataset, content.grids, band=plan.band)
    body = _findings_geojson(audit) if f == "geojson" else audit.to_dict()
    body["version"] = number
    return JSONResponse(body)


@router.post(
    "/plans/{plan_id}/edits/rebalance", status_code=202, summary="Rebalance (background job)"
)
def rebalance_edit(
    *,
    state: StateDep,
    who: PlannerDep,
    plan_id: str,
    body: RebalanceEdit,
    if_match: Annotated[str | None, Header(description='Base version, e.g. "3"')] = None,
) -> JobInfo:
    """Start a rebalance of the base version; the job saves a new version with its crosswalk.

    Poll ``/jobs/{id}``: the result names the new version and summarises households moved
    and codes kept, new and retired. Communities holding a locked grid are left as they are
    (``skipped_locked``). The crosswalk (buildings whose grid changed) is kept
    in the version's metadata under ``rebalance``.
    """
    base = parse_base_version(if_match, body.base_version)
    head = state.store.get_plan(plan_id).head_version
    if base != head:
        msg = f"plan {plan_id} is at version {head}, the edit names {base}: reload and retry"
        raise ConflictError(msg)
    job = state.store.create_job(kind="rebalance", params=body.model_dump(), actor=who.label)

    def work(progress: Any) -> dict[str, Any]:
        from gridgen.partition.plan import default_band
        from gridgen.partition.rebalance import rebalance

        progress(0.0, "rebalancing")
        content = state.store.load_version(plan_id, base)
        plan = plan_from_content(content)
        target = body.target or plan.target
        band = default_band(target, body.band or (plan.band if target == plan.target else None))
        dataset = load_dataset(state, state.store.get_plan(plan_id).dataset_id)
        result = rebalance(
            dataset,
            content.grids,
            assignment=content.assignment,
            target=target,
            band=band,
            max_moved=body.max_moved,
            locked=content.locked,
        )
        new = content_from_plan(result.plan, locked=content.locked)
        changed = result.crosswalk[result.crosswalk["old_grid"] != result.crosswalk["new_grid"]]
        meta = dict(new.metrics)
        meta["rebalance"] = {
            "summary": result.summary,
            "crosswalk": json.loads(changed.head(CROSSWALK_ROWS).to_json(orient="records")),
        }
        s = result.summary
        info = state.store.add_version(
            plan_id,
            base_version=base,
            content=PlanContent(new.grids, new.assignment, new.locked, meta),
            actor=who.label,
            message=body.message
            or f"rebalance: {s['households_moved']} households moved, {s['codes_new']} new codes",
        )
        keys = ("households_moved", "grids_changed", "codes_kept", "codes_new", "codes_retired")
        return {
            "plan_id": plan_id,
            "version": info.version,
            **{k: s[k] for k in keys},
            "retired_codes": s["retired_codes"],
            "skipped_locked": s["skipped_locked"],
            "out_of_band_before": s["audit_before"]["out_of_band"],
            "out_of_band_after": s["audit_after"]["out_of_band"],
        }

    submit_job(state, job.id, work)
    return job
