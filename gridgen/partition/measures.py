"""Per-grid quality measures (docs/rules.md): compactness and main-road crossings."""

from __future__ import annotations

import numpy as np
import shapely

from gridgen.dataset import Dataset
from gridgen.partition.units import main_road_lines

CROSSING_EROSION = 15.0
"""Metres removed from a grid's edge before looking for main roads in its interior."""
CROSSING_MIN_LENGTH = 30.0
"""Metres of main road inside the eroded grid that count as a crossing."""


def polsby_popper(geoms: np.ndarray) -> np.ndarray:
    """Return 4πA/P² per polygon (metric CRS); 0 for empty geometries."""
    area = shapely.area(geoms)
    perim = shapely.length(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.where(perim > 0, 4.0 * np.pi * area / (perim * perim), 0.0)
    return np.asarray(pp, dtype=float)


def grid_main_road_crossings(dataset: Dataset, geoms: np.ndarray) -> np.ndarray:
    """Return per grid the number of main roads crossing its interior.

    A main road crosses a grid when more than :data:`CROSSING_MIN_LENGTH` metres of it lie
    inside the grid shrunk by :data:`CROSSING_EROSION` metres (roads along the edge, where
    grids should meet, do not count).
    """
    out = np.zeros(len(geoms), dtype=np.int64)
    if len(geoms) == 0:
        return out
    roads = main_road_lines(dataset, shapely.union_all(shapely.envelope(geoms)))
    if shapely.is_empty(roads):
        return out
    lines = np.asarray(shapely.get_parts(shapely.line_merge(roads)), dtype=object)
    if len(lines) == 0:
        return out
    inner = shapely.buffer(geoms, -CROSSING_EROSION)
    tree = shapely.STRtree(lines)
    gi, li = tree.query(inner, predicate="intersects")
    if len(gi) == 0:
        return out
    inside = shapely.length(shapely.intersection(np.asarray(lines)[li], inner[gi]))
    hit = inside > CROSSING_MIN_LENGTH
    np.add.at(out, gi[hit], 1)
    return out
