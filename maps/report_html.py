"""The governance report as one printable A4 HTML page, fully offline.

Headline figures as cards, every figure of the district in a compact two-column table
(before → after when two snapshots are compared), and a bar chart per level (district,
streets, communities) of the shares the cities report, drawn with matplotlib in Noto Sans
CJK SC and embedded as PNG data URIs. The page loads nothing: its Content-Security-Policy
allows only inline styles and ``data:`` images.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from typing import Any

from gridgen.coverage.figures import FIGURES, GovernanceFigures, figures_dict, round_share
from gridgen.io.report_xlsx import shown_value

CHART_SHARES: tuple[tuple[str, str], ...] = (
    ("compounds_with_property", "有物业小区"),
    ("grids_with_party_org", "网格党组织"),
    ("companies_with_party_org", "物业企业党组织"),
    ("compounds_chain_complete", "四级组织健全"),
    ("covered_households", "站点覆盖户数"),
)
COLOURS = ("#2b6cb0", "#c53030", "#d69e2e", "#2f855a", "#6b46c1")
MAX_BARS = 30
MODE_LABELS = {"walk": "步行", "line": "直线"}

CSS = """
@page { size: A4; margin: 9mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei",
  sans-serif; margin: 0; color: #1a202c; font-size: 8.6pt; }
.page { width: 192mm; margin: 0 auto; }
h1 { font-size: 15pt; margin: 0 0 1mm; }
.sub { color: #4a5568; margin: 0 0 3mm; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2mm; margin-bottom: 3mm; }
.card { border: 0.3mm solid #cbd5e0; border-radius: 1.5mm; padding: 1.5mm 2mm; }
.card .v { font-size: 13pt; font-weight: 700; color: #2b6cb0; }
.card .l { color: #4a5568; }
.tables { display: grid; grid-template-columns: 1fr 1fr; gap: 3mm; margin-bottom: 2mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 0.2mm solid #e2e8f0; padding: 0.5mm 1mm; text-align: right;
  white-space: nowrap; }
th { background: #edf2f7; }
td.l, th.l { text-align: left; }
td.sec { color: #718096; text-align: left; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 2mm; }
.charts img { width: 100%; display: block; }
.wide { grid-column: 1 / span 2; }
.legend { margin: 1mm 0; color: #2d3748; }
.legend span { margin-right: 4mm; white-space: nowrap; }
.legend i { display: inline-block; width: 3mm; height: 3mm; margin-right: 1mm;
  vertical-align: -0.4mm; }
.note { color: #718096; font-size: 7.5pt; margin-top: 1mm; }
"""


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "ratio":
        return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"
    return f"{int(value):,}"


def _cards(d: dict[str, Any]) -> str:
    def card(value: str, label: str) -> str:
        return (
            f'<div class="card"><div class="v">{html.escape(value)}</div>'
            f'<div class="l">{html.escape(label)}</div></div>'
        )

    hpg = d["households_per_grid"]["value"]
    cards = [
        card(f"{d['households']['value']:,}", "户数"),
        card(f"{d['grids']['value']:,}", f"网格（平均每格 {_fmt(hpg, 'ratio')} 户）"),
        card(
            shown_value(d["grids_with_party_org"])
            if d["grids_with_party_org"]["value"] is None
            else round_share(d["grids_with_party_org"]["share"]),
            "网格党组织覆盖率",
        ),
        card(
            f"{d['micro_stations']['value']:,}",
            f"网格党群服务微站（每网格站点 {_fmt(d['stations_per_grid']['value'], 'ratio')}）",
        ),
        card(
            f"{d['compounds_with_property']['value']:,} / {d['compounds']['value']:,}",
            f"有物业小区（{round_share(d['compounds_with_property']['share'])}）",
        ),
        card(round_share(d["companies_with_party_org"]["share"]), "物业企业党组织覆盖率"),
        card(
            f"{d['grid_workers']['value']:,}",
            f"网格员（每人 {_fmt(d['households_per_worker']['value'], 'ratio')} 户）",
        ),
        card(round_share(d["covered_households"]["share"]), "站点服务半径覆盖户数"),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def _figure_rows(doc: dict[str, Any]) -> list[str]:
    d = doc["district"]
    changes = doc.get("changes", {}).get("district")
    rows = []
    for fig in FIGURES:
        f = d[fig.name]
        if changes:
            c = changes[fig.name]
            cells = [_fmt(c["before"], fig.kind), _fmt(c["after"], fig.kind)]
            if fig.kind == "share":
                cells[0] += f"（{round_share(c['share_before'])}）"
                cells[1] += f"（{round_share(c['share_after'])}）"
        else:
            share = round_share(f["share"]) if fig.kind == "share" else ""
            shown = shown_value(f)
            cells = [shown if isinstance(shown, str) else _fmt(shown, fig.kind), share]
        tds = "".join(f"<td>{html.escape(v)}</td>" for v in cells)
        rows.append(f'<tr><td class="l">{html.escape(fig.label)}</td>{tds}</tr>')
    if changes:
        e = changes["no_property_compounds_eliminated"]
        rows.append(
            f'<tr><td class="l">已消除的无物业小区</td><td colspan=2>{e["count"]:,} / '
            f"{e['denominator']:,}（{round_share(e['share'])}）</td></tr>"
        )
    return rows


def _tables(doc: dict[str, Any]) -> str:
    rows = _figure_rows(doc)
    head = (
        "<tr><th class=l>指标</th><th>之前</th><th>之后</th></tr>"
        if "changes" in doc
        else "<tr><th class=l>指标</th><th>数值</th><th>占比</th></tr>"
    )
    half = (len(rows) + 1) // 2
    parts = [f"<table>{head}{''.join(chunk)}</table>" for chunk in (rows[:half], rows[half:])]
    return f'<div class="tables">{"".join(parts)}</div>'


def _bar_chart(
    groups: list[tuple[str, dict[str, Any]]], title: str, *, size: tuple[float, float]
) -> str:
    """Return a grouped column chart of :data:`CHART_SHARES` per group as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from maps.fonts import cjk_font_family

    family = cjk_font_family()
    n, k = len(groups), len(CHART_SHARES)
    fig, ax = plt.subplots(figsize=size, dpi=200)
    x = np.arange(n)
    bar = 0.82 / k
    for j, (name, label) in enumerate(CHART_SHARES):
        vals = [g[1][name]["share"] for g in groups]
        ys = [0.0 if v is None else 100 * v for v in vals]
        ax.bar(x - 0.41 + bar * (j + 0.5), ys, width=bar, color=COLOURS[j], label=label)
    rotate = 0 if n <= 4 or (n <= 8 and size[0] > 5) else 30
    ax.set_xticks(
        x,
        [g[0].replace("$", r"\$") for g in groups],  # no mathtext in names
        fontfamily=family,
        fontsize=7,
        rotation=rotate,
        ha="right" if rotate else "center",
    )
    if n == 0:
        ax.text(0.5, 0.5, "无数据", transform=ax.transAxes, ha="center", fontfamily=family)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100%"], fontsize=6.5)
    ax.set_title(title, fontfamily=family, fontsize=8.5, loc="left")
    ax.grid(axis="y", color="#e2e8f0", linewidth=0.5)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=2)
    fig.tight_layout(pad=0.4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _legend() -> str:
    chips = "".join(
        f'<span><i style="background:{colour}"></i>{html.escape(label)}</span>'
        for (_name, label), colour in zip(CHART_SHARES, COLOURS, strict=True)
    )
    return f'<div class="legend">{chips}</div>'


def _label(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry["id"])


def _charts(doc: dict[str, Any]) -> str:
    d = doc["district"]
    changes = doc.get("changes")
    if changes:
        cd = changes["district"]
        before = {n: {"share": cd[n]["share_before"]} for n, _ in CHART_SHARES}
        district = [("之前", before), ("之后", d)]
    else:
        district = [(_label(d), d)]
    streets = [(_label(s), s) for s in doc["streets"]]
    comms = [(_label(c), c) for c in doc["communities"]]
    note = ""
    if len(comms) > MAX_BARS:
        note = f"（共 {len(comms)} 个社区，图中为前 {MAX_BARS} 个）"
        comms = comms[:MAX_BARS]
    imgs = [
        ("", _bar_chart(district, "全区" + ("：之前与之后" if changes else ""), size=(3.7, 1.9))),
        ("", _bar_chart(streets, "各街道", size=(3.7, 1.9))),
        ("wide", _bar_chart(comms, f"各社区{note}", size=(7.5, 2.3))),
    ]
    tags = "".join(
        f'<img class="{cls}" alt="{html.escape(alt)}" src="{src}">'
        for (cls, src), alt in zip(imgs, ("全区", "各街道", "各社区"), strict=True)
    )
    return f'{_legend()}<div class="charts">{tags}</div>'


def report_html(
    figures: GovernanceFigures,
    *,
    changes: dict[str, Any] | None = None,
    title: str = "网格化治理统计报告",
    generated: dt.date | None = None,
) -> str:
    """Return the report as one self-contained, printable A4 HTML page."""
    doc = figures_dict(figures, changes=changes)
    day = (generated or dt.date.today()).isoformat()
    sub = (
        f"数据集 {figures.dataset} · 站点服务半径 {figures.radius:g} 米"
        f"（{MODE_LABELS.get(figures.mode, figures.mode)}） · 网格户数标准区间 "
        f"{figures.band[0]}–{figures.band[1]} · "
        + ("含网格方案" if figures.with_plan else "无网格方案（网格类指标为 0）")
        + (" · 与之前数据对比" if changes else "")
        + f" · {day}"
    )
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f'<div class="page"><h1>{html.escape(title)}</h1>'
        f'<p class="sub">{html.escape(sub)}</p>'
        f"{_cards(doc['district'])}{_tables(doc)}{_charts(doc)}"
        '<p class="note">占比 = 分子 / 分母；“—”表示分母为 0。'
        "四级组织：社区党委—小区（网格）党支部—楼栋党小组—党员户。</p>"
        "</div></body></html>"
    )


REPORT_FORMATS: dict[str, str] = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


def report_bytes(
    figures: GovernanceFigures, *, changes: dict[str, Any] | None = None, fmt: str
) -> bytes:
    """Return the report in ``fmt`` (``json``, ``xlsx`` or ``html``) as bytes."""
    import json

    from gridgen.errors import UnsupportedFormatError
    from gridgen.io.report_xlsx import workbook_bytes

    if fmt == "json":
        doc = figures_dict(figures, changes=changes)
        return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "xlsx":
        return workbook_bytes(figures, changes=changes)
    if fmt == "html":
        return report_html(figures, changes=changes).encode("utf-8")
    msg = f"unknown report format {fmt!r}: choose one of {', '.join(REPORT_FORMATS)}"
    raise UnsupportedFormatError(msg)
