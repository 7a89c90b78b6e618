"""Planning units of a community, their cells (a tessellation) and their adjacency graph.

A *unit* is what the partitioner moves between grids: a whole compound (小区), a building
of a compound too large for one grid (大小区单独建: such compounds are split by their
buildings), or a scattered building (散居楼栋). Every unit gets a *cell*; the cells tile
the community exactly, so a grid is the union of its units' cells:

1. compound polygons (clipped to the community, made disjoint) are cells as they are;
2. the rest of the community (roads, open land, scattered buildings) is shared out by a
   Voronoi diagram of seeds: the points of scattered buildings and points every few
   metres along compound edges, labelled with their unit. Each compound thus extends to
   the middle of the road or open space around it, so grid boundaries run along road
   centre lines and compound walls;
3. a compound above the band maximum has its cell split by a Voronoi diagram of its
   buildings;
4. parts of cells that end up disconnected from their unit are given to the neighbour they
   share the longest boundary with (so every cell is one polygon).

Adjacency: two units are neighbours when their cells share more than
:data:`MIN_SHARED_LENGTH` metres of boundary. Each edge carries the shared length and the
length of main road within :data:`ROAD_BUFFER` metres of the shared boundary (a main road
there means the edge is a natural grid boundary).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.errors import NotFoundError

MIN_SHARED_LENGTH = 0.5
"""Metres of common boundary for two cells to count as neighbours (less is a corner)."""
ROAD_BUFFER = 20.0
"""Metres around a shared boundary within which a main road is said to run along it."""
SMOOTHING = 0.0
"""Tolerance, in seed spacings, for smoothing the Voronoi lines that split open land.

Off: smoothing the cells removes short contacts between units (fewer neighbours, lower
band compliance: 95.7% → 93.0% at 0.5 on the generated city); grids are smoothed instead.
"""
SNAP = 0.05
"""Tolerance (metres) used to measure shared boundaries between cells."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class UnitGraph:
    """The planning units of one community (or of a free part of it) and their graph.

    Attributes
    ----------
    community_id
        The community.
    crs
        Metric CRS of every geometry here.
    area
        The area the cells tile (the community polygon, or its unlocked part).
    unit_ids, kinds, compound_ids
        Per unit: a stable id (``compound_id``, ``compound_id/building_id`` for a building
        of a split compound, ``b:building_id`` for a scattered building, ``e:n`` for an
        empty piece of land), its kind (``compound``, ``subunit``, ``building``, ``empty``)
        and its compound (empty string when none).
    households
        Households per unit.
    cells
        Cell polygon per unit (metric CRS).
    building_ids, building_unit
        Every building of the community and the index of its unit.
    edges
        ``(m, 2)`` unit index pairs ``i < j``.
    shared_length, road_length
        Per edge: metres of shared boundary and metres of main road along it.
    main_roads
        Main road lines inside the area (may be empty).
    big_compounds
        Compounds whose households exceed the band maximum (split by buildings).
    """

    community_id: str
    crs: object
    area: BaseGeometry
    unit_ids: tuple[str, ...]
    kinds: tuple[str, ...]
    compound_ids: tuple[str, ...]
    households: IntArray
    cells: NDArray[np.object_]
    building_ids: NDArray[np.object_]
    building_unit: IntArray
    edges: IntArray
    shared_length: FloatArray
    road_length: FloatArray
    main_roads: BaseGeometry
    big_compounds: tuple[str, ...]

    @property
    def n(self) -> int:
        """Return the number of units."""
        return len(self.unit_ids)

    def centroids(self) -> FloatArray:
        """Return the ``(n, 2)`` cell centroids."""
        return shapely.get_coordinates(shapely.centroid(self.cells))

    def areas(self) -> FloatArray:
        """Return the cell areas (m²)."""
        return np.asarray(shapely.area(self.cells), dtype=float)

    def perimeters(self) -> FloatArray:
        """Return the cell perimeters (m)."""
        return np.asarray(shapely.length(self.cells), dtype=float)

    def frame(self) -> gpd.GeoDataFrame:
        """Return the units as a GeoDataFrame (metric CRS), for inspection and maps."""
        return gpd.GeoDataFrame(
            {
                "unit_id": list(self.unit_ids),
                "kind": list(self.kinds),
                "compound_id": list(self.compound_ids),
                "households": self.households,
            },
            geometry=gpd.GeoSeries(self.cells, crs=self.crs),
            crs=self.crs,
        )


