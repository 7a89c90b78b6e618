"""What the browser editor needs of the units' shapes to draw grids live, in EPSG:4326.

The editor keeps a grid as a set of units and redraws it on every paint without a request:

- :func:`unit_label_points`: per unit the centre of its largest inscribed circle (the pole
  of inaccessibility of its cell) and that circle's radius in metres. A grid's label goes
  to the point of one of its units that lies farthest from the grid's boundary, so it is
  always inside the grid;
- :func:`edge_lines`: per edge of the unit graph the boundary the two cells share; the
  page draws those whose units lie in different grids, which is the grids' outline;
- :func:`outline_lines`: the boundary of the area the units tile (the community).

Coordinates are rounded to 1e-6° (about 0.1 m), lines simplified to 0.5 m.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gridgen.io.crs import WGS84
from gridgen.partition.units import UnitGraph

SIMPLIFY_M = 0.5
"""Tolerance (metres) of the lines sent to the page."""
LABEL_TOLERANCE_M = 0.5
"""Precision (metres) of the inscribed circles."""

Coords = list[list[float]]


def _to_wgs84(units: UnitGraph, geoms: np.ndarray) -> np.ndarray:
    to = pyproj.Transformer.from_crs(units.crs, WGS84, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))


def _round(xy: np.ndarray) -> Coords:
    out: Coords = np.round(xy, 6).tolist()
    return out


def unit_label_points(units: UnitGraph) -> list[list[float]]:
    """Return ``[lon, lat, radius_m]`` per unit: the centre of its largest inscribed circle."""
    if units.n == 0:
        return []
    circles = shapely.maximum_inscribed_circle(units.cells, LABEL_TOLERANCE_M)
    centres = shapely.get_point(circles, 0)
    radius = np.asarray(shapely.length(circles), dtype=float)
    # a cell too thin for a circle: its representative point, radius 0
    bad = shapely.is_empty(centres) | ~shapely.intersects(units.cells, centres)
    if bad.any():
        centres[bad] = shapely.point_on_surface(units.cells[bad])
        radius[bad] = 0.0
    xy = shapely.get_coordinates(_to_wgs84(units, centres))
    return [
        [round(x, 7), round(y, 7), round(float(r), 1)] for (x, y), r in zip(xy, radius, strict=True)
    ]


def _lines(geom: BaseGeometry) -> list[Coords]:
    """Return the coordinate lists of the lines of ``geom`` (points and areas dropped)."""
    parts = shapely.get_parts(shapely.get_parts(geom))  # collections may hold multi-lines
    lines = [p for p in parts if shapely.get_type_id(p) in (1, 2) and shapely.length(p) > 0]
    if not lines:
        return []
    merged = shapely.line_merge(shapely.union_all(lines))
    return [_round(shapely.get_coordinates(p)) for p in shapely.get_parts(merged)]


def edge_lines(units: UnitGraph) -> list[list[Coords]]:
    """Return per edge (in the order of ``units.edges``) the lines the two cells share."""
    if len(units.edges) == 0:
        return []
    a, b = units.edges[:, 0], units.edges[:, 1]
    shared = shapely.intersection(
        shapely.boundary(units.cells[a]), shapely.boundary(units.cells[b])
    )
    shared = _to_wgs84(units, shapely.simplify(shared, SIMPLIFY_M))
    return [_lines(g) for g in shared]


def outline_lines(units: UnitGraph) -> list[Coords]:
    """Return the boundary of the area the units tile, as lines."""
    boundary = shapely.simplify(shapely.boundary(units.area), SIMPLIFY_M)
    geom = _to_wgs84(units, np.array([boundary], dtype=object))[0]
    return _lines(geom)


def unit_shapes(units: UnitGraph) -> dict[str, object]:
    """Return what the editor draws grids with: labels, edge lines and the outline."""
    return {
        "labels": unit_label_points(units),
        "edge_lines": edge_lines(units),
        "outline": outline_lines(units),
    }


__all__ = ["edge_lines", "outline_lines", "unit_label_points", "unit_shapes"]
