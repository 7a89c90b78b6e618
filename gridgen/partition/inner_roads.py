"""Large compounds cut by their internal roads, so their buildings' cells follow them.

A compound above the band maximum is split among its buildings (大小区单独建) by the
Voronoi diagram of its buildings (:mod:`gridgen.partition.open_land`). Where the compound
has internal roads (小区内部道路: a service road through the gate, lanes between building
rows, as OpenStreetMap maps them), a grid boundary inside it should run along them, where a
resident sees it. The Voronoi ridges between building centres do not: two slabs of
neighbouring rows set off along the row have a slanted bisector, so the cells' shared edges
cross the lane instead of following it, and their kind is open land, not path.

:func:`inner_pieces` cuts each split compound by the road lines inside it (extended by
:data:`gridgen.partition.ground.EXTEND_M` so that a lane stopping a little short of a wall
still closes; a dead-end lane closes nothing and is ignored): the pieces between its
internal roads and walls. :func:`piece_ridges` gives the Voronoi edges of the buildings of
each piece clipped to it, and :func:`piece_members` labels every face of the compound with
the nearest building *of its own piece*, so a building's cell stops at the internal roads
around it and the shared edges on them are measured as roads (their cut is cheap).
:func:`piece_gates` carries each internal road on across the compound's open land to the
road around it, so that strip is shared out piece by piece too (else the cells of two
pieces meet across it, off any road, and the unit graph joins the pieces).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.partition.faces import NODE_GRID, ridge_lines, voronoi_ridges
from gridgen.partition.ground import EXTEND_M, extended_lines

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Geoms = NDArray[np.object_]

MIN_PIECE_M2 = 50.0
"""Pieces smaller than this (a lane's end beside a wall) are not pieces of their own."""


def inner_pieces(compounds: dict[int, BaseGeometry], lines: Geoms) -> dict[int, Geoms]:
    """Return, per compound cut into two or more pieces by ``lines``, its pieces.

    Parameters
    ----------
    compounds
        Compound index → polygon (metric CRS) of the compounds split among their buildings.
    lines
        Road lines (any kind) near them.
    """
    out: dict[int, Geoms] = {}
    for c, poly, inside in _lines_inside(compounds, lines):
        noded = shapely.union_all(
            np.asarray([shapely.boundary(poly), *inside], dtype=object), grid_size=NODE_GRID
        )
        pieces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
        pieces = pieces[shapely.within(shapely.point_on_surface(pieces), poly)]
        pieces = pieces[shapely.area(pieces) >= MIN_PIECE_M2]
        if len(pieces) >= 2:
            out[c] = np.asarray(pieces, dtype=object)
    return out


def _lines_inside(
    compounds: dict[int, BaseGeometry], lines: Geoms
) -> Iterator[tuple[int, BaseGeometry, Geoms]]:
    """Yield (index, polygon, the lines inside it) per compound that ``lines`` (extended by
    :data:`EXTEND_M`) reach into, in index order."""
    parts = shapely.get_parts(np.asarray(lines, dtype=object))
    if not compounds or len(parts) == 0:
        return
    ext = extended_lines(parts, by=EXTEND_M)
    tree = shapely.STRtree(ext)
    for c in sorted(compounds):
        hit = tree.query(compounds[c], predicate="intersects")
        if len(hit):
            yield c, compounds[c], shapely.intersection(ext[np.sort(hit)], compounds[c])


def _piece_of(pieces: Geoms, pts: Geoms) -> IntArray:
    """Return per point the piece holding it, else the nearest piece."""
    tree = shapely.STRtree(pieces)
    out = np.full(len(pts), -1, dtype=np.int64)
    pi, gi = tree.query(pts, predicate="intersects")
    out[pi[::-1]] = gi[::-1]
    miss = np.flatnonzero(out < 0)
    if len(miss):
        pi, gi = tree.query_nearest(pts[miss])
        out[miss[pi[::-1]]] = gi[::-1]
    return out


def piece_ridges(pieces: dict[int, Geoms], splits: dict[int, FloatArray]) -> Geoms:
    """Return the piece outlines and, per piece of two or more buildings, the Voronoi
    edges between them clipped to the piece."""
    out: list[BaseGeometry] = []
    for c, pcs in sorted(pieces.items()):
        xy = splits[c]
        where = _piece_of(pcs, np.asarray(shapely.points(xy), dtype=object))
        out.extend(shapely.boundary(pcs))
        for p in range(len(pcs)):
            mine = np.flatnonzero(where == p)
            if len(mine) < 2:
                continue
            ridges = voronoi_ridges(xy[mine], np.arange(len(mine), dtype=np.int64))
            if len(ridges):
                out.append(shapely.intersection(ridge_lines(ridges), pcs[p]))
    return np.asarray(out, dtype=object)


def piece_members(pieces: Geoms, xy: FloatArray, rep: Geoms, nearest: IntArray) -> IntArray:
    """Return per face (point ``rep``) of one split compound its building.

    A face belongs to the piece holding it or, on the compound's open land outside every
    piece (between its wall and the roads around it, cut where the internal roads meet the
    wall: :func:`piece_gates`), to the nearest piece; it goes to the nearest building of
    that piece. Faces of a piece without a building keep ``nearest`` (the nearest building
    of the compound).
    """
    from scipy.spatial import cKDTree

    out = nearest.copy()
    b_piece = _piece_of(pieces, np.asarray(shapely.points(xy), dtype=object))
    f_piece = _piece_of(pieces, rep)
    ok = np.flatnonzero(np.isin(f_piece, b_piece))
    if len(ok):
        apart = 1e3 * (1.0 + float(np.ptp(xy, axis=0).max()))
        kd = cKDTree(np.column_stack([xy, b_piece * apart]))
        f_xy = shapely.get_coordinates(rep[ok])
        _, near = kd.query(np.column_stack([f_xy, f_piece[ok] * apart]))
        out[ok] = near
    return out


GATE_M = 30.0
"""How far an internal road is carried on beyond its compound's wall, across the compound's
open land to the road around it (a strip of open land is shared out piece by piece)."""


def piece_gates(
    compounds: dict[int, BaseGeometry], lines: Geoms, regions: dict[int, BaseGeometry]
) -> Geoms:
    """Return, per compound cut into pieces, its internal roads carried on beyond its wall
    by :data:`GATE_M` and clipped to ``regions[c]`` (the open land of its enclosure: the
    enclosure less the other compounds in it), outside the compound.

    The compound's open land between its wall and the road around it is then cut where
    the internal roads meet the wall, so each stretch goes with the piece beside it
    (:func:`piece_members`) instead of one long face going to one piece.
    """
    out: list[BaseGeometry] = []
    for c, poly, inside in _lines_inside(compounds, lines):
        stubs = shapely.difference(extended_lines(shapely.get_parts(inside), by=GATE_M), poly)
        out.extend(shapely.intersection(stubs, regions[c]))
    return np.asarray([g for g in out if not g.is_empty], dtype=object)
