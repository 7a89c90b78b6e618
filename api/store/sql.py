"""SQL shared by both store back ends: datasets, plans, jobs, keys and audit.

The back ends differ in connections, placeholders, JSON and geometry types and tiles; they
supply :meth:`SQLStore._tx` and the feature methods. SQL here is written with ``?``
placeholders and rewritten to ``%s`` for psycopg.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import pandas as pd
import shapely

from api.store.base import (
    AuditEntry,
    BBox,
    DatasetInfo,
    FeatureRow,
    JobInfo,
    KeyInfo,
    PlanContent,
    PlanInfo,
    Store,
    VersionInfo,
    dataset_key,
    dumps,
    frame_records,
    grids_key,
    new_id,
    now,
    records_frame,
)
from gridgen.errors import ConflictError, NotFoundError, ParameterError

TABLES = ("datasets", "plans", "plan_versions", "jobs", "api_keys", "audit", "features")


def schema_sql(*, float_type: str, serial_key: str, features: str) -> str:
    """Return the DDL of every table; the back ends differ only in these three parts.

    ``float_type`` is the job progress column's type, ``serial_key`` the audit log's
    auto-increment key, ``features`` the feature table with its geometry and indexes.
    """
    return f"""
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, author TEXT NOT NULL,
    layers TEXT NOT NULL, metric_crs TEXT NOT NULL, bounds TEXT, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plans (
    id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL REFERENCES datasets(id), name TEXT NOT NULL,
    created_at TEXT NOT NULL, author TEXT NOT NULL, head_version INTEGER NOT NULL,
    published_version INTEGER);
CREATE TABLE IF NOT EXISTS plan_versions (
    plan_id TEXT NOT NULL REFERENCES plans(id), version INTEGER NOT NULL, parent INTEGER,
    author TEXT NOT NULL, created_at TEXT NOT NULL, message TEXT NOT NULL, metrics TEXT,
    locked TEXT, assignment TEXT, PRIMARY KEY (plan_id, version));
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
    progress {float_type} NOT NULL, message TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, author TEXT NOT NULL, params TEXT, result TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, community_id TEXT,
    created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, secret_hash TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS audit (
    id {serial_key}, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT);
{features.strip()}
"""


class Cursor(Protocol):
    """The few cursor methods both sqlite3 and psycopg cursors share."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any:
        """Run one statement."""

    def fetchone(self) -> Any:
        """Return one row."""

    def fetchall(self) -> list[Any]:
        """Return every row."""


