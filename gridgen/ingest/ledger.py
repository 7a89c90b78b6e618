"""Reading a population ledger (一标三实 / 房屋人口台账) into normalised rows.

The sheet is read streaming within limits (:mod:`gridgen.io.spreadsheet`). The header is
the row among the first twenty that names the most ledger columns (title rows above it,
such as ``东一社区房屋人口台账``, are skipped); columns are found by their usual names
(:mod:`gridgen.ingest.columns`). Each data row keeps its 1-based number (the first row
under the header is row 1) and gets:

- ``compound``, ``building``, ``room``, ``doorplate``: keys from the split columns, or else
  from the standard address (:mod:`gridgen.ingest.addresses`);
- ``residents``: a whole number, or NA when blank or not a number (noted);
- ``lon``/``lat``: the door-plate coordinates in WGS84 (converted from GCJ-02, BD-09 or an
  EPSG system), NaN when blank or unreadable (noted);
- ``duplicate_of``: the row it repeats exactly (every cell the same, sequence-number
  columns such as 序号 aside), else NA.

A blank row between data rows (nothing but maybe its 序号) is kept and reported as blank;
blank rows at the end are not data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from gridgen.errors import LedgerError, UnknownCRSError
from gridgen.ingest.addresses import (
    building_key,
    compound_key,
    folded_text,
    parse_address,
    room_key,
)
from gridgen.ingest.columns import FIELDS, ColumnMap, find_columns, folded
from gridgen.io.crs import WGS84, DeclaredCRS, bd09_to_wgs84, gcj02_to_wgs84, parse_crs
from gridgen.io.spreadsheet import HEADER_SLACK, Rows, TableLimits, table_rows

SEQUENCE_HEADERS = frozenset({"序号", "序", "编号", "行号", "no", "no.", "id", "fid", "index"})
"""Columns left out when looking for exact duplicates (a copied row gets a new number)."""

LEDGER_FIELDS = tuple(FIELDS["ledger"])


@dataclass(frozen=True)
class Ledger:
    """A ledger read and normalised (one row per data row, in sheet order).

    Attributes
    ----------
    frame
        Columns ``row``, ``compound``, ``building``, ``room``, ``doorplate``, ``residents``
        (Int64), ``lon``, ``lat`` (WGS84, NaN when absent), ``note`` (what was noticed while
        reading: bad coordinates, residents not a number, a blank row) and ``duplicate_of``.
    columns
        Field → the header used.
    header_row
        The header's row number in the sheet (1 = the first row).
    crs
        The coordinate system the ledger's coordinates were read in.
    ignored
        Headers not used.
    """

    frame: pd.DataFrame
    columns: dict[str, str]
    header_row: int
    crs: str
    ignored: tuple[str, ...] = field(default=())

    @property
    def rows(self) -> int:
        """Return the number of data rows."""
        return len(self.frame)


def _header_index(rows: Rows, name: str, mapping: ColumnMap | None) -> int:
    """Return the index of the header row (the one naming most ledger columns)."""
    known = {folded(n) for names in FIELDS["ledger"].values() for n in names}
    if mapping is not None:
        known |= {folded(c) for c in mapping.overrides.get("ledger", {}).values()}
    best, best_hits = -1, 0
    for i, row in enumerate(rows[: HEADER_SLACK + 1]):
        hits = sum(1 for cell in row if cell is not None and folded(cell) in known)
        if hits > best_hits:
            best, best_hits = i, hits
    if best < 0 or best_hits < 2:
        sample = ", ".join(str(c) for c in (rows[0] if rows else []) if c)[:200] or "nothing"
        msg = (
            f"ledger {name} is not a table with a header row: none of its first "
            f"{HEADER_SLACK + 1} rows names two ledger columns (such as 小区名称, 楼栋, 单元, "
            f"房号, 标准地址, 人口数, 经度, 纬度); the first row holds {sample}"
        )
        raise LedgerError(msg)
    return best


def _table(rows: Rows, name: str, mapping: ColumnMap | None) -> tuple[pd.DataFrame, int]:
    """Return the data rows as a frame of text under their headers, and the header index."""
    h = _header_index(rows, name, mapping)
    width = max((len(r) for r in rows[h:]), default=0)
    header = [str(c) if c is not None else f"column {j + 1}" for j, c in enumerate(rows[h])]
    header += [f"column {j + 1}" for j in range(len(header), width)]
    seen: dict[str, int] = {}
    for j, text in enumerate(header):  # two columns of one name: the second is "名称 (2)"
        seen[text] = seen.get(text, 0) + 1
        if seen[text] > 1:
            header[j] = f"{text} ({seen[text]})"
    data = rows[h + 1 :]
    end = len(data)
    while end and not any(data[end - 1]):
        end -= 1
    body = [r + [None] * (width - len(r)) if len(r) < width else r for r in data[:end]]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    return frame, h


_NUMBER = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return floats of text cells (NaN when blank or bad) and the mask of bad cells.

    Plain numbers are parsed at once; only the others are folded first (full-width digits,
    a decimal comma) and tried again.
    """
    text = values.astype(object).where(values.notna(), None)
    nums = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, copy=True)
    given = text.notna().to_numpy()
    retry = np.flatnonzero(given & ~np.isfinite(nums))
    if len(retry):
        folded = [folded_text(str(v)).replace(",", ".") for v in text.iloc[retry]]
        nums[retry] = pd.to_numeric(pd.Series(folded, dtype=object), errors="coerce").to_numpy(
            float
        )
    return nums, given & ~np.isfinite(nums)


