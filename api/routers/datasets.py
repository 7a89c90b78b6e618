"""``/datasets``: upload (validate, store), list, get, validation report (admin writes)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from api.deps import AdminDep, PrincipalDep, StateDep
from api.params import NoNul
from api.recovery import service_temp_dir
from api.scopes import redact_report
from api.service import dataset_layers_for_store, metric_crs_text, store_one_type_parts
from api.store.base import DatasetInfo
from api.uploads import copy_capped
from gridgen.errors import GridgenError, InputError, UnsupportedFormatError

router = APIRouter(prefix="/datasets", tags=["datasets"])

SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".csv")


def _safe_name(filename: str | None, index: int) -> str:
    name = Path(filename or f"upload{index}").name
    if not name.lower().endswith(SUFFIXES):
        msg = (
            f"file {name!r}: unsupported format; upload a GeoPackage (.gpkg), GeoJSON "
            "(.geojson/.json, one file per layer named after it), a zipped Shapefile (.zip) or "
            "CSV (.csv, named after its layer)"
        )
        raise UnsupportedFormatError(msg)
    return name


def _save_uploads(files: list[UploadFile], folder: Path, limit: int) -> Path:
    """Write ``files`` into ``folder`` (at most ``limit`` bytes) and return what to read."""
    total = 0
    paths = []
    for i, upload in enumerate(files):
        name = _safe_name(upload.filename, i)
        path = folder / name
        with path.open("wb") as out:
            total = copy_capped(upload, out, limit=limit, used=total)
        paths.append(path)
    if not paths:
        raise InputError("file: no file uploaded; send at least one file field")
    single = len(paths) == 1 and paths[0].suffix.lower() in (".gpkg", ".zip")
    return paths[0] if single else folder


@router.post("", status_code=201, summary="Upload, validate and store a dataset")
def upload_dataset(
    *,
    state: StateDep,
    who: AdminDep,
    request: Request,
    file: Annotated[list[UploadFile], File(description="GeoPackage, zip, or layer files")],
    name: Annotated[str | None, Form(max_length=200), NoNul] = None,
    crs: Annotated[str | None, Form(description="EPSG code, gcj02 or bd09"), NoNul] = None,
) -> DatasetInfo:
    """Validate the uploaded files with ``gridgen.io.read.read_dataset`` and store them.

    A rejected upload (bad format, too large, validation failure) stores nothing.
    """
    from gridgen.io.read import read_dataset

    limit = state.settings.upload_limit_bytes
    folder = service_temp_dir(state.settings)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=folder) as tmp:
        target = _save_uploads(file, Path(tmp), limit)
        try:
            dataset = read_dataset(target, crs=crs or None, max_rows=state.settings.max_layer_rows)
        except GridgenError:
            raise
        except Exception as exc:  # a reader library failing on a corrupt file is bad input
            names = ", ".join(f.filename or "?" for f in file)
            msg = f"file {names}: cannot be read ({type(exc).__name__}: {exc}); check the format"
            raise InputError(msg) from exc
    label = name or (Path(file[0].filename or "dataset").stem if len(file) == 1 else "dataset")
    info = state.store.add_dataset(
        name=label,
        layers=dataset_layers_for_store(dataset),
        metric_crs=metric_crs_text(dataset),
        report=dataset.report.to_dict(),
        actor=who.label,
    )
    store_one_type_parts(state, info.id, dataset)  # so reading the layers writes nothing
    state.bump()
    return info


@router.get("", summary="List datasets")
def list_datasets(state: StateDep, who: PrincipalDep) -> list[DatasetInfo]:
    """Return every stored dataset, newest first."""
    return state.store.list_datasets()


@router.get("/{dataset_id}", summary="One dataset")
def get_dataset(state: StateDep, who: PrincipalDep, dataset_id: str) -> DatasetInfo:
    """Return one dataset's record (rows per layer, metric CRS, bounds)."""
    return state.store.get_dataset(dataset_id)


@router.get("/{dataset_id}/report", summary="Validation report of a dataset")
def get_report(state: StateDep, who: PrincipalDep, dataset_id: str) -> dict[str, Any]:
    """Return the validation report (findings name rows; no restricted values)."""
    who.require("planner", "admin", action="reading validation reports")
    return redact_report(state.store.get_report(dataset_id), who)


@router.delete("/{dataset_id}", status_code=204, summary="Delete a dataset and its plans")
def delete_dataset(state: StateDep, who: AdminDep, dataset_id: str) -> None:
    """Delete a dataset with its plans."""
    state.store.delete_dataset(dataset_id, actor=who.label)
    state.bump(forget_data=True)
