"""Units from the ground: a community cut by its roads into enclosures, then by compounds.

Grids a planner can draw follow roads, rivers and compound walls (地理布局). The cells of
the planning units (:mod:`gridgen.partition.units`) are therefore drawn from the ground:

1. **enclosures** (:func:`enclosures`): the community is cut by every road line that
   crosses it (all kinds) into the smallest closed areas, as momepy's ``enclosures`` and
   GeoClimate's reference spatial units do: the community outline and the road lines are
   noded together (``shapely.union_all``) and polygonized (``shapely.polygonize``; momepy
   does exactly this, and an un-noded network polygonizes to nothing, osmnx issue 571).
   Slivers under :data:`SLIVER_M2` (between the carriageways of a dual road, inside a
   roundabout) join the enclosure they share the longest boundary with. A community with
   no road inside is one enclosure (the fallback for sparse peripheral communities);
2. **cells** (:func:`ground_cells`): inside each enclosure, compounds keep their outline
   and the open land goes to the nearest compound edge or scattered building *of the same
   enclosure* (a Voronoi diagram of points along compound edges and at buildings, cut to
   the enclosure), so no cell reaches across a road unless its compound does; an
   enclosure with no compound and no building stays empty land (a unit of its own);
3. **edge kinds** (:func:`ground_adjacency`): each shared boundary between two cells is
   measured by kind, in pieces of :data:`PIECE_M`: on a main road, a minor road, a path
   (within :data:`ROAD_TOLERANCE_M` of the line: enclosure edges are the road lines), near
   a compound wall (within :data:`WALL_DISTANCE_M`, the distance at which a boundary counts
   as on the ground), or through open land;
4. **cut costs** (:func:`ground_cut_costs`): open land costs more to cut than a wall, a wall
   more than a path, a path more than a minor road, and a main road least (a negative
   cost: a grid that keeps both sides of a main road pays for it).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.partition.cells import NODE_GRID, labelled_voronoi, polygonal_cells

KINDS: tuple[str, ...] = ("main", "minor", "path", "wall", "open")
"""Kinds of a shared boundary, in the order of :func:`ground_adjacency`'s columns."""
KIND_COST: dict[str, float] = {
    "main": -0.8,
    "minor": 0.33,
    "path": 0.6,
    "wall": 0.8,
    "open": 3.3,
}
"""Cut cost per metre of shared boundary by kind (open land > wall > path > minor > main).

Measured on the walled-compound city (``bench/partition.py``): open land at 3.3 puts ~79%
of the interior boundary on the ground against ~73% at 1.0, at the same band compliance.
"""
SAME_COMPOUND_FACTOR = 1.5
"""Cutting between buildings of one split compound costs this much more (its open land)."""
SLIVER_M2 = 300.0
"""Enclosures smaller than this (road medians, roundabouts) join a neighbour."""
EXTEND_M = 1.5
"""Road ends are extended this far, so a road that stops short of another (a reprojection
rounding, or a small gap in survey data) still closes its enclosure."""
ROAD_TOLERANCE_M = 1.0
WALL_DISTANCE_M = 15.0
PIECE_M = 5.0
LAND_M = 12.0
"""Open land farther than this from every compound and building of its enclosure (parks,
squares, wide green belts) is land of its own beside its nearest owner: a grid boundary can
then run along a wall, 12 m out (inside the 15 m at which a boundary counts as on the
ground), instead of through the middle of a park."""
LAND_MIN_M2 = 400.0
"""Smallest piece of such far land that is a unit of its own (smaller ones are shared)."""
MIN_SHARED_LENGTH = 0.5
"""Metres of common boundary for two cells to be neighbours (less is a corner)."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Geoms = NDArray[np.object_]


def solid_parts(
    geom: BaseGeometry, *, min_area: float = 1.0, min_width: float = 0.05
) -> BaseGeometry:
    """Return the polygons of ``geom`` at least ``min_area`` m² and ``min_width`` m wide.

    An area left by subtracting grids that went through another CRS (the unlocked part of a
    community) carries slivers a millimetre wide along the subtracted edges; they are not
    land a grid can hold (they are left out, well inside the tiling tolerance).
    """
    parts = shapely.get_parts(polygonal_cells(np.asarray([geom], dtype=object))[0])
    if len(parts) == 0:
        return shapely.Polygon()
    area = shapely.area(parts)
    width = 2.0 * area / np.maximum(shapely.length(parts), 1e-12)
    keep = parts[(area >= min_area) & (width >= min_width)]
    if len(keep) == 0:
        return shapely.Polygon()
    return keep[0] if len(keep) == 1 else shapely.MultiPolygon(list(keep))


def enclosures(region: BaseGeometry, lines: Geoms) -> Geoms:
    """Return the enclosures of ``region`` cut by ``lines`` (metric CRS), tiling it.

    Falls back to ``[region]`` when the lines cut nothing or polygonizing loses area.
    """
    region_area = float(shapely.area(region))
    if len(lines) == 0 or region_area <= 0:
        return np.asarray([region], dtype=object)
    # lines are clipped to a slightly larger area, so that a road ending on the community
    # outline crosses it (a line clipped exactly at the outline may end a rounding error
    # short of it and node nothing), and noded snap-rounded to 1 mm (robust noding)
    reach = shapely.buffer(region, 2 * EXTEND_M, quad_segs=2)
    clipped = shapely.intersection(extended_lines(lines, by=EXTEND_M), reach)
    clipped = clipped[~shapely.is_empty(clipped)]
    if len(clipped) == 0:
        return np.asarray([region], dtype=object)
    every = np.asarray([shapely.boundary(region), *clipped], dtype=object)
    noded = shapely.union_all(every, grid_size=NODE_GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) == 0:
        return np.asarray([region], dtype=object)
    inside = shapely.within(shapely.point_on_surface(faces), region)
    faces = faces[inside & (shapely.area(faces) > 0)]
    slack = 1e-6 * region_area + NODE_GRID * float(shapely.length(region))
    if abs(float(shapely.area(faces).sum()) - region_area) > slack:
        return np.asarray([region], dtype=object)  # noding failed: one enclosure
    return _merge_slivers(np.asarray(faces, dtype=object))


def extended_lines(lines: Geoms, *, by: float) -> Geoms:
    """Return the line parts of ``lines`` with both ends extended by ``by`` metres."""
    parts = shapely.get_parts(np.asarray(lines, dtype=object))
    parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings
    if len(parts) == 0:
        return np.zeros(0, dtype=object)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(idx, minlength=len(parts))
    ok = counts >= 2
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    end = start + counts - 1
    for first, second in ((start[ok], start[ok] + 1), (end[ok], end[ok] - 1)):
        d = xy[first] - xy[second]
        norm = np.hypot(d[:, 0], d[:, 1])
        norm[norm == 0] = 1.0
        xy[first] = xy[first] + d / norm[:, None] * by
    out: Geoms = np.asarray(shapely.linestrings(xy, indices=idx), dtype=object)
    return out


def _merge_slivers(faces: Geoms) -> Geoms:
    """Return ``faces`` with those under :data:`SLIVER_M2` joined to their longest neighbour."""
    faces = faces.copy()
    alive = np.ones(len(faces), dtype=bool)
    for i in np.argsort(shapely.area(faces)).tolist():
        if shapely.area(faces[i]) >= SLIVER_M2 or alive.sum() <= 1:
            break
        others = np.flatnonzero(alive & (np.arange(len(faces)) != i))
        near = others[shapely.intersects(faces[others], faces[i])]
        if len(near) == 0:
            continue
        shared = shapely.length(shapely.intersection(faces[near], faces[i]))
        j = int(near[int(np.argmax(shared))])
        if shared.max() <= 0:
            continue
        faces[j] = shapely.union(faces[j], faces[i])
        alive[i] = False
    return faces[alive]


def _spacing(area: float) -> float:
    """Return the seed spacing (m) along compound edges for an enclosure of ``area`` m²."""
    return float(np.clip(np.sqrt(area) / 25.0, 4.0, 25.0))


def ground_cells(
    region: BaseGeometry, lines: Geoms, c_geom: Geoms, s_pts: Geoms
) -> tuple[Geoms, Geoms]:
    """Return one cell per compound then per scattered building, and the empty enclosures.

    Parameters
    ----------
    region
        The area to tile (metric CRS).
    lines
        Road lines (every kind) and other linework that cut the region.
    c_geom
        Compound polygons, disjoint, inside ``region``.
    s_pts
        Points of the scattered buildings.

    Returns
    -------
    tuple
        ``(cells, empty)``: cells of ``len(c_geom) + len(s_pts)`` owners (compound cells
        hold their outline), and the land no owner holds: enclosures with nothing in them
        and open land farther than :data:`LAND_M` from every compound and building (the
        caller makes each a unit of empty land).
    """
    n_c, n_s = len(c_geom), len(s_pts)
    encl = enclosures(region, lines)
    shares: list[list[BaseGeometry]] = [[] for _ in range(n_c + n_s)]
    owned = np.zeros(len(encl), dtype=bool)
    land: list[BaseGeometry] = []
    tree = shapely.STRtree(encl)
    ci, ei = tree.query(c_geom, predicate="intersects") if n_c else (np.zeros(0, int),) * 2
    pieces = shapely.intersection(c_geom[ci], encl[ei]) if len(ci) else np.zeros(0, object)
    pieces = polygonal_cells(np.asarray(pieces, dtype=object))
    si, se = tree.query(s_pts, predicate="intersects") if n_s else (np.zeros(0, int),) * 2
    for j in range(len(encl)):
        own = np.flatnonzero((ei == j) & (shapely.area(pieces) > 0))
        loose = si[se == j]
        loose = np.unique(loose)
        if len(own) == 0 and len(loose) == 0:
            continue
        owned[j] = True
        land += _share_open_land(encl[j], pieces[own], ci[own], loose, s_pts, n_c, shares)
    cells = np.empty(n_c + n_s, dtype=object)
    for k in range(n_c + n_s):
        parts = ([c_geom[k]] if k < n_c else []) + shares[k]
        cells[k] = _union(parts) if parts else shapely.Polygon()
    empty = np.asarray([*encl[~owned], *land], dtype=object)
    return polygonal_cells(cells), empty


def _share_open_land(  # noqa: PLR0917
    enclosure: BaseGeometry,
    pieces: Geoms,
    owners: IntArray,
    loose: IntArray,
    s_pts: Geoms,
    n_c: int,
    shares: list[list[BaseGeometry]],
) -> list[BaseGeometry]:
    """Add each owner's part of the enclosure's open land to ``shares`` (nearest owner).

    Of each owner's part, the pieces farther than :data:`LAND_M` from every compound and
    building (wide and large enough: :func:`_far_zone`) are returned as land of their own,
    lying beside their owner: a grid boundary can then follow the wall, 15 m out, instead
    of the middle of a park, while the land stays where the nearest-owner rule puts it
    unless the partitioner moves it.
    """
    taken = _union(list(pieces)) if len(pieces) else shapely.Polygon()
    open_land = polygonal_cells(np.asarray([shapely.difference(enclosure, taken)], dtype=object))[0]
    if shapely.area(open_land) <= 1e-6:
        return []
    labels = [n_c + int(s) for s in loose.tolist()]
    pts = list(s_pts[loose])
    if len(pieces):
        spacing = _spacing(float(shapely.area(enclosure)))
        rings = shapely.segmentize(shapely.boundary(pieces), spacing)
        xy, idx = shapely.get_coordinates(rings, return_index=True)
        pts.extend(np.asarray(shapely.points(xy), dtype=object).tolist())
        labels.extend(owners[idx].tolist())
    lab = np.asarray(labels, dtype=np.int64)
    if len(np.unique(lab)) == 1:
        regions = {int(lab[0]): enclosure}
    else:
        xy = shapely.get_coordinates(np.asarray(pts, dtype=object))
        regions = labelled_voronoi(xy, lab, enclosure)
    far = _far_zone(open_land, pieces, s_pts[loose])
    land: list[BaseGeometry] = []
    for owner, region in regions.items():
        share = polygonal_cells(
            np.asarray([shapely.intersection(region, open_land)], dtype=object)
        )[0]
        if not shapely.is_empty(far) and shapely.intersects(share, far):
            own_far = _land_pieces(shapely.intersection(share, far, grid_size=0.001))
            if own_far:
                land.extend(own_far)
                rest = shapely.difference(share, shapely.union_all(own_far), grid_size=0.001)
                share = polygonal_cells(np.asarray([rest], dtype=object))[0]
        if not shapely.is_empty(share):
            shares[owner].append(share)
    return land


def _land_pieces(geom: BaseGeometry) -> list[BaseGeometry]:
    """Return the pieces of ``geom`` large (:data:`LAND_MIN_M2`) and wide (:data:`LAND_M`)."""
    parts = shapely.get_parts(polygonal_cells(np.asarray([geom], dtype=object))[0])
    if len(parts) == 0:
        return []
    wide = ~shapely.is_empty(shapely.buffer(parts, -LAND_M / 2, quad_segs=2))
    return list(parts[wide & (shapely.area(parts) >= LAND_MIN_M2)])


def _far_zone(open_land: BaseGeometry, pieces: Geoms, points: Geoms) -> BaseGeometry:
    """Return the open land farther than :data:`LAND_M` from every compound and building,
    in pieces large and wide enough to be land of their own (else empty)."""
    reach = np.concatenate(
        [
            shapely.buffer(pieces, LAND_M, quad_segs=2),
            shapely.buffer(points, LAND_M + 8.0, quad_segs=2),
        ]
    )
    if len(reach) == 0:
        return shapely.Polygon()
    big = _land_pieces(shapely.difference(open_land, shapely.union_all(reach), grid_size=0.001))
    return shapely.union_all(big) if big else shapely.Polygon()


def _union(parts: list[BaseGeometry]) -> BaseGeometry:
    """Return the union of a compound and its shares (not vertex-matched: a full union,
    snap-rounded to 1 mm so that nearly collinear edges do not leave zero-width gaps)."""
    if len(parts) == 1:
        return parts[0]
    return shapely.union_all(np.asarray(parts, dtype=object), grid_size=0.001)


def ground_adjacency(
    cells: Geoms, lines_by_kind: dict[str, Geoms], walls: Geoms
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Return the cell edges, shared lengths and lengths per kind (:data:`KINDS` columns).

    Parameters
    ----------
    cells
        Cell polygons tiling an area (metric CRS).
    lines_by_kind
        Road lines per kind (``main``, ``minor``, ``path``).
    walls
        Compound outlines (polygons or rings).
    """
    empty = (np.empty((0, 2), np.int64), np.empty(0), np.empty((0, len(KINDS))))
    if len(cells) < 2:
        return empty
    a, b = shapely.STRtree(cells).query(cells, predicate="intersects")
    sel = a < b
    a, b = a[sel], b[sel]
    if len(a) == 0:
        return empty
    inter = shapely.intersection(cells[a], cells[b])
    overlap = shapely.area(inter) > 1e-6
    lines = inter.copy()
    if overlap.any():
        lines[overlap] = shapely.intersection(shapely.boundary(cells[a[overlap]]), inter[overlap])
    shared = np.asarray(shapely.length(lines), dtype=float)
    keep = (shared > MIN_SHARED_LENGTH) | overlap
    a, b, shared, lines = a[keep], b[keep], shared[keep], lines[keep]
    kinds = kind_lengths(lines, lines_by_kind, walls)
    return np.column_stack([a, b]).astype(np.int64), shared, kinds


