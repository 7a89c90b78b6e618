"""Reading ledgers (楼栋台账): Excel ``.xlsx`` or CSV in UTF-8 or GBK/GB18030, as text cells.

The sheet is read streaming within limits on rows and inflated size
(:mod:`gridgen.io.spreadsheet`); CSV is tried as UTF-8 (with or without BOM) and then as
GB18030, the superset of GBK that Chinese Excel writes by default. Every cell is read as
text (ids such as ``0012`` keep their zeros); :func:`gridgen.validate.ledger.apply_ledger`
parses the values.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gridgen.errors import DataFileNotFoundError
from gridgen.io.spreadsheet import TABLE_SUFFIXES, TableLimits, table_rows

LEDGER_SUFFIXES: tuple[str, ...] = TABLE_SUFFIXES


def read_ledger_bytes(
    data: bytes | Path, name: str, *, limits: TableLimits | None = None
) -> pd.DataFrame:
    """Return the first sheet (``.xlsx``) or the table (``.csv``) in ``data`` as text cells.

    The sheet is read streaming within ``limits`` (rows, inflated size: see
    :mod:`gridgen.io.spreadsheet`); the first row is the header.

    Raises
    ------
    UnsupportedFormatError, UnreadableFileError, LedgerError, TooManyRowsError
        One line naming the file (and the limit passed).
    """
    rows = table_rows(data, f"ledger {name}", limits=limits)
    header = [text if text is not None else f"column {j + 1}" for j, text in enumerate(rows[0])]
    width = max(len(header), *(len(r) for r in rows[1:])) if len(rows) > 1 else len(header)
    header += [f"column {j + 1}" for j in range(len(header), width)]
    body = [r + [None] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


def read_ledger(path: str | Path, *, limits: TableLimits | None = None) -> pd.DataFrame:
    """Return the ledger at ``path`` (see :func:`read_ledger_bytes`)."""
    src = Path(path)
    if not src.is_file():
        raise DataFileNotFoundError(f"ledger {src} does not exist: give the path of .xlsx or .csv")
    return read_ledger_bytes(src, src.name, limits=limits)
