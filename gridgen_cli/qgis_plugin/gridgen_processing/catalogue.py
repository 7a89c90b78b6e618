"""The gridgen algorithms of the QGIS provider: one :class:`AlgorithmSpec` per subcommand.

Adding a gridgen subcommand to QGIS is one entry in :data:`ALGORITHMS` (built from the
shared parameters of :mod:`.common`); ``tests/test_qgis_plugin.py`` parses the command line
of every entry with gridgen's own parser, so an entry and the CLI cannot drift apart.
"""

from __future__ import annotations

from . import common as c
from .common import help_text as _help
from .ingest import INGEST
from .records import CHANGES, NESTING, STANDARD
from .reports import ATLAS, REPORT, SHEET
from .spec import AlgorithmSpec, Param, Result, Text

VALIDATE = AlgorithmSpec(
    name="validate",
    command="validate",
    title=Text("校验数据集", "Validate a dataset"),
    group="data",
    help=_help(
        "读取并校验数据集：每一行要么保留，要么列出拒绝原因（不会悄悄丢弃）。"
        "有被拒绝的行时给出警告；勾选“有拒绝行时失败”可让模型在此停下。",
        "Reads and validates a dataset: every row is kept or listed with its reason (nothing "
        "is dropped silently). Rejected rows give a warning; tick 'fail on rejected rows' to "
        "stop a model here.",
        "gridgen validate DATA [--crs CRS] [--report FILE.json]",
    ),
    params=(
        c.dataset(),
        *c.data_crs(),
        c.output(
            "--report",
            Text("校验报告（JSON，可选）", "Validation report (JSON, optional)"),
            (".json",),
            name="REPORT",
            optional=True,
            temporary=True,
        ),
    ),
    results=(
        Result("DATA_CHECKED", "input", Text("已校验的数据集", "Validated dataset"), "DATA"),
        Result(
            "ROWS_REJECTED",
            "number",
            Text("被拒绝的行数", "Rows rejected"),
            "REPORT",
            reader="rejected_rows",
        ),
    ),
    ok_statuses=(0, 1),  # 1: rows were rejected (listed in the report), not a failure
)

PARTITION = AlgorithmSpec(
    name="partition",
    command="partition",
    title=Text("划分网格", "Partition into grids"),
    group="grids",
    help=_help(
        "为每个社区划分户数均衡的网格：网格铺满社区、不拆分小区、沿道路划界。输出网格方案 "
        "GeoPackage（按户数偏差着色并标注网格编码）。",
        "Draws balanced grids for every community: grids tile the community, never split a "
        "compound and follow roads. Writes the plan GeoPackage (grids coloured by households "
        "deviation, labelled with their codes).",
        "gridgen partition DATA --target N [--band MIN,MAX] [--seed S] --out PLAN.gpkg",
    ),
    params=(
        c.dataset(),
        c.target(),
        *c.band(),
        c.seed(),
        *c.codes(),
        *c.data_crs(),
        *c.out_crs(),
        *c.executor(),
        c.output(
            "--out", Text("网格方案（GeoPackage）", "Grid plan (GeoPackage)"), (".gpkg",), load=True
        ),
    ),
    results=(
        Result("GRIDS", "layer", Text("网格", "Grids"), "OUTPUT", key="grids"),
        Result("GRID_COUNT", "number", Text("网格数", "Grids"), "OUTPUT", "n_grids", "plan"),
        Result("HOUSEHOLDS", "number", Text("户数", "Households"), "OUTPUT", "households", "plan"),
        Result(
            "IN_BAND_SHARE",
            "number",
            Text("户数在范围内的网格比例", "Share of grids in the band"),
            "OUTPUT",
            "band_compliance",
            "plan",
        ),
    ),
)