def kind_lengths(lines: Geoms, lines_by_kind: dict[str, Geoms], walls: Geoms) -> FloatArray:
    """Return per line the length on each kind of :data:`KINDS` (rows sum to its length)."""
    out = np.zeros((len(lines), len(KINDS)))
    if len(lines) == 0:
        return out
    parts, owner = shapely.get_parts(shapely.segmentize(lines, PIECE_M), return_index=True)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[:-1] == idx[1:]
    seg_a, seg_b = xy[:-1][same], xy[1:][same]
    seg_owner = owner[idx[:-1][same]]
    seg_len = np.hypot(*(seg_b - seg_a).T)
    mids = shapely.points((seg_a + seg_b) / 2.0)
    kind = np.full(len(mids), len(KINDS) - 1, dtype=np.int64)  # open land
    ring_walls = shapely.boundary(walls) if len(walls) else walls
    order = [("wall", ring_walls, WALL_DISTANCE_M)] + [
        (k, lines_by_kind.get(k, np.zeros(0, dtype=object)), ROAD_TOLERANCE_M)
        for k in ("path", "minor", "main")
    ]
    for name, geoms, dist in order:  # later kinds win: main over minor over path over wall
        if len(geoms) == 0:
            continue
        hit, _ = shapely.STRtree(np.asarray(geoms, dtype=object)).query(
            mids, predicate="dwithin", distance=dist
        )
        kind[np.unique(hit)] = KINDS.index(name)
    np.add.at(out, (seg_owner, kind), seg_len)
    return out


def ground_cut_costs(kinds: FloatArray, same_compound: NDArray[np.bool_]) -> FloatArray:
    """Return the cost of cutting each edge from its lengths per kind (:data:`KIND_COST`)."""
    weights = np.asarray([KIND_COST[k] for k in KINDS])
    cost = kinds @ weights
    return np.asarray(np.where(same_compound, cost * SAME_COMPOUND_FACTOR, cost), dtype=float)
