"""Glue between routes, the store and gridgen: the service state, datasets, plans, layers.

Routes stay thin: they check the caller, call these functions and serialise the result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import pyproj

from api.cache import LRU
from api.errors import check_base_version
from api.recovery import JobHeartbeat, instance_owner
from api.settings import Settings
from api.store.base import (
    JobInfo,
    Store,
    dataset_key,
    grids_key,
    records_frame,
)
from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.dataset import Dataset, empty_layer
from gridgen.distributed.executor import Executor
from gridgen.errors import NotFoundError, ParameterError
from gridgen.partition.plan import Plan
from gridgen.schema import DATASET_LAYERS
from gridgen.validate.report import ValidationReport

COLLECTIONS: dict[str, str] = {
    "streets": "街道 streets",
    "communities": "社区 communities",
    "grids": "网格 grids of the published plan",
    "compounds": "小区 compounds",
    "buildings": "楼栋 buildings (footprints)",
    "building_points": "楼栋 buildings known only as a point (no footprint)",
    "stations": "党群服务站点 stations",
    "roads": "道路 roads (kind: main, minor, path)",
    "barriers": "河流铁路围墙 rivers, railways, walls (water areas; lines when the layer has none)",
    "barriers_lines": "河流铁路围墙 the lines of rivers, railways, walls beside water areas",
    "uncovered_buildings": "未覆盖楼栋 buildings outside every station's walking radius",
    "uncovered_building_points": "未覆盖楼栋 uncovered buildings known only as a point",
}
"""Served map layers (OGC collections and tile layers): id → title."""

ONE_TYPE_PARTS: dict[str, tuple[str, str]] = {
    "buildings": ("buildings", "buildings"),
    "building_points": ("buildings", "building_points"),
    "barriers": ("barriers", "barriers"),
    "barriers_lines": ("barriers", "barriers_lines"),
    "uncovered_buildings": ("uncovered_buildings", "uncovered_buildings"),
    "uncovered_building_points": ("uncovered_buildings", "uncovered_building_points"),
}
"""Collections that are one geometry type of a mixed layer: id → (layer, part name).

GDAL's OAPIF reader, QGIS and Shapefile need one geometry type per collection, so
buildings with a footprint and buildings given as a point are served apart (the same
split as in the files we write, ``gridgen.io.polygons.split_by_geometry_type``).
"""


@dataclass
class ServiceState:
    """Everything the routes share: settings, store, caches and the job threads."""

    settings: Settings
    store: Store
    tiles: LRU
    datasets: LRU
    memo: LRU
    executor: ThreadPoolExecutor
    futures: dict[str, Future[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    principals: dict[str, tuple[Any, float]] = field(default_factory=dict)
    generation: int = 0
    resolved: dict[tuple[str | None, str], tuple[str, str]] = field(default_factory=dict)
    derived: set[str] = field(default_factory=set)
    """Keys of the derived one-geometry-type parts stored by this process (empty ones too)."""
    compute: Executor = field(default_factory=Executor)
    """Where per-community work (partitioning jobs, coverage) runs (settings ``GRIDGEN_DASK_*``)."""
    owner: str = field(default_factory=instance_owner)
    """This service instance, as the owner of the jobs it runs (:mod:`api.recovery`)."""
    heartbeat: JobHeartbeat | None = None

    def bump(self, *, forget_data: bool = False) -> None:
        """Note that datasets or published plans changed (drops cached layer resolution)."""
        with self.lock:
            self.generation += 1
            self.resolved.clear()
        if forget_data:
            self.tiles.clear()
            self.datasets.clear()
            self.memo.clear()

    @classmethod
    def create(cls, settings: Settings, store: Store) -> ServiceState:
        """Return a fresh state around ``store``."""
        return cls(
            settings,
            store,
            LRU(settings.tile_cache_size),
            LRU(4),
            LRU(32),
            ThreadPoolExecutor(settings.job_workers, thread_name_prefix="gridgen-job"),
            compute=settings.executor(),
        )

    def start_heartbeat(self) -> None:
        """Start marking this instance's jobs alive (and failing those of gone instances)."""
        if self.heartbeat is None:
            interval = self.settings.job_heartbeat_seconds
            self.heartbeat = JobHeartbeat(self.store, self.owner, interval=interval)
            self.heartbeat.start()

    def create_job(self, *, kind: str, params: dict[str, Any], actor: str) -> JobInfo:
        """Record a queued job owned by this instance."""
        return self.store.create_job(kind=kind, params=params, actor=actor, owner=self.owner)

    def close(self) -> None:
        """Stop the job threads and the heartbeat, and close the store."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.store.close()


# -- datasets ----------------------------------------------------------------------------
def load_dataset(state: ServiceState, dataset_id: str) -> Dataset:
    """Return the stored dataset as a :class:`gridgen.dataset.Dataset` (cached)."""

    def make() -> Dataset:
        info = state.store.get_dataset(dataset_id)
        layers: dict[str, gpd.GeoDataFrame] = {}
        for layer in DATASET_LAYERS:
            if layer in info.layers:
                rows = state.store.layer_rows(dataset_key(dataset_id, layer))
                layers[layer] = records_frame(rows, layer)  # type: ignore[assignment]
            else:
                layers[layer] = empty_layer(layer)
        report = ValidationReport.from_dict(state.store.get_report(dataset_id))
        return Dataset(
            layers=layers,
            metric_crs=pyproj.CRS.from_user_input(info.metric_crs),
            report=report,
            name=info.name,
        )

    dataset: Dataset = state.datasets.get_or_make(dataset_id, make)
    return dataset


def dataset_layers_for_store(dataset: Dataset) -> dict[str, pd.DataFrame]:
    """Return the layers of ``dataset`` to store (every layer, empty ones included)."""
    return {name: frame for name, frame in dataset.layers.items() if name in DATASET_LAYERS}


def metric_crs_text(dataset: Dataset) -> str:
    """Return the dataset's metric CRS as text the store keeps (``EPSG:xxxx`` or WKT)."""
    epsg = dataset.metric_crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else dataset.metric_crs.to_wkt()


