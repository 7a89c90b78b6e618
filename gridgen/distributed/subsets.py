"""Halo subsets: the rows of a dataset that one community's (or street's) task needs.

Partitioning and coverage run one task per community or street
(:func:`gridgen.distributed.executor.map_communities`); this module selects what each task reads.

Halo rule for coverage (:func:`community_rows`): the task of a community gets

- its own buildings (the *region* is the community polygon plus those buildings' points);
- every station within ``halo_m`` of the region (straight line);
- every walkable road within ``halo_m`` of the region, plus, for each of those stations,
  the roads within its snapping distance in the *whole* dataset, so that every station
  (and every building, whose nearest road is within ``halo_m``) snaps to the same road as
  in the whole dataset.

A walk of length ``d`` from a building never leaves the disc of radius ``d`` around it, so
every walk of length ``d <= halo_m`` (snapping legs included) lies in the subset: the
subset's distance equals the whole-dataset distance whenever it is ``<= halo_m``, and is
never shorter otherwise. With ``halo_m >= radius`` the covered flag is therefore exact.
Buildings whose subset distance exceeds ``halo_m`` (or that reach no station) are
recomputed with a halo four times larger around just those buildings
(:func:`gridgen.distributed.work.coverage_of_block`), until it is within the halo or the
halo holds the whole network, so every column equals
:func:`gridgen.coverage.stations.station_coverage` on the whole dataset (distances up to
floating-point noise of road noding; exact ties, two roads or two stations at the same
distance to the last bit, may resolve to the other one).

Shipping: coverage sends the whole dataset to every worker (the larger halos need it).
Partitioning reads only a community's own buildings, compounds and roads, so it can
also send each street's subset to one worker only (``ship="street"``,
:class:`Shards`, :func:`partition_shards`): the network then carries the dataset about
once in all and a worker holds only the streets it works on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError
from gridgen.schema import DATASET_LAYERS, LAYERS, restricted_columns

ORPHANS = ""
"""Group key of buildings without a community (one extra coverage task when present)."""

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CommunityRows:
    """Rows (positions) of each layer that one community's task needs.

    Attributes
    ----------
    community_id
        The community (or :data:`ORPHANS`).
    halo_m
        The halo the rows were selected with, metres.
    buildings, compounds, stations, roads, communities
        Positions into the dataset's layers, ascending (original order kept).
    complete
        True when ``stations`` and ``roads`` hold every station and walkable road of the
        dataset (a larger halo cannot change anything).
    """

    community_id: str
    halo_m: float
    buildings: IntArray
    compounds: IntArray
    stations: IntArray
    roads: IntArray
    communities: IntArray
    complete: bool


@dataclass
class SpatialIndex:
    """Trees over a dataset's stations and walkable roads (metric CRS), built once."""

    station_xy: NDArray[np.object_]
    station_tree: shapely.STRtree
    road_rows: IntArray
    road_tree: shapely.STRtree
    station_snap_m: NDArray[np.float64]

    @classmethod
    def of(cls, dataset: Dataset) -> SpatialIndex:
        """Return the index of ``dataset`` (stations' points, walkable roads)."""
        st = dataset.metric("stations")
        pts = np.asarray(shapely.point_on_surface(st.geometry.to_numpy()), dtype=object)
        roads = dataset.metric("roads")
        road_rows = walkable_road_rows(roads)
        road_geoms = roads.geometry.to_numpy()[road_rows]
        road_tree = shapely.STRtree(road_geoms)
        snap = np.full(len(pts), np.inf)
        if len(pts) and len(road_rows):
            (i, _j), dist = road_tree.query_nearest(pts, return_distance=True, all_matches=False)
            snap[i] = dist
        return cls(pts, shapely.STRtree(pts), road_rows, road_tree, snap)


def walkable_road_rows(roads: gpd.GeoDataFrame) -> IntArray:
    """Return the positions of walkable roads (same rule as :mod:`gridgen.coverage.network`)."""
    keep = ~(roads.geometry.isna() | roads.geometry.is_empty).to_numpy(dtype=bool)
    if "walkable" in roads.columns:
        flag = roads["walkable"].astype("boolean").fillna(True).to_numpy(dtype=bool)
        keep &= flag
    return np.flatnonzero(keep).astype(np.int64)


