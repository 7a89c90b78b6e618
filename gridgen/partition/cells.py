"""Polygon helpers of the planning units' cells (see :mod:`gridgen.partition.units`).

- compound polygons are made disjoint (:func:`make_disjoint`);
- overlays return their polygonal part (:func:`polygonal_cells`);
- cells that share their vertices are unioned as a coverage (:func:`coverage_union`);
- the seed spacing of an area (:func:`seed_spacing`) sets the finishing step's smoothing.

The cells themselves are unions of noded faces (:mod:`gridgen.partition.faces`,
:func:`gridgen.partition.ground.ground_faces`).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def polygonal_cells(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Return the polygonal part of each geometry (collections may hold lines/points)."""
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            out[i] = shapely.Polygon()
        elif g.geom_type in ("Polygon", "MultiPolygon"):
            out[i] = g
        else:
            parts = shapely.get_parts(g)
            polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
            out[i] = shapely.union_all(polys) if polys else shapely.Polygon()
    return out


def make_disjoint(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Return the geometries with overlaps removed (earlier ones keep the overlap)."""
    geoms = np.asarray([shapely.Polygon() if g is None else g for g in geoms], dtype=object)
    if len(geoms) < 2:
        return geoms
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="overlaps")
    pairs = a < b
    if not pairs.any():
        return geoms
    out = geoms.copy()
    for j in np.unique(b[pairs]):
        earlier = a[pairs][b[pairs] == j]
        out[j] = shapely.difference(out[j], shapely.union_all(out[earlier]))
    return polygonal_cells(out)


def seed_spacing(region: BaseGeometry) -> float:
    """Return the spacing (m) of seed points along compound edges for ``region``."""
    return float(np.clip(np.sqrt(shapely.area(region)) / 35.0, 5.0, 40.0))


def coverage_union(parts: NDArray[np.object_]) -> BaseGeometry:
    """Return the union of polygons that should be edge-matched (a fast coverage union).

    For the cells of one Voronoi diagram, which share their vertices. GEOS's coverage union
    trusts its input: where polygons do not match exactly it can drop area or leave touching
    parts apart. The result is kept only when it is valid, polygonal and keeps the parts'
    total area (to 1e-9); otherwise the robust union is used.
    """
    if len(parts) == 1:
        one: BaseGeometry = parts[0]
        return one
    total = float(shapely.area(parts).sum())
    try:
        out = shapely.coverage_union_all(parts)
        if (
            out.geom_type in ("Polygon", "MultiPolygon")
            and abs(float(out.area) - total) <= 1e-9 * total + 1e-6
            and out.is_valid
        ):
            return out
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(parts)
