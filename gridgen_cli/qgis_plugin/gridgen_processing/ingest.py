"""The ingest algorithm: a district's own files (boundaries, footprints, ledger) to a dataset."""

from __future__ import annotations

from . import common as c
from .common import help_text
from .spec import AlgorithmSpec, Param, Result, Text


def _layer(name: str, flag: str, label: Text, *, optional: bool = True) -> Param:
    return Param(name, "layer", label, flag=flag, optional=optional)


def _lines(name: str, flag: str, label: Text, example: str) -> Param:
    return Param(
        name,
        "lines",
        Text(f"{label.zh}（每行一项，如 {example}）", f"{label.en} (one per line, e.g. {example})"),
        flag=flag,
        optional=True,
        advanced=True,
    )


LEDGER_CRS = (
    Param(
        "LEDGER_CRS",
        "crs",
        Text("台账坐标系（下面选“上面的坐标系”时）", "Ledger CRS (with 'the CRS above' below)"),
        flag="--ledger-crs",
        optional=True,
        combine="last",
    ),
    Param(
        "LEDGER_CHINESE_CRS",
        "enum",
        Text("台账经纬度", "Ledger coordinates"),
        flag="--ledger-crs",
        default=0,
        choices=("gcj02", "bd09", ""),
        choice_labels=(
            Text("GCJ-02（高德、腾讯；默认）", "GCJ-02 (Amap, Tencent; default)"),
            Text("BD-09（百度）", "BD-09 (Baidu)"),
            Text("上面的坐标系", "the CRS above"),
        ),
        combine="last",
    ),
)

INGEST = AlgorithmSpec(
    name="ingest",
    command="ingest",
    title=Text("导入区县原始资料", "Ingest a district's files"),
    group="data",
    help=help_text(
        "把区县自己的资料（社区边界、楼栋轮廓、小区范围、道路、河流铁路围墙、服务站、一标三实房屋人口台账）"
        "做成校验过的数据集，并说明台账的每一行去了哪里（匹配报告）。图层可以是文件，也可以是"
        "QGIS 中已加载的图层。",
        "Makes a validated dataset from a district's own files (community boundaries, building "
        "footprints, compound outlines, roads, rivers and railways, stations and the household "
        "ledger, 一标三实) and "
        "says what became of every ledger row (the match report). Layers may be files or "
        "layers loaded in QGIS.",
        "gridgen ingest --communities F --footprints F --ledger F [--compounds F] [--roads F] "
        "[--stations F] [--barriers F] --out DATA.gpkg --match-report R.json|R.xlsx",
    ),
    params=(
        _layer(
            "COMMUNITIES",
            "--communities",
            Text("社区边界（面）", "Community boundaries (polygons)"),
            optional=False,
        ),
        _layer(
            "FOOTPRINTS",
            "--footprints",
            Text("楼栋轮廓（或 .osm.pbf）", "Building footprints (or an .osm.pbf)"),
            optional=False,
        ),
        Param(
            "LEDGER",
            "file",
            Text("房屋人口台账（xlsx 或 csv）", "Household ledger (xlsx or csv)"),
            flag="--ledger",
            suffixes=(".xlsx", ".csv"),
        ),
        *LEDGER_CRS,
        _layer(
            "COMPOUNDS", "--compounds", Text("小区范围（可选）", "Compound outlines (optional)")
        ),
        _layer("ROADS", "--roads", Text("道路（可选，OSM）", "Roads (optional, OpenStreetMap)")),
        _layer("STATIONS", "--stations", Text("服务站（点，可选）", "Stations (points, optional)")),
        _layer(
            "BARRIERS",
            "--barriers",
            Text("河流、铁路、围墙（可选）", "Rivers, railways, walls (optional)"),
        ),
        _lines(
            "MAP", "--map", Text("字段对应", "Column for a field"), "buildings.building_id=BLDG_ID"
        ),
        _lines("INPUT_CRS", "--crs", Text("无坐标系的输入", "CRS of an input"), "footprints=gcj02"),
        _lines(
            "ROAD_CLASS", "--road-class", Text("OSM 道路等级", "OSM road class"), "tertiary=main"
        ),
        Param(
            "MAX_ROWS",
            "int",
            Text("最多读取的台账行数（可选）", "Most ledger rows read (optional)"),
            flag="--max-rows",
            optional=True,
            minimum=1,
            maximum=10_000_000,
            advanced=True,
        ),
        c.output(
            "--out", Text("数据集（GeoPackage）", "Dataset (GeoPackage)"), (".gpkg",), load=True
        ),
        c.output(
            "--match-report",
            Text("匹配报告（JSON 或 xlsx，可选）", "Match report (JSON or xlsx, optional)"),
            (".json", ".xlsx"),
            name="MATCH_REPORT",
            optional=True,
            temporary=True,
        ),
    ),
    results=tuple(
        Result(name, "number", label, "MATCH_REPORT", f"totals.{key}")
        for name, key, label in (
            ("ROWS_MATCHED", "matched", Text("匹配的台账行", "Ledger rows matched")),
            ("ROWS_UNMATCHED", "unmatched", Text("未匹配的台账行", "Ledger rows unmatched")),
            ("HOUSEHOLDS", "households", Text("户数", "Households")),
        )
    ),
)
