"""Figures read back from gridgen's output files (the algorithms' number results).

Pure Python (standard library only): GeoPackages are SQLite files, reports are JSON.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any


def _json_file(path: str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _one_row(path: str, table: str) -> dict[str, Any]:
    """Return the first row of ``table`` in a GeoPackage (read only), or {}."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as con:
        con.row_factory = sqlite3.Row
        row = con.execute(f'SELECT * FROM "{table}" LIMIT 1').fetchone()
    return dict(row) if row is not None else {}


def plan_metrics(path: str) -> Mapping[str, Any]:
    """Return the metrics of a plan GeoPackage (its ``plan_meta`` table)."""
    text = _one_row(path, "plan_meta").get("metrics")
    return json.loads(text) if text else {}


def audit_report(path: str) -> Mapping[str, Any]:
    """Return an audit as ``{"summary": {...}}`` from its JSON or GeoPackage."""
    if path.lower().endswith(".gpkg"):
        return {"summary": _one_row(path, "summary")}
    doc = _json_file(path)
    return doc if isinstance(doc, dict) else {}


def rejected_rows(path: str) -> Mapping[str, Any]:
    """Return ``{"rejected": N}``: rows rejected over every layer of a validation report."""
    counts = _json_file(path).get("counts", {})
    return {"rejected": sum(int(c.get("rows_rejected", 0)) for c in counts.values())}


READERS: Mapping[str, tuple[Callable[[str], Any], str]] = {
    "json": (_json_file, ""),
    "plan": (plan_metrics, ""),
    "audit": (audit_report, ""),
    "rejected_rows": (rejected_rows, "rejected"),
}
"""Reader name → (function of the file path, key used when the result names none)."""


def number(path: str, reader: str, key: str) -> float | None:
    """Return the number at dotted ``key`` of what ``reader`` finds in ``path``.

    None when it is absent, or when the file is not what the reader reads (a match report
    written as a workbook instead of JSON).
    """
    function, default_key = READERS[reader]
    try:
        value: Any = function(path)
    except (OSError, ValueError, sqlite3.Error):
        return None
    for part in (key or default_key).split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
