"""``POST /datasets/{id}/ledger``: a new dataset version with a layer refreshed from a ledger.

The ledger (楼栋台账, ``.xlsx`` or ``.csv`` in UTF-8 or GBK/GB18030) goes through the same
checks as ``gridgen update``; a refused ledger stores nothing. The response names the new
dataset and the counts (rows matched, changed, unmatched on either side). Admins only, like
every dataset upload.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from api.deps import AdminDep, StateDep
from api.responses import LedgerSaved
from api.service import dataset_layers_for_store, load_dataset, metric_crs_text
from api.uploads import read_capped

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
    layer: Annotated[str, Form()] = "buildings",
    key: Annotated[str | None, Form(description="Id column (default the layer's)")] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> JSONResponse:
    """Apply the ledger to the dataset, validate, and store the result as a new dataset."""
    from gridgen.io.ledger import read_ledger_bytes
    from gridgen.validate.ledger import update_dataset

    ds = load_dataset(state, dataset_id)
    filename = file.filename or "ledger.csv"
    ledger = read_ledger_bytes(read_capped(file, limit=state.settings.upload_limit_bytes), filename)
    label = name or f"{ds.name} ({filename})"
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
