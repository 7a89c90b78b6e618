"""The cells of a community's planning units: a tessellation that tiles the community.

:func:`gridgen.partition.units.build_units` decides the units; this module draws their
cells (see that module's docstring for the whole recipe):

- compound polygons are made disjoint (:func:`make_disjoint`);
- the open land of each enclosure is shared out by a Voronoi diagram of seeds on compound
  edges and at scattered buildings (:func:`gridgen.partition.ground.ground_cells`, which
  calls :func:`voronoi_split`);
- a compound above the band maximum is split among its buildings (:func:`voronoi_split`);
- stray parts of a cell join the neighbour they share the longest boundary with, so every
  cell is one polygon (:func:`repair_cells`).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

NODE_GRID = 0.001
"""Snap-rounding grid (metres) of the noded cell boundaries (:func:`noded_coverage`)."""
SNAP = 0.05
"""Tolerance (metres) used to measure shared boundaries between cells."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def polygonal_cells(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Return the polygonal part of each geometry (collections may hold lines/points)."""
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            out[i] = shapely.Polygon()
        elif g.geom_type in ("Polygon", "MultiPolygon"):
            out[i] = g
        else:
            parts = shapely.get_parts(g)
            polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
            out[i] = shapely.union_all(polys) if polys else shapely.Polygon()
    return out


