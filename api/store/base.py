"""The storage interface of the service, with its record types and frame conversion helpers.

Two back ends implement :class:`Store` and pass the same tests: :mod:`api.store.sqlite`
(an embedded SQLite file, the default) and :mod:`api.store.postgis` (PostgreSQL/PostGIS).
:func:`api.store.open_store` picks one from a database URL.

Everything a store holds is addressed through *layer keys*: ``d/<dataset>/<layer>`` for a
dataset layer, ``p/<plan>/<version>/grids`` for the grids of a plan version. Datasets and
plan versions never change once written, so a layer key always names the same features;
caches (tiles, loaded layers) key on it safely.

Every write method takes the acting principal and records an audit entry in the same
transaction; a failing write leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.access import Access
from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84
from gridgen.partition.plan import Plan
from gridgen.schema import LAYERS

BBox = tuple[float, float, float, float]


JobOwnerCheck = Callable[[str | None, str | None], bool]
"""``alive(owner, heartbeat)``: whether the service instance running a job still runs it."""


@dataclass(frozen=True)
class DatasetInfo:
    """A stored dataset: id, label, who stored it when, rows per layer, metric CRS, bounds."""

    id: str
    name: str
    created_at: str
    author: str
    layers: dict[str, int]
    metric_crs: str
    bounds: BBox | None


@dataclass(frozen=True)
class PlanInfo:
    """A grid plan: the dataset it partitions, its newest version and the published one."""

    id: str
    dataset_id: str
    name: str
    created_at: str
    author: str
    head_version: int
    published_version: int | None


@dataclass(frozen=True)
class VersionInfo:
    """One immutable version of a plan (who made it from which parent, when and why).

    ``metrics`` is the plan's :meth:`gridgen.partition.plan.Plan.record` (parameters,
    metrics, problems) and ``locked`` its locked grids; the grids and assignment are
    loaded with :meth:`Store.load_version`.
    """

    plan_id: str
    version: int
    parent: int | None
    author: str
    created_at: str
    message: str
    published: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    locked: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobInfo:
    """A background job and how far it got."""

    id: str
    kind: str
    status: str  # queued, running, done, failed
    progress: float
    message: str
    created_at: str
    updated_at: str
    author: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class KeyInfo:
    """An API key (the secret itself is never stored, only its SHA-256)."""

    id: str
    name: str
    role: str
    community_id: str | None
    created_at: str
    revoked: bool
    street_id: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One write: who did what to which object, when, with which details."""

    id: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class FeatureRow:
    """One stored feature: id, community, all properties (unfiltered) and WKB geometry."""

    fid: str
    community_id: str | None
    properties: dict[str, Any]
    wkb: bytes | None


def dataset_key(dataset_id: str, layer: str) -> str:
    """Return the layer key of ``layer`` of a dataset."""
    return f"d/{dataset_id}/{layer}"


def grids_key(plan_id: str, version: int) -> str:
    """Return the layer key of the grids of a plan version."""
    return f"p/{plan_id}/{version}/grids"


def new_id() -> str:
    """Return a new short random id."""
    return uuid.uuid4().hex[:12]


