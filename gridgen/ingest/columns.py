"""Columns found by their usual Chinese and English names, with ``--map`` overrides.

Each input of ``gridgen ingest`` has a few logical fields (:data:`FIELDS`); each field has
the names offices and tools commonly give it, tried in order. A header matches a name
after NFKC folding (full-width letters), trimming, lower case and dropping spaces,
underscores and brackets, so ``社区代码``, ``社区代码 `` and ``COMM_CODE`` all work. ``--map
LAYER.FIELD=COLUMN`` names the column outright. A required field that is not found is an
error naming what was looked for, what the file holds and the ``--map`` that fixes it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from gridgen.errors import ParameterError, SchemaError

FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "communities": {
        "community_id": (
            "community_id", "社区代码", "社区编码", "社区编号", "统计代码", "统计用区划代码",
            "区划代码", "行政区划代码", "居委会代码", "code", "comm_code", "sqdm",
        ),
        "name": ("name", "社区名称", "社区", "居委会名称", "名称", "comm_name", "sqmc"),
        "street_id": ("street_id", "街道代码", "街道编码", "街道编号", "street_code", "jddm"),
        "street_name": ("street_name", "街道名称", "街道", "所属街道", "乡镇街道", "jdmc"),
    },
    "buildings": {
        "building_id": (
            "building_id", "楼栋编号", "建筑编号", "建筑物编码", "房屋编码", "bldg_id", "osm_id",
            "osm_way_id", "id", "fid",
        ),
        "name": ("name", "名称", "建筑名称", "楼栋名称", "楼名", "建筑物名称", "地址", "address"),
        "floors": ("floors", "层数", "楼层数", "地上层数", "building:levels", "levels"),
    },
    "compounds": {
        "compound_id": ("compound_id", "小区编号", "小区代码", "aoi_id"),
        "name": ("name", "小区名称", "名称", "aoi名称", "小区", "aoi_name"),
    },
    "roads": {
        "road_id": ("road_id", "osm_id", "道路编号", "id"),
        "fclass": ("fclass", "highway", "道路等级", "等级", "道路类型", "class", "type"),
        "name": ("name", "道路名称", "名称"),
    },
    "barriers": {
        "barrier_id": ("barrier_id", "osm_id", "编号", "id"),
        "kind": ("kind", "类型", "类别"),
        "fclass": ("fclass", "class"),
        "name": ("name", "名称", "河流名称", "线路名称"),
    },
    "stations": {
        "station_id": ("station_id", "站点编号", "编号", "id"),
        "kind": ("kind", "类型", "站点类型", "类别", "type"),
        "name": ("name", "站点名称", "名称"),
        "capacity_households": ("capacity_households", "服务户数", "容量户数"),
    },
    "ledger": {
        "community": ("社区名称", "社区", "所属社区", "居委会", "community"),
        "compound": ("小区名称", "小区", "小区名", "所属小区", "院落名称", "小区/院落", "compound"),
        "address": (
            "标准地址", "地址", "详细地址", "房屋地址", "住址", "居住地址", "门牌地址", "address",
        ),
        "building": ("楼栋", "楼号", "楼栋号", "栋号", "幢号", "楼栋名称", "building"),
        "unit": ("单元", "单元号", "unit"),
        "room": ("房号", "房间号", "室号", "户号", "门牌号", "门牌", "room"),
        "residents": (
            "人口数", "人数", "居住人数", "实有人口", "常住人口", "人口", "residents", "persons",
        ),
        "lon": ("经度", "lon", "lng", "longitude", "x", "坐标x", "门牌经度"),
        "lat": ("纬度", "lat", "latitude", "y", "坐标y", "门牌纬度"),
    },
}  # fmt: skip
"""Layer → logical field → the names tried in order (first match wins)."""

LAYER_ALIASES: dict[str, str] = {"footprints": "buildings", "aois": "compounds"}
"""Other names ``--map`` accepts for a layer (``footprints`` is the option's name)."""

_FOLD = re.compile(r"[\s_\-()（）\[\]【】:：/]+")


def folded(name: object) -> str:
    """Return a header folded for comparison (NFKC, lower case, no spaces or brackets)."""
    return _FOLD.sub("", unicodedata.normalize("NFKC", str(name)).strip().lower())


@dataclass(frozen=True)
class ColumnMap:
    """``--map`` overrides: layer → field → the column to use."""

    overrides: Mapping[str, Mapping[str, str]]

    def get(self, layer: str, field: str) -> str | None:
        """Return the column named for ``layer.field`` (None when not overridden)."""
        return self.overrides.get(layer, {}).get(field)


def parse_map(items: Iterable[str]) -> ColumnMap:
    """Return the overrides of ``--map LAYER.FIELD=COLUMN`` items.

    Raises
    ------
    ParameterError
        A malformed item, an unknown layer or an unknown field (naming the known ones).
    """
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, column = str(item).partition("=")
        layer, dot, field = key.strip().partition(".")
        if not sep or not dot or not column.strip() or not field:
            msg = (
                f"--map {item!r}: give LAYER.FIELD=COLUMN, e.g. --map buildings.building_id=BLDG_ID"
            )
            raise ParameterError(msg)
        layer = LAYER_ALIASES.get(layer.strip().lower(), layer.strip().lower())
        if layer not in FIELDS:
            known = ", ".join(sorted({*FIELDS, *LAYER_ALIASES}))
            raise ParameterError(f"--map {item!r}: unknown layer {layer!r}; use one of {known}")
        field = field.strip().lower()
        if field not in FIELDS[layer]:
            known = ", ".join(FIELDS[layer])
            msg = f"--map {item!r}: {layer} has no field {field!r}; its fields are {known}"
            raise ParameterError(msg)
        out.setdefault(layer, {})[field] = column.strip()
    return ColumnMap(out)


def find_column(
    columns: Sequence[object],
    layer: str,
    field: str,
    *,
    source: str,
    mapping: ColumnMap | None = None,
    required: bool = False,
) -> str | None:
    """Return the column of ``columns`` holding ``layer.field`` (None when absent, optional).

    Raises
    ------
    SchemaError
        A ``--map`` column the file does not hold, or a required field not found; the
        message names the candidates, the columns present and the ``--map`` fix.
    """
    by_fold: dict[str, str] = {}
    for col in columns:
        by_fold.setdefault(folded(col), str(col))
    given = mapping.get(layer, field) if mapping else None
    if given is not None:
        hit = by_fold.get(folded(given))
        if hit is None:
            msg = (
                f"{source}: --map {layer}.{field}={given}: no such column; the file has "
                f"{_listed(columns)}"
            )
            raise SchemaError(msg)
        return hit
    for name in FIELDS[layer][field]:
        hit = by_fold.get(folded(name))
        if hit is not None:
            return hit
    if required:
        msg = (
            f"{source}: no column for {layer} {field} (looked for "
            f"{', '.join(FIELDS[layer][field])}); the file has {_listed(columns)}; name it with "
            f"--map {layer}.{field}=COLUMN"
        )
        raise SchemaError(msg)
    return None


def find_columns(
    columns: Sequence[object],
    layer: str,
    *,
    source: str,
    mapping: ColumnMap | None = None,
    required: Sequence[str] = (),
) -> dict[str, str]:
    """Return field → column for every field of ``layer`` found in ``columns``.

    A column serves one field only: the first field (in :data:`FIELDS` order, overridden
    fields first) that claims it keeps it.
    """
    found: dict[str, str] = {}
    fields = list(FIELDS[layer])
    if mapping is not None:
        fields.sort(key=lambda f: mapping.get(layer, f) is None)
    for field in fields:
        taken = set(found.values())
        col = find_column(
            [c for c in columns if str(c) not in taken],
            layer,
            field,
            source=source,
            mapping=mapping,
            required=field in required,
        )
        if col is not None:
            found[field] = col
    return found


def _listed(columns: Sequence[object], most: int = 25) -> str:
    names = [str(c) for c in columns if str(c) != "geometry"]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return (", ".join(names[:most]) + more) if names else "no columns"


def ids_and_names(
    frame: pd.DataFrame, columns: Mapping[str, str], *, id_field: str, prefix: str
) -> tuple[pd.Series, pd.Series]:
    """Return each row's id and name: the id column ``columns[id_field]`` as text (None
    where blank), or ``prefix`` + a six-digit number when the file has no such column; the
    name column, or None."""
    if id_field in columns:
        ids = frame[columns[id_field]].astype(object).map(lambda v: None if pd.isna(v) else str(v))
    else:
        ids = pd.Series([f"{prefix}{i:06d}" for i in range(1, len(frame) + 1)], index=frame.index)
    names = frame[columns["name"]] if "name" in columns else pd.Series(None, index=frame.index)
    return ids, names
