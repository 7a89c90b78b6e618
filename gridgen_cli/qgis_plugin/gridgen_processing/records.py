"""The grid records algorithms: change orders between plans, nesting of departments' zones,
and the standard checks added to the audit."""

from __future__ import annotations

from . import common as c
from .common import help_text
from .spec import AlgorithmSpec, Param, Text

STANDARD = (
    Param(
        "STANDARD",
        "enum",
        Text("同时检查网格标准", "Also check the grid standard"),
        flag="--standard",
        default=0,
        choices=("", "DB11/T2157", "CJ/T349"),
        choice_labels=(
            Text("不检查", "no"),
            Text("DB11/T 2157（15 位编码）", "DB11/T 2157 (15-digit codes)"),
            Text("CJ/T 349（20 位编码）", "CJ/T 349 (20-digit codes)"),
        ),
    ),
    Param(
        "OBJECT_CODE",
        "string",
        Text("CJ/T 349 对象代码（6 位，可选）", "CJ/T 349 object code (6 digits, optional)"),
        flag="--object-code",
        optional=True,
        advanced=True,
    ),
)
"""``gridgen audit``'s standard options (the xlsx report is then the list of fixes, 整改清单)."""


def _plan_or_layer(name: str, flag: str, label: Text) -> Param:
    """A plan GeoPackage (passed as it is, assignment kept) or a grid layer."""
    return Param(name, "grids", label, flag=flag)


CHANGES = AlgorithmSpec(
    name="changes",
    command="changes",
    title=Text("网格变更单", "Change order between plans"),
    group="grids",
    help=help_text(
        "比较调整前后的两个方案（或网格图层）：哪些楼栋、多少户换了网格，哪些网格保留、调整、"
        "新增、撤销。输出变更单（JSON）或交接单（xlsx、PDF）。",
        "Compares two plans (or grid layers), before and after: which buildings and how many "
        "households changed grid, which grids were kept, changed, created or retired. Writes "
        "the change order (JSON) or the handover sheets (xlsx, PDF).",
        "gridgen changes DATA --old OLD --new NEW [--effective DATE] --out CHANGES.json|.xlsx|.pdf",
    ),
    params=(
        c.dataset(),
        _plan_or_layer("OLD", "--old", Text("调整前的方案或网格图层", "Plan or grid layer before")),
        _plan_or_layer("NEW", "--new", Text("调整后的方案或网格图层", "Plan or grid layer after")),
        Param(
            "EFFECTIVE",
            "date",
            Text("生效日期（可选，默认新编码的起始日期）", "Effective date (optional)"),
            flag="--effective",
            optional=True,
        ),
        Param(
            "ID_COLUMN",
            "string",
            Text(
                "网格图层的编码字段（可选，默认 grid_id、code、网格编码或网格编号）",
                "Code field of a grid layer (optional; default grid_id, code, 网格编码, 网格编号)",
            ),
            flag="--id-column",
            optional=True,
            advanced=True,
        ),
        Param(
            "RESTRICTED",
            "bool",
            Text("显示网格员姓名（受限信息）", "Show grid workers' names (restricted)"),
            flag="--restricted",
            default=False,
        ),
        *c.data_crs(),
        c.output(
            "--out",
            Text("变更单（xlsx、PDF 或 JSON）", "Change order (xlsx, PDF or JSON)"),
            (".xlsx", ".pdf", ".json"),
        ),
    ),
)

NESTING = AlgorithmSpec(
    name="nesting",
    command="nesting",
    title=Text("多网嵌套检查", "Nesting of department zones"),
    group="grids",
    help=help_text(
        "多网合一的嵌套检查：各部门的区域是否由基础网格拼成，哪些没有，以及使其嵌套的最小调整。",
        "多网合一 as nesting: which departments' zones are not unions of the base grids, and "
        "the smallest change that nests them.",
        "gridgen nesting DATA --base PLAN --layer DEPT [--layer DEPT2 ...] --out NEST.json|.xlsx",
    ),
    params=(
        c.dataset(),
        Param(
            "BASE",
            "file",
            Text("基础网格方案（GeoPackage）", "Base plan (GeoPackage)"),
            flag="--base",
            suffixes=(".gpkg",),
        ),
        Param(
            "LAYERS",
            "grids_many",
            Text("部门区域图层（面）", "Departments' zone layers (polygons)"),
            flag="--layer",
        ),
        Param(
            "ID_COLUMN",
            "string",
            Text("区域编码字段（可选）", "Zone code field (optional)"),
            flag="--id-column",
            optional=True,
        ),
        *c.crs_pair("LAYER_", "--layer-crs", Text("部门图层", "Department layers")),
        *c.data_crs(),
        c.output(
            "--out",
            Text("嵌套报告（xlsx 或 JSON）", "Nesting report (xlsx or JSON)"),
            (".xlsx", ".json"),
        ),
    ),
)
