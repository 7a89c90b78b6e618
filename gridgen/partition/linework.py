"""The linework of the ground that grids follow: roads by kind, rivers, railways and walls.

Grids are drawn along roads, rivers, railways and compound walls (地理布局). Roads come
from the ``roads`` layer (``main``, ``minor``, ``path``); rivers, railways and free-standing
walls from the optional ``barriers`` layer (a river drawn as a water area counts by its
outline: both banks cut, the water between them is land of its own). Every line here cuts
the community into enclosures (:func:`gridgen.partition.ground.enclosures`); rivers and
railways are then the cheapest place for a grid boundary, as main roads are, and a wall
line counts as a compound wall does (:func:`gridgen.partition.ground.segment_kinds`).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.schema import ROAD_KINDS

Geoms = NDArray[np.object_]

LINE_KINDS: tuple[str, ...] = (*ROAD_KINDS, "barrier", "wall")
"""Keys of :func:`ground_lines`: the road kinds, rivers and railways, wall lines."""
BARRIER_LINE_KIND: dict[str, str] = {"river": "barrier", "railway": "barrier", "wall": "wall"}
"""The line kind of each ``barriers`` kind."""


def ground_lines(dataset: Dataset, area: BaseGeometry) -> dict[str, Geoms]:
    """Return the lines that intersect ``area`` by :data:`LINE_KINDS` (metric CRS, not
    clipped); polygons of the ``barriers`` layer give their outlines."""
    out = {k: np.zeros(0, dtype=object) for k in LINE_KINDS}
    roads = dataset.metric("roads")
    if len(roads):
        idx = np.sort(roads.sindex.query(area, predicate="intersects"))
        lines = roads.geometry.to_numpy()[idx]
        kinds = (
            roads["kind"].astype(str).to_numpy()[idx]
            if "kind" in roads.columns
            else np.full(len(idx), "minor", dtype=object)
        )
        for k in ROAD_KINDS:
            out[k] = np.asarray(lines[kinds == k], dtype=object)
    barriers = dataset.metric("barriers")
    if len(barriers):
        idx = np.sort(barriers.sindex.query(area, predicate="intersects"))
        geoms = barriers.geometry.to_numpy()[idx]
        polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
        geoms = np.where(polygonal, shapely.boundary(geoms), geoms)
        kinds = barriers["kind"].astype(str).to_numpy()[idx]
        line_kind = np.asarray([BARRIER_LINE_KIND.get(k, "wall") for k in kinds], dtype=object)
        for k in ("barrier", "wall"):
            out[k] = np.asarray(geoms[line_kind == k], dtype=object)
    return out


def cutting_lines(lines: dict[str, Geoms]) -> Geoms:
    """Return every line of :func:`ground_lines` as one array (what cuts enclosures)."""
    return np.concatenate([lines[k] for k in LINE_KINDS])


def main_road_lines(dataset: Dataset, area: BaseGeometry) -> BaseGeometry:
    """Return the main roads (kind ``main``) inside ``area`` as one geometry (metric CRS)."""
    return _clipped(ground_lines(dataset, area)["main"], area)


def barrier_lines(dataset: Dataset, area: BaseGeometry) -> BaseGeometry:
    """Return the rivers and railways inside ``area`` as one geometry (metric CRS)."""
    return _clipped(ground_lines(dataset, area)["barrier"], area)


def _clipped(lines: Geoms, area: BaseGeometry) -> BaseGeometry:
    if len(lines) == 0:
        return shapely.GeometryCollection()
    return shapely.intersection(shapely.union_all(lines), area)