AUDIT = AlgorithmSpec(
    name="audit",
    command="audit",
    title=Text("审核现有网格", "Audit existing grids"),
    group="grids",
    help=_help(
        "按规划规则检查现有网格图层：缝隙与重叠、跨社区、拆分小区、户数超出范围、多部件、"
        "无效几何、主干道穿越、未入格楼栋。输出 JSON 或 GeoPackage（缝隙、重叠、拆分小区、"
        "网格表）。",
        "Checks an existing grid layer against the planning rules: gaps and overlaps, grids "
        "crossing communities, split compounds, grids out of band, in several parts, invalid, "
        "crossed by a main road, buildings in no grid. Writes JSON or a GeoPackage (gaps, "
        "overlaps, split compounds, the grid table).",
        "gridgen audit DATA --grids GRIDS [--band MIN,MAX] [--standard DB11/T2157|CJ/T349] "
        "--out REPORT.json|REPORT.gpkg|REPORT.xlsx",
    ),
    params=(
        c.dataset(),
        *c.grid_layer(),
        c.target(),
        *c.band(),
        *STANDARD,
        *c.data_crs(),
        c.output(
            "--out",
            Text(
                "审核报告（JSON、GeoPackage，或检查标准时的整改清单 xlsx）",
                "Audit report (JSON, GeoPackage, or with a standard the list of fixes, xlsx)",
            ),
            (".json", ".gpkg", ".xlsx"),
            load=True,
        ),
    ),
    results=(
        Result(
            "OUT_OF_BAND",
            "number",
            Text("户数超出范围的网格", "Grids out of band"),
            "OUTPUT",
            "summary.out_of_band",
            "audit",
        ),
    ),
)

REBALANCE = AlgorithmSpec(
    name="rebalance",
    command="rebalance",
    title=Text("调整现有网格", "Rebalance existing grids"),
    group="grids",
    help=_help(
        "以最少的户数调整修正现有网格（方案或网格图层，二选一）：只改动有问题的社区，"
        "网格保住多数户时保留编码。输出新方案与楼栋新旧编码对照表。",
        "Fixes existing grids (a plan or a grid layer: give one) moving as few households as "
        "possible: only communities with a finding change; a grid keeping most of its "
        "households keeps its code. Writes the new plan and the crosswalk of old and new codes "
        "per building.",
        "gridgen rebalance DATA --plan PLAN.gpkg|--grids GRIDS [--max-moved N] [--workers N] "
        "--out NEW.gpkg [--crosswalk X.csv]",
    ),
    params=(
        c.dataset(),
        c.plan(),
        *c.grid_layer(optional=True),
        c.target(),
        *c.band(),
        Param(
            "MAX_MOVED",
            "int",
            Text("最多调整户数（可选）", "Most households to move (optional)"),
            flag="--max-moved",
            optional=True,
            minimum=0,
            maximum=10_000_000,
        ),
        *c.executor(),
        *c.codes(),
        *c.data_crs(),
        c.output(
            "--out",
            Text("新网格方案（GeoPackage）", "New plan (GeoPackage)"),
            (".gpkg",),
            load=True,
        ),
        c.output(
            "--crosswalk",
            Text("新旧编码对照（CSV，可选）", "Crosswalk (CSV, optional)"),
            (".csv",),
            name="CROSSWALK",
            optional=True,
        ),
        c.output(
            "--summary",
            Text("调整前后审核摘要（JSON，可选）", "Summary with audits (JSON, optional)"),
            (".json",),
            name="SUMMARY",
            optional=True,
        ),
    ),
    results=(Result("GRIDS", "layer", Text("网格", "Grids"), "OUTPUT", key="grids"),),
    needs_one_of=(("PLAN", "GRIDS"),),
)

MERGE_GRIDS = AlgorithmSpec(
    name="merge_grids",
    command="merge-grids",
    title=Text("多网合一", "Merge grid layers"),
    group="grids",
    help=_help(
        "把各部门的网格图层合并为一套网格：取各图层的共同细分（在每个图层中同格的单元仍在一起），"
        "再按户数均衡调整。输出方案与各输入网格在新网格中的户数占比对照表。"
        "选择“统一重新编码”时，全部网格按编码规则重新编码（正式图层），各部门编码注销。",
        "Merges departments' grid layers into one: the common refinement of the layers (units "
        "together in every layer stay together), then the rebalance engine. Writes the plan and "
        "the crosswalk of each input grid's household shares in the new grids. With 'Recode', "
        "every grid takes a new code of the code scheme (an official layer) and the "
        "departments' codes are retired.",
        "gridgen merge-grids DATA --grids A --grids B [...] [--recode] --out PLAN.gpkg "
        "--crosswalk X.csv",
    ),
    params=(
        c.dataset(),
        *c.grid_layer(many=True),
        c.target(),
        *c.band(),
        c.seed(),
        Param(
            "RECODE",
            "bool",
            Text(
                "统一重新编码（全部网格按编码规则自西向东、自北向南新编，部门编码注销）",
                "Recode every grid (new codes of the scheme, west to east, north to south; "
                "the departments' codes are retired)",
            ),
            flag="--recode",
            default=False,
        ),
        *c.codes(),
        *c.data_crs(),
        c.output(
            "--out",
            Text("合并后的方案（GeoPackage）", "Merged plan (GeoPackage)"),
            (".gpkg",),
            load=True,
        ),
        c.output(
            "--crosswalk",
            Text("输入网格对照（CSV）", "Crosswalk of the input grids (CSV)"),
            (".csv",),
            name="CROSSWALK",
        ),
        c.output(
            "--summary",
            Text("合并摘要（JSON，可选）", "Summary with the audit (JSON, optional)"),
            (".json",),
            name="SUMMARY",
            optional=True,
        ),
    ),
    results=(Result("GRIDS", "layer", Text("网格", "Grids"), "OUTPUT", key="grids"),),
)

