"""``POST /datasets/{id}/ledger``: a new dataset version with a layer refreshed from a ledger.

The ledger (楼栋台账, ``.xlsx`` or ``.csv`` in UTF-8 or GBK/GB18030) goes through the same
checks as ``gridgen update``; a refused ledger stores nothing. The response names the new
dataset and the counts (rows matched, changed, unmatched on either side). Admins only, like
every dataset upload.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from api.deps import AdminDep, StateDep
from api.params import NoNul
from api.responses import LedgerSaved
from api.service import dataset_layers_for_store, load_dataset, metric_crs_text
from api.uploads import read_capped
from gridgen.dataset import Dataset
from gridgen.ingest.ledger import Ledger

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post(
    "/{dataset_id}/ledger",
    status_code=201,
    response_model=LedgerSaved,
    summary="Refresh a layer from a ledger",
)
def upload_ledger(
    *,
    state: StateDep,
    who: AdminDep,
    dataset_id: str,
    file: Annotated[UploadFile, File(description="Ledger: .xlsx or .csv (UTF-8 or GBK)")],
    layer: Annotated[str, Form(), NoNul] = "buildings",
    key: Annotated[str | None, Form(description="Id column (default the layer's)"), NoNul] = None,
    name: Annotated[str | None, Form(max_length=200), NoNul] = None,
    crs: Annotated[
        str,
        Form(description="Household ledgers: system of the coordinates (gcj02, bd09, EPSG)"),
        NoNul,
    ] = "gcj02",
) -> JSONResponse:
    """Apply the ledger to the dataset, validate, and store the result as a new dataset.

    A building ledger (楼栋台账, one row per building id) replaces the columns it has; a
    household ledger (一标三实: no id column, one row per household with an address or a
    building and door-plate coordinates) sets households and residents of the buildings
    its rows are placed on, with a match report (``GET /datasets/{id}/match-report``).
    The sheet is read streaming: past ``GRIDGEN_LEDGER_MAX_ROWS`` rows or
    ``GRIDGEN_LEDGER_MAX_INFLATED_BYTES`` it is refused (413) before it is parsed.
    """
    from api.routers.ingest import ledger_limits
    from gridgen.io.ledger import read_ledger_bytes
    from gridgen.validate.ledger import update_dataset

    ds = load_dataset(state, dataset_id)
    filename = file.filename or "ledger.csv"
    data = read_capped(file, limit=state.settings.upload_limit_bytes)
    ledger = read_ledger_bytes(data, filename, limits=ledger_limits(state))
    label = name or f"{ds.name} ({filename})"
    households = household_ledger(ledger, layer=layer, key=key, crs=crs, name=filename)
    if households is not None:
        return _refresh_households(
            state, who.label, ds=ds, ledger=households, dataset_id=dataset_id, label=label
        )
    new, result = update_dataset(ds, ledger, layer=layer, key=key or None, name=label)
    info = state.store.add_dataset(
        name=label,
        layers=dataset_layers_for_store(new),
        metric_crs=metric_crs_text(new),
        report=new.report.to_dict(),
        actor=who.label,
    )
    state.bump()
    body: dict[str, Any] = {
        "dataset": asdict(info),
        "previous": dataset_id,
        "layer": layer,
        "columns": list(result.columns),
        "ignored": list(result.ignored),
        "matched": result.matched,
        "changed": result.changed,
        "cells_changed": result.cells_changed,
        "unmatched_layer": result.unmatched_layer,
        "unmatched_ledger": result.unmatched_ledger,
    }
    return JSONResponse(body, status_code=201)


def household_ledger(
    ledger: pd.DataFrame, *, layer: str, key: str | None, crs: str, name: str
) -> Ledger | None:
    """Return ``ledger`` read as a household ledger (一标三实), or None for a building ledger.

    It is one when it refreshes buildings, its first row names no building id column
    (``building_id``, 楼栋编号 ...) and a header row among its first rows names an address
    or a building, and a room or coordinates.
    """
    from gridgen.errors import LedgerError
    from gridgen.ingest.ledger import ledger_from_rows
    from gridgen.validate.ledger import HEADER_ALIASES

    if layer != "buildings" or key:
        return None
    names = {HEADER_ALIASES.get(str(c).strip(), str(c).strip().lower()) for c in ledger.columns}
    if "building_id" in names:
        return None
    values = ledger.astype(object).where(ledger.notna(), None).values.tolist()
    try:
        parsed = ledger_from_rows([list(map(str, ledger.columns)), *values], name, crs=crs)
    except LedgerError:
        return None  # not a household ledger either: the building ledger's checks say why
    return parsed if "room" in parsed.columns or "lon" in parsed.columns else None


def _refresh_households(
    state: StateDep,
    actor: str,
    *,
    ds: Dataset,
    ledger: Ledger,
    dataset_id: str,
    label: str,
) -> JSONResponse:
    from api.match_reports import store_match_report
    from gridgen.ingest.refresh import refresh_households

    refresh = refresh_households(ds, ledger, name=label)
    new = refresh.dataset
    info = state.store.add_dataset(
        name=label,
        layers=dataset_layers_for_store(new),
        metric_crs=metric_crs_text(new),
        report=new.report.to_dict(),
        actor=actor,
    )
    link = store_match_report(state, info.id, refresh.report, actor=actor)
    state.bump()
    t = refresh.report.totals
    body: dict[str, Any] = {
        "dataset": asdict(info),
        "previous": dataset_id,
        "layer": "buildings",
        "kind": "households",
        "columns": ["households", "residents"],
        "ignored": list(refresh.report.ledger.get("ignored", [])),
        "matched": t["matched"],
        "changed": len(refresh.report.buildings),
        "cells_changed": 2 * len(refresh.report.buildings),
        "unmatched_layer": refresh.not_reached,
        "unmatched_ledger": t["unmatched"] + t["duplicates"],
        "totals": t,
        "match_report": link,
    }
    return JSONResponse(body, status_code=201)
