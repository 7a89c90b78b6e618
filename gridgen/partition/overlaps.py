"""Buildings whose footprints overlap share one planning unit.

Footprint layers often hold a building drawn inside another (a gatehouse inside a podium
outline, an OSM ``building:part`` kept as a building) or two outlines of one building
drawn twice. Two overlapping footprints can never lie in two different grids, since grids
do not overlap; so such buildings of one compound (or scattered ones) are one unit: the
largest footprint of each overlapping group is its *host* (the seed of its cell), the others
are held by it. Buildings of two compounds that overlap keep their compounds' units.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

IntArray = NDArray[np.int64]

MIN_OVERLAP_M2 = 0.01
"""Footprints sharing more than this area (m²) overlap; touching walls share none."""


def overlap_hosts(footprints: NDArray[np.object_], compounds: NDArray[np.object_]) -> IntArray:
    """Return, per building, the building hosting its unit (itself when it overlaps none).

    Parameters
    ----------
    footprints
        Building footprints (polygons, or points that overlap nothing) in a metric CRS.
    compounds
        Each building's compound id ('' for a scattered building): only buildings of one
        compound (or two scattered ones) are grouped, so a compound's households stay its
        own (whether it is split by building depends on them).

    Returns
    -------
    IntArray
        For each building, the index of the largest footprint of its group of overlapping
        footprints (groups are the connected components of "overlaps by more than
        :data:`MIN_OVERLAP_M2`"); ties go to the lower index.
    """
    n = len(footprints)
    own = np.arange(n, dtype=np.int64)
    if n < 2:
        return own
    i, j = shapely.STRtree(footprints).query(footprints, predicate="intersects")
    pair = (i < j) & (compounds[i] == compounds[j])
    i, j = i[pair], j[pair]
    shared = shapely.area(shapely.intersection(footprints[i], footprints[j]))
    close = shared > MIN_OVERLAP_M2
    if not close.any():
        return own
    graph = coo_matrix((np.ones(int(close.sum())), (i[close], j[close])), shape=(n, n))
    k, group = connected_components(graph, directed=False)
    order = np.lexsort((own, -shapely.area(footprints)))  # largest first, then lowest index
    _, first = np.unique(group[order], return_index=True)
    host_of_group = np.empty(k, dtype=np.int64)
    host_of_group[group[order][first]] = order[first]
    hosts: IntArray = host_of_group[group]
    return hosts
