"""Workbooks of the grid records: the change order with its handover sheets (交接单).

Headers are Chinese, header rows bold and frozen, widths fit the content (CJK characters
count double) and every sheet prints on A4 portrait, one page wide. The audit's list of
fixes (整改清单) and the nesting report use :func:`table_sheet` too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

STATUS_LABELS = {"kept": "未变", "changed": "调整", "new": "新增", "retired": "撤销"}
"""Chinese names of a code's status in a change order."""
UNKNOWN_WORKER = "未登记"
"""Shown where a plan names no grid worker."""
SHEET_NAME_MAX = 31


def text_width(value: Any) -> int:
    """Return the printed width of a cell value (CJK characters count double)."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _bold(ws: Any, row: int, *, fill: str | None = "DDEBF7") -> None:
    from openpyxl.styles import Font, PatternFill

    for cell in ws[row]:
        if cell.value is None:
            continue
        cell.font = Font(bold=True)
        if fill is not None:
            cell.fill = PatternFill("solid", fgColor=fill)


def _fit(ws: Any, *, least: int = 6, most: int = 50) -> None:
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None and not isinstance(cell.value, float):
                widths[cell.column] = max(widths.get(cell.column, 0), text_width(cell.value))
    for col, w in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(most, max(least, w + 2))


def _print_setup(ws: Any) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def table_sheet(
    wb: Any, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], *, first: bool
) -> Any:
    """Add (or, with ``first``, rename the active sheet into) a table with a frozen header."""
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    _bold(ws, 1)
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = ws.dimensions
    _fit(ws)
    _print_setup(ws)
    return ws


def sheet_name(code: str, taken: set[str]) -> str:
    """Return a unique sheet name for a grid's handover sheet (Excel allows 31 characters)."""
    base = f"交接-{code}"[:SHEET_NAME_MAX]
    name, n = base, 2
    while name in taken:
        tail = f"~{n}"
        name, n = base[: SHEET_NAME_MAX - len(tail)] + tail, n + 1
    taken.add(name)
    return name


def workbook_bytes(wb: Any) -> bytes:
    """Return a workbook as ``.xlsx`` bytes."""
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _worker(value: Any) -> str:
    return UNKNOWN_WORKER if value is None else str(value)


