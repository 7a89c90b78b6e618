"""Units from the ground: a community cut by its roads into enclosures, then by compounds.

Grids a planner can draw follow roads, rivers and compound walls (地理布局). The cells of
the planning units (:mod:`gridgen.partition.units`) are therefore drawn from the ground:

1. **enclosures** (:func:`enclosures`): the community is cut by every road line that
   crosses it (all kinds), and every river, railway and wall line, into the smallest
   closed areas, as momepy's ``enclosures`` and GeoClimate's reference spatial units do:
   the community outline and the lines are noded together (``shapely.union_all``) and
   polygonized (``shapely.polygonize``; momepy does exactly this, and an un-noded network
   polygonizes to nothing, osmnx issue 571).
   Slivers under :data:`SLIVER_M2` (between the carriageways of a dual road, inside a
   roundabout) join the enclosure they share the longest boundary with. A community with
   no road inside is one enclosure (the fallback for sparse peripheral communities);
2. **faces** (:func:`gridgen.partition.open_land.ground_faces`): inside each enclosure,
   compounds keep their outline and the open land goes to the nearest compound edge or
   scattered building *of the same enclosure*, so no cell reaches across a road unless its
   compound does; an enclosure with nothing in it, and open land far from every owner, is
   land of its own. All these lines are noded once and polygonized into faces
   (:mod:`gridgen.partition.faces`), each labelled with its owner;
3. **edge kinds** (:func:`segment_kinds`): each shared boundary between two cells is
   measured by kind, in pieces of :data:`PIECE_M`: on a river or railway, a main road, a
   minor road, a path (within :data:`ROAD_TOLERANCE_M` of the line: enclosure edges are
   these lines), near a compound wall or a wall of the ``barriers`` layer (within
   :data:`WALL_DISTANCE_M`, the distance at which a boundary counts as on the ground), or
   through open land;
4. **cut costs** (:func:`ground_cut_costs`): open land costs more to cut than a wall, a wall
   more than a path, a path more than a minor road, and a main road, river or railway least
   (a negative cost: a grid that keeps both sides of one pays for it).

The lines are those of :mod:`gridgen.partition.linework` (roads, rivers, railways, walls).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.partition.cells import polygonal_cells
from gridgen.partition.faces import NODE_GRID, Segments

KINDS: tuple[str, ...] = ("main", "barrier", "minor", "path", "wall", "open")
"""Kinds of a shared boundary, in the order of :func:`segment_kinds`'s columns."""
KIND_COST: dict[str, float] = {
    "main": -0.8,
    "barrier": -0.8,
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
SAME_PIECE_FACTOR = 10.0
"""Cutting between buildings of one piece of a split compound (between the same internal
roads: :func:`gridgen.partition.road_snap.inner_road_pieces`) costs this much more again:
a planner keeps such a piece in one grid, so its boundary runs on the internal roads.
Measured on five filled-block cities (seeds 7, 3, 5 at 273k households; 11, 23 at 150k),
boundary on the ground 88.5 / 90.1 / 88.0 / 88.1 / 86.4% at 1 -> 89.5 / 90.7 / 88.2 / 88.8 /
86.8% at 10, band compliance unchanged, Polsby-Popper 0.004-0.018 lower (still at or above
pymetis'). Applied to every piece of every large compound (a compound without internal
roads is one piece) it gave 0.1-1.2 points more on those cities but 0.4 less on the walled
city, whose cuts then move into open land: not kept. A compound without internal roads is
not a piece here, so cities without them get the same plans."""
SLIVER_M2 = 300.0
"""Enclosures smaller than this (road medians, roundabouts) join a neighbour."""
MIN_LAND_WIDTH_M = 0.05
"""Mean width (twice the area over the perimeter) under which a polygon is a sliver of
rounding, not land a grid can hold (:func:`solid_parts`; :func:`gridgen.partition.finish.
attach_detached`)."""
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
ON_LINE_KINDS: tuple[str, ...] = ("path", "minor", "main", "barrier")
"""Kinds of line a boundary runs on (within :data:`ROAD_TOLERANCE_M`), lowest priority
first (a boundary on lines of two kinds has the later: a river beside a road is a river)."""
MIN_SHARED_LENGTH = 0.5
"""Metres of common boundary for two cells to be neighbours (less is a corner)."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Geoms = NDArray[np.object_]


def solid_parts(
    geom: BaseGeometry, *, min_area: float = 1.0, min_width: float = MIN_LAND_WIDTH_M
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


def enclosures(region: BaseGeometry, lines: Geoms, *, apart: Geoms | None = None) -> Geoms:
    """Return the enclosures of ``region`` cut by ``lines`` (metric CRS), tiling it.

    Falls back to ``[region]`` when the lines cut nothing or polygonizing loses area.
    ``apart``: lines (rivers, railways) no sliver is joined across.
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
    return _merge_slivers(np.asarray(faces, dtype=object), apart)


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


def _merge_slivers(faces: Geoms, apart: Geoms | None = None) -> Geoms:
    """Return ``faces`` with those under :data:`SLIVER_M2` joined to the neighbour they share
    the longest boundary with, not counting boundary on ``apart`` (a sliver beside a
    railway joins its own side; one bounded by ``apart`` lines alone stays apart)."""
    faces = faces.copy()
    on_apart = (
        shapely.buffer(shapely.union_all(apart), ROAD_TOLERANCE_M, quad_segs=2)
        if apart is not None and len(apart)
        else None
    )
    alive = np.ones(len(faces), dtype=bool)
    for i in np.argsort(shapely.area(faces)).tolist():
        if shapely.area(faces[i]) >= SLIVER_M2 or alive.sum() <= 1:
            break
        others = np.flatnonzero(alive & (np.arange(len(faces)) != i))
        near = others[shapely.intersects(faces[others], faces[i])]
        if len(near) == 0:
            continue
        common = shapely.intersection(faces[near], faces[i])
        if on_apart is not None:
            common = shapely.difference(common, on_apart)
        shared = shapely.length(common)
        j = int(near[int(np.argmax(shared))])
        if shared.max() <= 0:
            continue
        faces[j] = shapely.union(faces[j], faces[i])
        alive[i] = False
    return faces[alive]


_NO_GEOMS = np.zeros(0, dtype=object)


def segment_kinds(segs: Segments, lines_by_kind: dict[str, Geoms], walls: Geoms) -> FloatArray:
    """Return per segment its length on each kind of :data:`KINDS` (rows sum to its length).

    ``lines_by_kind``: :func:`gridgen.partition.linework.ground_lines`; ``walls``: compound
    polygons (their outlines and the ``wall`` lines are the walls). A segment is cut into
    pieces of at most :data:`PIECE_M`; a piece is of the last kind of
    :data:`ON_LINE_KINDS` whose lines lie near its midpoint, else near a wall, else open land.
    """
    length = segs.length
    out = np.zeros((len(length), len(KINDS)))
    if len(length) == 0:
        return out
    n = np.maximum(1, np.ceil(length / PIECE_M)).astype(np.int64)
    seg = np.repeat(np.arange(len(length)), n)
    t = (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + 0.5) / n[seg]
    mids = np.asarray(
        shapely.points(segs.start[seg] + (segs.end - segs.start)[seg] * t[:, None]), dtype=object
    )
    kind = np.full(len(mids), len(KINDS) - 1, dtype=np.int64)  # open land
    lines = [np.asarray(lines_by_kind.get(k, _NO_GEOMS), dtype=object) for k in ON_LINE_KINDS]
    every = np.concatenate(lines)
    if len(every):  # one query for every kind of line; the later kind wins
        rank = np.repeat(np.arange(len(ON_LINE_KINDS)), [len(r) for r in lines])
        hit, line = shapely.STRtree(every).query(
            mids, predicate="dwithin", distance=ROAD_TOLERANCE_M
        )
        best = np.full(len(mids), -1, dtype=np.int64)
        np.maximum.at(best, hit, rank[line])
        on_line = best >= 0
        kind[on_line] = np.asarray([KINDS.index(k) for k in ON_LINE_KINDS])[best[on_line]]
    rest = np.flatnonzero(kind == len(KINDS) - 1)
    wall_lines = np.concatenate(
        [shapely.boundary(walls), np.asarray(lines_by_kind.get("wall", _NO_GEOMS), dtype=object)]
    )
    if len(wall_lines) and len(rest):  # near a wall, where no road is
        near, _ = shapely.STRtree(wall_lines).query(
            mids[rest], predicate="dwithin", distance=WALL_DISTANCE_M
        )
        kind[rest[np.unique(near)]] = KINDS.index("wall")
    np.add.at(out, (seg, kind), (length / n)[seg])
    return out


def unit_edges(
    face_unit: IntArray,
    segs: Segments,
    lines: dict[str, Geoms],
    c_geom: Geoms,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Return the unit pairs that share more than :data:`MIN_SHARED_LENGTH` m of boundary,
    the shared lengths and the lengths per kind of ground (:data:`KINDS` columns)."""
    la, lb = face_unit[segs.a], face_unit[segs.b]
    diff = (la != lb) & (la >= 0) & (lb >= 0)
    sub = Segments(segs.a[diff], segs.b[diff], segs.start[diff], segs.end[diff])
    if len(sub.a) == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0), np.zeros((0, len(KINDS)))
    per_seg = segment_kinds(sub, lines, c_geom)
    pairs = np.column_stack([np.minimum(la, lb)[diff], np.maximum(la, lb)[diff]])
    key, inv = np.unique(pairs, axis=0, return_inverse=True)
    inv = inv.ravel()
    kinds = np.column_stack(
        [np.bincount(inv, weights=per_seg[:, k], minlength=len(key)) for k in range(len(KINDS))]
    )
    shared = np.bincount(inv, weights=sub.length, minlength=len(key))
    keep = shared > MIN_SHARED_LENGTH
    return (
        np.asarray(key[keep], dtype=np.int64),
        np.asarray(shared[keep], dtype=float),
        np.asarray(kinds[keep], dtype=float),
    )


def ground_cut_costs(
    kinds: FloatArray,
    same_compound: NDArray[np.bool_],
    *,
    same_piece: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Return the cost of cutting each edge from its lengths per kind (:data:`KIND_COST`),
    times :data:`SAME_COMPOUND_FACTOR` between buildings of one split compound and
    :data:`SAME_PIECE_FACTOR` more between buildings of one piece of it (``same_piece``)."""
    weights = np.asarray([KIND_COST[k] for k in KINDS])
    cost = kinds @ weights
    cost = np.where(same_compound, cost * SAME_COMPOUND_FACTOR, cost)
    if same_piece is not None:
        cost = np.where(same_piece, cost * SAME_PIECE_FACTOR, cost)
    return np.asarray(cost, dtype=float)
