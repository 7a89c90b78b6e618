"""Scale-out: work that is a map over communities, in process or on a Dask cluster.

Partitioning and coverage grow with the number of communities, and each community can be
computed on its own: :func:`map_communities` runs ``func(dataset, community_id,
**options)`` for every community, in a plain loop in this process by default, or as one
task per community on a Dask distributed cluster when a scheduler address is given
(``scheduler=`` / ``--scheduler``, or the setting ``GRIDGEN_DASK_SCHEDULER``). The input
is sent to the workers once (``client.scatter(..., broadcast=True)``: one copy per
worker); every task refers to it by its future and only the community id and the small
options travel with the task. Results come back in the order of the community ids given.
Retries: a task on a worker that dies is re-run elsewhere by the scheduler (up to
``distributed.scheduler.allowed-failures`` times), and a task that raises an unexpected
error is retried ``retries`` times; gridgen's own errors (bad input) are not retried.

Determinism: each task sees the same input and options in process and on the cluster,
and per-community random generators come from the global seed and the community id
(:func:`gridgen.partition.community_rng`), never from the task order, so results are
identical.

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
recomputed with a halo four times larger around just those buildings, until it is
within the halo or the halo holds the whole network, so every column equals
:func:`gridgen.coverage.station_coverage` on the whole dataset (distances up to
floating-point noise of road noding; exact ties, two roads or two stations at the same
distance to the last bit, may resolve to the other one).

Shipping: coverage sends the whole dataset to every worker (the larger halos need it).
Partitioning reads only a community's own buildings, compounds and roads, so it can
also send each street's subset to one worker only (``ship="street"``,
:class:`Shards`): the network then carries the dataset about once in all and a worker
holds only the streets it works on.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.errors import ClusterError, GridgenError, ParameterError
from gridgen.schema import DATASET_LAYERS, LAYERS, restricted_columns

if TYPE_CHECKING:
    from distributed import Client

    from gridgen.plan import Plan

SCHEDULER_ENV = "GRIDGEN_DASK_SCHEDULER"
"""Setting (environment variable) naming the Dask scheduler, e.g. ``tcp://10.0.0.5:8786``."""
TIMEOUT_ENV = "GRIDGEN_DASK_TIMEOUT"
"""Setting: seconds to wait for the scheduler and its first worker (default 10)."""
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 2
"""Re-runs of a task that raised an unexpected (non-gridgen) error."""
ORPHANS = ""
"""Group key of buildings without a community (one extra coverage task when present)."""
HALO_GROWTH = 4.0
"""Factor by which the halo grows for buildings not settled by the previous one."""

IntArray = NDArray[np.int64]
ProgressFn = Callable[[int, int], None]
T = TypeVar("T")


# --------------------------------------------------------------------------- subsets


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
    """Return the positions of walkable roads (same rule as :mod:`gridgen.network`)."""
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
    from gridgen.coverage import check_choice

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


def _check_halo(halo_m: float) -> float:
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
    halo = _check_halo(halo_m)
    index = index if index is not None else SpatialIndex.of(dataset)
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
    blocks = (
        {str(k): [str(m) for m in v] for k, v in community_ids.items()}
        if isinstance(community_ids, Mapping)
        else {str(c): [str(c)] for c in community_ids}
    )
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
            polys = comm.geometry.to_numpy()[own]
            pts = b_pts[b_rows]
            if len(polys):
                poly = shapely.union_all(polys)
                pts = pts[~shapely.covers(poly, pts)]
                region = shapely.union(poly, shapely.multipoints(pts)) if len(pts) else poly
            else:
                region = shapely.multipoints(pts) if len(pts) else shapely.Point()
        regions.append(region)
        parts[cid] = {
            "buildings": b_rows,
            "communities": own,
            "compounds": np.flatnonzero(np.isin(cmp_key, members)).astype(np.int64),
        }
    region_arr = np.asarray(regions, dtype=object)
    st_pairs = index.station_tree.query(region_arr, predicate="dwithin", distance=halo)
    rd_pairs = index.road_tree.query(region_arr, predicate="dwithin", distance=halo)
    n_st = len(index.station_xy)
    st_of = _split_pairs(st_pairs, len(regions))
    rd_of = _split_pairs(rd_pairs, len(regions))
    out: dict[str, CommunityRows] = {}
    for k, cid in enumerate(blocks):
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


