"""The SQL both back ends share: the DDL, the cursor protocol and the records tables.

:class:`SQLCore` holds the back-end hooks (transactions, statements, the audit log) and
the small tables (jobs, API keys, audit); :class:`api.store.sql.SQLStore` adds datasets,
features and plan versions on top of it.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from api.errors import ConflictError
from api.store.base import (
    AuditEntry,
    FeatureRow,
    JobInfo,
    JobOwnerCheck,
    KeyInfo,
    Store,
    dumps,
    new_id,
    now,
)
from gridgen.errors import NotFoundError, ParameterError

LEGACY_STREET = "street:"
"""How stores before the ``street_id`` column kept a street scope in ``community_id``."""

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
    updated_at TEXT NOT NULL, author TEXT NOT NULL, params TEXT, result TEXT, error TEXT,
    owner TEXT, heartbeat TEXT);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, community_id TEXT,
    created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, secret_hash TEXT UNIQUE,
    street_id TEXT);
CREATE TABLE IF NOT EXISTS audit (
    id {serial_key}, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT);
{features.strip()}
"""


class Cursor(Protocol):
    """The few cursor methods both sqlite3 and psycopg cursors share."""

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any:
        """Run one statement."""

    def fetchone(self) -> Any:
        """Return one row."""

    def fetchall(self) -> list[Any]:
        """Return every row."""


