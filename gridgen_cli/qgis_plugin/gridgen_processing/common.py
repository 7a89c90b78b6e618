"""Parameters several gridgen algorithms share (dataset, coordinate systems, band, workers)."""

from __future__ import annotations

from .spec import Param, Text

CHINESE_CRS_CHOICES = ("", "gcj02", "bd09")
CHINESE_CRS_LABELS = (
    Text("无（按文件或上面的坐标系）", "none (as the file or the CRS above says)"),
    Text("GCJ-02（高德、腾讯）", "GCJ-02 (Amap, Tencent)"),
    Text("BD-09（百度）", "BD-09 (Baidu)"),
)
MODE_CHOICES = ("walk", "line")
MODE_LABELS = (Text("沿道路步行", "walking along roads"), Text("直线距离", "straight line"))


def help_text(zh: str, en: str, cli: str) -> Text:
    """Return an algorithm's help: what it does, then the equivalent command line."""
    return Text(f"{zh}\n\n对应命令行：{cli}", f"{en}\n\nCommand line: {cli}")


def dataset(name: str = "DATA", *, optional: bool = False) -> Param:
    """Return the dataset parameter (a positional argument)."""
    return Param(
        name,
        "dataset",
        Text(
            "数据集（GeoPackage、GeoJSON 文件夹、Shapefile 压缩包或 CSV）",
            "Dataset (GeoPackage, GeoJSON folder, zipped Shapefile or CSV)",
        ),
        optional=optional,
    )


def plan(flag: str = "--plan", *, name: str = "PLAN") -> Param:
    """Return an optional plan GeoPackage (as written by partition)."""
    return Param(
        name,
        "file",
        Text("网格方案（GeoPackage，可选）", "Grid plan (GeoPackage, optional)"),
        flag=flag,
        optional=True,
        suffixes=(".gpkg",),
    )


def crs_pair(prefix: str, flag: str, what: Text, *, advanced: bool = False) -> tuple[Param, ...]:
    """Return a CRS parameter and a GCJ-02/BD-09 choice for one ``--…crs`` option."""
    return (
        Param(
            f"{prefix}CRS",
            "crs",
            Text(
                f"{what.zh}坐标系（可选，默认 WGS84）", f"{what.en} CRS (optional, default WGS84)"
            ),
            flag=flag,
            optional=True,
            combine="last",
            advanced=advanced,
        ),
        Param(
            f"{prefix}CHINESE_CRS",
            "enum",
            Text(f"{what.zh}为加偏坐标", f"{what.en} in a Chinese offset system"),
            flag=flag,
            default=0,
            optional=True,
            choices=CHINESE_CRS_CHOICES,
            choice_labels=CHINESE_CRS_LABELS,
            combine="last",
            advanced=advanced,
        ),
    )


def data_crs() -> tuple[Param, ...]:
    """Return the declared CRS of the dataset (``--crs``), an advanced option."""
    return crs_pair("", "--crs", Text("数据集", "Dataset"), advanced=True)


def out_crs() -> tuple[Param, ...]:
    """Return the CRS of the written geometry (``--out-crs``)."""
    return crs_pair("OUT_", "--out-crs", Text("输出", "Output"))


def target() -> Param:
    """Return the households-per-grid target."""
    return Param(
        "TARGET",
        "int",
        Text("每个网格的目标户数", "Households per grid (target)"),
        flag="--target",
        default=300,
        minimum=1,
        maximum=100_000,
    )


def band() -> tuple[Param, ...]:
    """Return the households band (``--band MIN,MAX``; neither given: target ± 20 %)."""
    return tuple(
        Param(
            f"BAND_{end.upper()}",
            "int",
            Text(
                f"每格户数{zh}（可选，默认目标 ±20%）",
                f"{end.capitalize()}imum households per grid (optional, default target ±20%)",
            ),
            flag="--band",
            optional=True,
            minimum=0,
            maximum=100_000,
        )
        for end, zh in (("min", "下限"), ("max", "上限"))
    )


def seed() -> Param:
    """Return the random seed (the same seed gives the same plan)."""
    return Param(
        "SEED",
        "int",
        Text("随机种子（相同种子得到相同方案）", "Random seed (the same seed gives the same plan)"),
        flag="--seed",
        default=0,
        minimum=0,
        maximum=2**31 - 1,
        advanced=True,
    )