def community_geometry(dataset: Dataset, community_id: str) -> BaseGeometry:
    """Return the polygon of ``community_id`` in the dataset's metric CRS."""
    comms = dataset.metric("communities")
    hit = np.flatnonzero(comms["community_id"].astype(str).to_numpy() == community_id)
    if len(hit) == 0:
        msg = (
            f"community {community_id!r} is not in the dataset: "
            "pass one of the community_id values of the communities layer"
        )
        raise NotFoundError(msg)
    geom = shapely.make_valid(comms.geometry.iloc[int(hit[0])])
    return shapely.union_all(shapely.get_parts(geom)[shapely.area(shapely.get_parts(geom)) > 0])


def community_members(
    dataset: Dataset, community_id: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the compounds and buildings of ``community_id`` (metric CRS, sorted by id)."""
    comp = dataset.metric("compounds")
    bld = dataset.metric("buildings")
    comp = comp[_community_column(comp) == community_id]
    bld = bld[_community_column(bld) == community_id]
    return (
        comp.sort_values("compound_id", kind="stable"),
        bld.sort_values("building_id", kind="stable"),
    )


def _community_column(frame: gpd.GeoDataFrame) -> NDArray[np.object_]:
    if "community_id" not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return np.asarray(frame["community_id"].to_numpy(dtype=object, na_value=None), dtype=object)


def main_road_lines(dataset: Dataset, area: BaseGeometry) -> BaseGeometry:
    """Return the main roads (kind ``main``) inside ``area`` as one geometry (metric CRS)."""
    roads = dataset.metric("roads")
    if len(roads) == 0 or "kind" not in roads.columns:
        return shapely.GeometryCollection()
    idx = roads.sindex.query(area, predicate="intersects")
    if len(idx) == 0:
        return shapely.GeometryCollection()
    sub = roads.iloc[np.sort(idx)]
    lines = sub.geometry.to_numpy()[sub["kind"].astype(str).to_numpy() == "main"]
    if len(lines) == 0:
        return shapely.GeometryCollection()
    return shapely.intersection(shapely.union_all(lines), area)


def build_units(
    dataset: Dataset,
    community_id: str,
    *,
    band_max: float,
    area: BaseGeometry | None = None,
    building_ids: set[str] | None = None,
    split_all: bool = False,
) -> UnitGraph:
    """Return the planning units, cells and adjacency graph of one community.

    Parameters
    ----------
    dataset
        A validated dataset.
    community_id
        The community to tessellate.
    band_max
        Households above which a compound is split into one unit per building.
    area
        Part of the community to tile (default: the whole community). Used to redraw the
        unlocked part of a community.
    building_ids
        Restrict to these buildings (default: every building of the community).
    split_all
        Split every compound into its buildings (fine cells for single-building edits).

    Returns
    -------
    UnitGraph
        Units whose cells tile ``area``.
    """
    community = community_geometry(dataset, community_id)
    region = community if area is None else shapely.intersection(area, community)
    crs = dataset.metric_crs
    comp, bld = community_members(dataset, community_id)
    if building_ids is not None:
        bld = bld[bld["building_id"].astype(str).isin(building_ids)]
    b_ids = bld["building_id"].astype(str).to_numpy(dtype=object)
    b_hh = np.asarray(pd.to_numeric(bld["households"], errors="coerce").fillna(0), dtype=np.int64)
    b_pts = shapely.point_on_surface(bld.geometry.to_numpy())
    b_comp = bld["compound_id"].astype(object).where(bld["compound_id"].notna(), "").to_numpy()
    b_comp = np.asarray([str(c) for c in b_comp], dtype=object)

    # 1. compound cells: clipped to the region, disjoint, non-empty
    c_ids = comp["compound_id"].astype(str).to_numpy(dtype=object)
    c_geom = shapely.intersection(shapely.make_valid(comp.geometry.to_numpy()), region)
    c_geom = _polygonal(c_geom)
    if area is not None and building_ids is not None:
        # redraw of a free area: keep compounds that hold free buildings or lie mostly inside
        has_free = np.isin(c_ids, b_comp)
        full = shapely.area(shapely.make_valid(comp.geometry.to_numpy()))
        mostly = shapely.area(c_geom) > 0.5 * np.maximum(full, 1e-9)
        c_geom = c_geom.copy()
        c_geom[~(has_free | mostly)] = None
    c_geom = _make_disjoint(c_geom)
    keep = ~shapely.is_empty(c_geom) & (shapely.area(c_geom) > 1.0)
    c_ids, c_geom = c_ids[keep], c_geom[keep]

    # which compound each building belongs to (declared compound kept, else containing one)
    comp_index = {cid: i for i, cid in enumerate(c_ids)}
    b_ci = np.array([comp_index.get(c, -1) for c in b_comp], dtype=np.int64)
    loose = np.flatnonzero(b_ci < 0)
    if len(loose) and len(c_geom):
        tree = shapely.STRtree(c_geom)
        pi, ci = tree.query(b_pts[loose], predicate="within")
        b_ci[loose[pi]] = ci
    c_hh = np.bincount(b_ci[b_ci >= 0], weights=b_hh[b_ci >= 0], minlength=len(c_ids))
    big = c_hh > band_max if not split_all else np.ones(len(c_ids), dtype=bool)

    # 2. owner cells: compounds and scattered buildings share out the remainder
    remainder = shapely.difference(region, shapely.union_all(c_geom)) if len(c_geom) else region
    scattered = np.flatnonzero(b_ci < 0)
    owner_geom = _owner_cells(region, remainder, c_geom, b_pts[scattered])
    n_comp = len(c_ids)

    unit_ids: list[str] = []
    kinds: list[str] = []
    ucomp: list[str] = []
    cells: list[BaseGeometry] = []
    b_unit = np.full(len(b_ids), -1, dtype=np.int64)
    for i in range(n_comp):
        members = np.flatnonzero(b_ci == i)
        if big[i] and len(members) > 1:
            sub_cells = _voronoi_split(owner_geom[i], b_pts[members])
            for k, m in enumerate(members):
                unit_ids.append(f"{c_ids[i]}/{b_ids[m]}")
                kinds.append("subunit")
                ucomp.append(str(c_ids[i]))
                cells.append(sub_cells[k])
                b_unit[m] = len(unit_ids) - 1
        else:
            unit_ids.append(str(c_ids[i]))
            kinds.append("compound")
            ucomp.append(str(c_ids[i]))
            cells.append(owner_geom[i])
            b_unit[members] = len(unit_ids) - 1
    for k, m in enumerate(scattered):
        unit_ids.append(f"b:{b_ids[m]}")
        kinds.append("building")
        ucomp.append("")
        cells.append(owner_geom[n_comp + k])
        b_unit[m] = len(unit_ids) - 1
    covered = shapely.union_all(np.asarray(cells, dtype=object)) if cells else None
    rest = region if covered is None else shapely.difference(region, covered)
    for part in shapely.get_parts(_polygonal(np.asarray([rest], dtype=object))[0]):
        if shapely.area(part) > 1.0:
            unit_ids.append(f"e:{len(unit_ids)}")
            kinds.append("empty")
            ucomp.append("")
            cells.append(part)

    cell_arr = np.empty(len(cells), dtype=object)
    cell_arr[:] = cells
    cell_arr, b_unit, unit_ids, kinds, ucomp = _repair_cells(
        cell_arr, b_unit, b_pts, unit_ids, kinds, ucomp
    )
    hh = np.bincount(b_unit, weights=b_hh, minlength=len(unit_ids)).astype(np.int64)
    roads = main_road_lines(dataset, region)
    edges, shared, road_len = unit_adjacency(cell_arr, roads)
    return UnitGraph(
        community_id=community_id,
        crs=crs,
        area=region,
        unit_ids=tuple(unit_ids),
        kinds=tuple(kinds),
        compound_ids=tuple(ucomp),
        households=hh,
        cells=cell_arr,
        building_ids=b_ids,
        building_unit=b_unit,
        edges=edges,
        shared_length=shared,
        road_length=road_len,
        main_roads=roads,
        big_compounds=tuple(str(c) for c in c_ids[big & (c_hh > band_max)]),
    )


def _polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
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


def _make_disjoint(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
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
    return _polygonal(out)


def seed_spacing(region: BaseGeometry) -> float:
    """Return the spacing (m) of seed points along compound edges for ``region``."""
    return float(np.clip(np.sqrt(shapely.area(region)) / 35.0, 5.0, 40.0))


def _owner_cells(
    region: BaseGeometry,
    remainder: BaseGeometry,
    c_geom: NDArray[np.object_],
    s_pts: NDArray[np.object_],
) -> NDArray[np.object_]:
    """Return one cell per compound then per scattered building, tiling ``region``."""
    n_c, n_s = len(c_geom), len(s_pts)
    out = np.empty(n_c + n_s, dtype=object)
    out[:n_c] = c_geom
    out[n_c:] = [shapely.Polygon()] * n_s
    if n_c + n_s == 0 or shapely.area(remainder) <= 0:
        return out
    spacing = seed_spacing(region)
    rings = shapely.segmentize(shapely.boundary(c_geom), spacing) if n_c else c_geom
    coords, idx = (
        shapely.get_coordinates(rings, return_index=True)
        if n_c
        else (np.empty((0, 2)), np.empty(0, dtype=np.int64))
    )
    s_xy = shapely.get_coordinates(s_pts) if n_s else np.empty((0, 2))
    xy = np.vstack([s_xy, coords])
    labels = np.concatenate([n_c + np.arange(n_s), idx]).astype(np.int64)
    # scattered buildings first, so a building on a compound edge keeps its own seed
    _, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    first = np.sort(first)
    xy, labels = xy[first], labels[first]
    if len(xy) == 1:
        out[labels[0]] = shapely.union(out[labels[0]], remainder)
        return out
    vor = _voronoi_cells(xy, region)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    shares = np.full(n_c + n_s, None, dtype=object)
    for group in np.split(order, bounds):
        cells = vor[group]
        cells = cells[~shapely.is_empty(cells)]
        if len(cells):
            shares[int(labels[group[0]])] = _union_coverage(cells)
    has = np.flatnonzero(shares != None)  # noqa: E711 (element-wise)
    clipped = _polygonal(shapely.intersection(shares[has], remainder))
    # the lines between shares are Voronoi zigzags (seeds every `spacing` m): smooth them
    # as a coverage; the coverage's own boundary (compound edges, community outline) is kept
    ok = ~shapely.is_empty(clipped)
    if SMOOTHING > 0 and ok.sum() > 1:
        try:
            smooth = shapely.coverage_simplify(
                clipped[ok], SMOOTHING * spacing, simplify_boundary=False
            )
            if shapely.is_valid(smooth).all():
                clipped[ok] = smooth
        except shapely.errors.GEOSException:
            pass
    for lab, share in zip(has.tolist(), clipped, strict=True):
        out[lab] = shapely.union(out[lab], share) if lab < n_c else share
    return _polygonal(out)


def _union_coverage(cells: NDArray[np.object_]) -> BaseGeometry:
    """Return the union of edge-matched cells (fast coverage union, robust fallback)."""
    if len(cells) == 1:
        first: BaseGeometry = cells[0]
        return first
    try:
        out = shapely.coverage_union_all(cells)
    except shapely.errors.GEOSException:
        return shapely.union_all(cells)
    if out.geom_type not in ("Polygon", "MultiPolygon") or not out.is_valid:
        return shapely.union_all(cells)
    return out


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
        vor[bad] = _polygonal(shapely.make_valid(vor[bad]))
    return np.asarray(shapely.transform(vor, lambda c: c + origin), dtype=object)


def _voronoi_split(cell: BaseGeometry, pts: NDArray[np.object_]) -> list[BaseGeometry]:
    """Return ``cell`` split among ``pts`` by their Voronoi diagram (one piece per point)."""
    xy = shapely.get_coordinates(pts)
    _, first, inverse = np.unique(np.round(xy, 3), axis=0, return_index=True, return_inverse=True)
    pieces: list[BaseGeometry] = [shapely.Polygon()] * len(pts)
    if len(first) == 1:
        pieces[0] = cell
        return pieces
    vor = _voronoi_cells(xy[first], cell)
    clipped = _polygonal(shapely.intersection(vor, cell))
    for k in range(len(pts)):
        u = int(inverse.ravel()[k])
        # duplicates of a point: the first building with it takes the piece
        if int(first[u]) == k:
            pieces[k] = clipped[u]
    return pieces


def _repair_cells(  # noqa: PLR0917
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


def unit_adjacency(
    cells: NDArray[np.object_], main_roads: BaseGeometry
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Return the edges ``(i, j)``, shared boundary lengths and main-road lengths.

    Parameters
    ----------
    cells
        Cell polygons (metric CRS).
    main_roads
        Main road lines.

    Returns
    -------
    tuple
        ``(edges (m, 2) with i < j, shared_length (m,), road_length (m,))``.
    """
    if len(cells) < 2:
        return np.empty((0, 2), dtype=np.int64), np.empty(0), np.empty(0)
    tree = shapely.STRtree(cells)
    a, b = tree.query(cells, predicate="intersects")
    sel = a < b
    a, b = a[sel], b[sel]
    if len(a) == 0:
        return np.empty((0, 2), dtype=np.int64), np.empty(0), np.empty(0)
    # exact intersection: cells from one overlay chain share their vertices, so touching
    # cells meet in lines; a buffered test would also join cells that are separated by a
    # sliver of a third cell (their union would then not be one polygon)
    inter = shapely.intersection(cells[a], cells[b])
    overlap = shapely.area(inter) > 1e-6
    shared = np.asarray(shapely.length(inter), dtype=float)
    if overlap.any():
        shared[overlap] = shapely.length(
            shapely.intersection(shapely.boundary(cells[a[overlap]]), inter[overlap])
        )
    keep = (shared > MIN_SHARED_LENGTH) | overlap
    shared_lines = inter
    a, b, shared, shared_lines = a[keep], b[keep], shared[keep], shared_lines[keep]
    road = np.zeros(len(a))
    if not shapely.is_empty(main_roads) and len(a):
        # only edges near a road get a buffer; road pieces are intersected pairwise
        parts = shapely.get_parts(main_roads)
        ei, ri = shapely.STRtree(parts).query(
            shared_lines, predicate="dwithin", distance=ROAD_BUFFER
        )
        if len(ei):
            near, inv = np.unique(ei, return_inverse=True)
            zones = shapely.buffer(shared_lines[near], ROAD_BUFFER, cap_style="flat", quad_segs=2)
            lens = shapely.length(shapely.intersection(zones[inv], parts[ri]))
            road = np.bincount(ei, weights=lens, minlength=len(a)).astype(float)
    edges = np.column_stack([a, b]).astype(np.int64)
    return edges, shared, road
