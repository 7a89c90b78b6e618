"""``POST /datasets/ingest``: a district's own files to a stored dataset, as a background job.

The multipart parts are those of ``gridgen ingest``: ``communities``, ``footprints``,
``ledger`` and the optional ``compounds``, ``roads``, ``stations``, ``barriers`` (a Shapefile as a
``.zip`` or as its ``.shp``/``.dbf``/``.shx``/``.prj``/``.cpg`` files under one part name),
and the form fields ``ledger_crs``, ``crs`` (``INPUT=CRS``), ``map`` (``LAYER.FIELD=COLUMN``),
``road_class`` and ``name``. Planners and admins only.

Before the job is queued the ledger is checked against the limits on rows and inflated
size (a streaming pass, about a second for 300,000 rows): a ledger past them is answered
413 at once, naming the limit. The job then ingests, stores the dataset and the match
report; ``GET /jobs/{id}`` gives the dataset id and the totals, ``GET
/datasets/{dataset_id}/match-report?f=json|xlsx`` the whole report.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from api.deps import PlannerDep, StateDep
from api.errors import PermissionDeniedError
from api.match_reports import load_match_report, store_match_report
from api.params import NoNul
from api.recovery import service_temp_dir
from api.scopes import scope_of
from api.service import ServiceState, dataset_layers_for_store, metric_crs_text, submit_job
from api.store.base import JobInfo
from api.uploads import copy_capped, form_field_names, upload_names
from gridgen.errors import InputError, UnsupportedFormatError
from gridgen.io.spreadsheet import TableLimits

router = APIRouter(prefix="/datasets", tags=["datasets"])

JOB_KIND = "ingest"
SPATIAL = (".shp", ".zip", ".gpkg", ".geojson", ".json", ".csv", ".pbf")
SIDECARS = (".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")
LEDGER = (".xlsx", ".xlsm", ".xls", ".csv")
Files = Annotated[list[UploadFile], File()]
OptionalFiles = Annotated[list[UploadFile] | None, File()]


class _Saver:
    """Writes the uploaded parts into one folder, under one byte limit for the request."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self.used = 0

    def save(self, part: str, uploads: list[UploadFile], allowed: tuple[str, ...]) -> Path:
        """Save the files of one part; return the file to read (the ``.shp`` of a set)."""
        target = self.folder / part
        target.mkdir()
        main: list[Path] = []
        for upload in uploads:
            name = Path(upload.filename or part).name
            lower = name.lower()
            if not lower.endswith(allowed + SIDECARS):
                kinds = ", ".join(allowed)
                msg = f"{part} {name!r}: unsupported format; give one of {kinds}"
                raise UnsupportedFormatError(msg)
            path = target / name
            with path.open("wb") as out:
                self.used = copy_capped(upload, out, limit=self.limit, used=self.used)
            if lower.endswith(allowed):
                main.append(path)
        if len(main) != 1:
            found = ", ".join(p.name for p in main) or "none"
            msg = f"{part}: give exactly one file of {', '.join(allowed)} (found {found})"
            raise InputError(msg)
        return main[0]


def _check_ledger(state: ServiceState, path: Path) -> None:
    """Refuse a ledger past the limits before the job is queued (streaming, bounded memory)."""
    from gridgen.io.spreadsheet import EXCEL_SUFFIXES, check_xlsx, table_rows

    limits = ledger_limits(state)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        check_xlsx(path, path.name, limits)
    elif path.suffix.lower() == ".csv":
        table_rows(path, path.name, limits=limits)


def ledger_limits(state: ServiceState) -> TableLimits:
    """Return the ledger limits of the service's settings (``GRIDGEN_LEDGER_MAX_*``)."""
    settings = state.settings
    return TableLimits(
        max_rows=settings.ledger_max_rows,
        max_inflated_bytes=settings.ledger_max_inflated_bytes,
    )