# --------------------------------------------------------------------------- map


def scheduler_address(scheduler: str | None = None) -> str | None:
    """Return the scheduler address to use: ``scheduler``, else ``GRIDGEN_DASK_SCHEDULER``.

    An empty string means in process.
    """
    value = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV, "")
    value = value.strip()
    return value or None


def connect_timeout(timeout: float | None = None) -> float:
    """Return the connection timeout: ``timeout``, else ``GRIDGEN_DASK_TIMEOUT``, else 10 s."""
    raw: object = timeout if timeout is not None else os.environ.get(TIMEOUT_ENV, "")
    if raw in ("", None):
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)  # type: ignore[arg-type]
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        msg = f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}"
        raise ParameterError(msg)
    return value


@contextmanager
def connect(address: str, *, timeout: float | None = None) -> Iterator[Client]:
    """Yield a :class:`distributed.Client` connected to ``address`` with a worker ready.

    Raises
    ------
    ClusterError
        When the scheduler cannot be reached, has no worker within the timeout, or a
        worker cannot import gridgen.
    """
    from distributed import Client

    wait = connect_timeout(timeout)
    fix = (
        "start one with `dask scheduler` and pass its address (tcp://HOST:8786) with "
        f"--scheduler or {SCHEDULER_ENV}, or leave both unset to run in this process"
    )
    try:
        client = Client(address, timeout=f"{wait}s", set_as_default=False)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot reach the Dask scheduler at {address!r} within {wait:g} s ({exc}): {fix}"
        raise ClusterError(msg) from exc
    except Exception as exc:
        # e.g. another service on that port: distributed reads its reply as a frame
        # length and fails with MemoryError or a protocol error
        msg = (
            f"no Dask scheduler answers at {address!r} ({type(exc).__name__}: {exc}): check "
            f"that the address is the one `dask scheduler` printed; {fix}"
        )
        raise ClusterError(msg) from exc
    try:
        try:
            client.wait_for_workers(1, timeout=wait)
        except (TimeoutError, OSError) as exc:
            msg = (
                f"the Dask scheduler at {address!r} has no worker after {wait:g} s: start "
                f"workers with `dask worker {address}`"
            )
            raise ClusterError(msg) from exc
        check_workers(client)
        yield client
    finally:
        client.close()


def check_workers(client: Client) -> None:
    """Raise :class:`ClusterError` unless every worker has the same gridgen as this process."""
    try:
        mine = importlib.metadata.version("gridgen")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        from gridgen import __version__ as mine
    found = client.run(importlib.metadata.version, "gridgen", on_error="return")
    for worker, version in sorted(found.items()):
        if isinstance(version, BaseException):
            msg = (
                f"Dask worker {worker} cannot import gridgen ({version}): install gridgen "
                f"{mine} in the workers' Python environment"
            )
            raise ClusterError(msg)
        if version != mine:
            msg = f"Dask worker {worker} has gridgen {version}, this process {mine}: install {mine}"
            raise ClusterError(msg)


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

    parts: dict[str, Any]
    part_of: dict[str, str]

    def input_of(self, community_id: str) -> Any:
        """Return the part that holds ``community_id``."""
        key = self.part_of.get(community_id)
        if key is None or key not in self.parts:
            msg = f"community {community_id!r} is in no part of the split input: add it"
            raise ParameterError(msg)
        return self.parts[key]


def _part(value: T) -> T:
    """Return ``value`` (a task that holds one part of a :class:`Shards` input)."""
    return value


def _check_ids(community_ids: Sequence[str]) -> list[str]:
    ids = [str(c) for c in community_ids]
    seen: set[str] = set()
    for cid in ids:
        if cid in seen:
            msg = f"community {cid!r} is listed twice: give each community once"
            raise ParameterError(msg)
        seen.add(cid)
    return ids


