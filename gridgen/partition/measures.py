"""Per-grid quality measures (docs/rules.md): compactness, main-road, river and railway
crossings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.partition.geometry_memo import remembered
from gridgen.partition.linework import barrier_lines, main_road_lines

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
    if len(geoms) == 0:
        return np.zeros(0, dtype=np.int64)
    return remembered(  # the same grids are measured by the plan and by its audit
        dataset,
        "main road crossings",
        geoms,
        lambda: _crossings(geoms, main_road_lines(dataset, _envelope(geoms))),
    )


def grid_barrier_crossings(dataset: Dataset, geoms: np.ndarray) -> np.ndarray:
    """Return per grid the number of rivers and railways (the ``barriers`` layer) crossing its
    interior, counted as :func:`grid_main_road_crossings` counts main roads."""
    if len(geoms) == 0:
        return np.zeros(0, dtype=np.int64)
    return _crossings(geoms, barrier_lines(dataset, _envelope(geoms)))


def _envelope(geoms: np.ndarray) -> BaseGeometry:
    return shapely.union_all(shapely.envelope(geoms))


def _crossings(geoms: np.ndarray, found: BaseGeometry) -> np.ndarray:
    """Return per grid the number of lines of ``found`` in its eroded interior."""
    out = np.zeros(len(geoms), dtype=np.int64)
    if shapely.is_empty(found):
        return out
    lines = np.asarray(shapely.get_parts(shapely.line_merge(found)), dtype=object)
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


def grid_barrier_straddles(dataset: Dataset, assignment: pd.DataFrame) -> pd.DataFrame:
    """Return the grids whose buildings lie on both sides of a river or railway.

    The sides are the faces the rivers and railways (lines of the ``barriers`` layer of
    kind ``river`` or ``railway``; a water area by either bank) cut the communities into:
    two buildings are on one side when one can walk from one to the other inside their
    community without crossing such a line. A line that divides nothing (a terminal track
    ending inside the district, a stream's source) makes no second side, so a grid wrapping
    around its end is not returned.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``grid_id`` (straddling grids only): ``parts``, how many sides its
        buildings lie on (within one piece of its community); ``households_across``, the
        households outside its largest side (what boundaries on those lines would move).
    """
    out = pd.DataFrame({"parts": [], "households_across": []}, dtype="int64")
    out.index.name = "grid_id"
    sides = dataset.derived("measures.barrier_sides", _building_sides)
    if sides is None or assignment.empty:
        return out
    bld = dataset.metric("buildings")
    grid_of = assignment.set_index(assignment["building_id"].astype(str))["grid_id"].astype(str)
    rows = pd.DataFrame(
        {
            "grid": grid_of.reindex(bld["building_id"].astype(str).to_numpy()).to_numpy(),
            "piece": sides[0],
            "side": sides[1],
            "households": bld["households"].to_numpy(),
        }
    ).dropna(subset=["grid"])
    # sides are counted within each piece of a community: a grid holding buildings in two
    # pieces of a community in pieces does not straddle a river for that
    per_side = rows.groupby(["grid", "piece", "side"], as_index=False)["households"].sum()
    in_piece = per_side.groupby(["grid", "piece"])["households"]
    per_side["sides"] = in_piece.transform("size")
    per_side["most"] = in_piece.transform("max")
    split = per_side[per_side["sides"] > 1]
    if split.empty:
        return out
    pieces = split.groupby(["grid", "piece"]).agg(
        sides=("sides", "first"), total=("households", "sum"), most=("most", "first")
    )
    out = pd.DataFrame(
        {
            "parts": (pieces["sides"] - 1).groupby(level="grid").sum() + 1,
            "households_across": (pieces["total"] - pieces["most"]).groupby(level="grid").sum(),
        }
    )
    out.index.name = "grid_id"
    return out.astype("int64")


def _building_sides(dataset: Dataset) -> tuple[np.ndarray, np.ndarray] | None:
    """Return per building (metric layer order) the piece of its community and the face the
    rivers and railways cut it into, or None without such lines (computed once per
    dataset: the audits before and after a rebalance share it)."""
    comms = dataset.metric("communities").geometry.to_numpy()
    found = barrier_lines(dataset, _envelope(comms)) if len(comms) else None
    if found is None or shapely.is_empty(found):
        return None
    pts = shapely.point_on_surface(dataset.metric("buildings").geometry.to_numpy())
    return _side_of(pts, comms, shapely.GeometryCollection()), _side_of(pts, comms, found)


def _side_of(points: np.ndarray, comms: np.ndarray, found: BaseGeometry) -> np.ndarray:
    """Return per point the face of the communities cut by ``found`` it lies in.

    The communities' boundaries and the lines are noded together (one union) and
    polygonized; a line's dangling end makes no face. A point in no face (outside every
    community) gets a side of its own.
    """
    edges = shapely.union_all([*shapely.boundary(comms), found])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    side = -1 - np.arange(len(points))
    pi, fi = shapely.STRtree(faces).query(points, predicate="intersects")
    first = np.unique(pi, return_index=True)[1]
    side[pi[first]] = fi[first]
    return side
