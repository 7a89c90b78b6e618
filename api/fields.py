"""What the served fields mean (TileJSON ``vector_layers.fields``), and HTTP validators.

Descriptions are for the people who style the tiles in MapLibre or QGIS: a field's unit,
its range and where it comes from, not its name again.
"""

from __future__ import annotations

from typing import Any

FIELD_DESCRIPTIONS: dict[str, str] = {
    "street_id": "街道编码 street (subdistrict) code",
    "community_id": "社区编码 code of the community the feature lies in",
    "compound_id": "小区编码 compound code; empty for scattered buildings (散居楼栋)",
    "building_id": "楼栋编码 building code",
    "station_id": "站点编码 station code (for uncovered buildings: the nearest station)",
    "road_id": "道路编码 road code",
    "company_id": "物业公司编码 property company code",
    "grid_id": "网格编码 grid code: community code + sequence (west→east, north→south)",
    "valid_from": "启用日期 date the grid code came into use (ISO date)",
    "valid_to": "停用日期 date the grid code was retired (empty while in use)",
    "name": "名称 name as given in the dataset",
    "kind": "类型 kind: stations center/micro/red_front; roads main/minor/path",
    "households": "户数 households (for grids: total of the grid's buildings)",
    "households_estimated": "true when the households were estimated from floors and footprint",
    "residents": "人数 residents of the building",
    "floors": "层数 floors above ground",
    "leader_name": "楼栋长 building leader's name",
    "leader_phone": "楼栋长电话 building leader's phone (restricted: authorised roles only)",
    "key_persons": "重点人员 number of key persons (restricted: authorised roles only)",
    "party_members": "党员 party members living in the building",
    "property_mode": (
        "物业模式 property management: company, red_property, unit_cobuild, subsidy, "
        "community_fallback or none"
    ),
    "property_company_id": "物业公司编码 code of the property company serving the compound",
    "party_branch": "true when the compound has a party branch (党支部)",
    "has_party_org": "true when the property company has a party organisation",
    "capacity_households": "服务能力 households the station is meant to serve",
    "walkable": "true when pedestrians may use the road (walking coverage)",
    "party_org": (
        "true when the grid has a grid party organisation (网格党组织); empty: unknown (no "
        "office's sheet said)"
    ),
    "party_org_name": "网格党组织名称 name of the grid's party organisation",
    "responsible": "责任主体 party responsible for the grid's land (属地兜底 where none)",
    "grid_worker": "网格员 grid worker's name (restricted: authorised roles only)",
    "worker_phone": "网格员电话 grid worker's phone (restricted: authorised roles only)",
    "workers": "网格员人数 grid workers assigned to the grid",
    "buildings": "楼栋数 buildings assigned to the grid",
    "polsby_popper": "compactness 4πA/P² of the grid polygon, 0-1 (1 = a disc)",
    "deviation": "households / target − 1: 0 is on target, +0.2 is 20% above",
    "in_band": "true when the grid's households are inside the plan's band [min, max]",
    "main_road_crossings": "main-road segments crossing the grid's interior (0 = none)",
    "distance_m": "walking distance in metres to the nearest station (empty: none reachable)",
    "covered": "true when a station is within the walking radius",
}
"""Column → description of every field a served layer may carry."""


def field_description(name: str) -> str:
    """Return the description of field ``name`` (a generic one for unknown fields)."""
    return FIELD_DESCRIPTIONS.get(name, f"attribute {name!r} as uploaded (not a gridgen column)")


def tile_fields(keys: list[str] | set[str]) -> dict[str, str]:
    """Return TileJSON ``fields`` for the property keys the tiles carry."""
    return {k: field_description(k) for k in sorted(keys)}


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Return whether an If-None-Match header matches ``etag`` (RFC 9110 weak comparison).

    ``*`` matches any current representation; ``W/"x"`` and ``"x"`` match each other.
    """
    if if_none_match is None:
        return False
    want = _opaque(etag)
    for tag in if_none_match.split(","):
        t = tag.strip()
        if t == "*" or (t and _opaque(t) == want):
            return True
    return False


def _opaque(tag: str) -> str:
    t = tag.strip()
    return t[2:] if t.startswith(("W/", "w/")) else t


def property_keys(rows: list[Any]) -> set[str]:
    """Return the union of the property keys of stored feature rows."""
    keys: set[str] = set()
    for r in rows:
        keys.update(r.properties)
    return keys
