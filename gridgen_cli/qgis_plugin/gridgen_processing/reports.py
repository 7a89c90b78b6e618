"""The report and map algorithms: governance report, compound sheet, atlas."""

from __future__ import annotations

from . import common as c
from .common import help_text as _help
from .spec import AlgorithmSpec, Param, Text


def _context() -> tuple[Param, ...]:
    """Return the options sheet and atlas share: plan, coverage, radius, restricted data."""
    return (
        c.plan(),
        Param(
            "COVERAGE",
            "enum",
            Text("标出未覆盖楼栋", "Mark uncovered buildings"),
            flag="--coverage",
            default=0,
            choices=("walk", "line", "none"),
            choice_labels=(
                Text("沿道路步行", "walking along roads"),
                Text("直线距离", "straight line"),
                Text("不标出", "no"),
            ),
        ),
        c.radius(),
        Param(
            "RESTRICTED",
            "bool",
            Text(
                "包含受限个人信息（楼栋长电话、重点人员、三支队伍）",
                "Include restricted personal data (leader phones, key persons, three teams)",
            ),
            flag="--restricted",
            default=False,
        ),
        Param(
            "PAPER",
            "enum",
            Text("纸张", "Paper"),
            flag="--paper",
            default=0,
            choices=("A4", "A3"),
            choice_labels=(Text("A4", "A4"), Text("A3", "A3")),
        ),
        Param(
            "LANDSCAPE",
            "bool",
            Text("横向", "Landscape"),
            flag="--landscape",
            default=False,
        ),
        Param(
            "DPI",
            "float",
            Text("PNG 分辨率（dpi）", "PNG resolution (dpi)"),
            flag="--dpi",
            default=150.0,
            minimum=50.0,
            maximum=600.0,
            advanced=True,
        ),
        *c.data_crs(),
        *c.executor(),
    )


REPORT = AlgorithmSpec(
    name="report",
    command="report",
    title=Text("治理报表", "Governance report"),
    group="reports",
    help=_help(
        "全区、各街道、各社区公布的每项指标（户数、网格、微站、物业、党组织、网格员、覆盖户数等），"
        "每项给出分子与分母；给出以前的数据集时列出前后变化。Excel、A4 HTML 或 JSON。",
        "Every figure the cities publish for the district, each street and each community "
        "(households, grids, micro-stations, property management, party organisations, grid "
        "workers, covered households, ...), each with its numerator and denominator; with an "
        "earlier dataset, before, after and the change. Excel, A4 HTML or JSON.",
        "gridgen report DATA [--plan PLAN.gpkg] [--before OLD_DATA] [--radius M] "
        "--out REPORT.xlsx|.html|.json",
    ),
    params=(
        c.dataset(),
        c.plan(),
        Param(
            "BEFORE",
            "file",
            Text("以前的数据集（可选，用于变化）", "Earlier dataset (optional, for changes)"),
            flag="--before",
            optional=True,
        ),
        c.radius(),
        c.mode(with_auto=True),
        *c.data_crs(),
        c.output(
            "--out",
            Text("报表（Excel、HTML 或 JSON）", "Report (Excel, HTML or JSON)"),
            (".xlsx", ".html", ".json"),
        ),
    ),
)

SHEET = AlgorithmSpec(
    name="sheet",
    command="sheet",
    title=Text("一小区一图示", "Compound sheet"),
    group="reports",
    help=_help(
        "一个小区的图示：楼栋编号与户数、人数、楼栋长，小区与网格边界，最近服务站及其服务范围，"
        "物业与党支部，指北针、比例尺、图例与表格。PNG、PDF 或 HTML。",
        "The sheet of one compound: every building numbered with households, residents and "
        "leader, compound and grid boundaries, the nearest station and its reach, property "
        "company and party branch, north arrow, scale bar, legend and tables. PNG, PDF or HTML.",
        "gridgen sheet DATA --compound ID --out FILE.png|FILE.pdf|FILE.html",
    ),
    params=(
        c.dataset(),
        Param("COMPOUND", "string", Text("小区编号", "Compound id"), flag="--compound"),
        *_context(),
        c.output(
            "--out",
            Text("图示（PNG、PDF 或 HTML）", "Sheet (PNG, PDF or HTML)"),
            (".png", ".pdf", ".html"),
        ),
    ),
)

ATLAS = AlgorithmSpec(
    name="atlas",
    command="atlas",
    title=Text("图集", "Atlas of compound sheets"),
    group="reports",
    help=_help(
        "一个社区或街道（二选一）所有小区的图示：一个多页 PDF，或 PNG 压缩包。",
        "The sheets of every compound of a community or a street (give one) in one "
        "multi-page PDF, or a zip of PNGs.",
        "gridgen atlas DATA --community ID|--street ID --out FILE.pdf|FILE.zip",
    ),
    params=(
        c.dataset(),
        Param(
            "COMMUNITY",
            "string",
            Text("社区编号", "Community id"),
            flag="--community",
            optional=True,
        ),
        Param("STREET", "string", Text("街道编号", "Street id"), flag="--street", optional=True),
        *_context(),
        c.output("--out", Text("图集（PDF 或 ZIP）", "Atlas (PDF or ZIP)"), (".pdf", ".zip")),
    ),
    needs_one_of=(("COMMUNITY", "STREET"),),
)
