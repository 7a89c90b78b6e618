"""The PostgreSQL/PostGIS store (selected by a ``postgresql://`` database URL).

Features live in one table with a ``geometry(Geometry, 4326)`` column under a GIST index
and their properties in ``jsonb``. Tiles are made by the database with
``ST_AsMVT(ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64))``
(:data:`TILE_SQL`, also run bare by ``bench/tiles.py``). Restricted properties are
removed inside the query (``props - text[]``) unless the caller may see them.
Connections come from a ``psycopg_pool`` pool; with ``schema`` every connection uses that
schema first (tests run each in a fresh schema). While the service runs, tiles use a second,
asynchronous pool opened on the server's event loop (:meth:`PostGISStore.open_async`): the
query is awaited on the loop, sparing the hand-over to a worker thread (≈0.3-0.5 ms per tile
on the benchmark machine, as much as a small tile's query). The tile statement is prepared
on each connection at first use.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from api.access import Access, restricted_of
from api.errors import StorageError
from api.store.base import BBox, FeatureRow, check_bbox, dumps
from api.store.sql import SQLStore, iter_chunks
from api.store.sql_core import schema_sql
from api.tile_encoder import BUFFER, EXTENT, tile_bounds
from gridgen.errors import NotFoundError, ParameterError

SCHEMA = schema_sql(
    float_type="DOUBLE PRECISION",
    serial_key="BIGSERIAL PRIMARY KEY",
    features="""
CREATE TABLE IF NOT EXISTS features (
    layer_key TEXT NOT NULL, idx INTEGER NOT NULL, fid TEXT NOT NULL, community_id TEXT,
    props JSONB NOT NULL, geom geometry(Geometry, 4326), PRIMARY KEY (layer_key, idx));
