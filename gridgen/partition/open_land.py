"""Open land shared out among compounds and buildings, as labelled faces (units' cells).

Inside each enclosure of a community (:func:`gridgen.partition.ground.enclosures`),
compounds keep their outline and the open land goes to the nearest compound edge or
scattered building *of the same enclosure*: a Voronoi diagram of points along compound
edges (:func:`_spacing` apart) and at buildings. Open land farther than
:data:`gridgen.partition.ground.LAND_M` from every compound and building of its enclosure,
in pieces large and wide enough, is land of its own, as are enclosures with nothing in
them: a grid boundary can then follow a wall, 12 m out, instead of the middle of a park. A
compound above the band maximum has its cell split among its buildings by their Voronoi
diagram, cut first by the compound's internal roads (:mod:`gridgen.partition.inner_roads`).

All these lines are noded once and polygonized (:mod:`gridgen.partition.faces`); each face
is labelled by a point inside it (the enclosure and compound holding it, the nearest seed
of its enclosure in a k-d tree), so no polygon overlay per owner is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.partition.cells import polygonal_cells
from gridgen.partition.faces import (
    NODE_GRID,
    Segments,
    grouped_unions,
    label_components,
    noded_faces,
    ridge_lines,
    shared_segments,
    voronoi_ridges,
)
from gridgen.partition.ground import LAND_M, LAND_MIN_M2, enclosures
from gridgen.partition.inner_roads import (
    inner_pieces,
    piece_gates,
    piece_members,
    piece_ridges,
)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Geoms = NDArray[np.object_]


def _spacing(area: FloatArray) -> FloatArray:
    """Return the seed spacing (m) along compound edges for enclosures of ``area`` m²."""
    return np.asarray(np.clip(np.sqrt(area) / 25.0, 4.0, 25.0), dtype=float)


@dataclass(frozen=True, eq=False)
class GroundFaces:
    """The faces of a community's ground and who holds each (:func:`ground_faces`).

    Attributes
    ----------
    faces
        Faces tiling the region (one noding, :mod:`gridgen.partition.faces`).
    owner
        Per face: its compound (``0..n_c-1``), its scattered building (``n_c + k``), or -1
        for land of its own.
    member
        Per face of a split compound: the index (in the compound's ``splits`` points) of
        the building whose Voronoi cell holds it; -1 elsewhere.
    land
        Per face of land of its own: its piece (``0..n_land-1``; enclosures with nothing in
        them first, then land far from every owner); -1 elsewhere.
    n_land
        Number of pieces of land of their own.
    segments
        The segments two faces share.
    """

    faces: Geoms
    owner: IntArray
    member: IntArray
    land: IntArray
    n_land: int
    segments: Segments


class _Seeds(NamedTuple):
    """Points that share out open land: coordinates (jittered), owner, enclosure."""

    xy: FloatArray
    owner: IntArray
    encl: IntArray


def ground_faces(
    region: BaseGeometry,
    lines: Geoms,
    c_geom: Geoms,
    s_pts: Geoms,
    *,
    splits: dict[int, FloatArray] | None = None,
    apart: Geoms | None = None,
) -> GroundFaces:
    """Return the faces of the ground of ``region`` and the owner of each.

    Parameters
    ----------
    region
        The area to tile (metric CRS).
    lines
        Road lines (every kind) and other linework that cut the region into enclosures.
    c_geom
        Compound polygons, disjoint, inside ``region``.
    s_pts
        Points of the scattered buildings (owners ``len(c_geom) + k``).
    splits
        Compound index → ``(m, 2)`` points of its buildings, for compounds whose cell (the
        compound and its open land) is split among its buildings by their Voronoi diagram.
    apart
        Rivers and railways among ``lines``: no sliver enclosure joins across them.

    Inside each enclosure, compounds keep their outline and the open land goes to the
    nearest compound edge or scattered building *of the same enclosure* (a Voronoi diagram
    of points along compound edges, :func:`_spacing` apart, and at buildings); open land
    farther than :data:`LAND_M` from every compound and building of its enclosure, in
    pieces large and wide enough, is land of its own, as are enclosures with nothing in them.
    """
    splits = splits or {}
    encl = enclosures(region, lines, apart=apart)
    tree = shapely.STRtree(encl)
    ci, ei, pieces = _compound_pieces(c_geom, encl, tree)
    si, se = tree.query(s_pts, predicate="intersects") if len(s_pts) else (_NONE, _NONE)
    seeds = _seeds(encl, pieces, ci, ei, s_pts=s_pts, si=si, se=se, n_c=len(c_geom))
    far = _far_zones(encl, pieces, ei, s_pts[si], se)
    parts = [shapely.boundary(encl), shapely.boundary(c_geom), _open_land_edges(seeds, encl)]
    parts += [shapely.boundary(far)]
    parts += [_split_edges(splits, ci, ei, encl)]
    cut_by_roads = inner_pieces({c: c_geom[c] for c in splits}, lines)
    parts += [piece_ridges(cut_by_roads, splits)]
    parts += [
        piece_gates(
            {c: c_geom[c] for c in cut_by_roads},
            lines,
            _open_land(c_geom, encl, ci, ei, cut_by_roads),
        )
    ]
    faces = noded_faces(np.concatenate(parts), region)
    rep = shapely.point_on_surface(faces)
    face_encl = _holder(tree, rep, nearest=True)
    owner = np.full(len(faces), -1, dtype=np.int64)
    in_comp = _holder(shapely.STRtree(c_geom), rep) if len(c_geom) else np.full(len(faces), -1)
    owner[in_comp >= 0] = in_comp[in_comp >= 0]
    open_face = np.flatnonzero(in_comp < 0)
    owner[open_face] = _nearest_owner(seeds, rep[open_face], face_encl[open_face])
    segs = shared_segments(faces)
    land = np.full(len(faces), -1, dtype=np.int64)
    unowned = np.flatnonzero(owner < 0)
    _, land[unowned] = np.unique(face_encl[unowned], return_inverse=True)
    n_land = int(land.max()) + 1 if len(unowned) else 0
    if len(far):
        in_far = np.zeros(len(faces), dtype=bool)
        hit = _holder(shapely.STRtree(far), rep[open_face])
        in_far[open_face[hit >= 0]] = True
        n_land = _far_land(
            faces, segs, owner=owner, land=land, n_land=n_land, far=in_far & (owner >= 0)
        )
    member = _members(splits, owner, rep, cut_by_roads)
    return GroundFaces(faces, owner, member, land, n_land, segs)


def _open_land(
    c_geom: Geoms, encl: Geoms, ci: IntArray, ei: IntArray, compounds: Iterable[int]
) -> dict[int, BaseGeometry]:
    """Return per compound the open land of its enclosures: the enclosures holding it less
    every other compound in them (an internal road carried past its wall stops at the next
    compound's wall)."""
    out: dict[int, BaseGeometry] = {}
    for c in compounds:
        mine = np.unique(ei[ci == c])
        others = np.unique(ci[np.isin(ei, mine) & (ci != c)])
        out[c] = shapely.difference(
            shapely.union_all(encl[mine]), shapely.union_all(c_geom[others])
        )
    return out


_NONE = np.zeros(0, dtype=np.int64)
_NONE_GEOMS = np.zeros(0, dtype=object)


def _compound_pieces(
    c_geom: Geoms, encl: Geoms, tree: shapely.STRtree
) -> tuple[IntArray, IntArray, Geoms]:
    """Return (compound, enclosure, piece) for every compound's part in each enclosure."""
    if len(c_geom) == 0:
        return _NONE, _NONE, _NONE_GEOMS
    ci, ei = tree.query(c_geom, predicate="intersects")
    pieces = np.asarray(c_geom[ci], dtype=object).copy()
    cut = ~shapely.covered_by(pieces, encl[ei])
    if cut.any():
        pieces[cut] = polygonal_cells(shapely.intersection(pieces[cut], encl[ei[cut]]))
    keep = shapely.area(pieces) > 0
    return ci[keep], ei[keep], pieces[keep]


def _seeds(
    encl: Geoms,
    pieces: Geoms,
    ci: IntArray,
    ei: IntArray,
    *,
    s_pts: Geoms,
    si: IntArray,
    se: IntArray,
    n_c: int,
) -> _Seeds:
    """Return the seeds of every enclosure: points along its compound pieces, then buildings.

    Duplicates within an enclosure are dropped (the first kept); a fixed tiny jitter breaks
    co-circular seeds (regular layouts).
    """
    rings = shapely.segmentize(shapely.boundary(pieces), _spacing(shapely.area(encl[ei])))
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    s_xy = shapely.get_coordinates(s_pts[si]) if len(si) else np.zeros((0, 2))
    xy = np.vstack([xy, s_xy])
    owner = np.r_[ci[idx], n_c + si].astype(np.int64)
    where = np.r_[ei[idx], se].astype(np.int64)
    key = np.column_stack([where, np.round(xy, 3)])
    _, first = np.unique(key, axis=0, return_index=True)
    first = np.sort(first)
    xy, owner, where = xy[first], owner[first], where[first]
    jitter = np.random.default_rng(len(xy)).uniform(-0.02, 0.02, size=xy.shape)
    return _Seeds(xy + jitter, owner, where)


def _open_land_edges(seeds: _Seeds, encl: Geoms) -> Geoms:
    """Return per enclosure the Voronoi edges between its owners, clipped to it."""
    out: list[BaseGeometry] = []
    which: list[int] = []
    order = np.argsort(seeds.encl, kind="stable")
    bounds = np.flatnonzero(np.diff(seeds.encl[order])) + 1
    for group in np.split(order, bounds):
        if len(group) < 2:
            continue
        ridges = voronoi_ridges(seeds.xy[group], seeds.owner[group])
        if len(ridges):
            out.append(ridge_lines(ridges))
            which.append(int(seeds.encl[group[0]]))
    if not out:
        return _NONE_GEOMS
    return np.asarray(shapely.intersection(np.asarray(out, dtype=object), encl[which]))


def _split_edges(splits: dict[int, FloatArray], ci: IntArray, ei: IntArray, encl: Geoms) -> Geoms:
    """Return the Voronoi edges between the buildings of split compounds, clipped to the
    enclosures each compound lies in (its cell, open land included, is inside them)."""
    out: list[BaseGeometry] = []
    where: list[BaseGeometry] = []
    for c, xy in sorted(splits.items()):
        ridges = voronoi_ridges(xy, np.arange(len(xy), dtype=np.int64))
        if len(ridges) == 0:
            continue
        lines = ridge_lines(ridges)
        for e in np.unique(ei[ci == c]).tolist():
            out.append(lines)
            where.append(encl[e])
    if not out:
        return _NONE_GEOMS
    return np.asarray(
        shapely.intersection(np.asarray(out, dtype=object), np.asarray(where, dtype=object))
    )


def _holder(tree: shapely.STRtree, pts: Geoms, *, nearest: bool = False) -> IntArray:
    """Return per point the (first) tree geometry holding it, else -1 (or the nearest)."""
    out = np.full(len(pts), -1, dtype=np.int64)
    if len(pts) == 0:
        return out
    pi, gi = tree.query(pts, predicate="within")
    out[pi[::-1]] = gi[::-1]
    miss = np.flatnonzero(out < 0)
    if nearest and len(miss):
        pi, gi = tree.query_nearest(pts[miss], return_distance=False)
        out[miss[pi[::-1]]] = gi[::-1]
    return out


def _nearest_owner(seeds: _Seeds, pts: Geoms, where: IntArray) -> IntArray:
    """Return the owner of the nearest seed of the same enclosure (-1 when it has none).

    One k-d tree over every enclosure: the enclosure index times a distance far beyond the
    community is a third coordinate, so the nearest seed is always one of its own enclosure.
    """
    from scipy.spatial import cKDTree

    out = np.full(len(pts), -1, dtype=np.int64)
    has = np.isin(where, seeds.encl)
    if not has.any():
        return out
    apart = 1e3 * (1.0 + float(np.ptp(seeds.xy, axis=0).max()))
    tree = cKDTree(np.column_stack([seeds.xy, seeds.encl * apart]))
    xy = shapely.get_coordinates(pts[has])
    _, nearest = tree.query(np.column_stack([xy, where[has] * apart]))
    out[has] = seeds.owner[nearest]
    return out


def _far_zones(encl: Geoms, pieces: Geoms, ei: IntArray, points: Geoms, pe: IntArray) -> Geoms:
    """Return the pieces of land far from every owner of their enclosure.

    Far land lies farther than :data:`LAND_M` from every compound of its enclosure (and
    :data:`LAND_M` + 8 m from every scattered building), in pieces large and wide enough to
    be land of their own (:func:`_land_pieces`).
    """
    reach = np.concatenate(
        [
            shapely.buffer(pieces, LAND_M, quad_segs=2),
            shapely.buffer(points, LAND_M + 8.0, quad_segs=2),
        ]
    )
    where = np.r_[ei, pe].astype(np.int64)
    if len(reach) == 0:
        return _NONE_GEOMS
    order = np.argsort(where, kind="stable")
    bounds = np.flatnonzero(np.diff(where[order])) + 1
    owned = [int(where[g[0]]) for g in np.split(order, bounds)]
    near = [shapely.union_all(reach[g]) for g in np.split(order, bounds)]
    rest = shapely.difference(encl[owned], np.asarray(near, dtype=object), grid_size=NODE_GRID)
    parts = shapely.get_parts(polygonal_cells(rest))
    return np.asarray(parts[_land_pieces(parts)], dtype=object)


def _land_pieces(parts: Geoms) -> NDArray[np.bool_]:
    """Return which polygons are large (:data:`LAND_MIN_M2`) and wide (:data:`LAND_M`)."""
    ok = shapely.area(parts) >= LAND_MIN_M2
    if ok.any():
        wide = ~shapely.is_empty(shapely.buffer(parts[ok], -LAND_M / 2, quad_segs=2))
        ok[np.flatnonzero(ok)[~wide]] = False
    return np.asarray(ok, dtype=bool)


def _far_land(
    faces: Geoms,
    segs: Segments,
    *,
    owner: IntArray,
    land: IntArray,
    n_land: int,
    far: NDArray[np.bool_],
) -> int:
    """Make each owner's far land a piece of its own where large and wide; return ``n_land``.

    The far faces of one owner, connected, form a piece; a piece large and wide enough
    (:func:`_land_pieces`) becomes land of its own (``owner`` -1, ``land`` its number), so
    that a grid boundary can follow the wall, 12 m out, instead of the middle of a park.
    """
    key = np.where(far, owner, -1)
    comp = label_components(key, segs)
    idx = np.flatnonzero(far)
    if len(idx) == 0:
        return n_land
    pieces, inv = np.unique(comp[idx], return_inverse=True)
    area = np.bincount(inv, weights=shapely.area(faces[idx]))
    big = np.flatnonzero(area >= LAND_MIN_M2)
    if len(big) == 0:
        return n_land
    members = np.isin(inv, big)
    shapes = grouped_unions(faces[idx[members]], np.searchsorted(big, inv[members]), len(big))
    wide = _land_pieces(shapes)
    number = np.full(len(pieces), -1, dtype=np.int64)
    number[big[wide]] = n_land + np.arange(int(wide.sum()))
    got = number[inv] >= 0
    owner[idx[got]] = -1
    land[idx[got]] = number[inv[got]]
    return n_land + int(wide.sum())


def _members(
    splits: dict[int, FloatArray], owner: IntArray, rep: Geoms, pieces: dict[int, Geoms]
) -> IntArray:
    """Return per face of a split compound the building whose Voronoi cell holds it (of the
    face's own piece, where internal roads cut the compound: :mod:`.inner_roads`)."""
    from scipy.spatial import cKDTree

    member = np.full(len(owner), -1, dtype=np.int64)
    for c, xy in splits.items():
        mine = np.flatnonzero(owner == c)
        if len(mine) == 0:
            continue
        _, nearest = cKDTree(xy).query(shapely.get_coordinates(rep[mine]))
        if c in pieces:
            nearest = piece_members(pieces[c], xy, rep[mine], nearest.astype(np.int64))
        member[mine] = nearest
    return member