def building_groups(dataset: Dataset) -> dict[str, IntArray]:
    """Return each building's group: its ``community_id``, or :data:`ORPHANS` when NA."""
    b = dataset.buildings
    if "community_id" in b.columns:
        keys = b["community_id"].astype("string").fillna(ORPHANS)
    else:
        keys = pd.Series(ORPHANS, index=b.index, dtype="string")
    groups = pd.Series(np.arange(len(b)), index=b.index).groupby(keys.to_numpy()).indices
    return {str(k): np.asarray(v, dtype=np.int64) for k, v in groups.items()}


def coverage_group_ids(dataset: Dataset) -> list[str]:
    """Return the coverage task keys: communities in layer order, then any other groups.

    Other groups are community ids found on buildings but not in the communities layer
    (sorted) and :data:`ORPHANS` last, so every building belongs to exactly one task.
    """
    ids = [str(c) for c in dataset.communities["community_id"].astype("string").dropna()]
    extra = sorted(set(building_groups(dataset)) - set(ids) - {ORPHANS})
    tail = [ORPHANS] if ORPHANS in building_groups(dataset) else []
    return list(dict.fromkeys(ids)) + extra + tail


BLOCKS: tuple[str, ...] = ("street", "community")
"""How coverage tasks group communities (:func:`coverage_blocks`)."""


def coverage_blocks(dataset: Dataset, *, by: str = "street") -> dict[str, list[str]]:
    """Return the coverage tasks: task key -> the building groups it computes.

    ``by="community"`` gives one task per group of :func:`coverage_group_ids`;
    ``by="street"`` (default) one per street (its communities share most of their halo,
    so a street costs far less than its communities one by one; see bench/RESULTS.md).
    Communities without a street, and the other groups, are tasks of their own.
    """
    from gridgen.coverage.stations import check_choice

    check_choice(by, BLOCKS, name="block")
    ids = coverage_group_ids(dataset)
    if by == "community":
        return {c: [c] for c in ids}
    comm = dataset.communities
    street_of: dict[str, str] = {}
    if "street_id" in comm.columns:
        for c, street in zip(
            comm["community_id"].astype("string"), comm["street_id"].astype("string"), strict=True
        ):
            if not pd.isna(c) and not pd.isna(street):
                street_of[str(c)] = str(street)
    out: dict[str, list[str]] = {}
    for c in ids:
        key = f"street:{street_of[c]}" if c in street_of else c
        out.setdefault(key, []).append(c)
    return out


def check_halo(halo_m: float) -> float:
    """Return ``halo_m`` as a float, or raise :class:`ParameterError` unless finite and >= 0."""
    value = float(halo_m)
    if not math.isfinite(value) or value < 0:
        msg = f"halo_m must be a non-negative number of metres, got {halo_m!r}"
        raise ParameterError(msg)
    return value


def community_rows(
    dataset: Dataset,
    community_ids: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    halo_m: float,
    index: SpatialIndex | None = None,
    buildings: dict[str, IntArray] | None = None,
) -> dict[str, CommunityRows]:
    """Return the rows each community's coverage task needs (see the module's halo rule).

    Parameters
    ----------
    dataset
        The whole dataset.
    community_ids
        Communities (or other building groups, :func:`coverage_group_ids`), or a mapping
        of task key to several of them (a block, :func:`coverage_blocks`).
    halo_m
        Metres around the community within which stations and roads are included; at
        least the service radius for exact coverage flags.
    index
        A prebuilt :class:`SpatialIndex` of ``dataset``.
    buildings
        Building positions per community to use instead of the community's own buildings
        (the region is then just these buildings' points).
    """
    halo = check_halo(halo_m)
    index = index if index is not None else SpatialIndex.of(dataset)
    blocks = (
        {str(k): [str(m) for m in v] for k, v in community_ids.items()}
        if isinstance(community_ids, Mapping)
        else {str(c): [str(c)] for c in community_ids}
    )
    regions, parts = _block_rows(dataset, blocks, buildings=buildings)
    return _rows_within_halo(index, regions, parts, halo=halo)