CREATE INDEX IF NOT EXISTS features_fid ON features (layer_key, fid);
CREATE INDEX IF NOT EXISTS features_geom ON features USING GIST (geom);
""",
)

TILE_SQL = """
WITH env AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e),
q AS (
    SELECT f.idx AS id,
           ST_AsMVTGeom(ST_Transform(f.geom, 3857), env.e, 4096, 64, true) AS geom,
           CASE WHEN %(full)s OR f.community_id = ANY(%(communities)s::text[]) THEN f.props
                ELSE f.props - %(hidden)s::text[] END AS props
    FROM features f, env
    WHERE f.layer_key = %(key)s
      AND f.geom && ST_Transform(ST_Expand(env.e, %(pad)s), 4326)
)
SELECT ST_AsMVT(q, %(layer)s, 4096, 'geom', 'id') FROM q WHERE q.geom IS NOT NULL
"""
"""The tile query: one MVT layer of the features under a layer key, restricted props removed."""

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def tile_params(key: str, z: int, x: int, y: int, *, layer: str, access: Access) -> dict[str, Any]:
    """Return the parameters of :data:`TILE_SQL` for one tile and access level."""
    minx, _, maxx, _ = tile_bounds(z, x, y)
    return {
        "z": z,
        "x": x,
        "y": y,
        "key": key,
        "layer": layer,
        "pad": (maxx - minx) * BUFFER / EXTENT,
        "full": access.full,
        "communities": sorted(access.communities),
        "hidden": list(restricted_of(layer)),
    }


class PostGISStore(SQLStore):
    """The store in PostgreSQL with PostGIS."""

    kind = "postgis"
    placeholder = "%s"
    lock_clause = " FOR UPDATE"
    ordered_props = False
    valid_from_sql = "props->>'valid_from'"

    def __init__(self, url: str, *, schema: str | None = None, max_size: int = 8) -> None:
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise ParameterError(f"database schema {schema!r}: use lower-case letters, digits, _")
        self.url = url
        self.schema = schema
        self.max_size = max_size
        self._apool: AsyncConnectionPool[Any] | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None

        def configure(conn: psycopg.Connection[Any]) -> None:
            if schema is not None:
                conn.execute(f"SET search_path TO {schema}, public")

        try:
            if schema is not None:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            self.pool = ConnectionPool(
                url,
                min_size=1,
                max_size=max_size,
                configure=configure,
                kwargs={"autocommit": True},
                open=True,
                timeout=30,
            )
            with self._tx() as cur:
                cur.execute(SCHEMA)
            self._migrate()
        except psycopg.OperationalError as exc:
            msg = f"database {url}: cannot connect ({exc}); start it or fix the URL"
            raise StorageError(msg) from exc

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Any]:
        # connections are in autocommit mode: a read is one round trip; a write (or a read of
        # several statements that must agree) runs inside BEGIN ... COMMIT
        with self.pool.connection() as conn:
            if write:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            else:
                with conn.cursor() as cur:
                    yield cur

    def _columns(self, cur: Any, table: str) -> set[str]:
        cur.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
        return {str(row[0]) for row in cur.fetchall()}

    def close(self) -> None:
        """Close the connection pool."""
        self.pool.close()

    async def open_async(self) -> None:
        """Open the pool of async connections serving tiles on the running event loop."""
        schema = self.schema

        async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
            if schema is not None:
                await conn.execute(f"SET search_path TO {schema}, public")

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self.max_size,
            configure=configure,
            kwargs={"autocommit": True},
            open=False,
            timeout=30,
        )
        await pool.open()
        self._apool, self._aloop = pool, asyncio.get_running_loop()

    async def close_async(self) -> None:
        """Close the async pool opened by :meth:`open_async`."""
        pool, self._apool, self._aloop = self._apool, None, None
        if pool is not None:
            await pool.close()

    def drop_schema(self) -> None:
        """Drop this store's schema with everything in it (tests)."""
        if self.schema is not None:
            with self._tx() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    # -- features ----------------------------------------------------------------------
    def _insert_features(
        self, cur: Any, key: str, rows: list[FeatureRow], *, idx: Sequence[int] | None = None
    ) -> None:
        start = 0
        for chunk in iter_chunks(rows):
            cur.executemany(
                "INSERT INTO features (layer_key, idx, fid, community_id, props, geom)"
                " VALUES (%s, %s, %s, %s, %s::jsonb, ST_GeomFromWKB(%s, 4326))",
                [
                    (
                        key,
                        start + i if idx is None else idx[start + i],
                        r.fid,
                        r.community_id,
                        dumps(r.properties),
                        r.wkb,
                    )
                    for i, r in enumerate(chunk)
                ],
            )
            start += len(chunk)

    _COLS = "fid, community_id, props, ST_AsBinary(geom)"

    @staticmethod
    def _row(row: Any) -> FeatureRow:
        wkb = None if row[3] is None else bytes(row[3])
        return FeatureRow(row[0], row[1], dict(row[2]), wkb)

    def has_layer(self, key: str) -> bool:
        """Return whether features are stored under ``key``."""
        return self._one("SELECT 1 FROM features WHERE layer_key = ? LIMIT 1", (key,)) is not None

    def layer_rows(self, key: str) -> list[FeatureRow]:
        """Return every feature under ``key`` in stored order."""
        rows = self._all(
            f"SELECT {self._COLS} FROM features WHERE layer_key = ? ORDER BY idx", (key,)
        )
        return [self._row(r) for r in rows]

    def query_features(
        self, key: str, *, bbox: BBox | None, limit: int, offset: int
    ) -> tuple[list[FeatureRow], int]:
        """Return one page of features whose envelope meets ``bbox``, and the match count."""
        check_bbox(bbox)
        where = "layer_key = %s"
        params: list[Any] = [key]
        if bbox is not None:
            # && compares the float4 boxes PostGIS caches (rounded outward, ~1e-5 degree at
            # these longitudes): the index finds candidates, the float8 envelope decides, as
            # the SQLite back end's double-precision columns do
            where += (
                " AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
                " AND ST_Intersects(ST_Envelope(geom), ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
            )
            params += [*bbox, *bbox]
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT COUNT(*) FROM features WHERE {where}", params)
            total = int(cur.fetchone()[0])
            cur.execute(
                f"SELECT {self._COLS} FROM features WHERE {where} ORDER BY idx LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            rows = [self._row(r) for r in cur.fetchall()]
        return rows, total

    def get_feature(self, key: str, fid: str) -> FeatureRow:
        """Return one feature by id (NotFoundError when absent)."""
        row = self._one(
            f"SELECT {self._COLS} FROM features WHERE layer_key = ? AND fid = ?", (key, fid)
        )
        if row is None:
            raise NotFoundError(f"feature {fid!r} does not exist in this collection")
        return self._row(row)

    def layer_bounds(self, key: str) -> BBox | None:
        """Return the extent of the features under ``key`` (None when empty)."""
        row = self._one(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(geom)::geometry AS e FROM features WHERE layer_key = ?) s",
            (key,),
        )
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def tile(self, key: str, z: int, x: int, y: int, *, layer: str, access: Access) -> bytes:
        """Return the Mapbox Vector Tile of ``key`` at z/x/y, made by ST_AsMVT."""
        params = tile_params(key, z, x, y, layer=layer, access=access)
        with self._tx(write=False) as cur:
            cur.execute(TILE_SQL, params, prepare=True)
            row = cur.fetchone()
        return b"" if row is None or row[0] is None else bytes(row[0])

    async def tile_async(
        self, key: str, z: int, x: int, y: int, *, layer: str, access: Access
    ) -> bytes:
        """Return :meth:`tile`, awaited on the async pool when it serves this event loop."""
        pool = self._apool
        if pool is None or self._aloop is not asyncio.get_running_loop():
            return await super().tile_async(key, z, x, y, layer=layer, access=access)
        params = tile_params(key, z, x, y, layer=layer, access=access)
        async with pool.connection() as conn:
            cur = await conn.execute(TILE_SQL, params, prepare=True)
            row = await cur.fetchone()
        return b"" if row is None or row[0] is None else bytes(row[0])
