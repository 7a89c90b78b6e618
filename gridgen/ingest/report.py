"""The match report of ``gridgen ingest``: what became of every ledger row (JSON or workbook).

The report balances: rows = matched (coordinate + address + both) + duplicates + unmatched.
It holds the totals (unmatched by cause), one entry per building (households, residents,
rows) and one per ledger row (``row``: its 1-based data row number, ``building_id`` or
empty, ``how``, ``reason``), so an office can fix its ledger row by row. The workbook has
Chinese headers (汇总, 楼栋, 台账行), a frozen header row and filters; it is written with
openpyxl's write-only mode (constant memory).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gridgen.errors import UnsupportedFormatError
from gridgen.ingest.matching import CAUSES, Matching

HOW_LABELS: dict[str, str] = {
    "coordinate": "坐标",
    "address": "地址",
    "both": "坐标和地址",
    "duplicate": "重复",
    "unmatched": "未匹配",
}
REPORT_SUFFIXES = (".json", ".xlsx")


@dataclass(frozen=True)
class MatchReport:
    """The match report.

    Attributes
    ----------
    totals
        ``rows``, ``matched``, ``coordinate``, ``address``, ``both``, ``duplicates``,
        ``unmatched``, ``unmatched_by_cause``, ``balanced``, ``groups``, ``footprints``,
        ``footprints_with_households``, ``households``, ``residents``.
    buildings
        ``building_id``, ``households``, ``residents``, ``rows`` per matched footprint.
    rows
        ``row``, ``building_id``, ``how``, ``reason`` (and ``cause``) per ledger row.
    ledger
        What was read: file, header row, columns used and ignored, coordinate system.
    notes
        What was decided while reading the inputs.
    """

    totals: dict[str, Any]
    buildings: pd.DataFrame
    rows: pd.DataFrame
    ledger: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON values."""
        rows = self.rows.drop(columns=["cause"], errors="ignore")
        return {
            "totals": self.totals,
            "ledger": self.ledger,
            "notes": list(self.notes),
            "causes": CAUSES,
            "buildings": _records(self.buildings),
            "rows": _records(rows),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    records = [{str(k): v for k, v in rec.items()} for rec in out.to_dict(orient="records")]
    for rec in records:
        for key, value in rec.items():
            if hasattr(value, "item"):
                rec[key] = value.item()
            elif value is None and key in ("building_id", "reason"):
                rec[key] = ""
    return records


def match_report(
    matching: Matching,
    *,
    footprints: int,
    ledger: dict[str, Any] | None = None,
    notes: tuple[str, ...] = (),
) -> MatchReport:
    """Return the report of ``matching`` (``footprints``: footprints in the dataset)."""
    how = Counter(matching.rows["how"].tolist())
    matched = how["coordinate"] + how["address"] + how["both"]
    causes = Counter(matching.rows["cause"].dropna().tolist())
    n = len(matching.rows)
    totals: dict[str, Any] = {
        "rows": n,
        "matched": matched,
        "coordinate": how["coordinate"],
        "address": how["address"],
        "both": how["both"],
        "duplicates": how["duplicate"],
        "unmatched": how["unmatched"],
        "unmatched_by_cause": dict(sorted(causes.items())),
        "balanced": n == matched + how["duplicate"] + how["unmatched"],
        "groups": matching.groups,
        "footprints": footprints,
        "footprints_with_households": int((matching.buildings["households"] > 0).sum()),
        "households": int(matching.buildings["households"].sum()),
        "residents": int(matching.buildings["residents"].sum()),
    }
    return MatchReport(totals, matching.buildings, matching.rows, dict(ledger or {}), notes)


_SUMMARY_LABELS: dict[str, str] = {
    "rows": "台账行数",
    "matched": "已匹配",
    "coordinate": "按坐标",
    "address": "按地址",
    "both": "坐标和地址一致",
    "duplicates": "重复行",
    "unmatched": "未匹配",
    "groups": "楼栋组数",
    "footprints": "建筑轮廓数",
    "footprints_with_households": "有住户的建筑",
    "households": "户数",
    "residents": "人口数",
}


def _write_xlsx(report: MatchReport, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], widths: list[int]) -> Any:
        ws = book.create_sheet(title)
        for i, width in enumerate(widths):
            ws.column_dimensions[chr(65 + i)].width = width
        ws.freeze_panes = "A2"
        cells = []
        for text in header:
            cell = WriteOnlyCell(ws, value=text)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        return ws

    summary = sheet("汇总", ["项目", "数量"], [28, 14])
    for key, label in _SUMMARY_LABELS.items():
        summary.append([label, report.totals[key]])
    for cause, count in report.totals["unmatched_by_cause"].items():
        summary.append([f"未匹配：{CAUSES.get(cause, cause)}", count])
    summary.append(
        ["行数平衡（行数 = 已匹配 + 重复 + 未匹配）", "是" if report.totals["balanced"] else "否"]
    )
    for note in report.notes:
        summary.append(["说明", note])

    buildings = sheet("楼栋", ["楼栋编号", "户数", "人口数", "台账行数"], [16, 10, 10, 10])
    buildings.auto_filter.ref = f"A1:D{len(report.buildings) + 1}"
    totals = report.buildings
    for values in zip(
        totals["building_id"].tolist(),
        totals["households"].astype(int).tolist(),
        totals["residents"].astype(int).tolist(),
        totals["rows"].astype(int).tolist(),
        strict=True,
    ):
        buildings.append(list(values))

    rows = sheet("台账行", ["行号", "楼栋编号", "匹配方式", "原因"], [10, 16, 12, 90])
    rows.auto_filter.ref = f"A1:D{len(report.rows) + 1}"
    labels = [HOW_LABELS[h] for h in report.rows["how"]]
    for row, bid, label, reason in zip(
        report.rows["row"].tolist(),
        report.rows["building_id"].tolist(),
        labels,
        report.rows["reason"].tolist(),
        strict=True,
    ):
        rows.append([row, bid or "", label, reason or ""])
    book.save(path)


def write_match_report(report: MatchReport, path: str | Path) -> Path:
    """Write ``report`` as ``.json`` or ``.xlsx`` (atomically: a temporary file, then rename).

    Raises
    ------
    UnsupportedFormatError
        Another suffix.
    """
    from gridgen.io.atomic import atomic_path

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        msg = f"{target.name}: the match report is written as .json or .xlsx"
        raise UnsupportedFormatError(msg)
    with atomic_path(target) as tmp:
        if suffix == ".json":
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(report.to_dict(), fh, ensure_ascii=False, separators=(",", ":"))
        else:
            _write_xlsx(report, tmp)
    return target
