"""Text panels of the compound sheet: the summary and the building table."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.font_manager import get_font
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from maps.fonts import cjk_font_family
from maps.sheet.data import SheetData, building_rows
from maps.sheet.layout import MM_PER_INCH, PT_PER_MM, SheetLayout, text_width_em


def draw_summary(fig: Figure, lay: SheetLayout, data: SheetData) -> None:
    """Draw the summary panel: key figures, the three teams (restricted sheets) and notes."""
    W, H = lay.page
    x, y, w, h = lay.summary_box
    s = lay.scale
    top = y + h
    fig.text(x / W, top / H, "小区概况", fontsize=10.5 * s, fontweight="bold", va="top")
    rows = list(data.summary)
    needed = len(rows) + (5 if data.three_teams is not None else 0) + 1.4 * len(data.notes) + 1
    row_h = min(5.2 * s, (h - 8 * s) / needed)
    fs = min(8.0 * s, row_h * PT_PER_MM * 0.62)
    cy = top - 8 * s
    for i, (label, value) in enumerate(rows):
        if i % 2 == 0:
            fig.add_artist(
                Rectangle(
                    (x / W, (cy - row_h * 0.75) / H),
                    w / W,
                    row_h / H,
                    transform=fig.transFigure,
                    facecolor="#f1f3f6",
                    edgecolor="none",
                )
            )
        fig.text(
            (x + 1.5 * s) / W,
            (cy - row_h * 0.25) / H,
            label,
            fontsize=fs,
            va="center",
            color="#444444",
        )
        fit = (0.62 * w) / max(text_width_em(value), 1.0) * PT_PER_MM
        fig.text(
            (x + 0.36 * w) / W, (cy - row_h * 0.25) / H, value, fontsize=min(fs, fit), va="center"
        )
        cy -= row_h
    if data.three_teams is not None:
        t = data.three_teams
        cy -= 2 * s
        fig.text(x / W, cy / H, "三支队伍", fontsize=9.5 * s, fontweight="bold", va="top")
        cy -= 6.5 * s
        for label, value in (
            ("网格员", "—" if t.grid_workers is None else f"{t.grid_workers} 人"),
            ("楼栋长", f"{t.building_leaders} 人"),
            ("党员/志愿者", f"{t.party_members} 人"),
        ):
            fig.text((x + 1.5 * s) / W, cy / H, label, fontsize=fs, va="center", color="#444444")
            fig.text((x + 0.36 * w) / W, cy / H, value, fontsize=fs, va="center")
            cy -= row_h
    if data.notes:
        cy -= 2 * s
        for note in data.notes:
            fig.text(
                x / W, cy / H, f"注：{note}", fontsize=fs, va="top", color="#b2182b", wrap=True
            )
            cy -= row_h * 1.3


@cache
def _line_height_em(family: str) -> float:
    """Return the font's typographic line height (ascender + descender) in ems."""
    font = get_font(mpl.font_manager.findfont(family))
    os2: Any = font.get_sfnt_table("OS/2")
    head: Any = font.get_sfnt_table("head")
    if os2 is None or head is None:
        return 1.2
    return float(os2["sTypoAscender"] - os2["sTypoDescender"]) / float(head["unitsPerEm"])


def _column_text(
    fig: Figure, *, x: float, top: float, row_h: float, cells: list[str], fs: float, **kw: Any
) -> None:
    """Draw one table column as a single multi-line text whose lines step by ``row_h`` mm.

    One text per column instead of one per cell keeps a 60-row table fast to render.
    With a numeric ``linespacing`` matplotlib (≥ 3.10) gives every line the height
    ``linespacing × (typo ascender + descender)``, so the lines match the row stripes.
    """
    W, H = fig.get_size_inches() * MM_PER_INCH
    spacing = row_h * PT_PER_MM / (fs * _line_height_em(cjk_font_family()))
    fig.text(
        x / W,
        top / H,
        "\n".join(cells),
        fontsize=fs,
        va="top",
        linespacing=spacing,
        multialignment="center",
        ha="center",
        **kw,
    )


def draw_building_table(fig: Figure, lay: SheetLayout, data: SheetData) -> None:
    """Draw the building table, in side-by-side blocks when the rows would get too low."""
    W, H = lay.page
    x, y, w, h = lay.table_box
    s = lay.scale
    top = y + h
    fig.text(
        x / W,
        top / H,
        f"楼栋信息（{len(data.buildings)} 栋）",
        fontsize=10.5 * s,
        fontweight="bold",
        va="top",
    )
    rows = building_rows(data)
    if len(rows) == 1:
        fig.text(x / W, (top - 10 * s) / H, "无楼栋数据", fontsize=9 * s, color="#b2182b", va="top")
        return
    # Column widths in ems from their longest cell (CJK 1 em, other characters ~0.6 em).
    weights = [max(text_width_em(r[ci]) for r in rows) + 1.0 for ci in range(len(rows[0]))]
    avail_h = h - 8 * s
    n = len(rows) - 1
    blocks = 1
    row_h = min(4.6 * s, avail_h / (n + 1))
    min_block_w = (56 if data.restricted else 48) * s
    while row_h < 3.4 * s and (w - blocks * 3 * s) / (blocks + 1) >= min_block_w:
        blocks += 1
        row_h = min(4.6 * s, avail_h / (math.ceil(n / blocks) + 1))
    per_block = math.ceil(n / blocks)
    block_w = (w - (blocks - 1) * 3 * s) / blocks
    fs = max(3.5, min(7.5 * s, row_h * PT_PER_MM * 0.6, block_w / sum(weights) * PT_PER_MM))
    total = sum(weights)
    for bi in range(blocks):
        bx = x + bi * (block_w + 3 * s)
        body = rows[1 + bi * per_block : 1 + (bi + 1) * per_block]
        if not body:
            continue
        cy = top - 8 * s
        fig.add_artist(
            Rectangle(
                (bx / W, (cy - row_h) / H),
                block_w / W,
                row_h / H,
                transform=fig.transFigure,
                facecolor="#2f4b7c",
                edgecolor="none",
            )
        )
        for ri in range(1, len(body) + 1, 2):
            ry = cy - (ri + 1) * row_h
            fig.add_artist(
                Rectangle(
                    (bx / W, ry / H),
                    block_w / W,
                    row_h / H,
                    transform=fig.transFigure,
                    facecolor="#f1f3f6",
                    edgecolor="none",
                )
            )
        fig.add_artist(
            Line2D(
                [bx / W, (bx + block_w) / W],
                [(cy - (len(body) + 1) * row_h) / H] * 2,
                transform=fig.transFigure,
                color="#2f4b7c",
                linewidth=0.6 * s,
            )
        )
        cx = bx
        for ci, wt in enumerate(weights):
            cw = block_w * wt / total
            _column_text(
                fig,
                x=cx + cw / 2,
                top=cy,
                row_h=row_h,
                cells=[rows[0][ci]],
                fs=fs,
                color="white",
                fontweight="bold",
            )
            _column_text(
                fig,
                x=cx + cw / 2,
                top=cy - row_h,
                row_h=row_h,
                cells=[r[ci] for r in body],
                fs=fs,
                color="#222222",
            )
            cx += cw