def map_communities(
    func: Callable[..., T],
    dataset: Any,
    community_ids: Sequence[str],
    *,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: ProgressFn | None = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float | None = None,
    **options: Any,
) -> list[T]:
    """Return ``[func(dataset, cid, **options) for cid in community_ids]``, maybe on Dask.

    Parameters
    ----------
    func
        A top-level function ``func(dataset, community_id, **options)`` (importable on the
        workers: gridgen must be installed there).
    dataset
        The input every task reads (a :class:`Dataset` or anything picklable); sent to
        each worker once. A :class:`Shards` input instead gives each task its part, and
        each part goes to one worker.
    community_ids
        The communities, each once; results come back in this order.
    scheduler
        Address of a Dask scheduler (``tcp://HOST:8786``); default ``GRIDGEN_DASK_SCHEDULER``;
        neither means in process (a plain loop).
    client
        An existing :class:`distributed.Client` to use instead (not closed here).
    progress
        Called as ``progress(done, total)`` after each community.
    retries
        Re-runs of a task that raised an unexpected error (worker loss is handled by the
        scheduler independently).
    timeout
        Seconds to wait for the scheduler and its first worker (default
        ``GRIDGEN_DASK_TIMEOUT`` or 10).
    **options
        Keyword arguments passed to every call.

    Raises
    ------
    ClusterError
        When the cluster cannot be reached or a task keeps killing its workers.
    GridgenError
        Whatever ``func`` raises for bad input, unchanged.
    """
    ids = _check_ids(community_ids)
    if client is not None:
        return _map_on_client(
            client, func, dataset, ids, progress=progress, retries=retries, options=options
        )
    address = scheduler_address(scheduler)
    if address is None:
        return _map_in_process(func, dataset, ids, progress, options)
    with connect(address, timeout=timeout) as own:
        return _map_on_client(
            own, func, dataset, ids, progress=progress, retries=retries, options=options
        )


def _map_in_process(
    func: Callable[..., T],
    dataset: Any,
    ids: list[str],
    progress: ProgressFn | None,
    options: dict[str, Any],
) -> list[T]:
    out: list[T] = []
    for done, cid in enumerate(ids, start=1):
        payload = dataset.input_of(cid) if isinstance(dataset, Shards) else dataset
        out.append(func(payload, cid, **options))
        if progress is not None:
            progress(done, len(ids))
    return out


def _map_on_client(
    client: Client,
    func: Callable[..., T],
    dataset: Any,
    ids: list[str],
    *,
    progress: ProgressFn | None,
    retries: int,
    options: dict[str, Any],
) -> list[T]:
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    if not ids:
        return []
    token = uuid.uuid4().hex[:10]
    held: list[Any]
    if isinstance(dataset, Shards):
        for cid in ids:
            dataset.input_of(cid)  # every community has its part, before anything is sent
        part_keys = sorted({dataset.part_of[cid] for cid in ids})
        held = [
            client.submit(_part, dataset.parts[k], key=f"gridgen-part-{token}-{n}", pure=False)
            for n, k in enumerate(part_keys)
        ]
        future_of = dict(zip(part_keys, held, strict=True))
        payloads = [future_of[dataset.part_of[cid]] for cid in ids]
    else:
        # One copy per worker; tasks carry only the future, the community id and options.
        held = client.scatter([dataset], broadcast=True, hash=False)
        payloads = held * len(ids)
    name = getattr(func, "__name__", "task")
    keys = [f"gridgen-{name}-{token}-{k}" for k in range(len(ids))]
    futures = client.map(
        _run_task,
        payloads,
        ids,
        key=keys,
        retries=retries,
        pure=False,
        task_func=func,
        **options,
    )
    position = {f.key: k for k, f in enumerate(futures)}
    results: list[Any] = [None] * len(ids)
    try:
        completed = as_completed(futures, loop=client.loop, with_results=True)
        for done, (fut, result) in enumerate(completed, start=1):
            if isinstance(result, TaskError):
                raise result.error
            results[position[fut.key]] = result
            if progress is not None:
                progress(done, len(ids))
        return results
    except KilledWorker as exc:
        msg = (
            f"a community task killed its workers repeatedly ({exc}): the workers probably "
            "run out of memory; give them more (dask worker --memory-limit) or use fewer "
            "threads per worker"
        )
        raise ClusterError(msg) from exc
    except GridgenError:
        raise
    except (OSError, TimeoutError) as exc:
        msg = f"the Dask cluster failed during the run ({exc}): check the scheduler and workers"
        raise ClusterError(msg) from exc
    finally:
        client.cancel([*futures, *held])


