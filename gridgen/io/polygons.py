"""Finishing polygons for output: one valid Polygon per grid, after the last transformation.

Grids are drawn as unions of tessellation cells and simplified as one coverage; their rings
may touch themselves (a vertex lying on another edge). That is valid in the metric CRS,
but any reprojection moves the vertex off the edge by a rounding error and GEOS reports a
self-intersection. Two steps make every grid valid wherever it goes:

- :func:`snapped_polygons` snap-rounds the metric grids to a 1 mm grid (GEOS precision
  reduction, valid output), which turns a vertex on an edge into a shared vertex that every
  transformation moves identically;
- :func:`valid_polygons` repairs whatever is still invalid after a transformation
  (``shapely.make_valid``) and keeps one Polygon per row: the largest part stays, smaller
  parts ("crumbs") join the neighbouring row they share the longest boundary with, so a set
  of grids that tiled a community still tiles it. The area moved is returned so callers
  can report it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

SNAP_METRES = 0.001
"""Grid size of :func:`snapped_polygons` in the metric CRS (1 mm)."""

_POLYGON = 3
_MULTIPOLYGON = 6


def polygonal_parts(geom: BaseGeometry | None) -> NDArray[np.object_]:
    """Return the non-empty polygons inside ``geom`` (lines and points dropped)."""
    if geom is None or shapely.is_empty(geom):
        return np.empty(0, dtype=object)
    parts = shapely.get_parts(geom)
    out: list[BaseGeometry] = []
    for p in parts:
        kind = shapely.get_type_id(p)
        if kind == _POLYGON and shapely.area(p) > 0:
            out.append(p)
        elif kind in (_MULTIPOLYGON, 7):
            out.extend(polygonal_parts(p).tolist())
    return np.asarray(out, dtype=object)


def polygonal(geom: BaseGeometry | None) -> BaseGeometry:
    """Return the polygonal part of ``geom`` (a Polygon, a MultiPolygon or an empty Polygon).

    Overlays of touching polygons can return lines and points with the area; keeping only
    the polygons lets the result take part in further overlays.
    """
    parts = polygonal_parts(geom)
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts.tolist())


def _is_good(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    present = ~shapely.is_missing(geoms)
    ok = np.zeros(len(geoms), dtype=bool)
    ok[present] = shapely.is_valid(geoms[present]) & (
        shapely.get_type_id(geoms[present]) == _POLYGON
    )
    return ok


def valid_polygons(
    geoms: NDArray[np.object_] | gpd.GeoSeries,
    *,
    rows: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Return one valid Polygon per input geometry and the area each row gave away.

    Rows already valid Polygons are returned unchanged (the same objects). For the others,
    the polygonal parts of ``make_valid`` are kept: the largest is the row's polygon; each
    smaller part joins the row it shares the longest boundary with when that union stays
    one valid Polygon, and is dropped otherwise (its area counts in the second array).
    Empty or missing rows stay as they are, and so do rows outside ``rows`` (a mask;
    default every row).
    """
    arr = np.asarray(geoms, dtype=object).copy()
    lost = np.zeros(len(arr), dtype=np.float64)
    todo = ~_is_good(arr) & ~shapely.is_missing(arr)
    bad = np.flatnonzero(todo if rows is None else todo & rows)
    crumbs: list[tuple[int, BaseGeometry]] = []
    for i in bad.tolist():
        if shapely.is_empty(arr[i]):
            continue
        parts = polygonal_parts(shapely.make_valid(arr[i]))
        if len(parts) == 0:
            lost[i] = float(shapely.area(arr[i]))
            arr[i] = shapely.Polygon()
            continue
        order = np.argsort(-shapely.area(parts))
        arr[i] = parts[order[0]]
        crumbs.extend((i, parts[j]) for j in order[1:].tolist())
    if crumbs:
        tree = shapely.STRtree(arr)
        for owner, crumb in crumbs:
            if not _give_crumb(arr, tree, owner, crumb):
                lost[owner] += float(shapely.area(crumb))
    return arr, lost


def _give_crumb(
    arr: NDArray[np.object_], tree: shapely.STRtree, owner: int, crumb: BaseGeometry
) -> bool:
    """Join ``crumb`` to the row sharing its longest boundary; return whether it joined."""
    near = [int(j) for j in tree.query(crumb, predicate="intersects") if int(j) != owner]
    if not near:
        return False
    edge = shapely.boundary(crumb)
    shared = shapely.length(shapely.intersection(edge, arr[near]))
    for k in np.argsort(-shared).tolist():
        j = near[k]
        joined = shapely.union(arr[j], crumb)
        if shapely.get_type_id(joined) == _POLYGON and shapely.is_valid(joined):
            arr[j] = joined
            return True
    return False