COVERAGE = AlgorithmSpec(
    name="coverage",
    command="coverage",
    title=Text("服务站覆盖", "Station coverage"),
    group="coverage",
    help=_help(
        "计算服务站（党群服务微站等）在服务半径内覆盖的户数，按楼栋、网格、社区、街道或全区汇总。"
        "GeoPackage 输出按覆盖率着色，并附未覆盖楼栋与各站负荷。",
        "Households within the service radius of a station (walking along roads or in a "
        "straight line), per building, grid, community, street or district. The GeoPackage "
        "output is coloured by covered share, with the uncovered buildings and each station's "
        "load.",
        "gridgen coverage DATA [--plan PLAN.gpkg] [--radius M] [--mode walk|line] [--level L] "
        "--out FILE.gpkg|FILE.csv|FILE.json",
    ),
    params=(
        c.dataset(),
        c.plan(),
        c.radius(),
        c.mode(),
        Param(
            "LEVEL",
            "enum",
            Text("汇总层级", "Level"),
            flag="--level",
            default=2,
            choices=("building", "grid", "community", "street", "district"),
            choice_labels=(
                Text("楼栋", "building"),
                Text("网格（需网格方案）", "grid (needs a plan)"),
                Text("社区", "community"),
                Text("街道", "street"),
                Text("全区", "district"),
            ),
        ),
        *c.data_crs(),
        *c.executor(),
        c.output(
            "--out",
            Text("覆盖结果（GeoPackage、CSV 或 JSON）", "Coverage (GeoPackage, CSV or JSON)"),
            (".gpkg", ".csv", ".json"),
            load=True,
        ),
    ),
)

SITE = AlgorithmSpec(
    name="site",
    command="site",
    title=Text("新建服务站选址", "Site new stations"),
    group="coverage",
    help=_help(
        "提出新服务站的位置：给定新站数量时使覆盖户数最多（最大覆盖），给定目标覆盖率时用最少的站"
        "（集合覆盖）。两者给一个。输出建议站点与仍未覆盖的楼栋。",
        "Proposes new stations: the most households covered by K new stations (maximal "
        "covering) or the fewest stations reaching a covered share (set cover). Give one of "
        "the two. Writes the proposed sites and the buildings still uncovered.",
        "gridgen site DATA --add K|--target-share S [--radius M] --out SITES.gpkg",
    ),
    params=(
        c.dataset(),
        Param(
            "ADD",
            "int",
            Text("新站数量", "Number of new stations"),
            flag="--add",
            optional=True,
            minimum=1,
            maximum=10_000,
        ),
        Param(
            "TARGET_SHARE",
            "float",
            Text("目标覆盖率（0–1）", "Target covered share (0-1)"),
            flag="--target-share",
            optional=True,
            minimum=0.0,
            maximum=1.0,
        ),
        c.radius(),
        c.mode(),
        Param(
            "CANDIDATES",
            "points",
            Text("候选站点（点，可选）", "Candidate sites (points, optional)"),
            flag="--candidates",
            optional=True,
        ),
        Param(
            "TIME_LIMIT",
            "float",
            Text("精确求解时限（秒）", "Time limit of the exact solver (s)"),
            flag="--time-limit",
            default=20.0,
            minimum=1.0,
            maximum=3600.0,
            advanced=True,
        ),
        *c.data_crs(),
        *c.out_crs(),
        c.output(
            "--out",
            Text("建议站点（GeoPackage）", "Proposed sites (GeoPackage)"),
            (".gpkg",),
            load=True,
        ),
    ),
    needs_one_of=(("ADD", "TARGET_SHARE"),),
)

ALGORITHMS: tuple[AlgorithmSpec, ...] = (
    INGEST,
    VALIDATE,
    PARTITION,
    AUDIT,
    REBALANCE,
    MERGE_GRIDS,
    CHANGES,
    NESTING,
    COVERAGE,
    SITE,
    REPORT,
    SHEET,
    ATLAS,
)
"""Every algorithm of the provider, in the order of the toolbox."""