@router.post("/ingest", status_code=202, summary="Make a dataset from a district's files (job)")
def ingest(
    *,
    state: StateDep,
    who: PlannerDep,
    communities: Files,
    footprints: Files,
    ledger: Annotated[UploadFile, File(description="一标三实 ledger: .xlsx or .csv")],
    compounds: OptionalFiles = None,
    roads: OptionalFiles = None,
    stations: OptionalFiles = None,
    barriers: OptionalFiles = None,
    ledger_crs: Annotated[str, Form(description="gcj02, bd09 or an EPSG code"), NoNul] = "gcj02",
    crs: Annotated[
        list[str] | None, Form(description="INPUT=CRS, e.g. footprints=gcj02"), NoNul
    ] = None,
    mapping: Annotated[
        list[str] | None, Form(alias="map", description="LAYER.FIELD=COLUMN"), NoNul
    ] = None,
    road_class: Annotated[list[str] | None, Form(description="CLASS=KIND"), NoNul] = None,
    name: Annotated[str | None, Form(max_length=200), NoNul] = None,
) -> JobInfo:
    """Save the files, check the ledger's limits, and queue the ingest; poll ``/jobs/{id}``.

    An ingest makes a district's dataset: a key scoped to a street or a community may not
    (403 naming its scope), as only an admin may upload a dataset.
    """
    from gridgen.ingest.build import IngestPaths, ingest_options

    scope = scope_of(who)
    if scope is not None:
        msg = (
            f"ingest makes a dataset for a whole district: this key is scoped to {scope.label};"
            " ask for a planner key without a scope, or an admin key"
        )
        raise PermissionDeniedError(msg)

    with form_field_names():
        options = ingest_options(
            ledger_crs=ledger_crs,
            crs=crs or (),
            mapping=mapping or (),
            road_classes=road_class or (),
            limits=ledger_limits(state),
        )
    folder = Path(tempfile.mkdtemp(prefix="ingest-", dir=service_temp_dir(state.settings)))
    try:
        saver = _Saver(folder, state.settings.upload_limit_bytes)
        optional = {"compounds": compounds, "roads": roads, "stations": stations}
        optional["barriers"] = barriers
        extra = {part: saver.save(part, f, SPATIAL) for part, f in optional.items() if f}
        paths = IngestPaths(
            communities=saver.save("communities", communities, SPATIAL),
            footprints=saver.save("footprints", footprints, SPATIAL),
            ledger=saver.save("ledger", [ledger], LEDGER),
            **extra,
        )
        with upload_names(folder):
            _check_ledger(state, paths.ledger)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    label = name or f"{Path(paths.ledger).stem} (ingest)"
    params = {"name": label, "ledger": ledger.filename, "ledger_crs": ledger_crs}
    job = state.create_job(kind=JOB_KIND, params=params, actor=who.label)

    def work(progress: Any) -> dict[str, Any]:
        from gridgen.ingest.build import ingest_files

        try:
            with upload_names(folder), form_field_names():
                result = ingest_files(
                    paths, options=options, progress=lambda m: progress(0.5, m), name=label
                )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        progress(0.9, "storing the dataset and the match report")
        info = state.store.add_dataset(
            name=label,
            layers=dataset_layers_for_store(result.dataset),
            metric_crs=metric_crs_text(result.dataset),
            report=result.dataset.report.to_dict(),
            actor=who.label,
        )
        report = result.report
        link = store_match_report(state, info.id, report, actor=who.label)
        state.bump()
        return {
            "dataset_id": info.id,
            "totals": report.totals,
            "ledger": report.ledger,
            "notes": list(report.notes),
            "report": link,
            "timings": result.timings,
        }

    submit_job(state, job.id, work)
    return job


@router.get(
    "/{dataset_id}/match-report", summary="The match report of a dataset made from a ledger"
)
def match_report(
    state: StateDep,
    who: PlannerDep,
    dataset_id: str,
    f: Annotated[Literal["json", "xlsx"], Query(description="json or xlsx")] = "json",
) -> Any:
    """Return the match report (totals, per building, per ledger row) as JSON or a workbook."""
    from gridgen.ingest.report import write_match_report

    report = load_match_report(state, dataset_id)
    if f == "json":
        return JSONResponse(report.to_dict())
    folder = Path(tempfile.mkdtemp(prefix="report-", dir=service_temp_dir(state.settings)))
    path = write_match_report(report, folder / f"match-report-{dataset_id}.xlsx")
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