@dataclass(frozen=True)
class TaskError:
    """A gridgen error raised by a task, returned as a value so that Dask does not retry it."""

    community_id: str
    error: GridgenError


def _run_task(
    payload: Any, community_id: str, *, task_func: Callable[..., Any], **options: Any
) -> Any:
    """Return ``task_func(payload, community_id, **options)`` or its gridgen error as a value.

    Bad input fails the same way every time: retrying it would only waste the cluster.
    """
    try:
        return task_func(payload, community_id, **options)
    except GridgenError as exc:
        return TaskError(community_id, exc)


# --------------------------------------------------------------------------- coverage


COVERAGE_LAYERS: tuple[str, ...] = ("buildings", "stations", "roads")
"""The layers :func:`gridgen.coverage.station_coverage` reads."""


@dataclass
class HaloInput:
    """What coverage tasks receive: the whole dataset and each community's rows."""

    dataset: Dataset
    rows: dict[str, CommunityRows]
    _index: SpatialIndex | None = field(default=None, repr=False)

    def index(self) -> SpatialIndex:
        """Return the spatial index of the dataset (built on first use, per process)."""
        if self._index is None:
            self._index = SpatialIndex.of(self.dataset)
        return self._index

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the index: rebuilding it is cheaper than sending it."""
        return {"dataset": self.dataset, "rows": self.rows, "_index": None}


def coverage_rows(
    dataset: Dataset, rows: CommunityRows, *, radius: float, mode: str
) -> gpd.GeoDataFrame:
    """Return :func:`gridgen.coverage.station_coverage` of the subset ``rows``, indexed by row."""
    from gridgen.coverage import station_coverage

    sub = subset_dataset(dataset, rows, layers=COVERAGE_LAYERS)
    cov = station_coverage(sub, radius=radius, mode=mode)
    cov.index = pd.Index(rows.buildings)
    return cov


def coverage_of_block(
    payload: HaloInput, community_id: str, *, radius: float, mode: str
) -> gpd.GeoDataFrame:
    """Return the coverage of one task's buildings, equal to the whole-dataset result.

    ``community_id`` is a key of ``payload.rows``: a community or a block of them.

    Buildings not settled within the halo (distance above it, or no station reached) are
    recomputed with a halo :data:`HALO_GROWTH` times larger around just them.
    """
    ds = payload.dataset
    rows = payload.rows[community_id]
    cov = coverage_rows(ds, rows, radius=radius, mode=mode)
    halo = rows.halo_m
    complete = rows.complete
    while True:
        dist = cov["distance_m"].to_numpy(dtype=float, na_value=np.inf)
        pending = cov.index.to_numpy()[~(dist <= halo)]
        if complete or len(pending) == 0:
            return cov
        halo = max(halo, 1.0) * HALO_GROWTH
        again = community_rows(
            ds,
            [community_id],
            halo_m=halo,
            index=payload.index(),
            buildings={community_id: pending},
        )[community_id]
        redo = coverage_rows(ds, again, radius=radius, mode=mode)
        cov = pd.concat([cov.drop(index=pending), redo]).loc[cov.index]
        complete = again.complete


def default_halo(radius: float) -> float:
    """Return the default coverage halo: twice the radius (settles most uncovered buildings too)."""
    return 2.0 * float(radius)


def coverage_distributed(
    dataset: Dataset,
    *,
    radius: float = 500.0,
    mode: str = "walk",
    halo_m: float | None = None,
    by: str = "street",
    scheduler: str | None = None,
    client: Client | None = None,
    progress: ProgressFn | None = None,
) -> gpd.GeoDataFrame:
    """Return :func:`gridgen.coverage.station_coverage`, computed one community at a time.

    Parameters
    ----------
    dataset
        A validated dataset.
    radius, mode
        As for :func:`~gridgen.coverage.station_coverage`.
    halo_m
        Halo around each community (metres, at least ``radius``; default
        :func:`default_halo`). It only changes the speed, not the result.
    by
        One task per ``street`` (default) or per ``community`` (:func:`coverage_blocks`);
        only the speed changes.
    scheduler, client, progress
        As for :func:`map_communities` (in process when neither is given).

    Returns
    -------
    geopandas.GeoDataFrame
        Aligned to ``dataset.buildings``, the same columns and values as
        ``station_coverage(dataset, radius=radius, mode=mode)``.
    """
    from gridgen.coverage import MODES, check_choice, check_radius

    radius = check_radius(radius)
    check_choice(mode, MODES, name="mode")
    halo = default_halo(radius) if halo_m is None else _check_halo(halo_m)
    if halo < radius:
        msg = f"halo_m ({halo:g} m) must be at least the radius ({radius:g} m)"
        raise ParameterError(msg)
    blocks = coverage_blocks(dataset, by=by)
    shipped = without_restricted(dataset)
    payload = HaloInput(shipped, community_rows(shipped, blocks, halo_m=halo))
    parts = map_communities(
        coverage_of_block,
        payload,
        list(blocks),
        scheduler=scheduler,
        client=client,
        progress=progress,
        radius=radius,
        mode=mode,
    )
    return assemble_coverage(dataset, parts)


def assemble_coverage(dataset: Dataset, parts: Sequence[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Return the per-community coverage frames as one frame aligned to ``dataset.buildings``."""
    n = len(dataset.buildings)
    kept = [p for p in parts if len(p)]
    if not kept:
        from gridgen.coverage import station_coverage

        return station_coverage(dataset, radius=1.0, mode="line").iloc[0:0]
    cov = pd.concat(kept)
    positions = cov.index.to_numpy()
    if len(cov) != n or len(np.unique(positions)) != n:
        msg = f"coverage parts hold {len(cov)} rows for {n} buildings: a community task is wrong"
        raise ClusterError(msg)
    cov = cov.sort_index()
    cov.index = dataset.buildings.index
    return gpd.GeoDataFrame(cov, geometry="geometry", crs=dataset.buildings.crs)