def current_dataset_id(store: Store, requested: str | None) -> str:
    """Return ``requested`` (checked) or the current dataset.

    The current dataset is the newest one with a published plan, else the newest one.
    """
    if requested:
        store.get_dataset(requested)
        return requested
    datasets = store.list_datasets()
    if not datasets:
        raise NotFoundError("no dataset stored yet: upload one with POST /datasets")
    for info in datasets:
        if store.published(info.id) is not None:
            return info.id
    return datasets[0].id


def dataset_coverage(
    state: ServiceState, dataset_id: str, *, radius: float, mode: str = "walk"
) -> gpd.GeoDataFrame:
    """Return the station coverage of a stored dataset (cached), run on ``state.compute``."""
    from gridgen.distributed.work import run_coverage

    def make() -> gpd.GeoDataFrame:
        ds = load_dataset(state, dataset_id)
        return run_coverage(ds, radius=radius, mode=mode, executor=state.compute)

    cov: gpd.GeoDataFrame = state.memo.get_or_make(("coverage", dataset_id, radius, mode), make)
    return cov


# -- layers ------------------------------------------------------------------------------
def check_collection(collection: str) -> None:
    """Raise NotFoundError unless ``collection`` is a served layer."""
    if collection not in COLLECTIONS:
        msg = f"collection {collection!r} does not exist; use one of {', '.join(COLLECTIONS)}"
        raise NotFoundError(msg)


def layer_key_for(state: ServiceState, dataset_id: str, collection: str) -> str:
    """Return the layer key serving ``collection`` of a dataset (computing derived layers)."""
    check_collection(collection)
    if collection == "grids":
        version = state.store.published(dataset_id)
        if version is None:
            msg = (
                f"dataset {dataset_id} has no published plan: publish a plan version with "
                "POST /plans/{plan_id}/versions/{version}/publish"
            )
            raise NotFoundError(msg)
        return grids_key(version.plan_id, version.version)
    if collection in ONE_TYPE_PARTS:
        return _one_type_key(state, dataset_id, collection)
    return dataset_key(dataset_id, collection)


_DERIVING = threading.Lock()
"""Held while a derived layer is computed: the concurrent requests of a page (the viewer
asks for both parts of the uncovered buildings, as counts and tiles) wait for the first
computation and find its result stored instead of each repeating it."""


def _one_type_key(state: ServiceState, dataset_id: str, collection: str) -> str:
    """Return the key of the one-geometry-type part serving ``collection`` (stored once)."""
    base, _ = ONE_TYPE_PARTS[collection]
    key = dataset_key(dataset_id, f"{collection}.one_type")
    if key in state.derived or state.store.has_layer(key):
        return key
    with _DERIVING:
        if key not in state.derived and not state.store.has_layer(key):
            ds = load_dataset(state, dataset_id)
            frame = (
                _uncovered(state, dataset_id) if base == "uncovered_buildings" else ds.layer(base)
            )
            state.derived.update(_store_parts(state, dataset_id, base, frame))
    return key


def _uncovered(state: ServiceState, dataset_id: str) -> gpd.GeoDataFrame:
    """Return the buildings outside every station's walking radius (the derived layer)."""
    from gridgen.coverage.uncovered import uncovered_buildings

    cov = dataset_coverage(state, dataset_id, radius=DEFAULT_RADIUS_M, mode="walk")
    return uncovered_buildings(load_dataset(state, dataset_id), cov)