def _block_rows(
    dataset: Dataset,
    blocks: dict[str, list[str]],
    *,
    buildings: dict[str, IntArray] | None,
) -> tuple[NDArray[np.object_], dict[str, dict[str, IntArray]]]:
    """Return each task's region and its own rows (``buildings``, ``communities``,
    ``compounds``), for tasks keyed like ``blocks`` (task key → communities)."""
    groups = building_groups(dataset)
    comm = dataset.metric("communities")
    comm_ids = comm["community_id"].astype("string").fillna("\x00").to_numpy(dtype=object)
    b_pts = np.asarray(
        shapely.point_on_surface(dataset.metric("buildings").geometry.to_numpy()), dtype=object
    )
    cmp = dataset.compounds
    cmp_key = (
        cmp["community_id"].astype("string").fillna(ORPHANS).to_numpy(dtype=object)
        if "community_id" in cmp.columns
        else np.full(len(cmp), ORPHANS, dtype=object)
    )
    empty = np.zeros(0, dtype=np.int64)
    regions: list[Any] = []
    parts: dict[str, dict[str, IntArray]] = {}
    for cid, members in blocks.items():
        own = np.flatnonzero(np.isin(comm_ids, members)).astype(np.int64)
        region: Any
        if buildings is not None:
            b_rows = np.sort(np.asarray(buildings.get(cid, empty), dtype=np.int64))
            region = shapely.multipoints(b_pts[b_rows]) if len(b_rows) else shapely.Point()
        else:
            b_rows = np.sort(np.concatenate([groups.get(m, empty) for m in members]))
            region = _community_region(comm.geometry.to_numpy()[own], b_pts[b_rows])
        regions.append(region)
        parts[cid] = {
            "buildings": b_rows,
            "communities": own,
            "compounds": np.flatnonzero(np.isin(cmp_key, members)).astype(np.int64),
        }
    return np.asarray(regions, dtype=object), parts


def _community_region(polys: NDArray[np.object_], pts: NDArray[np.object_]) -> Any:
    """Return the union of community polygons and the building points outside them."""
    if len(polys):
        poly = shapely.union_all(polys)
        pts = pts[~shapely.covers(poly, pts)]
        return shapely.union(poly, shapely.multipoints(pts)) if len(pts) else poly
    return shapely.multipoints(pts) if len(pts) else shapely.Point()


def _rows_within_halo(
    index: SpatialIndex,
    regions: NDArray[np.object_],
    parts: dict[str, dict[str, IntArray]],
    *,
    halo: float,
) -> dict[str, CommunityRows]:
    """Return every task's rows: its own (``parts``), plus the stations and roads within
    ``halo`` of its region and the road each of those stations snaps to."""
    st_of = _split_pairs(
        index.station_tree.query(regions, predicate="dwithin", distance=halo), len(regions)
    )
    rd_of = _split_pairs(
        index.road_tree.query(regions, predicate="dwithin", distance=halo), len(regions)
    )
    n_st = len(index.station_xy)
    out: dict[str, CommunityRows] = {}
    for k, cid in enumerate(parts):
        stations = st_of[k]
        roads = rd_of[k]
        finite = stations[np.isfinite(index.station_snap_m[stations])]
        if len(finite):
            # each included station's nearest road, found in the whole dataset (slack: 1 mm)
            near = index.road_tree.query(
                index.station_xy[finite],
                predicate="dwithin",
                distance=index.station_snap_m[finite] + 1e-3,
            )
            roads = np.union1d(roads, near[1])
        road_rows = index.road_rows[roads]
        out[cid] = CommunityRows(
            community_id=cid,
            halo_m=halo,
            buildings=parts[cid]["buildings"],
            compounds=parts[cid]["compounds"],
            stations=stations,
            roads=np.sort(road_rows),
            communities=parts[cid]["communities"],
            complete=len(stations) == n_st and len(roads) == len(index.road_rows),
        )
    return out


def _split_pairs(pairs: NDArray[np.int64], n: int) -> list[IntArray]:
    """Return, per input k of an STRtree query result, its sorted unique tree indices."""
    src, tgt = pairs
    order = np.lexsort((tgt, src))
    src, tgt = src[order], tgt[order]
    bounds = np.searchsorted(src, np.arange(n + 1))
    return [np.unique(tgt[bounds[k] : bounds[k + 1]]).astype(np.int64) for k in range(n)]


