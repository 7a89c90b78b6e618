"""Reading ledgers (楼栋台账): Excel ``.xlsx`` or CSV in UTF-8 or GBK/GB18030, as text cells.

CSV is tried as UTF-8 (with or without BOM) and then as GB18030, the superset of GBK that
Chinese Excel writes by default. Every cell is read as text (ids such as ``0012`` keep their
zeros); :func:`gridgen.validate.ledger.apply_ledger` parses the values.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from gridgen.errors import (
    DataFileNotFoundError,
    LedgerError,
    UnreadableFileError,
    UnsupportedFormatError,
)

LEDGER_SUFFIXES: tuple[str, ...] = (".xlsx", ".csv")
CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")


def _csv(data: bytes, name: str) -> pd.DataFrame:
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    msg = f"ledger {name}: not UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8 or .xlsx"
    raise UnreadableFileError(msg)


def read_ledger_bytes(data: bytes, name: str) -> pd.DataFrame:
    """Return the first sheet (``.xlsx``) or the table (``.csv``) in ``data`` as text cells."""
    suffix = Path(name).suffix.lower()
    if suffix not in LEDGER_SUFFIXES:
        msg = f"ledger {name}: unsupported format; give an .xlsx workbook or a .csv file"
        raise UnsupportedFormatError(msg)
    if not data.strip():
        raise LedgerError(f"ledger {name} is empty: it needs a header row and data rows")
    try:
        if suffix == ".csv":
            return _csv(data, name)
        return pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
    except (LedgerError, UnreadableFileError):
        raise
    except pd.errors.EmptyDataError as exc:
        raise LedgerError(f"ledger {name} is empty: it needs a header row and data rows") from exc
    except Exception as exc:  # a corrupt workbook or CSV is bad input, not a crash
        msg = f"ledger {name}: cannot be read ({type(exc).__name__}: {exc}); check the file"
        raise UnreadableFileError(msg) from exc


def read_ledger(path: str | Path) -> pd.DataFrame:
    """Return the ledger at ``path`` (see :func:`read_ledger_bytes`)."""
    src = Path(path)
    if not src.is_file():
        raise DataFileNotFoundError(f"ledger {src} does not exist: give the path of .xlsx or .csv")
    return read_ledger_bytes(src.read_bytes(), src.name)