def make_disjoint(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Return the geometries with overlaps removed (earlier ones keep the overlap)."""
    geoms = np.asarray([shapely.Polygon() if g is None else g for g in geoms], dtype=object)
    if len(geoms) < 2:
        return geoms
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="overlaps")
    pairs = a < b
    if not pairs.any():
        return geoms
    out = geoms.copy()
    for j in np.unique(b[pairs]):
        earlier = a[pairs][b[pairs] == j]
        out[j] = shapely.difference(out[j], shapely.union_all(out[earlier]))
    return polygonal_cells(out)


def seed_spacing(region: BaseGeometry) -> float:
    """Return the spacing (m) of seed points along compound edges for ``region``."""
    return float(np.clip(np.sqrt(shapely.area(region)) / 35.0, 5.0, 40.0))


def _voronoi_cells(xy: FloatArray, region: BaseGeometry) -> NDArray[np.object_]:
    """Return the Voronoi cell of each point (input order; empty where GEOS merged seeds).

    GEOS is computed around a local origin: at UTM magnitudes (10⁶ m) its Voronoi output can
    be badly noded, which later breaks unions.
    """
    origin = xy.min(axis=0)
    # a fixed tiny jitter breaks co-circular seeds (regular layouts), which GEOS turns
    # into self-intersecting cells
    jitter = np.random.default_rng(len(xy)).uniform(-0.02, 0.02, size=xy.shape)
    xy = xy + jitter
    x0, y0, x1, y1 = shapely.bounds(region)
    env = shapely.box(
        x0 - origin[0] - 100, y0 - origin[1] - 100, x1 - origin[0] + 100, y1 - origin[1] + 100
    )
    vor = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy - origin), extend_to=env, ordered=True)
    )
    vor = np.asarray(vor, dtype=object)
    vor[shapely.get_type_id(vor) != 3] = shapely.Polygon()
    bad = ~shapely.is_valid(vor)
    if bad.any():
        vor[bad] = polygonal_cells(shapely.make_valid(vor[bad]))
    return np.asarray(shapely.transform(vor, lambda c: c + origin), dtype=object)


def noded_coverage(cells: NDArray[np.object_], region: BaseGeometry) -> NDArray[np.object_]:
    """Return the cells rebuilt as an exact coverage of ``region`` (no gap, no overlap).

    Cells drawn by different overlays (compound outlines, Voronoi shares, building splits)
    meet along edges whose vertices differ and leave slivers between them; in floating point
    their unions can come out in parts joined only by such slivers. Noding every boundary
    (and the region's) together, snap-rounded to :data:`NODE_GRID` (so that slivers and
    corridors narrower than that collapse into lines), and polygonizing gives faces that
    share their vertices:
    each face goes to the cell holding it (in two, the first), a face in no cell (a gap)
    to the cell it shares the longest boundary with, and each cell is the coverage union of
    its faces, so any union of cells is exact.
    """
    if len(cells) < 2:
        return cells
    lines = np.asarray([*shapely.boundary(cells), shapely.boundary(region)], dtype=object)
    noded = shapely.union_all(lines, grid_size=NODE_GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    pts = shapely.point_on_surface(faces)
    faces = faces[shapely.within(pts, region)]
    if len(faces) == 0:
        return cells
    tree = shapely.STRtree(cells)
    fi, ci = tree.query(shapely.point_on_surface(faces), predicate="within")
    owner = np.full(len(faces), -1, dtype=np.int64)
    owner[fi[::-1]] = ci[::-1]  # the first cell holding a face keeps it
    for f in np.flatnonzero(owner < 0).tolist():
        near = tree.query(faces[f], predicate="intersects")
        if len(near):
            shared = shapely.length(shapely.intersection(shapely.boundary(faces[f]), cells[near]))
            owner[f] = int(near[int(np.argmax(shared))])
    out = cells.copy()
    keep = owner >= 0
    faces, owner = faces[keep], owner[keep]
    order = np.argsort(owner, kind="stable")
    bounds = np.flatnonzero(np.diff(owner[order])) + 1
    for group in np.split(order, bounds):
        if len(group):
            out[int(owner[group[0]])] = coverage_union(faces[group])
    return out


def coverage_union(parts: NDArray[np.object_]) -> BaseGeometry:
    """Return the union of polygons that should be edge-matched (a fast coverage union).

    For the cells of one Voronoi diagram, which share their vertices. GEOS's coverage union
    trusts its input: where polygons do not match exactly it can drop area or leave touching
    parts apart. The result is kept only when it is valid, polygonal and keeps the parts'
    total area (to 1e-9); otherwise the robust union is used.
    """
    if len(parts) == 1:
        one: BaseGeometry = parts[0]
        return one
    total = float(shapely.area(parts).sum())
    try:
        out = shapely.coverage_union_all(parts)
        if (
            out.geom_type in ("Polygon", "MultiPolygon")
            and abs(float(out.area) - total) <= 1e-9 * total + 1e-6
            and out.is_valid
        ):
            return out
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(parts)


def labelled_voronoi(
    xy: FloatArray, labels: IntArray, extent: BaseGeometry
) -> dict[int, BaseGeometry]:
    """Return, per label, the union of the Voronoi cells of its points (over ``extent``).

    The cells are edge-matched, so each label's union is a fast coverage union; the
    caller clips them (cheaper than clipping every cell to a complex polygon).
    """
    _, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    first = np.sort(first)
    if len(first) == 1:
        return {int(labels[first[0]]): extent}
    vor = _voronoi_cells(xy[first], extent)
    lab = labels[first]
    out: dict[int, BaseGeometry] = {}
    order = np.argsort(lab, kind="stable")
    bounds = np.flatnonzero(np.diff(lab[order])) + 1
    for group in np.split(order, bounds):
        cells = vor[group]
        cells = cells[~shapely.is_empty(cells)]
        if len(cells) == 0:
            continue
        if len(cells) == 1:
            out[int(lab[group[0]])] = cells[0]
            continue
        out[int(lab[group[0]])] = coverage_union(cells)
    return out


def voronoi_split(cell: BaseGeometry, pts: NDArray[np.object_]) -> list[BaseGeometry]:
    """Return ``cell`` split among ``pts`` by their Voronoi diagram (one piece per point)."""
    xy = shapely.get_coordinates(pts)
    _, first, inverse = np.unique(np.round(xy, 3), axis=0, return_index=True, return_inverse=True)
    pieces: list[BaseGeometry] = [shapely.Polygon()] * len(pts)
    if len(first) == 1:
        pieces[0] = cell
        return pieces
    vor = _voronoi_cells(xy[first], cell)
    clipped = polygonal_cells(shapely.intersection(vor, cell))
    for k in range(len(pts)):
        u = int(inverse.ravel()[k])
        # duplicates of a point: the first building with it takes the piece
        if int(first[u]) == k:
            pieces[k] = clipped[u]
    return pieces


def repair_cells(  # noqa: PLR0917
    cells: NDArray[np.object_],
    b_unit: IntArray,
    b_pts: NDArray[np.object_],
    unit_ids: list[str],
    kinds: list[str],
    ucomp: list[str],
) -> tuple[NDArray[np.object_], IntArray, list[str], list[str], list[str]]:
    """Make every cell one polygon: stray parts join their longest-bordering neighbour.

    Units left without area (a building whose seed was shadowed) join the unit whose cell
    holds or is nearest to their building.
    """
    n = len(cells)
    parts, owner = shapely.get_parts(cells, return_index=True)
    areas = shapely.area(parts)
    keep_part = np.zeros(len(parts), dtype=bool)
    for u in range(n):
        sel = np.flatnonzero(owner == u)
        if len(sel):
            keep_part[sel[np.argmax(areas[sel])]] = True
    stray = np.flatnonzero(~keep_part & (areas > 1e-6))
    main = np.full(n, None, dtype=object)
    main[owner[keep_part]] = parts[keep_part]
    if len(stray):
        buf = shapely.buffer(parts[stray], SNAP)
        mains = np.asarray([m if m is not None else shapely.Polygon() for m in main], dtype=object)
        tree = shapely.STRtree(mains)
        si, ui = tree.query(buf, predicate="intersects")
        lengths = shapely.length(shapely.intersection(shapely.boundary(mains[ui]), buf[si]))
        adds: dict[int, list[BaseGeometry]] = {}
        for s in range(len(stray)):
            hit = si == s
            # an island with no neighbour stays with its unit (reported as non-contiguous)
            best = int(ui[hit][np.argmax(lengths[hit])]) if hit.any() else int(owner[stray[s]])
            adds.setdefault(best, []).append(parts[stray[s]])
        for u, extra in adds.items():
            base = main[u] if main[u] is not None else shapely.Polygon()
            main[u] = shapely.union_all([base, *extra])
    empty = np.asarray([m is None or shapely.is_empty(m) for m in main])
    if empty.any():
        alive = np.flatnonzero(~empty)
        tree = shapely.STRtree(main[alive])
        remap = np.arange(n, dtype=np.int64)
        for e in np.flatnonzero(empty).tolist():
            members = np.flatnonzero(b_unit == e)
            if len(members) == 0 or len(alive) == 0:
                remap[e] = -1
                continue
            near = tree.query_nearest(b_pts[members[0]])
            remap[e] = alive[int(near[0])]
        new_index = np.full(n, -1, dtype=np.int64)
        new_index[alive] = np.arange(len(alive))
        b_unit = new_index[remap[b_unit]] if len(b_unit) else b_unit
        main = main[alive]
        unit_ids = [unit_ids[i] for i in alive]
        kinds = [kinds[i] for i in alive]
        ucomp = [ucomp[i] for i in alive]
    return np.asarray(main, dtype=object), b_unit, unit_ids, kinds, ucomp
