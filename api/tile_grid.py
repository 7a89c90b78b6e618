"""Tile geometries on the integer grid, valid for GEOS, without ever failing a tile.

Rounding to the tile grid can make a ring touch or cross itself, or a hole touch its
shell. Those polygons (a few per thousand at z16, more at city zooms) are snap-rounded by
GEOS (``set_precision`` to 1 tile unit), which keeps them valid on the grid. GEOS's
snap-rounding itself can fail on such input (``TopologyException: unable to assign free
hole to a shell``, ``side location conflict``): the geometry is then made valid first
(``make_valid``, structure method: polygons only), each of its polygons is snapped on its
own, and only a part that still cannot be snapped, or that vanishes on the grid, is dropped.
Every repair past the fast path is logged with the layer, tile and feature, so a tile never
fails and nothing is dropped without a trace.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely
from shapely.errors import GEOSException

_log = logging.getLogger("gridgen.tiles")
_POLYGONAL = (3, 6)  # shapely type ids: Polygon, MultiPolygon


def _snapped_parts(geom: shapely.Geometry) -> tuple[list[shapely.Geometry], int]:
    """Return (polygons of ``geom`` made valid and snapped one by one, parts dropped)."""
    valid = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    kept: list[shapely.Geometry] = []
    dropped = 0
    for part in shapely.get_parts(valid):
        if shapely.get_type_id(part) not in _POLYGONAL:
            dropped += 1
            continue
        try:
            snapped = shapely.set_precision(part, 1.0)
        except GEOSException:
            dropped += 1
            continue
        polys = [p for p in shapely.get_parts(snapped) if shapely.get_type_id(p) == 3]
        kept += [p for p in polys if shapely.area(p) > 0]
    return kept, dropped


def _union_on_grid(parts: list[shapely.Geometry]) -> tuple[shapely.Geometry, int]:
    """Return (the union of snapped polygons on the grid, parts dropped to make it valid)."""
    if len(parts) == 1:
        return parts[0], 0
    try:
        out = shapely.union_all(parts, grid_size=1.0)
    except GEOSException:
        out = None
    if out is not None and shapely.is_valid(out):
        return out, 0
    largest = max(parts, key=shapely.area)  # the parts cannot be joined: keep the main one
    return largest, len(parts) - 1


def repaired_on_grid(geom: shapely.Geometry, *, where: str = "") -> shapely.Geometry:
    """Return ``geom`` (polygonal, integer coordinates) valid on the grid; never raises.

    Snap-rounding first; when GEOS fails on it, ``make_valid`` then each polygon snapped
    on its own, dropping only a part that cannot be snapped or has no area on the grid
    (logged with ``where``). The result is a valid Polygon, MultiPolygon or an empty polygon.
    """
    try:
        out = shapely.set_precision(geom, 1.0)
    except GEOSException as exc:
        parts, dropped = _snapped_parts(geom)
        out, lost = _union_on_grid(parts) if parts else (shapely.Polygon(), 0)
        _log.warning(
            "tile %s: snap-rounding failed (%s); made valid, %d degenerate part(s) dropped",
            where,
            exc,
            dropped + lost,
        )
    if not shapely.is_valid(out):  # not seen; an empty feature is better than a failed tile
        _log.warning("tile %s: polygon still invalid on the grid, left out", where)
        return shapely.Polygon()
    return out


def valid_on_grid(
    geoms: np.ndarray, *, where: str = "", ids: list[int] | None = None
) -> np.ndarray:
    """Return tile geometries (already on the integer grid) with invalid polygons repaired.

    Only the polygons that rounding made invalid are touched: all of them snap-rounded in
    one call, and when GEOS fails on that, each one through :func:`repaired_on_grid`.
    ``where`` (layer and tile) and ``ids`` (feature ids) name what a log line is about.
    """
    kinds = shapely.get_type_id(geoms)
    poly = np.isin(kinds, _POLYGONAL)
    if not poly.any():
        return geoms
    bad = np.flatnonzero(poly)[~shapely.is_valid(geoms[poly])]
    if len(bad) == 0:
        return geoms
    geoms = geoms.copy()
    try:
        geoms[bad] = shapely.set_precision(geoms[bad], 1.0)
    except GEOSException:
        for i in bad.tolist():
            fid = "" if ids is None else f" feature {ids[i]}"
            geoms[i] = repaired_on_grid(geoms[i], where=f"{where}{fid}")
    return geoms
