"""Grids valid in EPSG:4326 and in every output CRS (a part of the finishing step).

A grid valid in metres can become self-intersecting in another CRS where two of its edges
(or an edge and a vertex) are closer than the conversion's distortion between them: a
corridor or a near-touch a millimetre wide. :func:`opened_until_valid` checks every grid in
EPSG:4326, the metric CRS, EPSG:3857, CGCS2000 (EPSG:4490), GCJ-02 and BD-09, opens the
ones that fail in metres (erode then dilate, kept inside their old shape) and, as a last
resort, snap-rounds them in degrees (:func:`valid_everywhere`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from gridgen.errors import TilingError
from gridgen.io.crs import WGS84, wgs84_to_bd09, wgs84_to_gcj02
from gridgen.io.polygons import polygonal

Geoms = NDArray[np.object_]

SNAP_METRES = 0.001
"""Snap-rounding grid of the metric grids (1 mm)."""
SNAP_DEGREES = 1e-8
"""Snap-rounding grid in EPSG:4326 for a grid invalid in some output CRS (~1 mm)."""
OUTPUT_CRSS: tuple[str, ...] = ("metric", "EPSG:3857", "EPSG:4490", "gcj02", "bd09")
"""Where every finished grid must be valid (besides EPSG:4326)."""


Transform = Callable[[Any, Any], tuple[Any, Any]]


@functools.lru_cache(maxsize=32)
def _transformer(source: object, target: object) -> pyproj.Transformer:
    """Return a cached transformer (building one costs ~20 ms; a city needs a few)."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _output_transforms(metric_crs: object) -> list[Transform]:
    """Return functions mapping EPSG:4326 coordinates to each CRS of :data:`OUTPUT_CRSS`."""
    out: list[Transform] = []
    for name in OUTPUT_CRSS:
        if name == "gcj02":
            out.append(wgs84_to_gcj02)
        elif name == "bd09":
            out.append(wgs84_to_bd09)
        else:
            target = metric_crs if name == "metric" else name
            out.append(_transformer(WGS84, target).transform)
    return out


def invalid_somewhere(wgs: Geoms, metric_crs: object) -> NDArray[np.bool_]:
    """Return per grid (EPSG:4326) whether it is invalid there or in an output CRS."""
    bad = ~shapely.is_valid(wgs)
    for func in _output_transforms(metric_crs):

        def apply(xy: NDArray[np.float64], f: Transform = func) -> NDArray[np.float64]:
            x, y = f(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        bad |= ~shapely.is_valid(shapely.transform(wgs, apply))
    return np.asarray(bad, dtype=bool)


def valid_everywhere(wgs: Geoms, metric_crs: object, *, what: str = "grids") -> Geoms:
    """Return grids (EPSG:4326) valid there and in every CRS of :data:`OUTPUT_CRSS`.

    Grids invalid somewhere are snap-rounded in EPSG:4326 (1e-8°, then coarser) until they
    are valid everywhere; :class:`TilingError` when three rounds do not suffice. (The
    finishing step repairs in metres first: :func:`opened_until_valid`.)
    """
    wgs = np.asarray(wgs, dtype=object).copy()
    for attempt in range(3):
        bad = invalid_somewhere(wgs, metric_crs)
        if not bad.any():
            return wgs
        size = SNAP_DEGREES * 10**attempt
        wgs[bad] = [polygonal(shapely.set_precision(shapely.make_valid(g), size)) for g in wgs[bad]]
    bad = invalid_somewhere(wgs, metric_crs)
    if bad.any():
        msg = f"{what}: {int(bad.sum())} grid(s) stay invalid in some output CRS"
        raise TilingError(msg)
    return wgs


OPENING_METRES: tuple[float, ...] = (0.01, 0.05, 0.25)
"""Radii of the openings that remove corridors too thin to survive a reprojection."""


def opened_until_valid(metric: Geoms, metric_crs: object) -> tuple[Geoms, Geoms]:
    """Return (metric, EPSG:4326) grids valid in EPSG:4326 and every output CRS.

    A grid that some conversion makes self-intersecting has a corridor or a near-touch
    narrower than the conversion's distortion between two nearby edges (millimetres): it
    is opened (eroded then dilated, mitred corners) by :data:`OPENING_METRES` in turn, kept
    inside its old shape (so no overlap appears; the corridor's land, a few m² at most, is
    left out), snapped to 1 mm and checked again. The last resort is
    :func:`valid_everywhere`'s snapping in degrees.
    """
    metric = np.asarray(metric, dtype=object).copy()
    wgs = to_wgs84(metric, metric_crs)
    for radius in OPENING_METRES:
        bad = np.flatnonzero(invalid_somewhere(wgs, metric_crs))
        if len(bad) == 0:
            return metric, wgs
        inner = shapely.buffer(metric[bad], -radius, join_style="mitre", mitre_limit=10.0)
        opened = shapely.buffer(inner, radius, join_style="mitre", mitre_limit=10.0)
        kept = shapely.set_precision(shapely.intersection(opened, metric[bad]), SNAP_METRES)
        metric[bad] = [polygonal(g) for g in kept]
        wgs[bad] = to_wgs84(metric[bad], metric_crs)
    return metric, valid_everywhere(wgs, metric_crs)


def to_wgs84(geoms: Geoms, metric_crs: object) -> Geoms:
    """Return metric geometries in EPSG:4326."""
    tr = _transformer(metric_crs, WGS84)

    def apply(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, apply), dtype=object)
