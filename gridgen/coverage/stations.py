"""Station coverage: each building's nearest station and distance, and roll-ups by level.

Walking distance (``mode="walk"``) runs along the road network
(:mod:`gridgen.coverage.network`): buildings (representative points) and stations are snapped to
the nearest edge and the snapping distances are part of the walk. One multi-source
Dijkstra (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``) gives every node
its distance to the nearest station and which station that is. It runs over the whole
network (no ``limit``) so that uncovered buildings still get their true distance; one
pass costs the same order of time either way. Straight-line distance (``mode="line"``)
uses a k-d tree. A building on a part of the network without any station is reported
``reachable=False``, never covered, with distance NA.

Life circles (GB 50180-2018): 5 minutes ≈ 300 m, 10 minutes ≈ 500 m (default),
15 minutes ≈ 1000 m (:data:`LIFE_CIRCLES`).
"""

from __future__ import annotations

import math
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from gridgen.coverage.network import graph_with_points, snap_points, walk_network
from gridgen.dataset import Dataset
from gridgen.errors import InputError, ParameterError
from gridgen.levels import (
    community_keys,
    grid_of_building,
    level_groups,
    require_level,
    rolled_up,
)
from gridgen.partition.plan import Plan

Mode = Literal["walk", "line"]
Level = Literal["building", "grid", "community", "street", "district"]

MODES: tuple[str, ...] = ("walk", "line")
LEVELS: tuple[str, ...] = ("building", "grid", "community", "street", "district")
DEFAULT_RADIUS_M = 500.0
"""The default station service radius, metres: the 10-minute life circle of GB 50180-2018."""
LIFE_CIRCLES: dict[str, float] = {"5min": 300.0, "10min": DEFAULT_RADIUS_M, "15min": 1000.0}
"""Walking radii of the GB 50180-2018 life circles, metres."""

COVERAGE_COLUMNS: tuple[str, ...] = (
    "building_id",
    "community_id",
    "compound_id",
    "households",
    "station_id",
    "distance_m",
    "snap_m",
    "covered",
    "reachable",
)


def check_radius(radius: float, *, name: str = "radius") -> float:
    """Return ``radius`` as a float, or raise :class:`ParameterError` if not a positive number."""
    try:
        value = float(radius)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        msg = (
            f"{name} must be a positive number of metres, got {radius!r}: use e.g. 300, 500 "
            "or 1000 (life circles of GB 50180-2018)"
        )
        raise ParameterError(msg)
    return value


