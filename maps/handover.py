"""The handover sheets (交接单) of a change order as one printable PDF.

One A4 page (more when a grid's building lists are long) per grid whose code is new,
retired or changed: the grid's facts (community, status, effective date, households
before, after, in and out, the grid worker of each side when known), the buildings that
come in (with the grid they come from) and go out (with the grid they go to), and the
lines for the signatures. Text is set in the PDF font of :mod:`maps.pdf_font` (WenQuanYi
Zen Hei, embedded as TrueType), so the Chinese text can be extracted and searched.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

STATUS_LABELS = {"kept": "未变", "changed": "调整", "new": "新增", "retired": "撤销"}
UNKNOWN_WORKER = "未登记"
WORKERS = ("worker_before", "worker_after")
PAGE = (8.27, 11.69)  # A4 portrait, inches
MARGIN = 0.7
LINE = 0.25
SIZE = 9.5
TABLE_X = (0.0, 1.3, 2.6, 4.4, 4.95)
"""Column offsets (inches from the left margin) of the building tables."""


def _lines(g: dict[str, Any], order: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Yield the drawing instructions of one grid's sheet, top to bottom."""
    status = STATUS_LABELS[g["status"]]
    worker = {k: UNKNOWN_WORKER if g[k] is None else str(g[k]) for k in WORKERS}
    moved = g["boundary_change_m2"]
    yield "title", "网格调整交接单"
    yield "code", f"网格编码 {g['code']}　·　{status}"
    yield (
        "facts",
        [
            ("所属社区", g["community_id"]),
            ("变更类型", status),
            ("生效日期", order["effective_date"]),
        ],
    )
    yield (
        "facts",
        [
            ("调整前户数", g["households_before"]),
            ("调整后户数", g["households_after"]),
            ("边界变动", "—" if moved is None else f"{moved:,.0f} m²"),
        ],
    )
    yield (
        "facts",
        [
            ("移入户数", g["households_in"]),
            ("移出户数", g["households_out"]),
            ("楼栋", f"入 {len(g['buildings_in'])} / 出 {len(g['buildings_out'])}"),
        ],
    )
    yield "facts", [("原网格员", worker["worker_before"]), ("现网格员", worker["worker_after"])]
    yield "text", f"原方案：{order['old']}　　新方案：{order['new']}"
    for title, key, other, label in (
        ("移入楼栋", "buildings_in", "from_grid", "原网格"),
        ("移出楼栋", "buildings_out", "to_grid", "新网格"),
    ):
        rows = g[key]
        yield "gap", None
        yield "heading", f"{title}（{len(rows)} 栋，{sum(b['households'] for b in rows)} 户）"
        yield "header", ["楼栋编号", "小区编号", "小区名称", "户数", label]
        if not rows:
            yield "text", "（无）"
        for b in rows:
            yield (
                "row",
                [
                    b["building_id"],
                    b["compound_id"] or "—",
                    b["compound_name"] or "—",
                    b["households"],
                    b[other] or "（无网格）",
                ],
            )
    yield "gap", None
    yield "signature", None


class _Pages:
    """Lays out instructions on A4 pages, starting a new page where one is full."""

    def __init__(self, pdf: Any, title: str) -> None:
        self.pdf, self.title, self.y, self.page = pdf, title, 0.0, 0
        self.fig: Any = None

    def _new_page(self) -> None:
        from matplotlib.figure import Figure

        self.flush()
        self.fig = Figure(figsize=PAGE)
        self.page += 1
        self.y = PAGE[1] - MARGIN
        if self.page > 1:
            self._text(MARGIN, f"{self.title}（续）", size=SIZE, color="0.35")
            self.y -= LINE

    def _text(self, x: float, text: Any, **kw: Any) -> None:
        assert self.fig is not None
        kw.setdefault("size", SIZE)
        self.fig.text(x / PAGE[0], self.y / PAGE[1], str(text), va="top", **kw)

    def _rule(self, width: float = 0.5) -> None:
        """Draw a rule under the line being drawn."""
        from matplotlib.lines import Line2D

        assert self.fig is not None
        y = (self.y - LINE + 0.04) / PAGE[1]
        x0, x1 = MARGIN / PAGE[0], 1 - MARGIN / PAGE[0]
        self.fig.add_artist(Line2D([x0, x1], [y, y], lw=width, color="0.6"))

    def draw(self, kind: str, value: Any) -> None:
        """Draw one instruction (module doc) below the previous one."""
        need = {"title": 0.5, "signature": 0.6}.get(kind, LINE)
        if self.fig is None or self.y - need < MARGIN:
            self._new_page()
        if kind == "title":
            self._text(PAGE[0] / 2, value, size=16, weight="bold", ha="center")
        elif kind in ("code", "heading"):
            self._text(MARGIN, value, size=SIZE + 1.5, weight="bold")
        elif kind == "facts":
            for i, (label, v) in enumerate(value):
                self._text(MARGIN + i * 2.3, f"{label}：{v}")
        elif kind in ("header", "row"):
            for off, cell in zip(TABLE_X, value, strict=True):
                right = off == TABLE_X[3]
                x = MARGIN + off + (0.3 if right else 0.0)
                self._text(x, cell, ha="right" if right else "left",
                           weight="bold" if kind == "header" else "normal")  # fmt: skip
            self._rule(0.8 if kind == "header" else 0.3)
        elif kind == "text":
            self._text(MARGIN, value)
        elif kind == "signature":
            self._text(MARGIN, "移交人（签字）：____________　接收人（签字）：____________　"
                       "日期：__________")  # fmt: skip
        self.y -= need

    def flush(self) -> None:
        """Write the page being drawn."""
        from maps.sheet.pdf_canvas import print_sheet_pdf

        if self.fig is not None:
            self.fig.text(0.5, MARGIN / 2 / PAGE[1], f"{self.title} · 第 {self.page} 页",
                          ha="center", size=8, color="0.4")  # fmt: skip
            print_sheet_pdf(self.fig, self.pdf)
        self.fig = None


def handover_pdf(order: dict[str, Any]) -> bytes:
    """Return the handover sheets of a change order (``ChangeOrder.to_dict()``) as a PDF.

    A change order where nothing changed gives one page saying so.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages

    from maps.fonts import PDF_RC
    from maps.pdf_font import pdf_font_families

    family = pdf_font_families()
    buf = io.BytesIO()
    changed = [g for g in order["grids"] if g["status"] != "kept"]
    with mpl.rc_context({"font.family": family, **PDF_RC}), PdfPages(buf) as pdf:  # type: ignore[dict-item]
        info = pdf.infodict()
        info["Title"] = f"网格调整交接单 · 生效日期 {order['effective_date']}"
        info["Creator"] = "gridgen"
        for g in changed:
            pages = _Pages(pdf, f"网格 {g['code']} 交接单")
            for kind, value in _lines(g, order):
                pages.draw(kind, value)
            pages.flush()
        if not changed:
            pages = _Pages(pdf, "网格调整交接单")
            pages.draw("title", "网格调整交接单")
            pages.draw("text", f"{order['old']} → {order['new']}：没有网格变更。")
            pages.flush()
    return buf.getvalue()


__all__ = ["handover_pdf"]
