"""Assembling a raw district from gridgen layers (:func:`raw_district`; see :mod:`.raw`)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.io.crs import WGS84
from gridgen.io.polygons import polygonal_parts
from gridgen.sample.raw import (
    BUILDING_SPELLINGS,
    FCLASS_BY_KIND,
    DoorBuilding,
    RawDistrict,
    RawSpec,
    building_numbers,
    road_names,
    spelled,
)
from gridgen.sample.raw_ledger import household_rows, ledger_frame, messy_extras, pick


def _random_inside(poly: shapely.Polygon, rng: np.random.Generator) -> tuple[float, float]:
    """Return a random point inside ``poly`` (rejection sampling, centroid as last resort)."""
    x0, y0, x1, y1 = poly.bounds
    for _ in range(30):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if poly.contains(shapely.Point(x, y)):
            return x, y
    p = poly.representative_point()
    return p.x, p.y


YARD_M = (3.0, 12.0)
"""How far in front of its building a door plate taken in the yard lies (metres)."""


def _in_yard(
    poly: shapely.Polygon,
    tree: shapely.STRtree,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Return a door plate taken in the yard: a point of the building's southern wall
    pushed 3-12 m straight out from the building (halved until it is at least 2 m from every
    footprint, so it never lies on another building)."""
    parts = polygonal_parts(poly)
    if len(parts) == 0:  # a building known as a point: its door plate is there
        return float(poly.centroid.x), float(poly.centroid.y)
    poly = max(parts, key=lambda part: part.area)
    ring = shapely.get_exterior_ring(poly)
    centre = shapely.centroid(poly)
    points = list(shapely.line_interpolate_point(ring, rng.random(8), normalized=True))
    wall = min(points, key=lambda p: p.y)
    direction = np.array([wall.x - centre.x, wall.y - centre.y])
    direction /= max(float(np.hypot(*direction)), 1e-9)
    off = rng.uniform(*YARD_M)
    while off > 1.0:
        x, y = np.array([wall.x, wall.y]) + direction * off
        if len(tree.query(shapely.Point(x, y), predicate="dwithin", distance=2.0)) == 0:
            break
        off /= 2
    x, y = np.array([wall.x, wall.y]) + direction * off
    return float(x), float(y)


def _doorplates(layers: dict[str, gpd.GeoDataFrame], rng: np.random.Generator) -> dict[str, str]:
    """Return a door plate (胜利街12号) per compound id and per scattered building id."""
    comm = layers["communities"]["community_id"].tolist()
    roads = dict(zip(comm, road_names(len(comm), rng), strict=True))
    counter = dict.fromkeys(comm, 0)
    plates: dict[str, str] = {}
    compounds = layers["compounds"]
    comp_comm = compounds.get("community_id", pd.Series([None] * len(compounds)))
    for cid, comm_id in zip(compounds["compound_id"], comp_comm, strict=True):
        counter[comm_id] += 1
        plates[cid] = f"{roads[comm_id]}{counter[comm_id] * 2}号"
    b = layers["buildings"]
    for bid, comp, comm_id in zip(
        b["building_id"], b["compound_id"], b["community_id"], strict=True
    ):
        if comp is None or pd.isna(comp):
            counter[comm_id] += 1
            plates[bid] = f"{roads[comm_id]}{counter[comm_id] * 2 - 1}号"
    return plates


