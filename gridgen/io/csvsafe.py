"""The one CSV writer: cells that a spreadsheet would run as a formula are neutralised.

OWASP's rule for CSV injection: a cell beginning with ``=``, ``+``, ``-``, ``@``, tab or
carriage return is a formula in Excel and LibreOffice; prefixing a single quote makes it
text. Every CSV gridgen writes (CLI tables, ``/coverage?f=csv`` and the other API tables)
goes through :func:`csv_text` or :func:`write_csv`. Numbers stay numbers (a negative number
in a numeric column is not a formula); only text cells and column names are changed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from gridgen.io.atomic import atomic_path

FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Return ``value`` with a leading ``'`` when it is text starting a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` (geometry dropped) with every text cell and column name neutralised."""
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col].dtype) and not pd.api.types.is_bool_dtype(
            out[col].dtype
        ):
            out[col] = out[col].map(neutralise, na_action="ignore")
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def csv_text(frame: pd.DataFrame, *, bom: bool = True) -> str:
    """Return ``frame`` as CSV text (RFC 4180 line ends; a UTF-8 BOM for Excel when ``bom``)."""
    buf = io.StringIO()
    csv_safe(frame).to_csv(buf, index=False, lineterminator="\r\n")  # RFC 4180: CR quoted
    return ("\ufeff" if bom else "") + buf.getvalue()


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV (UTF-8 with BOM, opens in Excel) atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(csv_text(frame), encoding="utf-8")
    return Path(path)
