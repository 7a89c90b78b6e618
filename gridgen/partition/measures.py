"""Per-grid quality measures (docs/rules.md): compactness, main-road, river and railway
crossings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
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
    return _crossings(geoms, main_road_lines(dataset, _envelope(geoms)))


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

    Two buildings of a grid are on one side when the straight line between them crosses no
    line of the ``barriers`` layer of kind ``river`` or ``railway`` (a water area by either
    bank); the buildings of a grid fall into parts so joined. A grid in one part is not
    returned.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``grid_id`` (straddling grids only): ``parts``, how many parts the
        rivers and railways divide its buildings into; ``households_across``, the
        households outside its largest part (what boundaries on those lines would move).
    """
    out = pd.DataFrame({"parts": [], "households_across": []}, dtype="int64")
    out.index.name = "grid_id"
    comms = dataset.metric("communities").geometry.to_numpy()
    found = barrier_lines(dataset, _envelope(comms)) if len(comms) else None
    if found is None or shapely.is_empty(found) or assignment.empty:
        return out
    bld = dataset.metric("buildings")
    grid_of = assignment.set_index(assignment["building_id"].astype(str))["grid_id"].astype(str)
    grid = grid_of.reindex(bld["building_id"].astype(str).to_numpy()).to_numpy()
    pts = shapely.get_coordinates(shapely.point_on_surface(bld.geometry.to_numpy()))
    a, b = _same_grid_pairs(grid)
    segs = shapely.linestrings(np.stack([pts[a], pts[b]], axis=1))
    crossing, _ = shapely.STRtree(shapely.get_parts(found)).query(segs, predicate="intersects")
    keep = np.ones(len(a), dtype=bool)
    keep[crossing] = False
    n = len(grid)
    graph = coo_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(n, n))
    _, part = connected_components(graph, directed=False)
    rows = pd.DataFrame(
        {"grid": grid, "part": part, "households": bld["households"].to_numpy()}
    ).dropna(subset=["grid"])
    per_part = rows.groupby(["grid", "part"])["households"].sum()
    parts = per_part.groupby(level="grid").size()
    split = parts[parts > 1].index
    if len(split) == 0:
        return out
    hh = per_part.loc[list(split)].groupby(level="grid")
    out = pd.DataFrame({"parts": parts[split], "households_across": hh.sum() - hh.max()})
    out.index.name = "grid_id"
    return out.astype("int64")


def _same_grid_pairs(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return every pair ``i < j`` of positions with the same (non-missing) grid."""
    codes, _ = pd.factorize(pd.Series(grid, dtype=object), use_na_sentinel=True)
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    for members in np.split(order, bounds):
        if len(members) < 2 or codes[members[0]] < 0:
            continue
        i, j = np.triu_indices(len(members), k=1)
        firsts.append(members[i])
        seconds.append(members[j])
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)
