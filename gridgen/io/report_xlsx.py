"""The governance report as an Excel workbook (openpyxl), and atomic writing of report files.

Sheets: ``区汇总`` (the district: one row per figure with its value, numerator,
denominator and share, and before/after/change when two snapshots are compared), then
``街道`` and ``社区`` (one row per group, one column per figure, a share column after each
share figure), ``变化`` with two snapshots (one row per group and figure), then ``说明``
(what was computed: dataset, radius, mode, band, plan).
Headers are Chinese; shares are formatted as percentages; the header row is frozen and
carries an auto filter; column widths fit their content (CJK characters count double).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from gridgen.coverage.figures import (
    FIGURES,
    Figure,
    GovernanceFigures,
    figures_dict,
)
from gridgen.levels import LEVEL_LABELS

PERCENT = "0.0%"
INTEGER = "#,##0"
DECIMAL = "#,##0.00"
MODE_LABELS = {"walk": "步行（沿道路）", "line": "直线"}


UNKNOWN = "未知"
"""Shown for a figure no office's sheet gave (grids with a party organisation, no sheet)."""


def shown_value(figure: dict[str, Any]) -> Any:
    """Return a figure's value as a report shows it: "未知" when the figure is unknown."""
    if figure["value"] is None and figure.get("unknown_grids"):
        return UNKNOWN
    return figure["value"]


def _width(value: Any) -> int:
    text = (
        value
        if isinstance(value, str)
        else f"{value:,.2f}"
        if isinstance(value, float)
        else str(value)
    )
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _format_sheet(ws: Any, formats: list[str | None], *, freeze: str = "A2") -> None:
    """Bold header, number formats per column, frozen header, auto filter, fitted widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=False)
    for j, fmt in enumerate(formats, start=1):
        letter = get_column_letter(j)
        widest = 4
        for (cell,) in ws.iter_rows(min_col=j, max_col=j):
            if cell.row > 1 and fmt is not None and cell.value is not None:
                cell.number_format = fmt
            if cell.value is not None:
                widest = max(widest, _width(cell.value))
        ws.column_dimensions[letter].width = min(60, widest + 3)
    ws.freeze_panes = freeze
    ws.auto_filter.ref = ws.dimensions


def _fmt(fig: Figure) -> str:
    return DECIMAL if fig.kind == "ratio" else INTEGER


def _summary_sheet(wb: Any, doc: dict[str, Any]) -> None:
    ws = wb.active
    ws.title = "区汇总"
    changes = doc.get("changes", {}).get("district")
    header = ["分类", "指标", "数值", "分子", "分母", "占比"]
    formats: list[str | None] = [None, None, None, INTEGER, INTEGER, PERCENT]
    if changes:
        header += ["之前", "之后", "变化", "之前占比", "之后占比", "占比变化"]
        formats += [None, None, None, PERCENT, PERCENT, PERCENT]
    ws.append(header)
    district = doc["district"]
    for fig in FIGURES:
        f = district[fig.name]
        row: list[Any] = [fig.section, fig.label, shown_value(f)]
        row += [f.get("numerator"), f.get("denominator"), f.get("share")]
        if changes:
            c = changes[fig.name]
            row += [c["before"], c["after"], c["difference"]]
            row += [c.get("share_before"), c.get("share_after"), c.get("share_difference")]
        ws.append(row)
        for col in (3, 7, 8, 9) if changes else (3,):
            ws.cell(ws.max_row, col).number_format = _fmt(fig)
    if changes:
        e = changes["no_property_compounds_eliminated"]
        ws.append(
            ["物业管理", "已消除的无物业小区", e["count"], e["count"], e["denominator"], e["share"]]
        )
        ws.cell(ws.max_row, 3).number_format = INTEGER
    _format_sheet(ws, formats, freeze="C2")
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"


def _level_sheet(wb: Any, doc: dict[str, Any], level: str, key: str) -> None:
    ws = wb.create_sheet(LEVEL_LABELS[level])
    header = [f"{LEVEL_LABELS[level]}编号", f"{LEVEL_LABELS[level]}名称"]
    formats: list[str | None] = [None, None]
    if level == "community":
        header.append("所属街道")
        formats.append(None)
    for fig in FIGURES:
        header.append(fig.label)
        formats.append(_fmt(fig))
        if fig.kind == "share":
            header.append(f"{fig.label}占比")
            formats.append(PERCENT)
    ws.append(header)
    for entry in doc[key]:
        row: list[Any] = [entry["id"], entry["name"]]
        if level == "community":
            row.append(entry["street_id"])
        for fig in FIGURES:
            row.append(shown_value(entry[fig.name]))
            if fig.kind == "share":
                row.append(entry[fig.name]["share"])
        ws.append(row)
    _format_sheet(ws, formats, freeze="C2")


def _changes_sheet(wb: Any, doc: dict[str, Any]) -> None:
    """One row per group and figure: before, after, change (and shares) at every level."""
    ws = wb.create_sheet("变化")
    ws.append(
        ["层级", "编号", "名称", "指标", "之前", "之后", "变化", "之前占比", "之后占比", "占比变化"]
    )
    names = {
        (level, e["id"]): e["name"]
        for level, key in (("street", "streets"), ("community", "communities"))
        for e in doc[key]
    }
    changes = doc["changes"]
    groups = [("district", changes["district"])]
    groups += [("street", e) for e in changes["streets"]]
    groups += [("community", e) for e in changes["communities"]]
    for level, entry in groups:
        name = doc["district"]["name"] if level == "district" else names.get((level, entry["id"]))
        head = [LEVEL_LABELS[level], entry["id"], name]
        for fig in FIGURES:
            c = entry[fig.name]
            shares = [c.get("share_before"), c.get("share_after"), c.get("share_difference")]
            ws.append([*head, fig.label, c["before"], c["after"], c["difference"], *shares])
            for col in (5, 6, 7):
                ws.cell(ws.max_row, col).number_format = _fmt(fig)
        e = entry["no_property_compounds_eliminated"]
        ws.append([*head, "已消除的无物业小区", None, e["count"], e["count"], None, e["share"]])
    _format_sheet(
        ws, [None, None, None, None, None, None, None, PERCENT, PERCENT, PERCENT], freeze="E2"
    )


def _about_sheet(wb: Any, figures: GovernanceFigures, doc: dict[str, Any]) -> None:
    ws = wb.create_sheet("说明")
    ws.append(["项目", "内容"])
    rows = [
        ("数据集", figures.dataset),
        ("站点服务半径（米）", figures.radius),
        ("距离计算", MODE_LABELS.get(figures.mode, figures.mode)),
        ("网格户数标准区间", f"{figures.band[0]}–{figures.band[1]}"),
        ("网格方案", "已提供" if figures.with_plan else "未提供（网格类指标为0）"),
        ("对比", "已与之前的数据比较" if "changes" in doc else "无"),
    ]
    for row in rows:
        ws.append(list(row))
    _format_sheet(ws, [None, None])


def workbook_bytes(figures: GovernanceFigures, *, changes: dict[str, Any] | None = None) -> bytes:
    """Return the report as ``.xlsx`` bytes (see the module docstring for the sheets)."""
    from openpyxl import Workbook

    doc = figures_dict(figures, changes=changes)
    wb = Workbook()
    _summary_sheet(wb, doc)
    _level_sheet(wb, doc, "street", "streets")
    _level_sheet(wb, doc, "community", "communities")
    if changes is not None:
        _changes_sheet(wb, doc)
    _about_sheet(wb, figures, doc)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