def _buildings(
    layers: dict[str, gpd.GeoDataFrame], spec: RawSpec, rng: np.random.Generator
) -> list[DoorBuilding]:
    metric = layers["communities"].estimate_utm_crs()
    b = layers["buildings"].reset_index(drop=True)
    for col in ("floors", "residents"):
        if col not in b.columns:
            b[col] = np.nan
    if "community_id" not in b.columns:
        pts = gpd.GeoDataFrame(geometry=b.geometry.representative_point(), crs=b.crs)
        hit = gpd.sjoin(
            pts, layers["communities"][["community_id", "geometry"]], predicate="within"
        )
        b["community_id"] = hit.groupby(level=0)["community_id"].first().reindex(b.index)
    comm = layers["communities"].set_index("community_id")
    streets = layers["streets"].set_index("street_id")["name"].to_dict()
    comp = layers["compounds"].set_index("compound_id")
    comp_metric = comp.to_crs(metric).geometry
    plates = _doorplates({**layers, "buildings": b}, rng)
    numbers = building_numbers(b, metric)
    geoms = b.to_crs(metric).geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    gate_compounds = set(comp.index[rng.random(len(comp)) < spec.gate_share])
    missing = (rng.random(len(b)) < spec.missing_share) & (b["households"].to_numpy() > 0)
    yard = rng.random(len(b)) < spec.yard_share
    out = []
    for i, row in enumerate(b.itertuples(index=False)):
        cid = None if row.compound_id is None or pd.isna(row.compound_id) else str(row.compound_id)
        floors = int(row.floors) if not pd.isna(row.floors) else 6
        hh = int(row.households)
        units = max(1, -(-hh // (max(1, floors) * 2)))
        poly = geoms[i]
        if yard[i]:
            doors = [_in_yard(poly, tree, rng) for _ in range(units)]
        else:
            doors = [_random_inside(poly, rng) for _ in range(units)]
        gate = None
        if cid in gate_compounds:
            g = comp_metric[cid]
            gate = (g.centroid.x, g.bounds[1])
        community = comm.loc[row.community_id] if not pd.isna(row.community_id) else None
        out.append(
            DoorBuilding(
                building_id=str(row.building_id),
                footprint=f"JZ{i + 1:06d}",
                community=str(community["name"]) if community is not None else "",
                street=str(streets.get(community["street_id"], ""))
                if community is not None
                else "",
                compound=str(comp.loc[cid, "name"]) if cid else None,
                doorplate=plates[cid] if cid else plates[str(row.building_id)],
                number=int(numbers[i]),
                households=hh,
                residents=int(row.residents) if not pd.isna(row.residents) else hh * 2,
                floors=floors,
                doors=doors,
                gate=gate,
                spelling=int(rng.integers(len(BUILDING_SPELLINGS))),
                present=not missing[i],
            )
        )
    return out


def _footprint_names(
    buildings: list[DoorBuilding], spec: RawSpec, rng: np.random.Generator
) -> list[str | None]:
    names: list[str | None] = []
    for b in buildings:
        if not pick(rng, spec.named_share):
            names.append(None)
        elif b.compound is None:
            names.append(b.doorplate)
        elif pick(rng, 0.6):
            names.append(b.compound + spelled(b.number, int(rng.integers(4))))
        else:
            names.append(spelled(b.number, 0))
    return names


def _roads(roads: gpd.GeoDataFrame, names: list[str], rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return roads as a Geofabrik ``gis_osm_roads_free`` layer (fclass, osm_id, name ...)."""
    kinds = roads["kind"].astype(str).tolist()
    fclass = [str(rng.choice(FCLASS_BY_KIND.get(k, ("residential",)))) for k in kinds]
    n = len(roads)
    return gpd.GeoDataFrame(
        {
            "osm_id": [str(100000000 + i) for i in range(n)],
            "code": [5100 + i % 20 for i in range(n)],
            "fclass": fclass,
            "name": [
                str(rng.choice(names)) if f in ("primary", "secondary", "trunk") else ""
                for f in fclass
            ],
            "ref": [""] * n,
            "oneway": ["B"] * n,
            "maxspeed": [0] * n,
            "layer": [0] * n,
            "bridge": ["F"] * n,
            "tunnel": ["F"] * n,
        },
        geometry=roads.geometry.values,
        crs=roads.crs,
    )


STATION_LABELS = {"center": "党群服务中心", "micro": "网格党群服务微站", "red_front": "红色阵地"}


def raw_district(layers: dict[str, gpd.GeoDataFrame], spec: RawSpec | None = None) -> RawDistrict:
    """Return the raw files of the district ``layers`` (gridgen layers, EPSG:4326) and the truth.

    ``layers`` needs communities, streets, compounds and buildings (with households,
    residents and floors); roads and stations are carried over when present.
    """
    spec = spec or RawSpec()
    rng = np.random.default_rng(spec.seed)
    metric = layers["communities"].estimate_utm_crs()
    buildings = _buildings(layers, spec, rng)
    rows = [r for b in buildings for r in household_rows(b, spec, rng)]
    ledger, truth_rows = ledger_frame(messy_extras(rows, spec, rng), metric)
    present = [b for b in buildings if b.present]
    geoms = layers["buildings"].geometry.to_numpy()
    keep = np.array([b.present for b in buildings])
    footprints = gpd.GeoDataFrame(
        {
            "建筑编号": [b.footprint for b in present],
            "名称": _footprint_names(present, spec, rng),
            "层数": [b.floors for b in present],
        },
        geometry=geoms[keep],
        crs=WGS84,
    )
    comm = layers["communities"]
    streets = layers["streets"].set_index("street_id")["name"]
    communities = gpd.GeoDataFrame(
        {
            "社区代码": comm["community_id"].astype(str).to_numpy(),
            "社区名称": comm["name"].astype(str).to_numpy(),
            "街道名称": streets.reindex(comm["street_id"]).astype(str).to_numpy(),
        },
        geometry=comm.geometry.values,
        crs=WGS84,
    )
    compounds = gpd.GeoDataFrame(
        {"名称": layers["compounds"].get("name", pd.Series([], dtype=str)).astype(str).to_numpy()},
        geometry=layers["compounds"].geometry.values,
        crs=WGS84,
    )
    road_layer = layers.get("roads")
    road_words = sorted({re.sub(r"[0-9]+号$", "", b.doorplate) for b in buildings})
    roads = _roads(road_layer, road_words, rng) if road_layer is not None else None
    people = pd.DataFrame({"b": [r["_building"] for r in rows], "p": [r["_people"] for r in rows]})
    per_building = people.groupby("b")["p"].sum()
    ids = [b.building_id for b in buildings]
    truth_buildings = pd.DataFrame(
        {
            "building_id": ids,
            "footprint": [b.footprint for b in buildings],
            "households": [b.households for b in buildings],
            "residents": per_building.reindex(ids).fillna(0).astype(int).to_numpy(),
            "present": [b.present for b in buildings],
        }
    )
    extra: dict[str, object] = {}
    if "stations" in layers and len(layers["stations"]):
        st = layers["stations"]
        extra["stations"] = gpd.GeoDataFrame(
            {
                "站点名称": st.get("name", st["station_id"]).astype(str).to_numpy(),
                "类型": [STATION_LABELS[k] for k in st["kind"]],
            },
            geometry=st.geometry.values,
            crs=WGS84,
        )
    return RawDistrict(
        communities, footprints, compounds, roads, ledger, truth_rows, truth_buildings, comm, extra
    )


def relocated(
    layers: dict[str, gpd.GeoDataFrame], lon: float, lat: float
) -> dict[str, gpd.GeoDataFrame]:
    """Return ``layers`` moved so their centre lies at (``lon``, ``lat``), shapes kept.

    Every layer is taken to the local UTM zone of its old place, shifted in metres and
    put down in the UTM zone of the new place (so a district can be tried in another city,
    another Gauss-Krüger zone, with its real shapes and distances).
    """
    frames = {
        k: v
        for k, v in layers.items()
        if isinstance(v, gpd.GeoDataFrame) and v._geometry_column_name in v.columns
    }
    base = layers["communities"]
    old = base.estimate_utm_crs()
    centre = shapely.centroid(shapely.union_all(base.to_crs(old).geometry.values))
    new = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84).estimate_utm_crs()
    target = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84).to_crs(new).iloc[0]
    dx, dy = target.x - centre.x, target.y - centre.y
    out = dict(layers)
    for name, frame in frames.items():
        if frame.empty:
            out[name] = frame.set_crs(WGS84, allow_override=True)
            continue
        metric = frame.to_crs(old)
        moved = shapely.transform(metric.geometry.values, lambda xy: xy + np.array([dx, dy]))
        out[name] = metric.set_geometry(gpd.GeoSeries(moved, index=metric.index, crs=new)).to_crs(
            WGS84
        )
    return out
