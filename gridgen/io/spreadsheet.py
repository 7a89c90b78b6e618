"""Spreadsheets and CSV read as rows of text, streaming, within limits on rows and inflated size.

A ledger (一标三实, 楼栋台账) arrives as Excel or CSV. An ``.xlsx`` is a zip of XML: a file
of 0.65 MiB can inflate to three million rows, and a single stray cell at ``XFD1048576``
makes a reader allocate the whole empty range. So before any cell is parsed,
:func:`check_xlsx` streams through the first worksheet's XML once (zlib in 1 MiB chunks,
nothing kept) and refuses, naming the limit:

- members whose declared inflated size passes ``max_inflated_bytes`` (the zip reader never
  inflates a member past its declared size, so the declaration is binding);
- more data rows than ``max_rows``, or a used range reaching past it;
- more columns than :data:`MAX_COLUMNS`.

That pass costs about a second for a 300,000-row ledger and stops at the first row past
the limit. Only then are the cells read, with python-calamine (Rust; about ten times
faster than openpyxl's read-only mode, which we measured at ~20 s for 300,000 rows of 12
columns), which holds at most the checked range. CSV is read row by row with the
standard library's C reader (UTF-8 with or without BOM, then GB18030, the superset of GBK
that Chinese Excel writes) and stops one row past the limit.

Cells come back as stripped text (``None`` for blank); whole numbers without ``.0``, so
ids such as room ``501`` and codes keep their form.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from gridgen.errors import (
    DataFileNotFoundError,
    LedgerError,
    TooManyRowsError,
    UnreadableFileError,
    UnsupportedFormatError,
)

EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
TABLE_SUFFIXES: tuple[str, ...] = (*EXCEL_SUFFIXES, ".xls", ".csv")
CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")
DEFAULT_MAX_ROWS = 500_000
"""Most data rows a table may hold (a district's 一标三实 ledger has 100k-300k)."""
DEFAULT_MAX_INFLATED_BYTES = 512 * 1024 * 1024
"""Most bytes a workbook's XML may inflate to (a 300,000-row ledger: about 150 MB)."""
MAX_COLUMNS = 128
"""Most columns a table may span (ledgers have 10-40)."""
HEADER_SLACK = 20
"""Rows above the data allowed on top of ``max_rows`` (title rows and the header)."""
CHUNK = 1 << 20

Cell = str | None
Rows = list[list[Cell]]


@dataclass(frozen=True)
class TableLimits:
    """Limits on what a table may inflate to.

    Attributes
    ----------
    max_rows
        Most data rows (the reader stops one row past it).
    max_inflated_bytes
        Most bytes the members of an ``.xlsx`` may inflate to (declared sizes, binding).
    max_columns
        Most columns.
    """

    max_rows: int = DEFAULT_MAX_ROWS
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES
    max_columns: int = MAX_COLUMNS


def _too_many_rows(name: str, limits: TableLimits, seen: str) -> TooManyRowsError:
    msg = (
        f"{name}: {seen} rows, more than the limit of {limits.max_rows} rows a table may hold "
        "here; split the file (for example per street or community) or raise the limit "
        "(--max-rows, GRIDGEN_LEDGER_MAX_ROWS)"
    )
    return TooManyRowsError(msg)


# -- xlsx: the streaming check --------------------------------------------------------------
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_SMALL_XML = 4 << 20
_ROW, _ROW_NUMBER = re.compile(rb"<row[\s>/]"), re.compile(rb'<row[^>]*? r="(\d+)"')


def _small_xml(archive: zipfile.ZipFile, member: str, name: str) -> ElementTree.Element:
    """Return the parsed XML of a small package part (workbook, relationships)."""
    info = archive.getinfo(member)
    if info.file_size > _SMALL_XML:
        raise UnreadableFileError(f"{name}: {member} is {info.file_size} bytes; not a workbook")
    return ElementTree.fromstring(archive.read(member))


def first_sheet_member(archive: zipfile.ZipFile, name: str) -> str:
    """Return the zip member holding the first worksheet of an ``.xlsx`` archive."""
    members = set(archive.namelist())
    if "xl/workbook.xml" not in members:
        raise UnreadableFileError(
            f"{name}: not an Excel workbook (no xl/workbook.xml); save as .xlsx"
        )
    book = _small_xml(archive, "xl/workbook.xml", name)
    sheet = next((el for el in book.iter() if el.tag.endswith("}sheet")), None)
    if sheet is None or sheet.get(_NS_REL) is None:
        raise LedgerError(f"{name}: the workbook has no worksheet; put the ledger on a sheet")
    rels_member = "xl/_rels/workbook.xml.rels"
    if rels_member not in members:
        raise UnreadableFileError(f"{name}: the workbook has no {rels_member}; save it again")
    rels = _small_xml(archive, rels_member, name)
    target = next(
        (el.get("Target", "") for el in rels.iter() if el.get("Id") == sheet.get(_NS_REL)), ""
    )
    path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    member = str(PurePosixPath(path))
    if member not in members:
        raise UnreadableFileError(f"{name}: the first sheet ({member}) is missing; save it again")
    return member


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _far_cells(max_columns: int, cap_rows: int) -> re.Pattern[bytes]:
    """Return a pattern of cell references that may lie past the column or row limit.

    Only references with at least as many column letters as the limit's own column (for
    128 columns, ``DX``: two or three letters), or a row number with more digits than the
    cap, or as many and a first digit at least the cap's (for 500,020: 500000 and up),
    match; so a ledger within the limits costs next to no match. Groups: (letters, row).
    """
    letters = len(_column_letters(max_columns))
    digits = str(cap_rows)
    n = len(digits)
    return re.compile(
        rb' r="(?:([A-Z]{%d,3})\d|[A-Z]{1,3}(\d{%d,}|[%s-9]\d{%d})")'
        % (letters, n + 1, digits[0].encode(), n - 1)
    )


def _row_patterns(head: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Return the patterns of a row start and a row number, with the sheet's tag prefix.

    Most writers use no prefix (``<row r="2">``); some (.NET) write ``<x:row>``. Patterns
    starting with a literal run about five times faster than ones starting with a class.
    """
    found = re.search(rb"<(\w+:)?sheetData[\s>/]", head)
    prefix = re.escape(found.group(1) or b"") if found else b""
    return (
        re.compile(rb"<" + prefix + rb"row[\s>/]"),
        re.compile(rb"<" + prefix + rb'row[^>]*? r="(\d+)"'),
    )


def _scan_sheet(chunks: Iterator[bytes], name: str, limits: TableLimits) -> None:
    """Count rows and find the used range of a worksheet's XML, refusing past the limits."""
    cap_rows = limits.max_rows + HEADER_SLACK
    far = _far_cells(limits.max_columns, cap_rows)
    row_start, row_number = _ROW, _ROW_NUMBER
    rows = max_row = max_col = 0
    tail = b""
    for i, chunk in enumerate(chunks):
        if i == 0:
            row_start, row_number = _row_patterns(chunk)
        data = tail + chunk
        cut = max(0, data.rfind(b"<"))  # the last tag may be cut: it is seen whole next time
        body, tail = data[:cut], data[cut:]
        rows += len(row_start.findall(body))
        cells = far.findall(body)
        numbers = row_number.findall(body) + [row for _, row in cells if row]
        if numbers:
            max_row = max(max_row, *map(int, numbers))
        letters = {col for col, _ in cells if col}
        if letters:
            max_col = max(max_col, *map(_column_number, letters))
        if rows > cap_rows or max_row > cap_rows:
            seen = f"more than {cap_rows}" if rows > cap_rows else f"a used range to row {max_row},"
            raise _too_many_rows(name, limits, seen)
        if max_col > limits.max_columns:
            msg = (
                f"{name}: the sheet spans {max_col} columns, more than the {limits.max_columns} "
                "a table may have here; delete stray cells far to the right"
            )
            raise TooManyRowsError(msg)
    rows += len(row_start.findall(tail))
    if rows > cap_rows:
        raise _too_many_rows(name, limits, f"more than {cap_rows}")


def _member_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    with archive.open(member) as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def check_xlsx(data: bytes | Path, name: str, limits: TableLimits) -> None:
    """Raise unless the workbook stays within ``limits`` (streaming; nothing is kept).

    Raises
    ------
    TooManyRowsError
        Inflated size, rows or columns past the limits (the message names the limit).
    UnreadableFileError
        Not a zip, not a workbook, or a corrupt member.
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with zipfile.ZipFile(source) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
            if inflated > limits.max_inflated_bytes:
                msg = (
                    f"{name}: inflates to {inflated} bytes, more than the limit of "
                    f"{limits.max_inflated_bytes} bytes a workbook may inflate to here; split "
                    "the ledger or raise the limit (GRIDGEN_LEDGER_MAX_INFLATED_BYTES)"
                )
                raise TooManyRowsError(msg)
            member = first_sheet_member(archive, name)
            _scan_sheet(_member_chunks(archive, member), name, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ElementTree.ParseError) as exc:
        msg = f"{name}: not a readable Excel workbook ({exc}); save it again as .xlsx or as CSV"
        raise UnreadableFileError(msg) from exc


# -- cells ----------------------------------------------------------------------------------
def cell_text(value: object) -> Cell:
    """Return a cell as stripped text (``None`` when blank); whole floats without ``.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _excel_rows(data: bytes | Path, name: str, limits: TableLimits) -> Rows:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = (
            CalamineWorkbook.from_filelike(io.BytesIO(data))
            if isinstance(data, bytes)
            else CalamineWorkbook.from_path(str(data))
        )
        if not book.sheet_names:
            raise LedgerError(f"{name}: the workbook has no worksheet; put the ledger on a sheet")
        sheet = book.get_sheet_by_index(0)
        if sheet.height > limits.max_rows + HEADER_SLACK:  # .xls: no streaming check before
            raise _too_many_rows(name, limits, str(sheet.height))
        if sheet.width > limits.max_columns:
            msg = f"{name}: the sheet spans {sheet.width} columns, more than {limits.max_columns}"
            raise TooManyRowsError(msg)
        rows = [[cell_text(v) for v in row] for row in sheet.iter_rows()]
    except CalamineError as exc:
        msg = f"{name}: not a readable Excel workbook ({exc}); save it again as .xlsx or as CSV"
        raise UnreadableFileError(msg) from exc
    except (ValueError, OSError) as exc:  # calamine's zip/xml errors surface as these too
        msg = f"{name}: not a readable Excel workbook ({exc}); save it again as .xlsx or as CSV"
        raise UnreadableFileError(msg) from exc
    return rows


# -- csv ------------------------------------------------------------------------------------
def decode_text(data: bytes, name: str) -> str:
    """Return ``data`` decoded as UTF-8 (BOM or not) or GB18030/GBK, else a clear error."""
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    msg = (
        f"{name}: the text is neither UTF-8 nor GBK/GB18030; save it as CSV UTF-8 "
        "(Excel: 另存为 → CSV UTF-8) or as .xlsx"
    )
    raise UnreadableFileError(msg)


def _csv_rows(data: bytes, name: str, limits: TableLimits) -> Rows:
    text = decode_text(data, name)
    if "\x00" in text[:4096]:
        msg = f"{name}: holds NUL bytes, so it is not a CSV text file; save it as CSV or .xlsx"
        raise UnreadableFileError(msg)
    cap_rows = limits.max_rows + HEADER_SLACK
    rows: Rows = []
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        for record in csv.reader(io.StringIO(text), dialect):
            if len(rows) >= cap_rows:
                raise _too_many_rows(name, limits, f"more than {cap_rows}")
            if len(record) > limits.max_columns:
                msg = f"{name}: row {len(rows) + 1} has {len(record)} columns, more than the limit"
                raise TooManyRowsError(f"{msg} of {limits.max_columns}")
            rows.append([cell_text(v) for v in record])
    except csv.Error as exc:
        msg = f"{name}: not a valid CSV (line {len(rows) + 1}: {exc}); save it again as CSV"
        raise UnreadableFileError(msg) from exc
    return rows


# -- entry points -----------------------------------------------------------------------
def table_rows(data: bytes | Path, name: str, *, limits: TableLimits | None = None) -> Rows:
    """Return every row of the first sheet (``.xlsx``/``.xls``) or of the CSV, as text cells.

    Parameters
    ----------
    data
        The file's bytes, or its path (read from disk).
    name
        File name (its suffix says the format) used in messages.
    limits
        Row, column and inflated-size limits (default :class:`TableLimits`).

    Raises
    ------
    UnsupportedFormatError, UnreadableFileError, TooManyRowsError, LedgerError
        One line naming the file (and the limit passed).
    """
    limits = limits or TableLimits()
    suffix = Path(name).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        msg = f"{name}: unsupported format; give an Excel workbook (.xlsx) or a CSV file (.csv)"
        raise UnsupportedFormatError(msg)
    if isinstance(data, Path) and not data.is_file():
        raise DataFileNotFoundError(f"{data}: no such file; give the path of an .xlsx or .csv")
    size = len(data) if isinstance(data, bytes) else data.stat().st_size
    if size == 0:
        raise LedgerError(f"{name} is empty: it needs a header row and data rows")
    if suffix in EXCEL_SUFFIXES:
        check_xlsx(data, name, limits)
        return _excel_rows(data, name, limits)
    if suffix == ".xls":
        return _excel_rows(data, name, limits)
    raw = data if isinstance(data, bytes) else data.read_bytes()
    return _csv_rows(raw, name, limits)
