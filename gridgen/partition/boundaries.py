"""Where grid boundaries run: the share of interior boundary that lies on the ground.

A grid boundary a resident can see runs along a road or a compound wall (地理布局).
:func:`boundary_on_ground` measures, over the *interior* boundaries of a plan (grid
boundaries inside communities: community outlines are not counted), the share of length
within :data:`GROUND_DISTANCE` metres of a road or a compound edge, of a road alone and of
a main road alone (docs/rules.md, "Boundaries on the ground").

Each grid's boundary is measured (an interior boundary counts from both its sides, which
makes the share independent of how exactly neighbouring grids' edges match); the lines
are cut into pieces of at most :data:`PIECE_METRES` and a piece counts when its
midpoint is near enough (a spatial-index query, no buffer unions: a city of 273k
households is measured in well under a second).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset

GROUND_DISTANCE = 15.0
"""Metres from a road or compound edge within which a boundary counts as on the ground."""
PIECE_METRES = 5.0
"""Longest piece of boundary judged by its midpoint."""


@dataclass(frozen=True)
class GroundShare:
    """Interior grid boundary length and the shares of it on the ground.

    Attributes
    ----------
    length_m
        Interior boundary length (metres).
    ground, road, main_road
        Shares of that length within :data:`GROUND_DISTANCE` of a road or a compound edge,
        of a road (any kind), of a main road.
    """

    length_m: float
    ground: float
    road: float
    main_road: float


def interior_boundary(
    grids: NDArray[np.object_], outlines: NDArray[np.object_]
) -> NDArray[np.object_]:
    """Return each grid's boundary (metric) off the community outlines, as line parts.

    Every interior boundary appears twice (once per grid beside it), so shares computed on
    it do not depend on whether two neighbours' edges are vertex-for-vertex the same.
    """
    if len(grids) == 0:
        return np.zeros(0, dtype=object)
    rims = shapely.buffer(shapely.union_all(shapely.boundary(outlines)), 0.5, quad_segs=1)
    own = shapely.difference(shapely.boundary(grids), rims)
    parts = shapely.get_parts(shapely.get_parts(own))
    return np.asarray(parts[np.isin(shapely.get_type_id(parts), (1, 2))], dtype=object)


def _near(
    mids: NDArray[np.object_], lines: NDArray[np.object_], within: float
) -> NDArray[np.bool_]:
    out = np.zeros(len(mids), dtype=bool)
    if len(lines) == 0 or len(mids) == 0:
        return out
    hit, _ = shapely.STRtree(lines).query(mids, predicate="dwithin", distance=within)
    out[np.unique(hit)] = True
    return out


def boundary_on_ground(
    dataset: Dataset, grids: gpd.GeoDataFrame, *, within: float = GROUND_DISTANCE
) -> GroundShare:
    """Return the interior boundary of ``grids`` (any CRS) and the shares on the ground.

    Parameters
    ----------
    dataset
        The dataset the grids were drawn on (its roads, compounds and communities).
    grids
        Grid polygons with ``community_id``.
    within
        Metres from a road or compound edge that count as on the ground.
    """
    metric = grids.to_crs(dataset.metric_crs)
    comms = dataset.metric("communities")
    inner = interior_boundary(metric.geometry.to_numpy(), comms.geometry.to_numpy())
    length = float(shapely.length(inner).sum()) / 2.0  # counted from both sides
    if length <= 0:
        return GroundShare(0.0, 1.0, 1.0, 1.0)
    parts = shapely.get_parts(shapely.segmentize(inner, PIECE_METRES))
    xy, owner = shapely.get_coordinates(parts, return_index=True)
    seg_a, seg_b = xy[:-1], xy[1:]
    same = owner[:-1] == owner[1:]
    seg_a, seg_b = seg_a[same], seg_b[same]
    seg_len = np.hypot(*(seg_b - seg_a).T)
    mids = shapely.points((seg_a + seg_b) / 2.0)
    roads = dataset.metric("roads")
    road_lines = roads.geometry.to_numpy()
    kind = roads["kind"].astype(str).to_numpy() if "kind" in roads.columns else np.array([])
    main_lines = road_lines[kind == "main"] if len(kind) else road_lines[:0]
    walls = shapely.boundary(dataset.metric("compounds").geometry.to_numpy())
    on_road = _near(mids, road_lines, within)
    on_main = _near(mids, main_lines, within)
    on_wall = _near(mids, np.asarray(walls, dtype=object), within)
    total = float(seg_len.sum()) or 1.0
    return GroundShare(
        length_m=length,
        ground=float(seg_len[on_road | on_wall].sum()) / total,
        road=float(seg_len[on_road].sum()) / total,
        main_road=float(seg_len[on_main].sum()) / total,
    )