def snapped_polygons(
    geoms: NDArray[np.object_], *, grid_size: float = SNAP_METRES
) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Return metric polygons snap-rounded to ``grid_size`` and made one valid Polygon each.

    See the module notes: after this, reprojection keeps the grids valid in almost every
    case (and :func:`valid_polygons` mends the rest after the last transformation).
    """
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return arr.copy(), np.zeros(0)
    present = ~shapely.is_missing(arr)
    out = arr.copy()
    out[present] = shapely.set_precision(arr[present], grid_size)
    return valid_polygons(out)


def frame_valid_polygons(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` with every polygonal row valid, each keeping its type.

    A Polygon row stays one valid Polygon (:func:`valid_polygons`: crumbs join a
    neighbouring Polygon row), a MultiPolygon row (a grid left in pieces on purpose, or a
    community in pieces) stays a valid MultiPolygon. Layers holding lines or points are
    left to :func:`valid_geometries`.
    """
    geoms = frame.geometry.to_numpy()
    present = ~shapely.is_missing(geoms)
    if not present.any():
        return frame
    kinds = np.full(len(geoms), -1, dtype=np.int64)
    kinds[present] = shapely.get_type_id(geoms[present])
    if not np.isin(kinds[present], (_POLYGON, _MULTIPOLYGON)).all():
        return valid_geometries(frame)
    single = kinds == _POLYGON
    multi = kinds == _MULTIPOLYGON
    broken_multi = multi & ~shapely.is_valid(geoms)
    if _is_good(geoms[single]).all() and not broken_multi.any():
        return frame
    # a layer mixing both used to go to valid_geometries, which made a Polygon row that a
    # transformation had left self-touching into a MultiPolygon (a BD-09 repartition)
    fixed, _ = valid_polygons(geoms, rows=single)
    for i in np.flatnonzero(broken_multi).tolist():
        fixed[i] = shapely.MultiPolygon(polygonal_parts(shapely.make_valid(geoms[i])).tolist())
    out = frame.copy()
    return out.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs))


def valid_geometries(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` with invalid rows repaired, keeping each row's type family.

    A polygonal row stays polygonal (lines and points that ``make_valid`` leaves are
    dropped), a MultiPolygon stays a MultiPolygon; points and lines are returned as they are.
    """
    geoms = frame.geometry.to_numpy()
    present = ~shapely.is_missing(geoms)
    bad = np.zeros(len(geoms), dtype=bool)
    bad[present] = ~shapely.is_valid(geoms[present])
    if not bad.any():
        return frame
    fixed = geoms.copy()
    for i in np.flatnonzero(bad).tolist():
        kind = shapely.get_type_id(geoms[i])
        if kind not in (_POLYGON, _MULTIPOLYGON):
            fixed[i] = shapely.make_valid(geoms[i])
            continue
        parts = polygonal_parts(shapely.make_valid(geoms[i]))
        if kind == _POLYGON and len(parts) == 1:
            fixed[i] = parts[0]
        else:
            fixed[i] = shapely.MultiPolygon(parts.tolist())
    out = frame.copy()
    return out.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs))


POINT_LAYERS = {"buildings": "building_points", "uncovered_buildings": "uncovered_building_points"}
"""Where the Point rows of a layer of footprints go (one geometry type per layer)."""

_FAMILIES = {0: "points", 4: "points", 1: "lines", 5: "lines", 3: "", 6: ""}


def point_layer_name(layer: str) -> str:
    """Return the name of the layer holding the Point rows of ``layer``."""
    return POINT_LAYERS.get(layer, f"{layer}_points")


def split_by_geometry_type(layer: str, frame: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Return ``frame`` as layers of one geometry family each (nothing dropped).

    GDAL, QGIS and Shapefile need one geometry type per layer. Polygons (and rows without a
    geometry) keep the name ``layer``; points go to :func:`point_layer_name` (``buildings``
    → ``building_points``), lines to ``<layer>_lines``. A layer of one family is returned
    as it is, under its name.
    """
    geoms = frame.geometry.to_numpy()
    kinds = np.full(len(geoms), -1)
    present = ~shapely.is_missing(geoms)
    kinds[present] = shapely.get_type_id(geoms[present])
    family = np.asarray([_FAMILIES.get(int(k), "") for k in kinds], dtype=object)
    found = set(family[present].tolist())
    if len(found) <= 1:
        return {layer: frame}
    main = "" if "" in found else min(found)
    out: dict[str, gpd.GeoDataFrame] = {}
    for fam in sorted(found):
        sel = (family == fam) & present
        if fam == main:
            sel |= ~present
        name = {"": layer, "points": point_layer_name(layer)}.get(fam, f"{layer}_{fam}")
        out[name] = frame.loc[sel].reset_index(drop=True)
    return out
