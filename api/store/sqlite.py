"""The embedded store: one SQLite file, zero configuration (the default back end).

Geometries are stored as WKB (EPSG:4326) with their envelope in four indexed columns used
by bbox queries. Tiles are encoded in process by :func:`api.tile_encoder.encode_tile` from a
layer index kept in an LRU (layer keys never change, so the index never goes stale).
Each transaction opens its own connection (WAL mode) so that threads never share one;
writes use ``BEGIN IMMEDIATE`` so that a version check and its insert are atomic.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from api.access import Access
from api.cache import LRU
from api.errors import StorageError
from api.store.base import BBox, FeatureRow, check_bbox, dumps
from api.store.sql import SQLStore, iter_chunks
from api.store.sql_core import schema_sql
from api.tile_encoder import LayerIndex, encode_tile
from gridgen.errors import NotFoundError

SCHEMA = schema_sql(
    float_type="REAL",
    serial_key="INTEGER PRIMARY KEY AUTOINCREMENT",
    features="""
CREATE TABLE IF NOT EXISTS features (
    layer_key TEXT NOT NULL, idx INTEGER NOT NULL, fid TEXT NOT NULL, community_id TEXT,
    props TEXT NOT NULL, geom BLOB, minx REAL, miny REAL, maxx REAL, maxy REAL,
    PRIMARY KEY (layer_key, idx));
CREATE INDEX IF NOT EXISTS features_fid ON features (layer_key, fid);
CREATE INDEX IF NOT EXISTS features_box ON features (layer_key, minx, maxx);
""",
)


class SQLiteStore(SQLStore):
    """The embedded store in one SQLite file (``:memory:`` is not supported: use a path)."""

    kind = "sqlite"

    def __init__(self, path: str | Path, *, layer_cache_size: int = 16) -> None:
        self.path = str(path)
        if self.path == ":memory:":
            msg = "database: an in-memory SQLite store cannot be shared; give a file path"
            raise StorageError(msg)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._layers = LRU(layer_cache_size)
        self._connect().executescript(SCHEMA)
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Any]:
        conn = self._connect()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    def _columns(self, cur: Any, table: str) -> set[str]:
        cur.execute(f"PRAGMA table_info({table})")
        return {str(row[1]) for row in cur.fetchall()}

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- features ----------------------------------------------------------------------
    copy_columns = "fid, community_id, props, geom, minx, miny, maxx, maxy"
    assignment_patch_sql = "json_patch(assignment, ?)"  # RFC 7396: keys keep their place

    def _insert_features(
        self, cur: Any, key: str, rows: list[FeatureRow], *, idx: Sequence[int] | None = None
    ) -> None:
        start = 0
        for chunk in iter_chunks(rows):
            wkbs = [r.wkb for r in chunk]
            geoms = shapely.from_wkb(np.array(wkbs, dtype=object))
            bounds = shapely.bounds(geoms)
            cur.executemany(
                "INSERT INTO features (layer_key, idx, fid, community_id, props, geom, minx,"
                " miny, maxx, maxy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        key,
                        start + i if idx is None else idx[start + i],
                        r.fid,
                        r.community_id,
                        dumps(r.properties),
                        r.wkb,
                        *(float(v) if np.isfinite(v) else None for v in bounds[i]),
                    )
                    for i, r in enumerate(chunk)
                ],
            )
            start += len(chunk)

    @staticmethod
    def _row(row: Any) -> FeatureRow:
        return FeatureRow(row[0], row[1], json.loads(row[2]), row[3])

    def has_layer(self, key: str) -> bool:
        """Return whether features are stored under ``key``."""
        return self._one("SELECT 1 FROM features WHERE layer_key = ? LIMIT 1", (key,)) is not None

    def layer_rows(self, key: str) -> list[FeatureRow]:
        """Return every feature under ``key`` in stored order."""
        rows = self._all(
            "SELECT fid, community_id, props, geom FROM features WHERE layer_key = ? ORDER BY idx",
            (key,),
        )
        return [self._row(r) for r in rows]

    def query_features(
        self, key: str, *, bbox: BBox | None, limit: int, offset: int
    ) -> tuple[list[FeatureRow], int]:
        """Return one page of features whose envelope meets ``bbox``, and the match count."""
        check_bbox(bbox)
        where = "layer_key = ?"
        params: list[Any] = [key]
        if bbox is not None:
            where += " AND maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?"
            params += [bbox[0], bbox[2], bbox[1], bbox[3]]
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT COUNT(*) FROM features WHERE {where}", params)
            total = int(cur.fetchone()[0])
            cur.execute(
                f"SELECT fid, community_id, props, geom FROM features WHERE {where}"
                " ORDER BY idx LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            rows = [self._row(r) for r in cur.fetchall()]
        return rows, total

    def get_feature(self, key: str, fid: str) -> FeatureRow:
        """Return one feature by id (NotFoundError when absent)."""
        row = self._one(
            "SELECT fid, community_id, props, geom FROM features WHERE layer_key = ? AND fid = ?",
            (key, fid),
        )
        if row is None:
            raise NotFoundError(f"feature {fid!r} does not exist in this collection")
        return self._row(row)

    def layer_bounds(self, key: str) -> BBox | None:
        """Return the extent of the features under ``key`` (None when empty)."""
        row = self._one(
            "SELECT MIN(minx), MIN(miny), MAX(maxx), MAX(maxy) FROM features WHERE layer_key = ?",
            (key,),
        )
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def tile(self, key: str, z: int, x: int, y: int, *, layer: str, access: Access) -> bytes:
        """Return the Mapbox Vector Tile of ``key`` at z/x/y, encoded in process."""
        index = self._layers.get_or_make(key, lambda: LayerIndex.from_rows(self.layer_rows(key)))
        return encode_tile(index, z, x, y, layer=layer, access=access)
