"""The exchange data model (docs/data-model.md): layers, columns, types, defaults, restrictions.

This module is the single source of truth for column names. Readers, validation,
writers, the service and the maps all look columns up here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "str", "int", "float", "bool", "category"]

PROPERTY_MODES: tuple[str, ...] = (
    "company",
    "red_property",
    "unit_cobuild",
    "subsidy",
    "community_fallback",
    "none",
)
"""Property service modes: professional company plus the "四个一批" modes, and none."""

PROPERTY_MODE_LABELS: dict[str, str] = {
    "company": "专业物业",
    "red_property": "红色物业帮建",
    "unit_cobuild": "驻地单位协建",
    "subsidy": "财政补贴过渡",
    "community_fallback": "社区兜底",
    "none": "无物业",
}

STATION_KINDS: tuple[str, ...] = ("center", "micro", "red_front")
STATION_KIND_LABELS: dict[str, str] = {
    "center": "党群服务中心",
    "micro": "网格党群服务微站",
    "red_front": "红色阵地",
}
ROAD_KINDS: tuple[str, ...] = ("main", "minor", "path")
BARRIER_KINDS: tuple[str, ...] = ("river", "railway", "wall")
"""Kinds of the ``barriers`` layer: linework other than roads that grids follow (地理布局)."""
BARRIER_KIND_LABELS: dict[str, str] = {"river": "河流", "railway": "铁路", "wall": "围墙"}

LAYER_LABELS: dict[str, str] = {
    "streets": "街道",
    "communities": "社区",
    "compounds": "小区",
    "buildings": "楼栋",
    "stations": "党群服务站点",
    "roads": "道路",
    "barriers": "河流铁路围墙",
    "property_companies": "物业企业",
    "grids": "网格",
}


@dataclass(frozen=True)
class Column:
    """One column of a layer.

    Parameters
    ----------
    name
        Column name in files and frames.
    kind
        Logical type; ``id`` columns are non-empty unique strings.
    required
        Whether input must carry the column.
    default
        Value used when an optional column is absent (``None`` means missing/NA).
    restricted
        Personal data (docs/rules.md): only roles with restricted access see it.
    choices
        Allowed values for ``category`` columns.
    """

    name: str
    kind: ColumnKind
    required: bool = False
    default: object = None
    restricted: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerSchema:
    """Columns and geometry types of one layer."""

    name: str
    id_column: str | None
    columns: tuple[Column, ...]
    geometry_types: tuple[str, ...] = field(default=())

    @property
    def spatial(self) -> bool:
        """Return whether the layer has a geometry column."""
        return bool(self.geometry_types)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Return the attribute column names in schema order."""
        return tuple(c.name for c in self.columns)

    @property
    def restricted_columns(self) -> tuple[str, ...]:
        """Return the names of restricted (personal data) columns."""
        return tuple(c.name for c in self.columns if c.restricted)

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


POLY = ("Polygon", "MultiPolygon")

LAYERS: dict[str, LayerSchema] = {
    "streets": LayerSchema(
        "streets",
        "street_id",
        (Column("street_id", "id", required=True), Column("name", "str")),
        POLY,
    ),
    "communities": LayerSchema(
        "communities",
        "community_id",
        (
            Column("community_id", "id", required=True),
            Column("name", "str"),
            Column("street_id", "str"),
        ),
        POLY,
    ),
    "compounds": LayerSchema(
        "compounds",
        "compound_id",
        (
            Column("compound_id", "id", required=True),
            Column("name", "str"),
            Column("community_id", "str"),
            Column("property_mode", "category", default="none", choices=PROPERTY_MODES),
            Column("property_company_id", "str"),
            Column("party_branch", "bool", default=False),
        ),
        ("Polygon",),
    ),
    "buildings": LayerSchema(
        "buildings",
        "building_id",
        (
            Column("building_id", "id", required=True),
            Column("compound_id", "str"),
            Column("households", "int", required=True),
            Column("residents", "int"),
            Column("floors", "int"),
            Column("leader_name", "str"),
            Column("leader_phone", "str", restricted=True),
            Column("key_persons", "int", restricted=True),
            Column("party_members", "int", default=0),
        ),
        ("Polygon", "Point"),
    ),
    "stations": LayerSchema(
        "stations",
        "station_id",
        (
            Column("station_id", "id", required=True),
            Column("kind", "category", required=True, choices=STATION_KINDS),
            Column("name", "str"),
            Column("capacity_households", "int"),
        ),
        ("Point",),
    ),
    "roads": LayerSchema(
        "roads",
        "road_id",
        (
            Column("road_id", "str"),
            Column("kind", "category", required=True, choices=ROAD_KINDS),
            Column("walkable", "bool", default=True),
        ),
        ("LineString", "MultiLineString"),
    ),
    "barriers": LayerSchema(
        "barriers",
        "barrier_id",
        (
            Column("barrier_id", "str"),
            Column("kind", "category", required=True, choices=BARRIER_KINDS),
            Column("name", "str"),
        ),
        ("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    ),
    "property_companies": LayerSchema(
        "property_companies",
        "company_id",
        (
            Column("company_id", "id", required=True),
            Column("name", "str"),
            Column("has_party_org", "bool", default=False),
        ),
        (),
    ),
    "grids": LayerSchema(
        "grids",
        "grid_id",
        (
            Column("grid_id", "id", required=True),
            Column("community_id", "str", required=True),
            Column("households", "int", required=True),
            Column("party_org", "bool"),  # None: unknown (no office's sheet said)
            Column("workers", "int", default=1),
            Column("party_org_name", "str"),
            Column("responsible", "str"),
            Column("grid_worker", "str", restricted=True),
            Column("worker_phone", "str", restricted=True),
            Column("valid_from", "str"),
            Column("valid_to", "str"),
        ),
        ("Polygon",),
    ),
    "assignment": LayerSchema(
        "assignment",
        None,
        (Column("building_id", "str", required=True), Column("grid_id", "str", required=True)),
        (),
    ),
}

DATASET_LAYERS: tuple[str, ...] = (
    "streets",
    "communities",
    "compounds",
    "buildings",
    "stations",
    "roads",
    "barriers",
    "property_companies",
)
"""Layers of a dataset, in dependency order (parents first)."""

REQUIRED_LAYERS: tuple[str, ...] = ("communities", "buildings")
"""Layers a dataset must hold; the others may be absent (an empty layer is used)."""

QUIET_LAYERS: tuple[str, ...] = ("barriers",)
"""Optional layers most datasets do not have: absent, they are empty without a finding."""

PLAN_LAYERS: tuple[str, ...] = ("grids", "assignment")

DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "buildings": ("community_id", "households_estimated"),
    "stations": ("community_id",),
}
"""Columns validation adds: the containing community, and whether households were estimated."""

HOUSEHOLDS_PER_M2_FLOOR: float = 1.0 / 90.0
"""Household estimate: one household per 90 m² of floor area (footprint × floors)."""


def restricted_columns(layer: str) -> tuple[str, ...]:
    """Return the restricted columns of ``layer`` (empty for unknown layers)."""
    schema = LAYERS.get(layer)
    return schema.restricted_columns if schema else ()