def _handover_sheet(ws: Any, g: dict[str, Any], order: dict[str, Any]) -> None:
    """Write one grid's handover sheet (交接单)."""
    from openpyxl.styles import Alignment, Font

    ws.append(["网格调整交接单"])
    ws.merge_cells("A1:F1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    status = STATUS_LABELS[g["status"]]
    moved = "—" if g["boundary_change_m2"] is None else g["boundary_change_m2"]
    facts = [
        ["网格编码", g["code"], "所属社区", g["community_id"], "变更类型", status],
        ["生效日期", order["effective_date"], "调整前户数", g["households_before"],
         "调整后户数", g["households_after"]],
        ["移入户数", g["households_in"], "移出户数", g["households_out"],
         "边界变动面积(㎡)", moved],
        ["原网格员", _worker(g["worker_before"]), "现网格员", _worker(g["worker_after"]),
         "原方案", order["old"]],
        ["", "", "", "", "新方案", order["new"]],
    ]  # fmt: skip
    for row in facts:
        ws.append(row)
        for col in (1, 3, 5):
            ws.cell(row=ws.max_row, column=col).font = Font(bold=True)
        for col in (2, 4, 6):  # values beside their labels, not against the next label
            ws.cell(row=ws.max_row, column=col).alignment = Alignment(horizontal="left")
    for title, key, other, other_label in (
        ("移入楼栋", "buildings_in", "from_grid", "原网格"),
        ("移出楼栋", "buildings_out", "to_grid", "新网格"),
    ):
        ws.append([])
        ws.append([f"{title}（{len(g[key])} 栋）"])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        ws.append(["楼栋编号", "小区编号", "小区名称", "户数", other_label])
        _bold(ws, ws.max_row)
        if not g[key]:
            ws.append(["（无）"])
        for b in g[key]:
            ws.append(
                [b["building_id"], b["compound_id"], b["compound_name"], b["households"],
                 b[other] or "（无网格）"]
            )  # fmt: skip
    ws.append([])
    ws.append(["移交人（签字）：", "", "接收人（签字）：", "", "日期：", ""])
    _fit(ws, least=10)
    _print_setup(ws)


def changes_workbook(order: dict[str, Any]) -> bytes:
    """Return the change order as a workbook: ``汇总`` then one handover sheet per grid
    whose code is new, retired or changed."""
    from openpyxl import Workbook

    wb = Workbook()
    s = order["summary"]
    head = [
        ["生效日期", order["effective_date"]],
        ["原方案", order["old"]],
        ["新方案", order["new"]],
        ["未变网格", s["grids_kept"]],
        ["调整网格", s["grids_changed"]],
        ["新增网格", s["grids_new"]],
        ["撤销网格", s["grids_retired"]],
        ["变更户数（楼栋网格编码改变）", s["households_moved"]],
        ["变更楼栋", s["buildings_moved"]],
        [],
    ]
    header = ["网格编码", "社区", "变更类型", "调整前户数", "调整后户数", "移入户数", "移出户数"]
    rows = [
        [g["code"], g["community_id"], STATUS_LABELS[g["status"]], g["households_before"],
         g["households_after"], g["households_in"], g["households_out"]]
        for g in order["grids"]
    ]  # fmt: skip
    ws = wb.active
    ws.title = "汇总"
    for r in head:
        ws.append(r)
    ws.append(header)
    _bold(ws, ws.max_row)
    ws.freeze_panes = f"A{ws.max_row + 1}"
    ws.print_title_rows = f"{ws.max_row}:{ws.max_row}"  # the header on every printed page
    for r in rows:
        ws.append(r)
    _fit(ws)
    _print_setup(ws)
    taken: set[str] = {"汇总"}
    for g in order["grids"]:
        if g["status"] != "kept":
            _handover_sheet(wb.create_sheet(sheet_name(g["code"], taken)), g, order)
    return workbook_bytes(wb)


def fixes_workbook(
    section: dict[str, Any], *, labels: dict[str, str], rows: list[list[Any]]
) -> bytes:
    """Return the list of fixes (整改清单) of a standard audit: ``汇总`` (count per check) and
    ``整改清单`` (one row per item: number, check, code, where, problem, fix)."""
    from openpyxl import Workbook

    wb = Workbook()
    counts = [[section["standard"], labels[k], v["count"]] for k, v in section["checks"].items()]
    table_sheet(wb, "汇总", ["标准", "检查项", "数量"], counts, first=True)
    header = ["序号", "检查项", "网格编码", "位置", "问题", "整改要求"]
    table_sheet(wb, "整改清单", header, rows, first=False)
    return workbook_bytes(wb)


OUTSIDE = "（图层外）"
"""A zone name for land and buildings a department's layer does not cover."""


def _zone(z: str | None) -> str:
    return OUTSIDE if z is None else z


def _alternative(change: dict[str, Any]) -> str:
    alt = change["alternative"]
    if alt is None:
        return ""
    units = "、".join(alt["units"])
    return f"或将 {units} 并入相邻基础网格 {'、'.join(alt['to_grids'].values())}"


def nesting_workbook(doc: dict[str, Any]) -> bytes:
    """Return a nesting report (多网合一) as a workbook: ``汇总``, then per department's layer
    the base grids it cuts and the proposed changes."""
    from openpyxl import Workbook

    wb = Workbook()
    rows = []
    for r in doc["layers"]:
        p = r["proposal"]
        rows.append(
            [r["layer"], r["zones"], r["zones_not_unions"], len(r["cut_grids"]),
             p["households_rezoned"], p["area_rezoned_m2"]]
        )  # fmt: skip
    header = [
        "部门图层",
        "分区数",
        "非网格组合的分区",
        "被切割的基础网格",
        "需调整户数",
        "需调整面积(㎡)",
    ]
    table_sheet(wb, "汇总", header, rows, first=True)
    for i, r in enumerate(doc["layers"], start=1):
        cut = [
            [g["code"], _zone(g["home_zone"]), _zone(z["zone"]), z["households"], z["area_m2"]]
            for g in r["cut_grids"]
            for z in g["zones"]
        ]
        head = ["基础网格", "主要所在分区", "分区", "户数", "面积(㎡)"]
        table_sheet(wb, f"{i}-切割网格", head, cut, first=False)
        moves = [
            [c["grid"], _zone(c["to_zone"]), "、".join(_zone(z) for z in c["from_zones"]),
             c["households"], c["area_m2"], _alternative(c)]
            for c in r["proposal"]["changes"]
        ]  # fmt: skip
        head = ["基础网格", "整体划入分区", "原跨分区", "调整户数", "调整面积(㎡)", "备选方案"]
        table_sheet(wb, f"{i}-调整建议", head, moves, first=False)
    return workbook_bytes(wb)


__all__ = [
    "STATUS_LABELS",
    "changes_workbook",
    "fixes_workbook",
    "nesting_workbook",
    "sheet_name",
    "table_sheet",
    "text_width",
    "workbook_bytes",
]