def _loads(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


class SQLStore(Store):
    """Shared implementation of the non-spatial tables."""

    placeholder = "?"
    lock_clause = ""

    # -- back-end hooks ----------------------------------------------------------------
    @abstractmethod
    def _tx(self, *, write: bool = True) -> AbstractContextManager[Any]:
        """Return a context manager yielding a cursor inside one transaction."""

    @abstractmethod
    def _insert_features(self, cur: Cursor, key: str, rows: list[FeatureRow]) -> None:
        """Insert features under ``key``."""

    def _run(self, cur: Cursor, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        return cur.execute(sql, tuple(params))

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._tx(write=False) as cur:
            self._run(cur, sql, params)
            return cur.fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._tx(write=False) as cur:
            self._run(cur, sql, params)
            return list(cur.fetchall())

    def _audit(self, cur: Cursor, actor: str, action: str, target: str, detail: Any) -> None:
        self._run(
            cur,
            "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (now(), actor, action, target, dumps(detail)),
        )

    # -- datasets ----------------------------------------------------------------------
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
        dataset_id = new_id()
        counts = {layer: len(frame) for layer, frame in layers.items()}
        bounds = _bounds_of(layers)
        created = now()
        with self._tx() as cur:
            self._run(
                cur,
                "INSERT INTO datasets (id, name, created_at, author, layers, metric_crs, bounds,"
                " report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dataset_id,
                    name,
                    created,
                    actor,
                    dumps(counts),
                    metric_crs,
                    dumps(bounds),
                    dumps(report),
                ),
            )
            for layer, frame in layers.items():
                self._insert_features(
                    cur, dataset_key(dataset_id, layer), frame_records(frame, layer)
                )
            self._audit(cur, actor, "dataset.create", dataset_id, {"name": name, "rows": counts})
        return DatasetInfo(dataset_id, name, created, actor, counts, metric_crs, bounds)

    _DS_COLS = "id, name, created_at, author, layers, metric_crs, bounds"

    @staticmethod
    def _dataset(row: Any) -> DatasetInfo:
        bounds = _loads(row[6])
        return DatasetInfo(
            row[0],
            row[1],
            row[2],
            row[3],
            _loads(row[4]),
            row[5],
            tuple(bounds) if bounds else None,  # type: ignore[arg-type]
        )

    def list_datasets(self) -> list[DatasetInfo]:
        """Return every dataset, newest first."""
        rows = self._all(f"SELECT {self._DS_COLS} FROM datasets ORDER BY created_at DESC, id")
        return [self._dataset(r) for r in rows]

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        """Return one dataset (NotFoundError when absent)."""
        row = self._one(f"SELECT {self._DS_COLS} FROM datasets WHERE id = ?", (dataset_id,))
        if row is None:
            msg = f"dataset {dataset_id!r} does not exist; list datasets with GET /datasets"
            raise NotFoundError(msg)
        return self._dataset(row)

    def get_report(self, dataset_id: str) -> dict[str, Any]:
        """Return the validation report stored with a dataset."""
        row = self._one("SELECT report FROM datasets WHERE id = ?", (dataset_id,))
        if row is None:
            self.get_dataset(dataset_id)
        return dict(_loads(row[0]) or {})

    def delete_dataset(self, dataset_id: str, *, actor: str) -> None:
        """Delete a dataset with its plans and features."""
        self.get_dataset(dataset_id)
        with self._tx() as cur:
            self._run(cur, "SELECT id FROM plans WHERE dataset_id = ?", (dataset_id,))
            plan_ids = [r[0] for r in cur.fetchall()]
            for pid in plan_ids:
                self._run(cur, "DELETE FROM features WHERE layer_key LIKE ?", (f"p/{pid}/%",))
                self._run(cur, "DELETE FROM plan_versions WHERE plan_id = ?", (pid,))
            self._run(cur, "DELETE FROM plans WHERE dataset_id = ?", (dataset_id,))
            self._run(cur, "DELETE FROM features WHERE layer_key LIKE ?", (f"d/{dataset_id}/%",))
            self._run(cur, "DELETE FROM datasets WHERE id = ?", (dataset_id,))
            self._audit(cur, actor, "dataset.delete", dataset_id, {"plans": plan_ids})

    def add_layer(self, key: str, frame: pd.DataFrame, *, layer: str, actor: str) -> int:
        """Store a derived layer under ``key`` (replacing it) and return its row count."""
        rows = frame_records(frame, layer)
        with self._tx() as cur:
            self._run(cur, "DELETE FROM features WHERE layer_key = ?", (key,))
            self._insert_features(cur, key, rows)
            self._audit(cur, actor, "layer.write", key, {"rows": len(rows)})
        return len(rows)

    # -- plans -------------------------------------------------------------------------
    def _write_version(
        self,
        cur: Cursor,
        *,
        plan_id: str,
        version: int,
        parent: int | None,
        content: PlanContent,
        actor: str,
        message: str,
    ) -> VersionInfo:
        created = now()
        assignment = {
            str(b): str(g)
            for b, g in zip(
                content.assignment["building_id"].astype(object),
                content.assignment["grid_id"].astype(object),
                strict=True,
            )
        }
        self._run(
            cur,
            "INSERT INTO plan_versions (plan_id, version, parent, author, created_at, message,"
            " metrics, locked, assignment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                plan_id,
                version,
                parent,
                actor,
                created,
                message,
                dumps(content.metrics),
                dumps(list(content.locked)),
                dumps(assignment),
            ),
        )
        self._insert_features(
            cur, grids_key(plan_id, version), frame_records(content.grids, "grids")
        )
        return VersionInfo(
            plan_id,
            version,
            parent,
            actor,
            created,
            message,
            False,
            dict(content.metrics),
            tuple(content.locked),
        )

    def create_plan(
        self, *, dataset_id: str, name: str, content: PlanContent, actor: str, message: str
    ) -> VersionInfo:
        """Create a plan with its first version (1)."""
        self.get_dataset(dataset_id)
        plan_id = new_id()
        with self._tx() as cur:
            self._run(
                cur,
                "INSERT INTO plans (id, dataset_id, name, created_at, author, head_version,"
                " published_version) VALUES (?, ?, ?, ?, ?, 1, NULL)",
                (plan_id, dataset_id, name, now(), actor),
            )
            info = self._write_version(
                cur,
                plan_id=plan_id,
                version=1,
                parent=None,
                content=content,
                actor=actor,
                message=message,
            )
            self._audit(
                cur, actor, "plan.create", plan_id, {"dataset": dataset_id, "message": message}
            )
        return info

    def add_version(
        self,
        plan_id: str,
        *,
        base_version: int,
        content: PlanContent,
        actor: str,
        message: str,
    ) -> VersionInfo:
        """Add a version made from ``base_version``; ConflictError when that is not the head."""
        with self._tx() as cur:
            self._run(
                cur, f"SELECT head_version FROM plans WHERE id = ?{self.lock_clause}", (plan_id,)
            )
            row = cur.fetchone()
            if row is None:
                raise NotFoundError(f"plan {plan_id!r} does not exist; list plans with GET /plans")
            head = int(row[0])
            if head != base_version:
                msg = (
                    f"plan {plan_id} is at version {head}, the edit was made on version "
                    f"{base_version}: reload version {head} and apply the edit again"
                )
                err = ConflictError(msg)
                err.http_extra = {"head_version": head, "base_version": base_version}  # type: ignore[attr-defined]
                raise err
            version = head + 1
            self._run(cur, "UPDATE plans SET head_version = ? WHERE id = ?", (version, plan_id))
            info = self._write_version(
                cur,
                plan_id=plan_id,
                version=version,
                parent=head,
                content=content,
                actor=actor,
                message=message,
            )
            self._audit(
                cur,
                actor,
                "plan.edit",
                f"{plan_id}@{version}",
                {"base_version": base_version, "message": message},
            )
        return info

    _PLAN_COLS = "id, dataset_id, name, created_at, author, head_version, published_version"

    @staticmethod
    def _plan(row: Any) -> PlanInfo:
        return PlanInfo(row[0], row[1], row[2], row[3], row[4], int(row[5]), _int_or_none(row[6]))

    def list_plans(self, dataset_id: str | None = None) -> list[PlanInfo]:
        """Return plans (of one dataset), newest first."""
        if dataset_id is None:
            rows = self._all(f"SELECT {self._PLAN_COLS} FROM plans ORDER BY created_at DESC")
        else:
            rows = self._all(
                f"SELECT {self._PLAN_COLS} FROM plans WHERE dataset_id = ?"
                " ORDER BY created_at DESC",
                (dataset_id,),
            )
        return [self._plan(r) for r in rows]

    def get_plan(self, plan_id: str) -> PlanInfo:
        """Return one plan (NotFoundError when absent)."""
        row = self._one(f"SELECT {self._PLAN_COLS} FROM plans WHERE id = ?", (plan_id,))
        if row is None:
            raise NotFoundError(f"plan {plan_id!r} does not exist; list plans with GET /plans")
        return self._plan(row)

    _VER_SQL = (
        "SELECT v.plan_id, v.version, v.parent, v.author, v.created_at, v.message, v.metrics,"
        " v.locked, p.published_version FROM plan_versions v JOIN plans p ON p.id = v.plan_id"
    )

    @staticmethod
    def _version(row: Any) -> VersionInfo:
        return VersionInfo(
            row[0],
            int(row[1]),
            _int_or_none(row[2]),
            row[3],
            row[4],
            row[5],
            row[8] is not None and int(row[8]) == int(row[1]),
            dict(_loads(row[6]) or {}),
            tuple(_loads(row[7]) or ()),
        )

    def list_versions(self, plan_id: str) -> list[VersionInfo]:
        """Return the versions of a plan, oldest first."""
        self.get_plan(plan_id)
        rows = self._all(f"{self._VER_SQL} WHERE v.plan_id = ? ORDER BY v.version", (plan_id,))
        return [self._version(r) for r in rows]

    def get_version(self, plan_id: str, version: int) -> VersionInfo:
        """Return one version record."""
        row = self._one(
            f"{self._VER_SQL} WHERE v.plan_id = ? AND v.version = ?", (plan_id, version)
        )
        if row is None:
            self.get_plan(plan_id)
            msg = f"plan {plan_id} has no version {version}; list them with GET /plans/{plan_id}"
            raise NotFoundError(msg)
        return self._version(row)

    def load_version(self, plan_id: str, version: int) -> PlanContent:
        """Return the grids, assignment and locked grids of a version."""
        info = self.get_version(plan_id, version)
        row = self._one(
            "SELECT assignment FROM plan_versions WHERE plan_id = ? AND version = ?",
            (plan_id, version),
        )
        assignment = _loads(row[0]) or {}
        frame = pd.DataFrame(
            {
                "building_id": pd.Series(list(assignment.keys()), dtype=object),
                "grid_id": pd.Series(list(assignment.values()), dtype=object),
            }
        )
        grids = records_frame(self.layer_rows(grids_key(plan_id, version)), "grids")
        return PlanContent(grids, frame, info.locked, info.metrics)  # type: ignore[arg-type]

    def publish(self, plan_id: str, version: int, *, actor: str) -> VersionInfo:
        """Make a version the current plan of its dataset (unpublishing any other)."""
        plan = self.get_plan(plan_id)
        self.get_version(plan_id, version)
        with self._tx() as cur:
            self._run(
                cur,
                "UPDATE plans SET published_version = NULL WHERE dataset_id = ?",
                (plan.dataset_id,),
            )
            self._run(
                cur, "UPDATE plans SET published_version = ? WHERE id = ?", (version, plan_id)
            )
            self._audit(cur, actor, "plan.publish", f"{plan_id}@{version}", {})
        return self.get_version(plan_id, version)

    def published(self, dataset_id: str) -> VersionInfo | None:
        """Return the published plan version of a dataset, if any."""
        row = self._one(
            f"{self._VER_SQL} WHERE p.dataset_id = ? AND v.version = p.published_version",
            (dataset_id,),
        )
        return None if row is None else self._version(row)

    # -- jobs --------------------------------------------------------------------------
    _JOB_COLS = (
        "id, kind, status, progress, message, created_at, updated_at, author, params, result, error"
    )

    def create_job(self, *, kind: str, params: dict[str, Any], actor: str) -> JobInfo:
        """Record a queued job."""
        job_id = new_id()
        t = now()
        with self._tx() as cur:
            self._run(
                cur,
                f"INSERT INTO jobs ({self._JOB_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, "queued", 0.0, "queued", t, t, actor, dumps(params), None, None),
            )
            self._audit(cur, actor, "job.create", job_id, {"kind": kind, "params": params})
        return JobInfo(job_id, kind, "queued", 0.0, "queued", t, t, actor, params, None, None)

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
        sets = ["updated_at = ?"]
        params: list[Any] = [now()]
        for col, val in (
            ("status", status),
            ("progress", progress),
            ("message", message),
            ("result", None if result is None else dumps(result)),
            ("error", error),
        ):
            if val is not None:
                sets.append(f"{col} = ?")
                params.append(val)
        with self._tx() as cur:
            self._run(cur, f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*params, job_id))

    def fail_unfinished_jobs(self, reason: str) -> list[str]:
        """Mark every queued or running job failed with ``reason``; return their ids.

        Called when the service starts: no job thread survives a restart, so a job still
        queued or running in the store was interrupted.
        """
        unfinished = "status IN ('queued', 'running')"
        with self._tx() as cur:
            self._run(cur, f"SELECT id FROM jobs WHERE {unfinished}")
            ids = [str(r[0]) for r in cur.fetchall()]
            if ids:
                self._run(
                    cur,
                    f"UPDATE jobs SET status = 'failed', message = 'interrupted', error = ?, "
                    f"updated_at = ? WHERE {unfinished}",
                    (reason, now()),
                )
        return ids

    def get_job(self, job_id: str) -> JobInfo:
        """Return one job (NotFoundError when absent)."""
        row = self._one(f"SELECT {self._JOB_COLS} FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFoundError(f"job {job_id!r} does not exist")
        return JobInfo(
            row[0],
            row[1],
            row[2],
            float(row[3]),
            row[4],
            row[5],
            row[6],
            row[7],
            dict(_loads(row[8]) or {}),
            _loads(row[9]),
            row[10],
        )

    # -- keys and audit ----------------------------------------------------------------
    _KEY_COLS = "id, name, role, community_id, created_at, revoked"

    @staticmethod
    def _key(row: Any) -> KeyInfo:
        return KeyInfo(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    def add_key(
        self,
        *,
        name: str,
        role: str,
        community_id: str | None,
        secret_hash: str,
        actor: str,
        key_id: str | None = None,
    ) -> KeyInfo:
        """Store an API key (by the hash of its secret)."""
        if role not in ("viewer", "grid_worker", "planner", "admin"):
            raise ParameterError(f"role {role!r}: use viewer, grid_worker, planner or admin")
        if role == "grid_worker" and not community_id:
            raise ParameterError("community_id: a grid_worker key needs the worker's community")
        key_id = key_id or new_id()
        created = now()
        with self._tx() as cur:
            self._run(cur, "SELECT id FROM api_keys WHERE secret_hash = ?", (secret_hash,))
            if cur.fetchone() is not None:
                raise ConflictError("secret: a key with this secret exists already")
            self._run(
                cur,
                f"INSERT INTO api_keys ({self._KEY_COLS}, secret_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key_id, name, role, community_id, created, 0, secret_hash),
            )
            self._audit(
                cur,
                actor,
                "key.create",
                key_id,
                {"name": name, "role": role, "community": community_id},
            )
        return KeyInfo(key_id, name, role, community_id, created, False)

    def find_key(self, secret_hash: str) -> KeyInfo | None:
        """Return the unrevoked key with this secret hash, if any."""
        row = self._one(
            f"SELECT {self._KEY_COLS} FROM api_keys WHERE secret_hash = ? AND revoked = 0",
            (secret_hash,),
        )
        return None if row is None else self._key(row)

    def list_keys(self) -> list[KeyInfo]:
        """Return every key."""
        return [
            self._key(r)
            for r in self._all(f"SELECT {self._KEY_COLS} FROM api_keys ORDER BY created_at")
        ]

    def revoke_key(self, key_id: str, *, actor: str) -> None:
        """Revoke a key."""
        with self._tx() as cur:
            self._run(cur, "UPDATE api_keys SET revoked = 1 WHERE id = ?", (key_id,))
            self._run(cur, "SELECT id FROM api_keys WHERE id = ?", (key_id,))
            if cur.fetchone() is None:
                raise NotFoundError(f"key {key_id!r} does not exist; list keys with GET /keys")
            self._audit(cur, actor, "key.revoke", key_id, {})

    def list_audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Return audit entries, newest first."""
        rows = self._all(
            "SELECT id, at, actor, action, target, detail FROM audit ORDER BY id DESC"
            " LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [
            AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], dict(_loads(r[5]) or {})) for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """Return row counts of every table."""
        out = {}
        with self._tx(write=False) as cur:
            for table in TABLES:
                self._run(cur, f"SELECT COUNT(*) FROM {table}")
                out[table] = int(cur.fetchone()[0])
        return out


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _bounds_of(layers: dict[str, pd.DataFrame]) -> BBox | None:
    boxes = []
    for frame in layers.values():
        name = getattr(frame, "_geometry_column_name", None)
        if name in frame.columns and len(frame):
            geoms: Any = frame.to_crs(4326)[name] if frame.crs else frame[name]  # type: ignore[attr-defined]
            b = shapely.total_bounds(np.asarray(geoms.array, dtype=object))
            if np.isfinite(b).all():
                boxes.append(b)
    if not boxes:
        return None
    return (
        float(min(b[0] for b in boxes)),
        float(min(b[1] for b in boxes)),
        float(max(b[2] for b in boxes)),
        float(max(b[3] for b in boxes)),
    )


def iter_chunks(rows: list[FeatureRow], size: int = 2000) -> Iterator[list[FeatureRow]]:
    """Yield ``rows`` in chunks of ``size``."""
    for i in range(0, len(rows), size):
        yield rows[i : i + size]