def check_choice(value: str, choices: tuple[str, ...], *, name: str) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ParameterError`."""
    if value not in choices:
        msg = f"unknown {name} {value!r}: choose one of {', '.join(choices)}"
        raise ParameterError(msg)
    return value


def representative_points(frame: gpd.GeoDataFrame) -> NDArray[np.object_]:
    """Return a point inside each geometry (the point itself for points), same CRS."""
    return np.asarray(shapely.point_on_surface(frame.geometry.to_numpy()), dtype=object)


def station_points(dataset: Dataset, stations: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Return the stations to use, projected to the dataset's metric CRS."""
    if stations is None:
        return dataset.metric("stations")
    if stations.crs is None:
        msg = "the stations layer given has no CRS: set it (e.g. EPSG:4326) before computing"
        raise InputError(msg)
    if "station_id" not in stations.columns:
        msg = "the stations layer given has no station_id column: add one"
        raise InputError(msg)
    return stations.to_crs(dataset.metric_crs)


def nearest_walk(
    roads: gpd.GeoDataFrame,
    sources: NDArray[np.object_],
    targets: NDArray[np.object_],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Return, per target point, the walking distance to the nearest source and its index.

    Parameters
    ----------
    roads
        Roads in the metric CRS.
    sources, targets
        Point geometries in the metric CRS.

    Returns
    -------
    distance
        Metres including both snapping distances; ``inf`` where no source is reachable.
    source
        Index into ``sources`` of the nearest one; ``-1`` where unreachable.
    snap_m
        Snapping distance of each target.
    """
    n_t = len(targets)
    if len(sources) == 0:
        return np.full(n_t, np.inf), np.full(n_t, -1, dtype=np.int64), np.full(n_t, np.nan)
    network = walk_network(roads)
    snap = snap_points(network, np.concatenate([targets, sources]))
    graph, nodes = graph_with_points(network, snap)
    source_nodes = nodes[n_t:]
    dist, _pred, nearest = dijkstra(
        graph, directed=True, indices=source_nodes, min_only=True, return_predecessors=True
    )
    target_nodes = nodes[:n_t]
    distance = np.asarray(dist[target_nodes], dtype=np.float64)
    src_node = np.asarray(nearest[target_nodes], dtype=np.int64)
    source = np.where(src_node >= 0, src_node - int(source_nodes[0]), -1)
    source[~np.isfinite(distance)] = -1
    return distance, source, snap.snap_m[:n_t]


def nearest_line(
    sources: NDArray[np.object_], targets: NDArray[np.object_]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return, per target point, the straight-line distance to the nearest source and its index."""
    n_t = len(targets)
    if len(sources) == 0:
        return np.full(n_t, np.inf), np.full(n_t, -1, dtype=np.int64)
    tree = cKDTree(shapely.get_coordinates(sources))
    dist, idx = tree.query(shapely.get_coordinates(targets), k=1)
    return np.asarray(dist, dtype=np.float64), np.asarray(idx, dtype=np.int64)


def station_coverage(
    dataset: Dataset,
    *,
    radius: float = DEFAULT_RADIUS_M,
    mode: str = "walk",
    stations: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Return every building's nearest station, distance and whether it is covered.

    Parameters
    ----------
    dataset
        A validated dataset (buildings, stations, and roads for ``mode="walk"``).
    radius
        Service radius in metres (default 500, the 10-minute life circle).
    mode
        ``"walk"`` along the road network (snapping distances counted) or ``"line"``.
    stations
        Stations to use instead of the dataset's (a layer with ``station_id`` and points).

    Returns
    -------
    geopandas.GeoDataFrame
        Aligned to ``dataset.buildings`` (same index and order, building geometry in
        EPSG:4326), with columns :data:`COVERAGE_COLUMNS`. ``distance_m`` is NA and
        ``reachable`` false where no station can be reached; ``covered`` is
        ``reachable and distance_m <= radius``. ``snap_m`` is the walk from the building to
        the road (0 in line mode).

    Raises
    ------
    ParameterError
        For a radius ≤ 0 or an unknown mode.
    InputError
        For walking mode without any walkable road.
    """
    radius = check_radius(radius)
    check_choice(mode, MODES, name="mode")
    buildings = dataset.metric("buildings")
    st = station_points(dataset, stations)
    b_pts = representative_points(buildings)
    s_pts = representative_points(st)
    if mode == "walk":
        dist, idx, snap_m = nearest_walk(dataset.metric("roads"), s_pts, b_pts)
    else:
        dist, idx = nearest_line(s_pts, b_pts)
        snap_m = np.zeros(len(b_pts))
    reachable = np.isfinite(dist) & (idx >= 0)
    station_ids = st["station_id"].astype("string").to_numpy()
    sid = pd.array([station_ids[i] if i >= 0 else pd.NA for i in idx], dtype="string")
    src = dataset.buildings
    out = pd.DataFrame(index=src.index)
    out["building_id"] = src["building_id"].astype("string")
    for col in ("community_id", "compound_id"):
        out[col] = src[col].astype("string") if col in src.columns else pd.NA
    out["households"] = pd.to_numeric(src["households"]).fillna(0).astype(np.int64)
    out["station_id"] = pd.Series(sid, index=src.index)
    out["distance_m"] = np.where(reachable, dist, np.nan)
    out["snap_m"] = snap_m
    out["covered"] = reachable & (dist <= radius)
    out["reachable"] = reachable
    return gpd.GeoDataFrame(out, geometry=src.geometry, crs=src.crs)


def _level_keys(dataset: Dataset, cov: pd.DataFrame, level: str, plan: Plan | None) -> pd.Series:
    """Return each building's group key at ``level`` (NA: in no group, see gridgen.levels)."""
    if plan is not None and level == "grid":
        return cov["building_id"].astype("string").map(grid_of_building(plan)).astype("string")
    require_level(dataset, level)
    return community_keys(dataset, cov["community_id"], level)


COUNT_COLUMNS: tuple[str, ...] = (
    "buildings",
    "households",
    "covered_households",
    "uncovered_households",
    "share",
    "unreachable_buildings",
    "compounds",
    "uncovered_compounds",
    "partly_covered_compounds",
)
"""The figures of every group of :func:`coverage_by_level`, in column order."""


def _building_rows(cov: pd.DataFrame, covered_hh: NDArray[np.int64]) -> pd.DataFrame:
    """Return the building-level roll-up: each building with its own figures."""
    out = pd.DataFrame(cov.drop(columns="geometry", errors="ignore"))
    out["covered_households"] = covered_hh
    hh = out["households"].to_numpy(dtype=float)
    out["share"] = np.where(hh > 0, covered_hh / np.where(hh > 0, hh, 1), np.nan)
    return out.reset_index(drop=True)


def _compound_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Return per key: compounds with households, not covered at all, and partly covered."""
    comp = (
        frame.dropna(subset=["compound_id"])
        .groupby(["key", "compound_id"], dropna=False, sort=False)[
            ["households", "covered_households"]
        ]
        .sum()
        .reset_index()
    )
    comp = comp[comp["households"] > 0]
    comp["uncovered"] = comp["covered_households"] == 0
    comp["partly"] = (comp["covered_households"] > 0) & (
        comp["covered_households"] < comp["households"]
    )
    return comp.groupby("key", dropna=False, sort=False).agg(
        compounds=("compound_id", "size"),
        uncovered_compounds=("uncovered", "sum"),
        partly_covered_compounds=("partly", "sum"),
    )


def coverage_by_level(
    dataset: Dataset,
    cov: pd.DataFrame,
    *,
    level: str = "community",
    plan: Plan | None = None,
) -> pd.DataFrame:
    """Return coverage rolled up to ``level``.

    Parameters
    ----------
    dataset
        The dataset ``cov`` was computed on.
    cov
        The result of :func:`station_coverage`.
    level
        ``building``, ``grid`` (needs ``plan``), ``community``, ``street`` or ``district``.
    plan
        A grid plan (anything with ``grids`` and ``assignment``).

    Returns
    -------
    pandas.DataFrame
        One row per group of :func:`gridgen.levels.level_groups` in key order (groups
        without buildings included with zeros; buildings in no group, e.g. not in the plan,
        in a last row with an NA key: the rule of :mod:`gridgen.levels`) with the group's
        columns and :data:`COUNT_COLUMNS`: ``buildings``, ``households``,
        ``covered_households``, ``uncovered_households``, ``share`` (covered / households,
        NA for no households), ``unreachable_buildings``, ``compounds`` (with households),
        ``uncovered_compounds`` (none of their households covered) and
        ``partly_covered_compounds``. A compound split between grids (a large compound made
        into several grids) is counted in each of them, so compound counts of grids may
        exceed their community's; household counts always add up. At building level, one
        row per building with its own figures.
    """
    check_choice(level, LEVELS, name="level")
    covered_hh = np.where(
        cov["covered"].to_numpy(dtype=bool), cov["households"].to_numpy(), 0
    ).astype(np.int64)
    if level == "building":
        return _building_rows(cov, covered_hh)
    groups = level_groups(dataset, level, plan=plan)  # a grid level needs a plan
    keys = _level_keys(dataset, cov, level, plan)
    frame = pd.DataFrame(
        {
            "key": keys.astype("string").to_numpy(),
            "compound_id": cov["compound_id"].astype("string").to_numpy(),
            "households": cov["households"].to_numpy(dtype=np.int64),
            "covered_households": covered_hh,
            "unreachable": ~cov["reachable"].to_numpy(dtype=bool),
        }
    )
    agg = frame.groupby("key", dropna=False, sort=False).agg(
        buildings=("households", "size"),
        households=("households", "sum"),
        covered_households=("covered_households", "sum"),
        unreachable_buildings=("unreachable", "sum"),
    )
    agg = agg.join(_compound_counts(frame), how="left")
    out = rolled_up(groups, agg, counts=(*agg.columns,))
    out["uncovered_households"] = out["households"] - out["covered_households"]
    hh = out["households"].to_numpy(dtype=float)
    out["share"] = np.where(hh > 0, out["covered_households"] / np.where(hh > 0, hh, 1), np.nan)
    return out[[*groups.columns, *COUNT_COLUMNS]].reset_index(drop=True)


def station_load(
    dataset: Dataset, cov: pd.DataFrame, *, stations: gpd.GeoDataFrame | None = None
) -> pd.DataFrame:
    """Return households served per station against its capacity.

    A building is served by its nearest station when it is covered (within the radius).

    Returns
    -------
    pandas.DataFrame
        One row per station: ``station_id``, ``kind``, ``community_id``,
        ``capacity_households`` (NA when unknown), ``buildings_served``,
        ``households_served``, ``households_nearest`` (all reachable buildings whose
        nearest station it is, at any distance), ``load_ratio`` (served / capacity) and
        ``overloaded`` (served > capacity; NA when the capacity is unknown).
    """
    st = dataset.stations if stations is None else stations
    out = pd.DataFrame({"station_id": st["station_id"].astype("string").to_numpy()})
    for col in ("kind", "community_id"):
        out[col] = st[col].astype("string").to_numpy() if col in st.columns else pd.NA
    if "capacity_households" in st.columns:
        cap = pd.to_numeric(st["capacity_households"], errors="coerce").astype("Float64")
    else:
        cap = pd.Series(pd.NA, index=st.index, dtype="Float64")
    out["capacity_households"] = cap.to_numpy()
    frame = pd.DataFrame(
        {
            "station_id": cov["station_id"].astype("string").to_numpy(),
            "households": cov["households"].to_numpy(dtype=np.int64),
            "covered": cov["covered"].to_numpy(dtype=bool),
        }
    )
    frame = frame.dropna(subset=["station_id"])
    nearest = frame.groupby("station_id")["households"].sum()
    served = frame[frame["covered"]].groupby("station_id")["households"].agg(["size", "sum"])
    out["buildings_served"] = out["station_id"].map(served["size"]).fillna(0).astype(np.int64)
    out["households_served"] = out["station_id"].map(served["sum"]).fillna(0).astype(np.int64)
    out["households_nearest"] = out["station_id"].map(nearest).fillna(0).astype(np.int64)
    capacity = out["capacity_households"].astype("Float64")
    ratio = out["households_served"].astype("Float64") / capacity.where(capacity > 0)
    out["load_ratio"] = ratio
    out["overloaded"] = (out["households_served"].astype("Float64") > capacity).astype("boolean")
    return out
