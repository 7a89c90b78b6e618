"""The walking network: a weighted graph from the roads layer, and points snapped onto it.

Roads are taken in the metric CRS. Walkable lines are noded (split wherever two lines
meet, at shared end points and at crossings, with :func:`shapely.node`), every noded
piece becomes an undirected edge weighted by its length, and the graph is a symmetric
:class:`scipy.sparse.csr_array` for :mod:`scipy.sparse.csgraph`.

Points (buildings' representative points, stations, candidate sites) are snapped to the
nearest edge (vectorised :meth:`shapely.STRtree.query_nearest`) and projected onto it.
:func:`graph_with_points` then splits every touched edge at the projections and hangs
each point on a stub edge as long as its snapping distance, so a shortest path between
two points is exact: along the road from projection to projection (also when both lie
on the same edge), plus both snapping distances. A point's stub is a dead end, so points
never create shortcuts.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray

from gridgen.errors import InputError

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

NODE_DECIMALS = 3
"""End points closer than a millimetre are one node (coordinates rounded to 1 mm)."""

JOIN_TOLERANCE_M = 0.5
"""A road end this close to another road is joined to it (T-junctions that miss by a hair,
as they do after any reprojection or a CAD export)."""


@dataclass(frozen=True)
class WalkNetwork:
    """An undirected walking graph.

    Attributes
    ----------
    edges
        Noded edge geometries (metric CRS), one per edge.
    u, v
        End node of each edge (``u`` at the line's start, ``v`` at its end).
    length
        Edge length in metres.
    node_xy
        Node coordinates, shape ``(n_nodes, 2)``.
    crs
        The metric CRS of the geometries.
    """

    edges: NDArray[np.object_]
    u: IntArray
    v: IntArray
    length: FloatArray
    node_xy: FloatArray
    crs: object

    @property
    def n_nodes(self) -> int:
        """Return the number of nodes."""
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        """Return the number of edges."""
        return int(self.length.shape[0])

    def tree(self) -> shapely.STRtree:
        """Return an STRtree over the edges (built on demand)."""
        return shapely.STRtree(self.edges)

    def graph(self) -> sp.csr_array:
        """Return the symmetric CSR adjacency matrix (parallel edges keep the shortest)."""
        return _symmetric_csr(self.u, self.v, self.length, self.n_nodes)


@dataclass(frozen=True)
class Snap:
    """Points snapped to a :class:`WalkNetwork`.

    Attributes
    ----------
    edge
        Index of the nearest edge per point.
    offset
        Distance along that edge from its ``u`` end to the projection, metres.
    snap_m
        Straight distance from the point to its projection, metres.
    """

    edge: IntArray
    offset: FloatArray
    snap_m: FloatArray


def walkable_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the walkable roads (``walkable`` true or missing), exploded to LineStrings."""
    if "walkable" in roads.columns:
        flag = roads["walkable"]
        keep = flag.isna() | flag.astype("boolean").fillna(True).astype(bool)
        roads = roads.loc[keep.to_numpy(dtype=bool)]
    roads = roads[~(roads.geometry.isna() | roads.geometry.is_empty)]
    return roads.explode(index_parts=False, ignore_index=True)


def walk_network(roads: gpd.GeoDataFrame) -> WalkNetwork:
    """Return the walking network of a roads layer.

    Parameters
    ----------
    roads
        Roads in a metric (projected) CRS with LineString/MultiLineString geometries and an
        optional ``walkable`` column (missing means walkable).

    Returns
    -------
    WalkNetwork
        Lines noded at every shared point and crossing; one edge per noded piece.

    Raises
    ------
    InputError
        When the CRS is not projected or no walkable road is left.
    """
    if roads.crs is None or not roads.crs.is_projected:
        msg = (
            "the roads must be in a metric (projected) CRS to build the walking network: "
            "use Dataset.metric('roads')"
        )
        raise InputError(msg)
    lines = walkable_roads(roads)
    if lines.empty:
        msg = (
            "no walkable road in the roads layer: add roads (kind, walkable) or use "
            "straight-line distance (mode='line', --mode line)"
        )
        raise InputError(msg)
    geoms = join_near_misses(shapely.force_2d(lines.geometry.to_numpy()), JOIN_TOLERANCE_M)
    # shapely.node splits every line where it meets another (GEOS noding); it is one
    # C call over the whole layer, faster than pairwise intersection in Python.
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(geoms)))
    noded = noded[shapely.length(noded) > 0]
    coords_start = shapely.get_coordinates(shapely.get_point(noded, 0))
    coords_end = shapely.get_coordinates(shapely.get_point(noded, -1))
    ends = np.round(np.vstack([coords_start, coords_end]), NODE_DECIMALS)
    node_xy, inverse = np.unique(ends, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = len(noded)
    return WalkNetwork(
        edges=noded,
        u=inverse[:n].astype(np.int64),
        v=inverse[n:].astype(np.int64),
        length=shapely.length(noded).astype(np.float64),
        node_xy=np.asarray(node_xy, dtype=np.float64),
        crs=roads.crs,
    )


def join_near_misses(geoms: NDArray[np.object_], tolerance: float) -> NDArray[np.object_]:
    """Return the lines with every road end that nearly touches another line joined to it.

    A road ending a few centimetres short of (or past) another one is a T-junction in
    reality but a dead end for :func:`shapely.node`, which only splits lines that meet
    exactly. For each end within ``tolerance`` of another line, that line gets the end
    point inserted as a vertex (:func:`shapely.snap` of the line to those end points, one
    vectorised call over the lines concerned), so noding then splits it there. Where two
    ends nearly meet, only the line with the larger index moves, so they cannot swap.
    """
    n = len(geoms)
    if n < 2 or tolerance <= 0:
        return geoms
    ends = np.concatenate([shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)])
    owner = np.concatenate([np.arange(n), np.arange(n)])
    end_idx, line_idx = shapely.STRtree(geoms).query(ends, predicate="dwithin", distance=tolerance)
    keep = owner[end_idx] != line_idx
    end_idx, line_idx = end_idx[keep], line_idx[keep]
    if len(end_idx) == 0:
        return geoms
    # ends already on a vertex of the line need nothing; ends near the line's own ends move
    # only the higher-index line (see above)
    line_ends = np.concatenate(
        [
            shapely.get_point(geoms[line_idx], 0)[:, None],
            shapely.get_point(geoms[line_idx], -1)[:, None],
        ],
        axis=1,
    )
    near_end = (shapely.distance(line_ends, ends[end_idx][:, None]) <= tolerance).any(axis=1)
    keep = ~near_end | (owner[end_idx] < line_idx)
    end_idx, line_idx = end_idx[keep], line_idx[keep]
    if len(end_idx) == 0:
        return geoms
    order = np.argsort(line_idx, kind="stable")
    end_idx, line_idx = end_idx[order], line_idx[order]
    targets, group = np.unique(line_idx, return_inverse=True)
    points = shapely.multipoints(shapely.get_coordinates(ends[end_idx]), indices=group)
    out = geoms.copy()
    out[targets] = shapely.snap(geoms[targets], points, tolerance)
    return out