def executor() -> tuple[Param, ...]:
    """Return ``--workers`` and ``--scheduler`` (advanced)."""
    return (
        Param(
            "WORKERS",
            "int",
            Text("本机工作进程数（可选）", "Local worker processes (optional)"),
            flag="--workers",
            optional=True,
            minimum=1,
            maximum=256,
            advanced=True,
        ),
        Param(
            "SCHEDULER",
            "string",
            Text("Dask 调度器地址（可选）", "Dask scheduler address (optional)"),
            flag="--scheduler",
            optional=True,
            advanced=True,
        ),
    )


def radius(default: float = 500.0) -> Param:
    """Return the station service radius in metres."""
    return Param(
        "RADIUS",
        "float",
        Text("服务半径（米）", "Service radius (m)"),
        flag="--radius",
        default=default,
        minimum=10.0,
        maximum=10_000.0,
    )


def mode(*, with_auto: bool = False) -> Param:
    """Return walking or straight-line distance (``auto``: walking where there are roads)."""
    choices: tuple[str, ...] = MODE_CHOICES
    labels: tuple[Text, ...] = MODE_LABELS
    if with_auto:
        choices = ("", *choices)
        labels = (
            Text("自动（有道路时步行）", "automatic (walking where there are roads)"),
            *labels,
        )
    return Param(
        "MODE",
        "enum",
        Text("距离", "Distance"),
        flag="--mode",
        default=0,
        choices=choices,
        choice_labels=labels,
    )


def grid_layer(*, many: bool = False, optional: bool = False) -> tuple[Param, ...]:
    """Return an existing grid layer (or several) with its code column and CRS."""
    layers = Param(
        "GRIDS",
        "grids_many" if many else "grids",
        Text("现有网格图层（面）", "Existing grid layers (polygons)")
        if many
        else Text("现有网格图层（面）", "Existing grid layer (polygons)"),
        flag="--grids",
        optional=optional,
    )
    column = Param(
        "ID_COLUMN",
        "string" if many else "field",
        Text(
            "网格编码字段（默认 grid_id、code、网格编码或网格编号）",
            "Grid code field (default grid_id, code, 网格编码 or 网格编号)",
        ),
        flag="--id-column",
        optional=True,
        parent="" if many else "GRIDS",
    )
    return (layers, column, *crs_pair("GRIDS_", "--grids-crs", Text("网格图层", "Grid layer")))


def output(
    flag: str,
    label: Text,
    suffixes: tuple[str, ...],
    *,
    name: str = "OUTPUT",
    optional: bool = False,
    load: bool = False,
    temporary: bool = False,
) -> Param:
    """Return a file the command writes."""
    return Param(
        name,
        "output",
        label,
        flag=flag,
        optional=optional,
        suffixes=suffixes,
        load=load,
        temporary=temporary,
    )


def codes() -> tuple[Param, ...]:
    """Return the grid code options: scheme, CJ/T 349 object code, the date codes start."""
    return (
        Param(
            "CODE_SCHEME",
            "enum",
            Text("网格编码规则", "Grid code scheme"),
            flag="--code-scheme",
            default=0,
            choices=("", "db11", "cjt349", "plain"),
            choice_labels=(
                Text(
                    "默认（社区编码为 12 位时用 DB11）",
                    "default (DB11 when communities have 12-digit codes)",
                ),
                Text("DB11/T 2157（15 位）", "DB11/T 2157 (15 digits)"),
                Text("CJ/T 349（20 位）", "CJ/T 349 (20 digits)"),
                Text("社区编码 + 3 位序号", "community code + 3 digits"),
            ),
            advanced=True,
        ),
        Param(
            "OBJECT_CODE",
            "string",
            Text("CJ/T 349 对象代码（6 位，可选）", "CJ/T 349 object code (6 digits, optional)"),
            flag="--object-code",
            optional=True,
            advanced=True,
        ),
        Param(
            "VALID_FROM",
            "date",
            Text(
                "新编码生效日期（可选，默认今天）", "New codes valid from (optional, default today)"
            ),
            flag="--valid-from",
            optional=True,
            advanced=True,
        ),
    )
