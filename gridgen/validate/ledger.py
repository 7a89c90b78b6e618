"""Refreshing a layer's attributes from a ledger (楼栋台账): checks and replacement by id (pure).

A ledger is a table with the layer's id column (``building_id`` by default, or a Chinese
header such as 楼栋编号) and some attribute columns. :func:`apply_ledger` checks it
strictly (any problem names the ledger rows, as a spreadsheet numbers them: the header is
row 1) and returns the layer with the ledger's columns replaced by id. Blank cells keep the
current value. Columns the layer does not have, and derived columns, are ignored and listed.
Geometry is never touched. The caller re-validates the result like any input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridgen.dataset import Dataset
from gridgen.errors import LedgerError, SchemaError, UnknownLayerError
from gridgen.schema import DERIVED_COLUMNS, LAYERS, Column

HEADER_ALIASES: dict[str, str] = {
    "楼栋编号": "building_id",
    "楼栋id": "building_id",
    "小区编号": "compound_id",
    "户数": "households",
    "人数": "residents",
    "人口": "residents",
    "层数": "floors",
    "楼栋长": "leader_name",
    "楼栋长姓名": "leader_name",
    "楼栋长电话": "leader_phone",
    "联系电话": "leader_phone",
    "重点人员": "key_persons",
    "党员数": "party_members",
    "党员人数": "party_members",
    "站点编号": "station_id",
    "物业企业编号": "company_id",
}
"""Chinese ledger headers understood as schema columns."""

_TRUE = {"true", "1", "yes", "是", "有"}
_FALSE = {"false", "0", "no", "否", "无"}
MAX_NAMED = 10


@dataclass(frozen=True)
class LedgerResult:
    """A layer refreshed from a ledger.

    Attributes
    ----------
    frame
        The layer with the ledger's columns replaced (same rows, order and geometry).
    columns
        Columns replaced.
    ignored
        Ledger columns not applied (unknown to the layer, derived, or geometry).
    matched
        Ledger rows whose id is in the layer (all of them, or the ledger is refused).
    changed
        Layer rows where at least one value changed.
    cells_changed
        Values changed.
    unmatched_layer
        Layer rows the ledger does not mention (left as they were).
    unmatched_ledger
        Ledger rows whose id is not in the layer (0 on success).
    """

    frame: pd.DataFrame
    columns: tuple[str, ...]
    ignored: tuple[str, ...]
    matched: int
    changed: int
    cells_changed: int
    unmatched_layer: int
    unmatched_ledger: int = 0


def _rows(mask: np.ndarray) -> str:
    """Return spreadsheet row numbers (header = row 1) of ``mask``, at most MAX_NAMED."""
    rows = [str(i + 2) for i in np.flatnonzero(mask)]
    more = f" and {len(rows) - MAX_NAMED} more" if len(rows) > MAX_NAMED else ""
    return ("row " if len(rows) == 1 else "rows ") + ", ".join(rows[:MAX_NAMED]) + more


def _normalise_headers(ledger: pd.DataFrame) -> pd.DataFrame:
    renames = {}
    for col in ledger.columns:
        text = str(col).strip()
        renames[col] = HEADER_ALIASES.get(text, HEADER_ALIASES.get(text.lower(), text.lower()))
    out = ledger.rename(columns=renames)
    dup = out.columns[out.columns.duplicated()].tolist()
    if dup:
        msg = f"ledger has the column {dup[0]!r} twice (directly or via a Chinese header): keep one"
        raise LedgerError(msg)
    return out


def _text(series: pd.Series) -> pd.Series:
    """Return cells as stripped strings, blank as NA; integral floats without ``.0``."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, float) and v == round(v):
            return str(int(v))
        text = str(v).strip()
        return text if text else pd.NA

    return series.map(one).astype("string")


def _parse(col: Column, text: pd.Series) -> pd.Series:
    """Return the typed values of one ledger column, or raise naming the bad rows."""
    given = text.notna().to_numpy()
    if col.kind == "int":
        num = pd.to_numeric(text, errors="coerce").astype("Float64")
        values = num.to_numpy(dtype=float, na_value=np.nan)
        bad = given & ~(np.isfinite(values) & (values >= 0) & (values == np.round(values)))
        if bad.any():
            first = text.iloc[int(np.flatnonzero(bad)[0])]
            msg = (
                f"ledger column {col.name}, {_rows(bad)}: not a whole number ≥ 0 "
                f"(e.g. {first!r}); correct those cells (leave a cell blank to keep the value)"
            )
            raise LedgerError(msg)
        return pd.Series(np.round(values), index=text.index).astype("Int64")
    if col.kind == "bool":
        low = text.str.lower()
        bad = given & ~low.isin(_TRUE | _FALSE).to_numpy(dtype=bool)
        if bad.any():
            msg = f"ledger column {col.name}, {_rows(bad)}: not 是/否 (true/false)"
            raise LedgerError(msg)
        return low.map(lambda v: pd.NA if pd.isna(v) else v in _TRUE).astype("boolean")
    if col.kind == "category":
        bad = given & ~text.isin(col.choices).to_numpy(dtype=bool)
        if bad.any():
            msg = f"ledger column {col.name}, {_rows(bad)}: not one of {', '.join(col.choices)}"
            raise LedgerError(msg)
    return text


