"""Match reports of ledgers (``gridgen ingest``, household refreshes), kept with their dataset.

The per-row and per-building tables are stored as attribute layers of the store under the
dataset's keys (``d/<id>/match_rows``, ``d/<id>/match_buildings``, ``d/<id>/match_totals``),
so every service process sharing the database can serve them, as JSON or a workbook.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from api.service import ServiceState
from api.store.base import dataset_key, records_frame
from gridgen.errors import NotFoundError
from gridgen.ingest.report import MatchReport

ROWS, BUILDINGS, TOTALS = "match_rows", "match_buildings", "match_totals"


def store_match_report(
    state: ServiceState, dataset_id: str, report: MatchReport, *, actor: str
) -> str:
    """Store ``report`` with dataset ``dataset_id``; return the path that serves it."""
    store = state.store
    rows = report.rows.drop(columns=["cause"], errors="ignore")
    store.add_layer(dataset_key(dataset_id, ROWS), rows, layer=ROWS, actor=actor)
    store.add_layer(
        dataset_key(dataset_id, BUILDINGS), report.buildings, layer=BUILDINGS, actor=actor
    )
    head = {"totals": report.totals, "ledger": report.ledger, "notes": list(report.notes)}
    store.add_layer(
        dataset_key(dataset_id, TOTALS),
        pd.DataFrame({"report": [json.dumps(head, ensure_ascii=False)]}),
        layer=TOTALS,
        actor=actor,
    )
    return f"/datasets/{dataset_id}/match-report"


def _frame(state: ServiceState, key: str, columns: list[str]) -> pd.DataFrame:
    frame = records_frame(state.store.layer_rows(key), key)
    for col in columns:
        if col not in frame.columns:
            frame[col] = pd.Series(dtype=object)
    return frame[columns]


def load_match_report(state: ServiceState, dataset_id: str) -> MatchReport:
    """Return the match report stored with dataset ``dataset_id``.

    Raises
    ------
    NotFoundError
        The dataset was not made from a ledger (nothing stored).
    """
    state.store.get_dataset(dataset_id)
    if not state.store.has_layer(dataset_key(dataset_id, TOTALS)):
        msg = (
            f"dataset {dataset_id} was not made from a ledger: it has no match report (POST "
            "/datasets/ingest or a household ledger on POST /datasets/{id}/ledger make one)"
        )
        raise NotFoundError(msg)
    stored = state.store.layer_rows(dataset_key(dataset_id, TOTALS))[0].properties["report"]
    head: dict[str, Any] = json.loads(stored)
    rows = _frame(state, dataset_key(dataset_id, ROWS), ["row", "building_id", "how", "reason"])
    buildings = _frame(
        state,
        dataset_key(dataset_id, BUILDINGS),
        ["building_id", "households", "residents", "rows"],
    )
    return MatchReport(
        head["totals"], buildings, rows, head.get("ledger", {}), tuple(head.get("notes", ()))
    )