# --------------------------------------------------------------------------- partition


SHIP_MODES: tuple[str, ...] = ("dataset", "street")
"""How partition_distributed sends its input: whole to every worker, or per street."""


def partition_shards(dataset: Dataset, community_ids: Sequence[str]) -> Shards:
    """Return the dataset split per street: each part the subset of one street's communities.

    A part holds the communities' buildings and compounds and the roads crossing them
    (``halo_m=0``), which is all :func:`gridgen.partition.partition_community` reads.
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


def partition_distributed(
    dataset: Dataset,
    *,
    target: int = 300,
    band: tuple[int, int] | None = None,
    seed: int = 0,
    communities: Sequence[str] | None = None,
    ship: str = "street",
    scheduler: str | None = None,
    client: Client | None = None,
    progress: ProgressFn | None = None,
) -> Plan:
    """Return the grid plan of every community, one community per task, merged.

    Same result as :func:`gridgen.partition.partition_dataset` with the same options
    (communities sorted by id, each partitioned by
    :func:`gridgen.partition.partition_community` on the whole dataset, which is sent to
    each worker once; ``scheduler``, ``client`` and ``progress`` as for
    :func:`map_communities`).

    ``ship="street"`` (default) sends each street's subset (its communities' buildings,
    compounds and roads, :func:`partition_shards`) to one worker instead of the whole
    dataset to every worker: the network carries the dataset about once in all (it was
    also faster on 2 local workers, bench/RESULTS.md), and tasks run where their street
    is (Dask moves some to idle workers when streets are fewer than workers).
    ``ship="dataset"`` sends the whole dataset to every worker. The plan is the same
    either way, and in process the option changes nothing.
    """
    from gridgen.coverage import check_choice
    from gridgen.partition import merge_plans, partition_community
    from gridgen.plan import default_band

    lo_hi = default_band(target, band)
    ids = (
        sorted(dataset.communities["community_id"].astype(str))
        if communities is None
        else [str(c) for c in communities]
    )
    shipped = without_restricted(dataset)
    check_choice(ship, SHIP_MODES, name="ship")
    on_cluster = client is not None or scheduler_address(scheduler) is not None
    # in process there is nothing to ship: the split would only cost time
    payload: Any = partition_shards(shipped, ids) if ship == "street" and on_cluster else shipped
    plans = map_communities(
        partition_community,
        payload,
        ids,
        scheduler=scheduler,
        client=client,
        progress=progress,
        target=target,
        band=lo_hi,
        seed=seed,
    )
    return merge_plans(plans, target=target, band=lo_hi, seed=seed)