def now() -> str:
    """Return the current UTC time as ISO 8601 text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def version_date(created_at: str) -> date:
    """Return the date of a version saved at ``created_at`` (the service's local date): the
    date its new grid codes start and its retired codes end."""
    return datetime.fromisoformat(created_at).astimezone().date()


def json_value(value: Any) -> Any:
    """Return ``value`` as a JSON-ready Python value (NA → None, numpy → Python)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def id_column_of(layer: str, frame: pd.DataFrame) -> str | None:
    """Return the id column of ``layer`` present in ``frame`` (None when it has none)."""
    schema = LAYERS.get(layer)
    if schema is not None and schema.id_column in frame.columns:
        return schema.id_column
    if layer == "uncovered_buildings" and "building_id" in frame.columns:
        return "building_id"
    return None


def frame_records(frame: pd.DataFrame, layer: str) -> list[FeatureRow]:
    """Return the rows of ``frame`` (EPSG:4326 when spatial) as :class:`FeatureRow` values."""
    idcol = id_column_of(layer, frame)
    geom_name = getattr(frame, "_geometry_column_name", None)
    if geom_name not in frame.columns:
        geom_name = None
    crs = getattr(frame, "crs", None)
    if geom_name is not None and crs is not None and not crs.equals(WGS84):
        frame = frame.to_crs(WGS84)  # type: ignore[operator]
    cols = [c for c in frame.columns if c != geom_name]
    wkbs: list[bytes | None]
    if geom_name is not None:
        geoms = np.asarray(frame.geometry.array, dtype=object)
        wkbs = list(shapely.to_wkb(geoms, include_srid=False))
    else:
        wkbs = [None] * len(frame)
    values = {c: frame[c].astype(object).tolist() for c in cols}
    rows = []
    for i in range(len(frame)):
        props = {c: json_value(values[c][i]) for c in cols}
        fid = str(props[idcol]) if idcol is not None and props[idcol] is not None else str(i)
        community = props.get("community_id")
        rows.append(FeatureRow(fid, None if community is None else str(community), props, wkbs[i]))
    return rows


_DTYPES = {"int": "Int64", "float": "Float64", "bool": "boolean"}


def records_frame(rows: list[FeatureRow], layer: str) -> pd.DataFrame:
    """Return the frame stored as ``rows`` (schema dtypes restored; EPSG:4326)."""
    schema = LAYERS.get(layer)
    props = pd.DataFrame([r.properties for r in rows])
    if schema is not None:
        for name in schema.column_names:
            if name not in props.columns:
                props[name] = pd.Series([None] * len(props), dtype=object)
    for col in props.columns:
        kind = None
        if schema is not None and col in schema.column_names:
            kind = schema.column(col).kind
        elif col == "households_estimated":
            kind = "bool"
        if kind in _DTYPES:
            props[col] = pd.array(props[col].tolist(), dtype=_DTYPES[kind])  # type: ignore[call-overload]
        elif kind in ("id", "str", "category"):
            props[col] = props[col].astype(object)
    if schema is not None and not schema.spatial:
        return props
    if rows and rows[0].wkb is None:
        return props
    geoms = shapely.from_wkb(np.array([r.wkb for r in rows], dtype=object))
    return gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84)


def check_bbox(bbox: BBox | None) -> None:
    """Raise ParameterError unless ``bbox`` is (minx, miny, maxx, maxy) with min ≤ max."""
    if bbox is None:
        return
    minx, miny, maxx, maxy = bbox
    if not all(math.isfinite(v) for v in bbox) or minx > maxx or miny > maxy:
        msg = f"bbox {bbox}: give minx,miny,maxx,maxy in degrees with min ≤ max"
        raise ParameterError(msg)