def snap_points(
    network: WalkNetwork, points: NDArray[np.object_], *, tree: shapely.STRtree | None = None
) -> Snap:
    """Return the nearest edge, the offset along it and the snapping distance of each point.

    Parameters
    ----------
    network
        The walking network.
    points
        Point geometries in the network's CRS (use representative points for polygons).
    tree
        An STRtree over ``network.edges`` to reuse (built when omitted).
    """
    n = len(points)
    if n == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return Snap(empty_i, empty_f, empty_f)
    tree = tree if tree is not None else network.tree()
    (pt_idx, edge_idx), dist = tree.query_nearest(points, return_distance=True, all_matches=False)
    # query_nearest returns one row per point (ties: the first), ordered by point index.
    order = np.argsort(pt_idx, kind="stable")
    edge = np.asarray(edge_idx[order], dtype=np.int64)
    snap_m = np.asarray(dist[order], dtype=np.float64)
    if len(edge) != n:
        msg = "some points could not be snapped to the road network (empty geometry?)"
        raise InputError(msg)
    offset = shapely.line_locate_point(network.edges[edge], points).astype(np.float64)
    offset = np.clip(offset, 0.0, network.length[edge])
    return Snap(edge=edge, offset=offset, snap_m=snap_m)


def graph_with_points(network: WalkNetwork, snap: Snap) -> tuple[sp.csr_array, IntArray]:
    """Return the graph with snapped points added as nodes, and each point's node.

    Every edge carrying projections is split at them: ``u - p1 - p2 - ... - v`` in order
    along the edge (the original edge is kept; it is never shorter than the chain). Point
    ``k`` gets its own node hanging on a stub of length ``snap.snap_m[k]`` from its
    projection node, so path lengths include both snapping distances.

    Returns
    -------
    graph
        Symmetric CSR matrix over ``n_nodes + 2 * n_points`` nodes.
    point_node
        The node of each point (``n_nodes + n_points + k``).
    """
    base = network.n_nodes
    m = len(snap.edge)
    proj_node = base + np.arange(m, dtype=np.int64)
    point_node = base + m + np.arange(m, dtype=np.int64)
    if m == 0:
        return network.graph(), point_node
    order = np.lexsort((snap.offset, snap.edge))
    e_sorted = snap.edge[order]
    off_sorted = snap.offset[order]
    node_sorted = proj_node[order]
    first = np.ones(m, dtype=bool)
    first[1:] = e_sorted[1:] != e_sorted[:-1]
    last = np.ones(m, dtype=bool)
    last[:-1] = e_sorted[1:] != e_sorted[:-1]
    # u -> first projection on each edge
    a1 = network.u[e_sorted[first]]
    b1 = node_sorted[first]
    w1 = off_sorted[first]
    # consecutive projections on the same edge
    same = ~first
    a2 = node_sorted[np.flatnonzero(same) - 1]
    b2 = node_sorted[same]
    w2 = off_sorted[same] - off_sorted[np.flatnonzero(same) - 1]
    # last projection -> v
    a3 = node_sorted[last]
    b3 = network.v[e_sorted[last]]
    w3 = network.length[e_sorted[last]] - off_sorted[last]
    # stubs
    a4 = proj_node
    b4 = point_node
    w4 = snap.snap_m
    u = np.concatenate([network.u, a1, a2, a3, a4])
    v = np.concatenate([network.v, b1, b2, b3, b4])
    w = np.concatenate([network.length, w1, w2, w3, w4])
    return _symmetric_csr(u, v, np.maximum(w, 0.0), base + 2 * m), point_node


def _symmetric_csr(u: IntArray, v: IntArray, w: FloatArray, n: int) -> sp.csr_array:
    """Return the symmetric CSR matrix of undirected edges, keeping the shortest duplicate.

    Explicit zero weights are kept as edges (csgraph treats stored zeros as edges).
    """
    keep = u != v
    rows = np.concatenate([u[keep], v[keep]])
    cols = np.concatenate([v[keep], u[keep]])
    data = np.concatenate([w[keep], w[keep]])
    frame = pd.DataFrame({"r": rows, "c": cols, "w": data})
    best = frame.groupby(["r", "c"], sort=True)["w"].min()
    r = best.index.get_level_values(0).to_numpy(dtype=np.int64)
    c = best.index.get_level_values(1).to_numpy(dtype=np.int64)
    return sp.csr_array((best.to_numpy(dtype=np.float64), (r, c)), shape=(n, n))