def loads_json(value: Any) -> Any:
    """Return the JSON value of a column (text in SQLite, already decoded by psycopg)."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


class SQLCore(Store):
    """Shared implementation of the non-spatial tables."""

    placeholder = "?"
    lock_clause = ""

    # -- back-end hooks ----------------------------------------------------------------
    @abstractmethod
    def _tx(self, *, write: bool = True) -> AbstractContextManager[Any]:
        """Return a context manager yielding a cursor inside one transaction."""

    @abstractmethod
    def _insert_features(
        self, cur: Cursor, key: str, rows: list[FeatureRow], *, idx: Sequence[int] | None = None
    ) -> None:
        """Insert features under ``key`` at positions ``idx`` (default: 0, 1, 2, ...)."""

    copy_columns = "fid, community_id, props, geom"
    """Feature columns copied as they are from one layer key to another (after layer_key, idx)."""

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

    # -- jobs --------------------------------------------------------------------------
    _NEW_JOB = (None, None)  # result, error
    _JOB_COLS = (
        "id, kind, status, progress, message, created_at, updated_at, author, params, result, error"
    )

    def create_job(
        self, *, kind: str, params: dict[str, Any], actor: str, owner: str | None = None
    ) -> JobInfo:
        """Record a queued job run by the service instance ``owner``."""
        job_id = new_id()
        t = now()
        with self._tx() as cur:
            self._run(
                cur,
                f"INSERT INTO jobs ({self._JOB_COLS}, owner, heartbeat)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    kind,
                    "queued",
                    0.0,
                    "queued",
                    t,
                    t,
                    actor,
                    dumps(params),
                    *self._NEW_JOB,
                    owner,
                    t,
                ),
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

    def beat_jobs(self, owner: str) -> int:
        """Mark the unfinished jobs of ``owner`` alive now; return how many there are."""
        with self._tx() as cur:
            self._run(
                cur,
                "UPDATE jobs SET heartbeat = ? WHERE owner = ? AND status IN ('queued', 'running')",
                (now(), owner),
            )
            return int(getattr(cur, "rowcount", 0) or 0)

    def fail_unfinished_jobs(self, reason: str, *, alive: JobOwnerCheck | None = None) -> list[str]:
        """Mark queued or running jobs failed with ``reason``; return their ids.

        ``alive(owner, heartbeat)`` tells whether the service instance that runs a job still
        does (see :func:`api.recovery.owner_alive`); without it every unfinished job is failed.
        """
        unfinished = "status IN ('queued', 'running')"
        with self._tx() as cur:
            self._run(cur, f"SELECT id, owner, heartbeat FROM jobs WHERE {unfinished}")
            rows = cur.fetchall()
            ids = [str(r[0]) for r in rows if alive is None or not alive(r[1], r[2])]
            for job_id in ids:
                self._run(
                    cur,
                    f"UPDATE jobs SET status = 'failed', message = 'interrupted', error = ?, "
                    f"updated_at = ? WHERE id = ? AND {unfinished}",
                    (reason, now(), job_id),
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
            dict(loads_json(row[8]) or {}),
            loads_json(row[9]),
            row[10],
        )

    # -- keys and audit ----------------------------------------------------------------
    _KEY_COLS = "id, name, role, community_id, created_at, revoked, street_id"

    @staticmethod
    def _key(row: Any) -> KeyInfo:
        community: str | None = row[3]
        street: str | None = row[6]
        if street is None and community is not None and community.startswith(LEGACY_STREET):
            street = community[len(LEGACY_STREET) :]  # a legacy row not yet migrated
            community = None
        return KeyInfo(row[0], row[1], row[2], community, row[4], bool(row[5]), street)

    @abstractmethod
    def _columns(self, cur: Cursor, table: str) -> set[str]:
        """Return the column names of ``table``."""

    def _migrate(self) -> None:
        """Bring an existing store up to the current DDL (run on open; idempotent).

        Stores written before keys had a ``street_id`` column kept a street scope in
        ``community_id`` as ``street:<id>``: add the column and move such values into it.
        Jobs gained ``owner`` and ``heartbeat`` (which service instance runs them).
        """
        with self._tx() as cur:
            if "street_id" not in self._columns(cur, "api_keys"):
                self._run(cur, "ALTER TABLE api_keys ADD COLUMN street_id TEXT")
            jobs = self._columns(cur, "jobs")
            for column in ("owner", "heartbeat"):
                if column not in jobs:
                    self._run(cur, f"ALTER TABLE jobs ADD COLUMN {column} TEXT")
            self._run(
                cur,
                "UPDATE api_keys SET street_id = substr(community_id, ?), community_id = NULL"
                " WHERE street_id IS NULL AND community_id LIKE ?",
                (len(LEGACY_STREET) + 1, LEGACY_STREET + "%"),
            )

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
        if role not in ("viewer", "grid_worker", "planner", "admin"):
            raise ParameterError(f"role {role!r}: use viewer, grid_worker, planner or admin")
        if community_id and street_id:
            raise ParameterError("community_id, street_id: give one of them, not both")
        if role == "grid_worker" and not (community_id or street_id):
            msg = "community_id: a grid_worker key needs the worker's community (or street_id)"
            raise ParameterError(msg)
        key_id = key_id or new_id()
        created = now()
        with self._tx() as cur:
            self._run(cur, "SELECT id FROM api_keys WHERE secret_hash = ?", (secret_hash,))
            if cur.fetchone() is not None:
                raise ConflictError("secret: a key with this secret exists already")
            self._run(
                cur,
                f"INSERT INTO api_keys ({self._KEY_COLS}, secret_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *(key_id, name, role, community_id or None, created, 0),
                    *(street_id or None, secret_hash),
                ),
            )
            self._audit(
                cur,
                actor,
                "key.create",
                key_id,
                {"name": name, "role": role, "community": community_id, "street": street_id},
            )
        return KeyInfo(key_id, name, role, community_id or None, created, False, street_id or None)

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
            AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], dict(loads_json(r[5]) or {}))
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """Return row counts of every table."""
        out = {}
        with self._tx(write=False) as cur:
            for table in TABLES:
                self._run(cur, f"SELECT COUNT(*) FROM {table}")
                out[table] = int(cur.fetchone()[0])
        return out


def int_or_none(value: Any) -> int | None:
    """Return a nullable integer column as int or None."""
    return None if value is None else int(value)