def _residents(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    digits = values.map(
        lambda v: None if v is None else re.sub(r"[人口名个]$", "", folded_text(str(v)))
    )
    nums = pd.to_numeric(digits, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(nums) & (nums >= 0) & (nums == np.round(nums))
    bad = digits.notna().to_numpy() & ~ok
    out = pd.array(np.where(ok, nums, 0).astype(np.int64), dtype="Int64")
    out[~ok] = pd.NA
    return pd.Series(out, index=values.index), bad


def _to_wgs84(lon: np.ndarray, lat: np.ndarray, declared: DeclaredCRS) -> tuple[np.ndarray, ...]:
    if declared.chinese == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if declared.chinese == "bd09":
        return bd09_to_wgs84(lon, lat)
    assert declared.crs is not None
    if declared.crs.equals(WGS84):
        return lon, lat
    tr = pyproj.Transformer.from_crs(declared.crs, WGS84, always_xy=True)
    x, y = tr.transform(lon, lat, errcheck=False)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _coordinates(
    frame: pd.DataFrame, cols: dict[str, str], declared: DeclaredCRS
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Return WGS84 lon, lat (NaN where absent or bad) and a note per row."""
    n = len(frame)
    notes: list[str | None] = [None] * n
    if "lon" not in cols or "lat" not in cols:
        return np.full(n, np.nan), np.full(n, np.nan), notes
    lon, bad_lon = _numbers(frame[cols["lon"]])
    lat, bad_lat = _numbers(frame[cols["lat"]])
    for i in np.flatnonzero(bad_lon | bad_lat):
        notes[i] = (
            f"coordinates not numbers ({frame[cols['lon']].iloc[i]}, "
            f"{frame[cols['lat']].iloc[i]}): ignored"
        )
    lonlat = declared.chinese is not None or (
        declared.crs is not None and declared.crs.is_geographic
    )
    given = np.isfinite(lon) & np.isfinite(lat)
    if lonlat:
        out_of_range = given & (
            (np.abs(lon) > 180) | (np.abs(lat) > 90) | ((lon == 0) & (lat == 0))
        )
        for i in np.flatnonzero(out_of_range):
            notes[i] = f"coordinates ({lon[i]}, {lat[i]}) are not longitude/latitude: ignored"
        given &= ~out_of_range
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if given.any():
        x[given], y[given] = _to_wgs84(lon[given], lat[given], declared)
    return x, y, notes


def _keys(frame: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """Return compound, building, room and doorplate keys per row (columns over address)."""

    def col(name: str) -> list[str | None]:
        return frame[cols[name]].tolist() if name in cols else [None] * len(frame)

    parsed = [parse_address(a) for a in col("address")]
    compound = [
        compound_key(c) if c is not None else compound_key(p.compound)
        for c, p in zip(col("compound"), parsed, strict=True)
    ]
    building = [
        building_key(b) if b is not None else p.building
        for b, p in zip(col("building"), parsed, strict=True)
    ]
    room = [
        room_key(u if u is not None else p.unit, r if r is not None else p.room)
        for u, r, p in zip(col("unit"), col("room"), parsed, strict=True)
    ]
    return pd.DataFrame(
        {
            "compound": compound,
            "building": building,
            "room": room,
            "doorplate": [p.doorplate for p in parsed],
        },
        index=frame.index,
        dtype=object,
    )


def _duplicates(frame: pd.DataFrame) -> pd.Series:
    """Return, per row, the 1-based number of the earlier row it repeats exactly (else NA)."""
    compared = [c for c in frame.columns if folded(c) not in SEQUENCE_HEADERS]
    if not compared:
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")
    keyed = frame[compared].fillna("").astype(str)
    blank = (keyed == "").all(axis=1).to_numpy()
    codes = pd.util.hash_pandas_object(keyed, index=False).to_numpy()
    first = pd.Series(np.arange(len(frame)), index=codes).groupby(level=0).transform("min")
    first_row = first.to_numpy() + 1
    dup = (first_row != np.arange(1, len(frame) + 1)) & ~blank
    out = pd.array(np.where(dup, first_row, 0), dtype="Int64")
    out[~dup] = pd.NA
    return pd.Series(out, index=frame.index)


def ledger_from_rows(
    rows: Rows,
    name: str,
    *,
    crs: str | int | None = "gcj02",
    mapping: ColumnMap | None = None,
) -> Ledger:
    """Return the normalised ledger of raw sheet rows (see the module docstring).

    Raises
    ------
    LedgerError
        No header row, no data row, or neither an address nor a building column.
    SchemaError
        A ``--map`` column the sheet does not hold.
    UnknownCRSError
        ``crs`` is not a coordinate system.
    """
    declared = parse_crs(crs)
    if (
        declared.crs is not None
        and declared.crs.is_projected is False
        and not declared.crs.is_geographic
    ):
        raise UnknownCRSError(f"--ledger-crs {crs}: give gcj02, bd09 or an EPSG code")
    frame, h = _table(rows, name, mapping)
    if frame.empty:
        raise LedgerError(f"ledger {name} has a header row but no data rows")
    cols = find_columns(list(frame.columns), "ledger", source=f"ledger {name}", mapping=mapping)
    if "address" not in cols and "building" not in cols:
        msg = (
            f"ledger {name}: no column for the address or the building (looked for "
            f"{', '.join(FIELDS['ledger']['address'] + FIELDS['ledger']['building'])}); the "
            f"sheet has {', '.join(map(str, frame.columns))}; name one with --map "
            "ledger.address=COLUMN or --map ledger.building=COLUMN"
        )
        raise LedgerError(msg)
    keys = _keys(frame, cols)
    lon, lat, notes = _coordinates(frame, cols, declared)
    residents = pd.Series(pd.array([pd.NA] * len(frame), dtype="Int64"), index=frame.index)
    if "residents" in cols:
        residents, bad = _residents(frame[cols["residents"]])
        for i in np.flatnonzero(bad):
            extra = f"residents {frame[cols['residents']].iloc[i]!r} not a whole number: counted 0"
            notes[i] = f"{notes[i]}; {extra}" if notes[i] else extra
    content = [c for c in frame.columns if folded(c) not in SEQUENCE_HEADERS]
    blank = frame[content].isna().all(axis=1).to_numpy()
    for i in np.flatnonzero(blank):
        notes[i] = "blank row"
    out = keys.assign(
        row=np.arange(1, len(frame) + 1),
        residents=residents,
        lon=lon,
        lat=lat,
        note=pd.Series(notes, index=keys.index, dtype=object),
        duplicate_of=_duplicates(frame),
    )
    used = set(cols.values())
    return Ledger(
        frame=out.reset_index(drop=True),
        columns=cols,
        header_row=h + 1,
        crs=declared.label,
        ignored=tuple(str(c) for c in frame.columns if c not in used),
    )


def read_ledger_file(
    data: bytes | Path,
    name: str,
    *,
    crs: str | int | None = "gcj02",
    mapping: ColumnMap | None = None,
    limits: TableLimits | None = None,
) -> Ledger:
    """Return the normalised ledger in ``data`` (``.xlsx``, ``.xls`` or ``.csv``).

    Raises
    ------
    TooManyRowsError
        The sheet passes ``limits`` (rows, columns, inflated size).
    LedgerError, UnreadableFileError, UnsupportedFormatError, SchemaError, UnknownCRSError
        One line naming the file and what to fix.
    """
    rows = table_rows(data, name, limits=limits)
    return ledger_from_rows(rows, name, crs=crs, mapping=mapping)