def _check_ids(ids: pd.Series, known: pd.Series, key: str) -> None:
    missing = ids.isna().to_numpy()
    if missing.any():
        raise LedgerError(f"ledger column {key}, {_rows(missing)}: no id; fill it in")
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        sample = ", ".join(sorted(set(ids[dup]))[:5])
        msg = (
            f"ledger column {key}, {_rows(dup)}: the same id more than once ({sample}); "
            f"give each {key} once"
        )
        raise LedgerError(msg)
    unknown = ~ids.isin(set(known)).to_numpy(dtype=bool)
    if unknown.any():
        sample = ", ".join(ids[unknown].iloc[:5])
        msg = (
            f"ledger column {key}, {_rows(unknown)}: id not in the layer ({sample}); "
            "correct it or add the feature to the dataset first"
        )
        raise LedgerError(msg)


def apply_ledger(
    frame: pd.DataFrame, ledger: pd.DataFrame, *, layer: str = "buildings", key: str | None = None
) -> LedgerResult:
    """Return ``frame`` (a validated layer) with the ledger's attribute columns replaced by id.

    Parameters
    ----------
    frame
        The layer as in a :class:`~gridgen.dataset.Dataset`.
    ledger
        The ledger as read (headers in English or Chinese, cells as text or numbers).
    layer
        Layer name (default ``buildings``).
    key
        Id column (default the layer's id column, ``building_id`` for buildings).

    Raises
    ------
    LedgerError
        An empty ledger, no id column, missing/duplicate/unknown ids, or a value that is not
        of its column's type; the message names the ledger rows.
    """
    schema = LAYERS.get(layer)
    if schema is None or schema.id_column is None:
        msg = f"layer {layer!r} cannot be updated from a ledger: use buildings, compounds, ..."
        raise UnknownLayerError(msg)
    key = key or schema.id_column
    ledger = _normalise_headers(ledger)
    if ledger.empty or len(ledger.columns) == 0:
        raise LedgerError("ledger is empty: it needs a header row and at least one data row")
    if key not in ledger.columns:
        msg = f"ledger has no column {key!r} (found {', '.join(map(str, ledger.columns))})"
        raise SchemaError(msg)
    if key not in frame.columns:
        raise SchemaError(f"layer {layer} has no column {key!r} to match the ledger on")
    ledger = ledger.reset_index(drop=True)
    ids = _text(ledger[key])
    known = frame[key].astype("string")
    _check_ids(ids, known, key)
    derived = set(DERIVED_COLUMNS.get(layer, ())) | {"geometry", key, schema.id_column}
    wanted = [c for c in ledger.columns if c in schema.column_names and c not in derived]
    ignored = tuple(str(c) for c in ledger.columns if c not in wanted and c != key)
    row_of = pd.Series(np.arange(len(frame)), index=known.to_numpy())
    target = row_of.reindex(ids.to_numpy()).to_numpy()
    out = frame.copy()
    changed = np.zeros(len(frame), dtype=bool)
    cells = 0
    for name in wanted:
        values = _parse(schema.column(name), _text(ledger[name]))
        given = values.notna().to_numpy()
        rows = target[given]
        new = values[given].reset_index(drop=True)
        old = out[name].iloc[rows].reset_index(drop=True) if name in out.columns else None
        if old is None:
            diff = np.ones(len(rows), dtype=bool)
            out[name] = pd.Series(pd.NA, index=out.index, dtype=values.dtype)
        else:
            diff = (old.astype("string") != new.astype("string")).fillna(True).to_numpy(bool)
        col = out[name].astype(values.dtype) if old is not None else out[name]
        col.iloc[rows] = new.to_numpy()
        out[name] = col
        changed[rows[diff]] = True
        cells += int(diff.sum())
        if name == "households" and "households_estimated" in out.columns:
            out.loc[out.index[rows], "households_estimated"] = False
    return LedgerResult(
        frame=out,
        columns=tuple(wanted),
        ignored=ignored,
        matched=len(ledger),
        changed=int(changed.sum()),
        cells_changed=cells,
        unmatched_layer=int(len(frame) - len(ledger)),
    )


def update_dataset(
    dataset: Dataset,
    ledger: pd.DataFrame,
    *,
    layer: str = "buildings",
    key: str | None = None,
    name: str | None = None,
) -> tuple[Dataset, LedgerResult]:
    """Return ``dataset`` with ``layer`` refreshed from ``ledger``, validated again.

    The layers go through :func:`gridgen.validate.layers.validate_layers` like any input
    (derived columns are derived again; households estimated before and not given by the
    ledger stay marked as estimated). A row that validation would now reject refuses the
    whole ledger.

    Raises
    ------
    LedgerError
        See :func:`apply_ledger`, or when validation rejects a refreshed row.
    """
    from gridgen.validate.layers import validate_layers

    result = apply_ledger(dataset.layer(layer), ledger, layer=layer, key=key)
    raw: dict[str, pd.DataFrame] = {}
    for lname, frame in dataset.layers.items():
        src = result.frame if lname == layer else frame
        raw[lname] = src.drop(columns=list(DERIVED_COLUMNS.get(lname, ())), errors="ignore")
    checked = validate_layers(raw, source=name or dataset.name)
    before, after = len(result.frame), len(checked.layer(layer))
    if after != before:
        rejected = [f.message for f in checked.report.findings if f.action == "rejected"]
        msg = f"after the ledger, validation rejects {before - after} {layer} rows: " + "; ".join(
            rejected[:MAX_NAMED]
        )
        raise LedgerError(msg)
    if layer == "buildings" and "households_estimated" in result.frame.columns:
        flags = result.frame["households_estimated"].astype("boolean").fillna(False).to_numpy()
        checked.layer(layer)["households_estimated"] = flags
    return checked, result
