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

This module decides the units and builds their graph; the cell geometry of steps 1-4 is
drawn by :mod:`gridgen.partition.cells`.

Adjacency: two units are neighbours when their cells share more than
:data:`MIN_SHARED_LENGTH` metres of boundary. Each edge carries the shared length and the
length of main road within :data:`ROAD_BUFFER` metres of the shared boundary (a main road
there means the edge is a natural grid boundary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.errors import NotFoundError
from gridgen.partition.cells import (
    make_disjoint,
    owner_cells,
    polygonal_cells,
    repair_cells,
    voronoi_split,
)

MIN_SHARED_LENGTH = 0.5
"""Metres of common boundary for two cells to count as neighbours (less is a corner)."""
ROAD_BUFFER = 20.0
"""Metres around a shared boundary within which a main road is said to run along it."""
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
    comp, bld = community_members(dataset, community_id)
    if building_ids is not None:
        bld = bld[bld["building_id"].astype(str).isin(building_ids)]
    b = _member_buildings(bld)
    c_ids, c_geom = _compound_cells(
        comp, region, b.compounds, redraw=area is not None and building_ids is not None
    )
    b_ci = _building_compounds(b.compounds, b.points, c_ids, c_geom)
    c_hh = np.bincount(b_ci[b_ci >= 0], weights=b.households[b_ci >= 0], minlength=len(c_ids))
    big = c_hh > band_max if not split_all else np.ones(len(c_ids), dtype=bool)

    # 2. owner cells: compounds and scattered buildings share out the remainder
    remainder = shapely.difference(region, shapely.union_all(c_geom)) if len(c_geom) else region
    scattered = np.flatnonzero(b_ci < 0)
    owner_geom = owner_cells(region, remainder, c_geom, b.points[scattered])
    units, b_unit = _owner_units(b, c_ids, b_ci, big=big, owner_geom=owner_geom)
    units.add_empty(region)
    cell_arr = np.empty(len(units.cells), dtype=object)
    cell_arr[:] = units.cells
    cell_arr, b_unit, unit_ids, kinds, ucomp = repair_cells(
        cell_arr, b_unit, b.points, units.ids, units.kinds, units.compounds
    )
    hh = np.bincount(b_unit, weights=b.households, minlength=len(unit_ids)).astype(np.int64)
    roads = main_road_lines(dataset, region)
    edges, shared, road_len = unit_adjacency(cell_arr, roads)
    return UnitGraph(
        community_id=community_id,
        crs=dataset.metric_crs,
        area=region,
        unit_ids=tuple(unit_ids),
        kinds=tuple(kinds),
        compound_ids=tuple(ucomp),
        households=hh,
        cells=cell_arr,
        building_ids=b.ids,
        building_unit=b_unit,
        edges=edges,
        shared_length=shared,
        road_length=road_len,
        main_roads=roads,
        big_compounds=tuple(str(c) for c in c_ids[big & (c_hh > band_max)]),
    )


class _MemberBuildings(NamedTuple):
    """The buildings being tessellated, as arrays (metric CRS)."""

    ids: NDArray[np.object_]
    households: IntArray
    points: NDArray[np.object_]
    compounds: NDArray[np.object_]
    """Compound id of each building ('' for a scattered building)."""


def _member_buildings(bld: gpd.GeoDataFrame) -> _MemberBuildings:
    """Return the ids, households, points on surface and compound ids of ``bld``."""
    b_comp = bld["compound_id"].astype(object).where(bld["compound_id"].notna(), "").to_numpy()
    return _MemberBuildings(
        ids=bld["building_id"].astype(str).to_numpy(dtype=object),
        households=np.asarray(
            pd.to_numeric(bld["households"], errors="coerce").fillna(0), dtype=np.int64
        ),
        points=shapely.point_on_surface(bld.geometry.to_numpy()),
        compounds=np.asarray([str(c) for c in b_comp], dtype=object),
    )


@dataclass
class _UnitList:
    """Units as they are made: the id, kind, compound and cell of each."""

    ids: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    compounds: list[str] = field(default_factory=list)
    cells: list[BaseGeometry] = field(default_factory=list)

    def add(self, unit_id: str, kind: str, compound: str, cell: BaseGeometry) -> int:
        """Append one unit; return its index."""
        self.ids.append(unit_id)
        self.kinds.append(kind)
        self.compounds.append(compound)
        self.cells.append(cell)
        return len(self.ids) - 1

    def add_empty(self, region: BaseGeometry) -> None:
        """Append an ``empty`` unit for every part of ``region`` (over 1 m²) no cell covers."""
        covered = shapely.union_all(np.asarray(self.cells, dtype=object)) if self.cells else None
        rest = region if covered is None else shapely.difference(region, covered)
        for part in shapely.get_parts(polygonal_cells(np.asarray([rest], dtype=object))[0]):
            if shapely.area(part) > 1.0:
                self.add(f"e:{len(self.ids)}", "empty", "", part)


def _owner_units(
    b: _MemberBuildings,
    c_ids: NDArray[np.object_],
    b_ci: IntArray,
    *,
    big: NDArray[np.bool_],
    owner_geom: NDArray[np.object_],
) -> tuple[_UnitList, IntArray]:
    """Return the compound, subunit (a big compound's buildings) and scattered-building
    units, and the unit of every building.

    ``owner_geom`` holds the compounds' cells, then the scattered buildings' cells.
    """
    units = _UnitList()
    b_unit = np.full(len(b.ids), -1, dtype=np.int64)
    n_comp = len(c_ids)
    for i in range(n_comp):
        members = np.flatnonzero(b_ci == i)
        if big[i] and len(members) > 1:
            sub_cells = voronoi_split(owner_geom[i], b.points[members])
            for k, m in enumerate(members):
                sub_id = f"{c_ids[i]}/{b.ids[m]}"
                b_unit[m] = units.add(sub_id, "subunit", str(c_ids[i]), sub_cells[k])
        else:
            b_unit[members] = units.add(str(c_ids[i]), "compound", str(c_ids[i]), owner_geom[i])
    for k, m in enumerate(np.flatnonzero(b_ci < 0)):
        b_unit[m] = units.add(f"b:{b.ids[m]}", "building", "", owner_geom[n_comp + k])
    return units, b_unit


def _compound_cells(
    comp: gpd.GeoDataFrame, region: BaseGeometry, b_comp: NDArray[np.object_], *, redraw: bool
) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """Return the compound ids and cells: clipped to the region, disjoint, non-empty.

    On a ``redraw`` of a free area, only compounds that hold free buildings (``b_comp``)
    or lie mostly inside the area are kept.
    """
    c_ids = comp["compound_id"].astype(str).to_numpy(dtype=object)
    c_geom = shapely.intersection(shapely.make_valid(comp.geometry.to_numpy()), region)
    c_geom = polygonal_cells(c_geom)
    if redraw:
        has_free = np.isin(c_ids, b_comp)
        full = shapely.area(shapely.make_valid(comp.geometry.to_numpy()))
        mostly = shapely.area(c_geom) > 0.5 * np.maximum(full, 1e-9)
        c_geom = c_geom.copy()
        c_geom[~(has_free | mostly)] = None
    c_geom = make_disjoint(c_geom)
    keep = ~shapely.is_empty(c_geom) & (shapely.area(c_geom) > 1.0)
    return c_ids[keep], c_geom[keep]


def _building_compounds(
    b_comp: NDArray[np.object_],
    b_pts: NDArray[np.object_],
    c_ids: NDArray[np.object_],
    c_geom: NDArray[np.object_],
) -> IntArray:
    """Return each building's compound index (its declared one, else the one holding it; -1)."""
    comp_index = {cid: i for i, cid in enumerate(c_ids)}
    b_ci = np.array([comp_index.get(c, -1) for c in b_comp], dtype=np.int64)
    loose = np.flatnonzero(b_ci < 0)
    if len(loose) and len(c_geom):
        tree = shapely.STRtree(c_geom)
        pi, ci = tree.query(b_pts[loose], predicate="within")
        b_ci[loose[pi]] = ci
    return b_ci


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
