"""Vector tiles: tile math and the embedded Mapbox Vector Tile encoder (routes: routers/tiles).

The embedded back end keeps each served layer in memory once (geometries in EPSG:3857 in a
shapely STRtree) and encodes a tile by querying the tree, simplifying to half a tile pixel,
clipping to the tile plus a 64-pixel buffer and encoding with :func:`api.mvt.encode_layer`
(vectorised; features smaller than a tile pixel vanish on the grid and are left out).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely

from api.access import Access, visible_properties
from api.mvt import encode_layer
from api.store.base import FeatureRow
from api.tile_grid import valid_on_grid
from gridgen.errors import ParameterError

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
HALF = 20037508.342789244
_TO_3857 = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)


def check_tile(z: int, x: int, y: int) -> None:
    """Raise ParameterError unless z/x/y names a tile (0 ≤ z ≤ 22, 0 ≤ x, y < 2^z)."""
    if not 0 <= z <= MAX_ZOOM:
        raise ParameterError(f"z={z}: zoom must be between 0 and {MAX_ZOOM}")
    n = 1 << z
    if not 0 <= x < n:
        raise ParameterError(f"x={x}: at zoom {z} x must be between 0 and {n - 1}")
    if not 0 <= y < n:
        raise ParameterError(f"y={y}: at zoom {z} y must be between 0 and {n - 1}")


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Return the EPSG:3857 bounds (minx, miny, maxx, maxy) of tile z/x/y."""
    size = 2 * HALF / (1 << z)
    minx = -HALF + x * size
    maxy = HALF - y * size
    return (minx, maxy - size, minx + size, maxy)


def etag_of(data: bytes) -> str:
    """Return a strong ETag for ``data``."""
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


@dataclass
class LayerIndex:
    """One layer in memory for tiling: EPSG:3857 geometries, their tree, ids and properties."""

    geoms: np.ndarray
    tree: shapely.STRtree
    communities: list[str | None]
    properties: list[dict[str, Any]]

    @classmethod
    def from_rows(cls, rows: list[FeatureRow]) -> LayerIndex:
        """Return the index of ``rows`` (WKB in EPSG:4326)."""
        wkbs = np.array([r.wkb for r in rows], dtype=object)
        geoms = shapely.from_wkb(wkbs) if len(wkbs) else np.array([], dtype=object)
        if len(geoms):
            geoms = shapely.transform(
                geoms, lambda xy: np.column_stack(_TO_3857.transform(xy[:, 0], xy[:, 1]))
            )
        return cls(
            geoms,
            shapely.STRtree(geoms),
            [r.community_id for r in rows],
            [{k: v for k, v in r.properties.items() if v is not None} for r in rows],
        )


def encode_tile(index: LayerIndex, z: int, x: int, y: int, *, layer: str, access: Access) -> bytes:
    """Return the MVT bytes of ``index`` at z/x/y, one layer named ``layer``.

    Properties pass through :func:`api.access.visible_properties`; feature ids are the
    stored row numbers.
    """
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    rect = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    hits = index.tree.query(shapely.box(*rect))
    if len(hits) == 0:
        return b""
    hits = np.sort(hits)
    tolerance = (maxx - minx) / EXTENT / 2
    geoms = shapely.clip_by_rect(
        shapely.simplify(index.geoms[hits], tolerance, preserve_topology=True), *rect
    )
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not keep.any():
        return b""
    hits, geoms = hits[keep], geoms[keep]
    scale = EXTENT / (maxx - minx)

    def to_tile(xy: np.ndarray) -> np.ndarray:  # EPSG:3857 → tile units, y down, on the grid
        return np.rint(np.column_stack(((xy[:, 0] - minx) * scale, (maxy - xy[:, 1]) * scale)))

    props = [
        visible_properties(
            index.properties[i], layer=layer, feature_community=index.communities[i], access=access
        )
        for i in hits.tolist()
    ]
    ids = hits.tolist()
    where = f"{layer} {z}/{x}/{y}"
    tile_geoms = valid_on_grid(shapely.transform(geoms, to_tile), where=where, ids=ids)
    return encode_layer(layer, tile_geoms, props, ids, extent=EXTENT)