def subset_dataset(
    dataset: Dataset, rows: CommunityRows, *, layers: Sequence[str] | None = None
) -> Dataset:
    """Return the dataset restricted to ``rows`` (RangeIndex, original order).

    The metric layers are sliced from the whole dataset's (no second projection), so the
    coordinates are the same to the last bit. ``layers`` limits the sliced layers (the
    other row-selected layers are left empty): slicing is most of a small task's cost.
    """
    picks = {
        "buildings": rows.buildings,
        "compounds": rows.compounds,
        "stations": rows.stations,
        "roads": rows.roads,
        "communities": rows.communities,
    }
    out: dict[str, gpd.GeoDataFrame] = {}
    cache: dict[str, gpd.GeoDataFrame] = {}
    empty = np.zeros(0, dtype=np.int64)
    for name in DATASET_LAYERS:
        frame = dataset.layer(name)
        if name not in picks:
            out[name] = frame
            continue
        if layers is not None and name not in layers:
            picks[name] = empty
        out[name] = frame.iloc[picks[name]].reset_index(drop=True)
        if LAYERS[name].spatial:
            cache[name] = dataset.metric(name).iloc[picks[name]].reset_index(drop=True)
    return Dataset(
        layers=out,
        metric_crs=dataset.metric_crs,
        name=dataset.name,
        _metric_cache=cache,
    )


def community_subsets(
    dataset: Dataset, community_ids: Sequence[str], *, halo_m: float
) -> dict[str, Dataset]:
    """Return, per community, its buildings with the stations and roads of its halo.

    See the module docstring for the halo rule; ``halo_m=0`` gives just the community's
    own buildings and compounds with the roads crossing it (what partitioning needs).
    """
    rows = community_rows(dataset, community_ids, halo_m=halo_m)
    return {cid: subset_dataset(dataset, r) for cid, r in rows.items()}


def without_restricted(dataset: Dataset) -> Dataset:
    """Return the dataset without restricted (personal) columns, for shipping to workers.

    Partitioning and coverage never read them, so building leaders' phone numbers and
    key-person counts do not travel over the network. The metric cache is kept.
    """
    drop = {
        name: [c for c in restricted_columns(name) if c in frame.columns]
        for name, frame in dataset.layers.items()
        if name in LAYERS
    }
    if not any(drop.values()):
        return dataset
    layers = {
        name: frame.drop(columns=drop.get(name, [])) for name, frame in dataset.layers.items()
    }
    cache = {
        name: frame.drop(columns=[c for c in drop.get(name, []) if c in frame.columns])
        for name, frame in dataset._metric_cache.items()
    }
    return Dataset(
        layers=layers,
        metric_crs=dataset.metric_crs,
        report=dataset.report,
        name=dataset.name,
        _metric_cache=cache,
    )


@dataclass(frozen=True)
class Shards:
    """An input split into parts, each sent to one worker rather than to all of them.

    Attributes
    ----------
    parts
        Part key -> the input of the communities in that part (e.g. a street's subset).
    part_of
        Community id -> its part key.

    On a cluster each part travels once, inside a task of its own (held by the
    scheduler), so the scheduler can rebuild it on another worker if the worker holding
    it dies; tasks of a community run where its part is.
    """

    parts: Mapping[str, object]
    part_of: dict[str, str]

    def input_of(self, community_id: str) -> object:
        """Return the part that holds ``community_id``."""
        key = self.part_of.get(community_id)
        if key is None or key not in self.parts:
            msg = f"community {community_id!r} is in no part of the split input: add it"
            raise ParameterError(msg)
        return self.parts[key]


def partition_shards(dataset: Dataset, community_ids: Sequence[str]) -> Shards:
    """Return the dataset split per street: each part the subset of one street's communities.

    A part holds the communities' buildings and compounds and the roads crossing them
    (``halo_m=0``), which is all :func:`gridgen.partition.community.partition_community` reads.
    Communities without a street are parts of their own.
    """
    street_of = {
        c: key for key, members in coverage_blocks(dataset, by="street").items() for c in members
    }
    blocks: dict[str, list[str]] = {}
    for cid in community_ids:
        blocks.setdefault(street_of.get(cid, cid), []).append(cid)
    rows = community_rows(dataset, blocks, halo_m=0.0)
    parts = {key: subset_dataset(dataset, r) for key, r in rows.items()}
    part_of = {cid: key for key, members in blocks.items() for cid in members}
    return Shards(parts=parts, part_of=part_of)
