"""SQL shared by both store back ends: datasets, features and plan versions.

The back ends differ in connections, placeholders, JSON and geometry types and tiles; they
supply :meth:`SQLStore._tx` and the feature methods. SQL here is written with ``?``
placeholders and rewritten to ``%s`` for psycopg. The DDL, the cursor protocol, jobs,
keys and audit are in :mod:`api.store.sql_core`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api.errors import check_base_version
from api.store.base import (
    BBox,
    DatasetInfo,
    FeatureRow,
    PlanInfo,
    VersionInfo,
    dataset_key,
    dumps,
    frame_records,
    grids_key,
    new_id,
    now,
    records_frame,
    version_date,
)
from api.store.delta import copy_runs, split_rows
from api.store.sql_core import Cursor, SQLCore, int_or_none, loads_json
from gridgen.errors import NotFoundError
from gridgen.partition.codes import CodeBook
from gridgen.partition.lifecycle import restamped
from gridgen.partition.plan import Plan
from gridgen.schema import LAYERS


class SQLStore(SQLCore):
    """Shared SQL of datasets, features and plan versions (both back ends)."""

    ordered_props = True
    """Whether stored properties keep their order (JSON text: yes; PostgreSQL jsonb: no)."""
    valid_from_sql = "json_extract(props, '$.valid_from')"
    """SQL of a grid row's ``valid_from`` (read in the database: no row is decoded)."""
    assignment_patch_sql: str | None = None
    """SQL of the base version's assignment with the patch ``?`` applied in the database,
    keeping the order of its buildings (None: the back end writes the whole assignment)."""

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
        bounds = loads_json(row[6])
        return DatasetInfo(
            row[0],
            row[1],
            row[2],
            row[3],
            loads_json(row[4]),
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
        return dict(loads_json(row[0]) or {})

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
        plan: Plan,
        actor: str,
        message: str,
        changed: Collection[str] | None = None,
        patch: dict[str, str] | None = None,
    ) -> VersionInfo:
        created = now()
        plan = restamped(
            plan, before=self._codes_of(cur, plan_id, parent), on=version_date(created)
        )
        record = plan.record()
        head = (
            *(plan_id, version, parent, actor, created, message),
            *(dumps(record), dumps(list(plan.locked))),
        )
        cols = "plan_id, version, parent, author, created_at, message, metrics, locked, assignment"
        patched = False
        if patch is not None and parent is not None and self.assignment_patch_sql:
            self._run(
                cur,
                f"INSERT INTO plan_versions ({cols}) SELECT ?, ?, ?, ?, ?, ?, ?, ?,"
                f" {self.assignment_patch_sql} FROM plan_versions WHERE plan_id = ?"
                " AND version = ? AND assignment IS NOT NULL",
                (*head, dumps(patch), plan_id, parent),
            )
            patched = cur.rowcount == 1
        if not patched:
            a = plan.assignment
            buildings, grid_ids = a["building_id"].astype(str), a["grid_id"].astype(str)
            assignment = dict(zip(buildings.tolist(), grid_ids.tolist(), strict=True))
            self._run(
                cur,
                f"INSERT INTO plan_versions ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*head, dumps(assignment)),
            )
        self._write_grids(cur, plan_id, version, plan=plan, base=parent, changed=changed)
        return VersionInfo(
            plan_id,
            version,
            parent,
            actor,
            created,
            message,
            False,
            record,
            plan.locked,
        )

    def _codes_of(
        self, cur: Cursor, plan_id: str, version: int | None
    ) -> tuple[dict[str, Any], set[str]] | None:
        """Return (grid code → valid_from, retired codes) of a stored version (None: none)."""
        if version is None:
            return None
        key = grids_key(plan_id, version)
        sql = f"SELECT fid, {self.valid_from_sql} FROM features WHERE layer_key = ?"
        self._run(cur, sql, (key,))
        codes = {str(f): v for f, v in cur.fetchall()}
        self._run(
            cur,
            "SELECT metrics FROM plan_versions WHERE plan_id = ? AND version = ?",
            (plan_id, version),
        )
        row = cur.fetchone()
        record = (loads_json(row[0]) if row is not None else None) or {}
        return codes, {r.code for r in CodeBook.from_dict(record.get("codes")).retired}

    def _write_grids(
        self,
        cur: Cursor,
        plan_id: str,
        version: int,
        *,
        plan: Plan,
        base: int | None,
        changed: Collection[str] | None,
    ) -> None:
        """Store the grid rows of a version: unchanged rows are copied from ``base`` in SQL.

        With ``changed`` (the grid ids whose rows may differ from the base version's; every
        other grid of ``plan`` must be the base version's row as loaded), only those rows are
        serialised here. Without it, or when the base rows have other columns, all are.
        """
        key = grids_key(plan_id, version)
        frame = plan.grids
        # every row carries every grid column (None where absent), so copied rows, written
        # rows and rows read back agree on their properties
        missing = [c for c in LAYERS["grids"].column_names if c not in frame.columns]
        if missing:
            frame = frame.assign(**dict.fromkeys(missing))
        cols = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
        if changed is None or base is None or not self._same_columns(cur, plan_id, base, cols):
            self._insert_features(cur, key, frame_records(frame, "grids"))
            return
        base_key = grids_key(plan_id, base)
        self._run(cur, "SELECT fid, idx FROM features WHERE layer_key = ?", (base_key,))
        base_idx = {str(f): int(i) for f, i in cur.fetchall()}
        copied, fresh = split_rows(frame["grid_id"].astype(str).tolist(), changed, base_idx)
        cols_sql = self.copy_columns
        for first, last, shift in copy_runs(copied):
            self._run(
                cur,
                f"INSERT INTO features (layer_key, idx, {cols_sql}) SELECT ?, idx + ?,"
                f" {cols_sql} FROM features WHERE layer_key = ? AND idx BETWEEN ? AND ?",
                (key, shift, base_key, first, last),
            )
        if fresh:
            rows = frame_records(frame.iloc[fresh], "grids")
            self._insert_features(cur, key, rows, idx=fresh)

    def _same_columns(self, cur: Cursor, plan_id: str, base: int, cols: list[str]) -> bool:
        """Return whether the base version's grid rows have exactly the properties ``cols``.

        In a back end that keeps the order of properties (SQLite's JSON text), the order must
        match too, so that copied and written rows read back as one frame.
        """
        self._run(
            cur,
            "SELECT props FROM features WHERE layer_key = ? ORDER BY idx LIMIT 1",
            (grids_key(plan_id, base),),
        )
        row = cur.fetchone()
        if row is None:
            return False
        keys = list(loads_json(row[0]))
        return keys == cols if self.ordered_props else set(keys) == set(cols)

    def create_plan(
        self, *, dataset_id: str, name: str, plan: Plan, actor: str, message: str
    ) -> VersionInfo:
        """Create a plan whose first version (1) is ``plan`` (with its locked grids)."""
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
                plan=plan,
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
        plan: Plan,
        actor: str,
        message: str,
        changed_grids: Collection[str] | None = None,
        changed_assignment: dict[str, str] | None = None,
    ) -> VersionInfo:
        """Store ``plan`` as the version after ``base_version`` (ConflictError when stale).

        ``changed_grids``: the grids whose rows differ from ``base_version``'s (the others
        are copied in the database); None: every row is written. ``changed_assignment``:
        the buildings whose grid differs from ``base_version``'s (same buildings in the same
        order otherwise): a back end with :attr:`assignment_patch_sql` patches the stored one.
        """
        with self._tx() as cur:
            self._run(
                cur, f"SELECT head_version FROM plans WHERE id = ?{self.lock_clause}", (plan_id,)
            )
            row = cur.fetchone()
            if row is None:
                raise NotFoundError(f"plan {plan_id!r} does not exist; list plans with GET /plans")
            head = int(row[0])
            check_base_version(plan_id, head_version=head, base_version=base_version)
            version = head + 1
            self._run(cur, "UPDATE plans SET head_version = ? WHERE id = ?", (version, plan_id))
            info = self._write_version(
                cur,
                plan_id=plan_id,
                version=version,
                parent=head,
                plan=plan,
                actor=actor,
                message=message,
                changed=changed_grids,
                patch=changed_assignment,
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
        return PlanInfo(row[0], row[1], row[2], row[3], row[4], int(row[5]), int_or_none(row[6]))

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
            int_or_none(row[2]),
            row[3],
            row[4],
            row[5],
            row[8] is not None and int(row[8]) == int(row[1]),
            dict(loads_json(row[6]) or {}),
            tuple(loads_json(row[7]) or ()),
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

    def load_version(self, plan_id: str, version: int) -> Plan:
        """Return a stored version as the plan it was saved from (locked grids included)."""
        info = self.get_version(plan_id, version)
        row = self._one(
            "SELECT assignment FROM plan_versions WHERE plan_id = ? AND version = ?",
            (plan_id, version),
        )
        assignment = loads_json(row[0]) or {}
        frame = pd.DataFrame(
            {
                "building_id": pd.Series(list(assignment.keys()), dtype=object),
                "grid_id": pd.Series(list(assignment.values()), dtype=object),
            }
        )
        grids = records_frame(self.layer_rows(grids_key(plan_id, version)), "grids")
        return Plan.from_record(grids, frame, info.metrics, locked=info.locked)  # type: ignore[arg-type]

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