class Store(ABC):
    """The storage interface of the service (datasets, plans, jobs, keys, audit, features)."""

    kind: str = "abstract"

    # -- lifecycle ---------------------------------------------------------------------
    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    async def open_async(self) -> None:
        """Open what serving needs on the running event loop (called at app start-up).

        Nothing by default; the PostGIS store opens a pool of async connections for tiles.
        """
        return

    async def close_async(self) -> None:
        """Release what :meth:`open_async` opened (called at app shutdown)."""
        return

    # -- datasets ----------------------------------------------------------------------
    @abstractmethod
    def add_dataset(
        self,
        *,
        name: str,
        layers: dict[str, pd.DataFrame],
        metric_crs: str,
        report: dict[str, Any],
        actor: str,
    ) -> DatasetInfo:
        """Store a validated dataset in one transaction and return its record."""

    @abstractmethod
    def list_datasets(self) -> list[DatasetInfo]:
        """Return every dataset, newest first."""

    @abstractmethod
    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        """Return one dataset (NotFoundError when absent)."""

    @abstractmethod
    def get_report(self, dataset_id: str) -> dict[str, Any]:
        """Return the validation report stored with a dataset."""

    @abstractmethod
    def delete_dataset(self, dataset_id: str, *, actor: str) -> None:
        """Delete a dataset with its plans (admin)."""

    # -- features ----------------------------------------------------------------------
    @abstractmethod
    def add_layer(self, key: str, frame: pd.DataFrame, *, layer: str, actor: str) -> int:
        """Store a derived layer under ``key`` (replacing it) and return its row count."""

    @abstractmethod
    def has_layer(self, key: str) -> bool:
        """Return whether features are stored under ``key``."""

    @abstractmethod
    def layer_rows(self, key: str) -> list[FeatureRow]:
        """Return every feature under ``key`` in stored order."""

    @abstractmethod
    def query_features(
        self, key: str, *, bbox: BBox | None, limit: int, offset: int
    ) -> tuple[list[FeatureRow], int]:
        """Return one page of features whose envelope meets ``bbox``, and the match count."""

    @abstractmethod
    def get_feature(self, key: str, fid: str) -> FeatureRow:
        """Return one feature by id (NotFoundError when absent)."""

    @abstractmethod
    def layer_bounds(self, key: str) -> BBox | None:
        """Return the extent of the features under ``key`` (None when empty)."""

    @abstractmethod
    def tile(self, key: str, z: int, x: int, y: int, *, layer: str, access: Access) -> bytes:
        """Return the Mapbox Vector Tile of ``key`` at z/x/y (one MVT layer named ``layer``)."""

    async def tile_async(
        self, key: str, z: int, x: int, y: int, *, layer: str, access: Access
    ) -> bytes:
        """Return :meth:`tile` without blocking the event loop (default: in a worker thread)."""
        make = functools.partial(self.tile, key, z, x, y, layer=layer, access=access)
        data: bytes = await asyncio.get_running_loop().run_in_executor(None, make)
        return data

    # -- plans -------------------------------------------------------------------------
    @abstractmethod
    def create_plan(
        self, *, dataset_id: str, name: str, plan: Plan, actor: str, message: str
    ) -> VersionInfo:
        """Create a plan whose first version (1) is ``plan`` (with its locked grids)."""

    @abstractmethod
    def add_version(
        self,
        plan_id: str,
        *,
        base_version: int,
        plan: Plan,
        actor: str,
        message: str,
        changed_grids: Collection[str] | None = None,
        changed_assignment: dict[str, str] | None = None,
    ) -> VersionInfo:
        """Store ``plan`` as the version after ``base_version``.

        ``changed_grids`` names the grids whose rows may differ from ``base_version``'s:
        every other grid of ``plan`` is the base version's row as loaded, so the store may
        copy it instead of writing it (None: nothing is assumed; every row is written). The
        stored version is complete either way. ``changed_assignment`` (``{building: grid}``)
        likewise names the only buildings whose grid differs from ``base_version``'s, the
        buildings and their order being the base's otherwise (see
        :func:`api.store.delta.assignment_patch`).

        Raises :class:`gridgen.errors.ConflictError` (with ``head_version`` and
        ``base_version``) when ``base_version`` is not the head any more.
        """

    @abstractmethod
    def list_plans(self, dataset_id: str | None = None) -> list[PlanInfo]:
        """Return plans (of one dataset), newest first."""

    @abstractmethod
    def get_plan(self, plan_id: str) -> PlanInfo:
        """Return one plan (NotFoundError when absent)."""

    @abstractmethod
    def list_versions(self, plan_id: str) -> list[VersionInfo]:
        """Return the versions of a plan, oldest first."""

    @abstractmethod
    def get_version(self, plan_id: str, version: int) -> VersionInfo:
        """Return one version record."""

    @abstractmethod
    def load_version(self, plan_id: str, version: int) -> Plan:
        """Return a stored version as the plan it was saved from (locked grids included)."""

    @abstractmethod
    def publish(self, plan_id: str, version: int, *, actor: str) -> VersionInfo:
        """Make a version the current plan of its dataset (unpublishing any other)."""

    @abstractmethod
    def published(self, dataset_id: str) -> VersionInfo | None:
        """Return the published plan version of a dataset, if any."""

    # -- jobs --------------------------------------------------------------------------
    @abstractmethod
    def create_job(
        self, *, kind: str, params: dict[str, Any], actor: str, owner: str | None = None
    ) -> JobInfo:
        """Record a queued job run by the service instance ``owner``."""

    @abstractmethod
    def beat_jobs(self, owner: str) -> int:
        """Mark the unfinished jobs of ``owner`` alive now; return how many there are."""

    @abstractmethod
    def update_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        progress: float | None = None,
        message: str | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Update a job's state."""

    @abstractmethod
    def get_job(self, job_id: str) -> JobInfo:
        """Return one job (NotFoundError when absent)."""

    @abstractmethod
    def fail_unfinished_jobs(self, reason: str, *, alive: JobOwnerCheck | None = None) -> list[str]:
        """Mark queued or running jobs whose owner is not ``alive`` failed; return their ids."""

    # -- keys and audit ----------------------------------------------------------------
    @abstractmethod
    def add_key(
        self,
        *,
        name: str,
        role: str,
        community_id: str | None,
        secret_hash: str,
        actor: str,
        key_id: str | None = None,
        street_id: str | None = None,
    ) -> KeyInfo:
        """Store an API key (by the hash of its secret), scoped to a community or a street."""

    @abstractmethod
    def find_key(self, secret_hash: str) -> KeyInfo | None:
        """Return the unrevoked key with this secret hash, if any."""

    @abstractmethod
    def list_keys(self) -> list[KeyInfo]:
        """Return every key."""

    @abstractmethod
    def revoke_key(self, key_id: str, *, actor: str) -> None:
        """Revoke a key."""

    @abstractmethod
    def list_audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Return audit entries, newest first."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Return row counts of every table (tests use it to prove nothing was stored)."""


def dumps(value: Any) -> str:
    """Return compact JSON text (Chinese kept readable)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_value)