def _store_parts(
    state: ServiceState, dataset_id: str, base: str, frame: gpd.GeoDataFrame
) -> list[str]:
    """Store each one-geometry-type part of layer ``base`` (empty parts too); return the keys."""
    from gridgen.io.polygons import split_by_geometry_type

    parts = split_by_geometry_type(base, frame)
    keys = []
    for collection, (layer, part) in ONE_TYPE_PARTS.items():
        if layer == base:
            out = parts.get(part, frame.iloc[0:0])
            key = dataset_key(dataset_id, f"{collection}.one_type")
            state.store.add_layer(key, out, layer=base, actor="service (one geometry type)")
            keys.append(key)
    return keys


def store_one_type_parts(state: ServiceState, dataset_id: str, dataset: Dataset) -> None:
    """Store the footprint and point parts of a new dataset's buildings (at upload)."""
    state.derived.update(_store_parts(state, dataset_id, "buildings", dataset.buildings))


def resolve_layer(state: ServiceState, dataset: str | None, collection: str) -> tuple[str, str]:
    """Return (dataset id, layer key) serving ``collection`` (cached until the next write)."""
    cache_key = (dataset, collection)
    with state.lock:
        hit = state.resolved.get(cache_key)
    if hit is not None:
        return hit
    check_collection(collection)
    dataset_id = current_dataset_id(state.store, dataset)
    out = (dataset_id, layer_key_for(state, dataset_id, collection))
    with state.lock:
        state.resolved[cache_key] = out
    return out


# -- plans -------------------------------------------------------------------------------
def load_plan(state: ServiceState, plan_id: str, version: int) -> Plan:
    """Return the plan stored as ``version`` of ``plan_id``, its locked grids included
    (cached: versions never change)."""

    def make() -> Plan:
        return state.store.load_version(plan_id, version)

    plan: Plan = state.memo.get_or_make(plan_key(plan_id, version), make)
    return plan


def plan_key(plan_id: str, version: int) -> tuple[str, str, int]:
    """Return the cache key of a plan version in ``state.memo``."""
    return ("plan", plan_id, int(version))


def check_edit_base(state: ServiceState, plan_id: str, base: int) -> None:
    """Raise ConflictError, naming who saved the head and when, unless ``base`` is the head."""
    head = state.store.get_plan(plan_id).head_version
    if base == head:
        return
    info = state.store.get_version(plan_id, head)
    check_base_version(
        plan_id,
        head_version=head,
        base_version=base,
        head_author=info.author,
        head_created_at=info.created_at,
        head_message=info.message,
    )


def parse_base_version(if_match: str | None, field_value: int | None) -> int:
    """Return the base version of an edit from ``If-Match`` (``"3"`` or ``W/"3"``) or a field.

    Raises
    ------
    ParameterError
        When neither is given, ``If-Match`` is no version number, either is out of range
        (1 to 2^63 - 1), or the two name different versions.
    """
    header: int | None = None
    if if_match:
        text = if_match.strip().removeprefix("W/").strip('"')
        if not (text.isascii() and text.isdigit()):
            msg = f'If-Match {if_match!r}: give the base version number, e.g. If-Match: "3"'
            raise ParameterError(msg)
        header = int(text)
    for name, value in (("base_version", field_value), ("If-Match", header)):
        if value is not None and not 1 <= value <= MAX_VERSION:
            msg = f"{name} {value}: a version number is between 1 and 2^63 - 1"
            raise ParameterError(msg)
    if field_value is not None and header is not None and field_value != header:
        msg = (
            f"base_version {field_value} and If-Match {if_match!r} name different versions: "
            "give one of them, or the same version in both"
        )
        raise ParameterError(msg)
    base = field_value if field_value is not None else header
    if base is None:
        msg = "base_version: an edit must name the version it was made on (field or If-Match)"
        raise ParameterError(msg)
    return base


MAX_VERSION = 2**63 - 1
"""Largest version number (the stores keep versions as signed 64-bit integers)."""


# -- jobs --------------------------------------------------------------------------------
def submit_job(
    state: ServiceState,
    job_id: str,
    work: Callable[[Callable[[float, str], None]], dict[str, Any]],
) -> None:
    """Run ``work(progress)`` in a job thread, recording status, progress, result or error."""
    store = state.store

    def progress(fraction: float, message: str) -> None:
        store.update_job(job_id, progress=max(0.0, min(1.0, fraction)), message=message)

    def run() -> None:
        store.update_job(job_id, status="running", message="started")
        try:
            result = work(progress)
        except Exception as exc:  # a job records every failure; nothing propagates
            store.update_job(
                job_id, status="failed", error=f"{type(exc).__name__}: {exc}", message="failed"
            )
            return
        store.update_job(job_id, status="done", progress=1.0, message="done", result=result)

    with state.lock:
        state.futures[job_id] = state.executor.submit(run)
