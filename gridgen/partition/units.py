"""Planning units of a community, their cells (a tessellation) and their adjacency graph.

A *unit* is what the partitioner moves between grids: a whole compound (小区), a building
of a compound too large for one grid (大小区单独建: such compounds are split by their
buildings), a scattered building (散居楼栋), or a piece of empty land. Every unit gets a
*cell*; the cells tile the community exactly, so a grid is the union of its units' cells.
Buildings whose footprints overlap are in one unit (:mod:`gridgen.partition.overlaps`).

The cells come from the ground (:mod:`gridgen.partition.ground`,
:mod:`gridgen.partition.open_land`): the community is cut by its roads (and rivers,
railways and walls of the ``barriers`` layer) into enclosures,
compounds keep their outlines, and the open land of each enclosure goes to the nearest
compound edge or scattered building of that enclosure; an enclosure with nothing in it, and
open land far from every owner, is a unit of empty land. A compound above the band maximum
has its cell split by a Voronoi diagram of its buildings. All of it is one noding of the
community's linework into faces (:mod:`gridgen.partition.faces`); a unit's cell is the
coverage union of its faces, and faces of a unit cut off from its main piece join the
neighbour they share the longest boundary with.

Adjacency: two units are neighbours when their cells share more than
:data:`gridgen.partition.ground.MIN_SHARED_LENGTH` metres of boundary. Each edge carries
the shared length and its length per kind of ground (main road, river or railway, minor
road, path, near a compound wall, open land: :data:`gridgen.partition.ground.KINDS`), from
which the partitioner's cut costs come. The roads, rivers, railways and walls are those of
:mod:`gridgen.partition.linework`.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from gridgen.partition.cells import make_disjoint, polygonal_cells
from gridgen.partition.faces import contiguous_labels, grouped_unions
from gridgen.partition.ground import KINDS, solid_parts, unit_edges
from gridgen.partition.linework import cutting_lines, ground_lines
from gridgen.partition.open_land import GroundFaces, ground_faces
from gridgen.partition.overlaps import overlap_hosts

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
        Per edge: metres of shared boundary and metres of it on a main road.
    edge_kinds
        ``(m, len(KINDS))`` metres of each shared boundary per kind of ground.
    main_roads
        Main road lines inside the area (may be empty).
    enclosures
        The enclosures with nothing in them (each a unit of empty land).
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
    edge_kinds: FloatArray
    main_roads: BaseGeometry
    big_compounds: tuple[str, ...]
    enclosures: NDArray[np.object_]

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

    def unit_mates(self, buildings: Iterable[str]) -> dict[str, list[str]]:
        """Return, for each of ``buildings`` in a unit with others (buildings whose
        footprints overlap are one unit), every building of its unit, itself included."""
        wanted = {str(b) for b in buildings}
        ids = [str(b) for b in self.building_ids]
        units = {int(u) for b, u in zip(ids, self.building_unit, strict=True) if b in wanted}
        members: dict[int, list[str]] = {}
        for b, u in zip(ids, self.building_unit.tolist(), strict=True):
            if u in units:
                members.setdefault(u, []).append(b)
        return {
            b: sorted(members[int(u)])
            for b, u in zip(ids, self.building_unit, strict=True)
            if b in wanted and len(members[int(u)]) > 1
        }

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
    """Return the compounds and buildings of ``community_id`` (metric CRS, sorted by id).

    The rows of every community are found once per dataset (:meth:`Dataset.derived`), not
    by a scan of the whole layer per community.
    """
    rows = dataset.derived("partition.community_rows", _community_rows)
    comp_rows, bld_rows = rows.get(community_id, (_NO_ROWS, _NO_ROWS))
    return dataset.metric("compounds").iloc[comp_rows], dataset.metric("buildings").iloc[bld_rows]


_NO_ROWS = np.zeros(0, dtype=np.int64)


def _community_rows(dataset: Dataset) -> dict[str, tuple[IntArray, IntArray]]:
    """Return per community the positions of its compounds and buildings, sorted by id."""
    found = [
        _rows_by_community(dataset.metric(layer), key)
        for layer, key in (("compounds", "compound_id"), ("buildings", "building_id"))
    ]
    return {
        c: (found[0].get(c, _NO_ROWS), found[1].get(c, _NO_ROWS)) for c in {*found[0], *found[1]}
    }


def _rows_by_community(frame: gpd.GeoDataFrame, key: str) -> dict[str, IntArray]:
    """Return per community the positions of its rows in ``frame``, sorted by ``key``."""
    comm = _community_column(frame)
    known = np.flatnonzero([c is not None for c in comm])
    if len(known) == 0:
        return {}
    names = np.asarray([str(c) for c in comm[known]], dtype=object)
    ids = frame[key].astype(str).to_numpy()[known]
    order = np.lexsort((ids, names))
    names, rows = names[order], known[order]
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    return {
        str(names[a]): rows[a:b].astype(np.int64)
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    }


def _community_column(frame: gpd.GeoDataFrame) -> NDArray[np.object_]:
    if "community_id" not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return np.asarray(frame["community_id"].to_numpy(dtype=object, na_value=None), dtype=object)


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
    region = community if area is None else solid_parts(shapely.intersection(area, community))
    comp, bld = community_members(dataset, community_id)
    if building_ids is not None:
        bld = bld[bld["building_id"].astype(str).isin(building_ids)]
    b = _member_buildings(bld)
    host = overlap_hosts(shapely.make_valid(bld.geometry.to_numpy()), b.compounds)
    seeded = host == np.arange(len(host))  # a building inside another joins its unit
    c_ids, c_geom = _compound_cells(
        comp, region, b.compounds, redraw=area is not None and building_ids is not None
    )
    b_ci = _building_compounds(b.compounds, b.points, c_ids, c_geom)
    c_hh = np.bincount(b_ci[b_ci >= 0], weights=b.households[b_ci >= 0], minlength=len(c_ids))
    big = c_hh > band_max if not split_all else np.ones(len(c_ids), dtype=bool)

    lines = ground_lines(dataset, region)
    members = _compound_members(np.where(seeded, b_ci, -1), len(c_ids))
    splits = {
        i: _split_points(b.points[members[i]])
        for i in np.flatnonzero(big).tolist()
        if len(members[i]) > 1
    }
    scattered = np.flatnonzero((b_ci < 0) & seeded)
    ground = ground_faces(
        region,
        cutting_lines(lines),
        c_geom,
        b.points[scattered],
        splits={i: s.xy for i, s in splits.items()},
        apart=lines["barrier"],
    )
    units, b_unit, face_unit = _unit_table(
        b, c_ids, members=members, splits=splits, scattered=scattered, ground=ground
    )
    b_unit = b_unit[host]
    face_unit = contiguous_labels(face_unit, ground.faces, ground.segments)
    cell_arr, b_unit, face_unit, alive = _alive_cells(ground.faces, face_unit, b_unit, b.points)
    unit_ids = [units.ids[i] for i in alive]
    kinds = [units.kinds[i] for i in alive]
    ucomp = [units.compounds[i] for i in alive]
    hh = np.bincount(b_unit, weights=b.households, minlength=len(unit_ids)).astype(np.int64)
    edges, shared, lengths = unit_edges(face_unit, ground.segments, lines, c_geom)
    empty = np.asarray([k == "empty" for k in kinds], dtype=bool)
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
        road_length=lengths[:, KINDS.index("main")],
        edge_kinds=lengths,
        main_roads=(
            shapely.intersection(shapely.union_all(lines["main"]), region)
            if len(lines["main"])
            else shapely.GeometryCollection()
        ),
        big_compounds=tuple(str(c) for c in c_ids[big & (c_hh > band_max)]),
        enclosures=cell_arr[empty],
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
    """Units as they are made: the id, kind and compound of each."""

    ids: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    compounds: list[str] = field(default_factory=list)

    def add(self, unit_id: str, kind: str, compound: str) -> int:
        """Append one unit; return its index."""
        self.ids.append(unit_id)
        self.kinds.append(kind)
        self.compounds.append(compound)
        return len(self.ids) - 1


class _Split(NamedTuple):
    """The buildings of a split compound as Voronoi seeds."""

    xy: FloatArray
    """Distinct points (rounded to 1 mm, jittered: co-circular seeds are broken)."""
    first: IntArray
    """Per point, the member (index in the compound's members) that holds it."""


def _split_points(points: NDArray[np.object_]) -> _Split:
    """Return the distinct points of a compound's buildings (the first building keeps a
    point shared by several; the others get no land and join their nearest unit)."""
    xy = shapely.get_coordinates(points)
    _, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    first = np.sort(first)
    jitter = np.random.default_rng(len(first)).uniform(-0.02, 0.02, size=(len(first), 2))
    return _Split(xy[first] + jitter, first.astype(np.int64))


def _compound_members(b_ci: IntArray, n_c: int) -> list[IntArray]:
    """Return the buildings of each compound (in building order)."""
    order = np.argsort(b_ci, kind="stable")
    starts = np.searchsorted(b_ci[order], np.arange(n_c + 1))
    return [order[starts[i] : starts[i + 1]].astype(np.int64) for i in range(n_c)]


def _unit_table(
    b: _MemberBuildings,
    c_ids: NDArray[np.object_],
    *,
    members: list[IntArray],
    splits: dict[int, _Split],
    scattered: IntArray,
    ground: GroundFaces,
) -> tuple[_UnitList, IntArray, IntArray]:
    """Return the units (compounds, subunits of split compounds, scattered buildings, land),
    the unit of every building and the unit of every face."""
    units = _UnitList()
    b_unit = np.full(len(b.ids), -1, dtype=np.int64)
    n_comp = len(c_ids)
    comp_unit = np.full(n_comp, -1, dtype=np.int64)
    for i in range(n_comp):
        cid = str(c_ids[i])
        if i in splits:
            for m in members[i].tolist():
                b_unit[m] = units.add(f"{cid}/{b.ids[m]}", "subunit", cid)
        else:
            comp_unit[i] = units.add(cid, "compound", cid)
            b_unit[members[i]] = comp_unit[i]
    for m in scattered.tolist():
        b_unit[m] = units.add(f"b:{b.ids[m]}", "building", "")
    land_base = len(units.ids)
    for _ in range(ground.n_land):
        units.add(f"e:{len(units.ids)}", "empty", "")
    owner, face_unit = ground.owner, np.full(len(ground.faces), -1, dtype=np.int64)
    comp = (owner >= 0) & (owner < n_comp)
    face_unit[comp] = comp_unit[owner[comp]]
    for i, split in splits.items():
        mine = np.flatnonzero(owner == i)
        face_unit[mine] = b_unit[members[i][split.first[ground.member[mine]]]]
    loose = owner >= n_comp
    face_unit[loose] = b_unit[scattered[owner[loose] - n_comp]]
    face_unit[owner < 0] = land_base + ground.land[owner < 0]
    return units, b_unit, face_unit


def _alive_cells(
    faces: NDArray[np.object_],
    face_unit: IntArray,
    b_unit: IntArray,
    b_pts: NDArray[np.object_],
) -> tuple[NDArray[np.object_], IntArray, IntArray, IntArray]:
    """Return the cells of units holding land, buildings and faces renumbered to them, and
    the old index of each kept unit.

    A unit without land (a building whose seed was shadowed) gives its buildings to the
    unit whose cell holds or is nearest to its first building.
    """
    n = max(int(face_unit.max()) + 1 if len(face_unit) else 0, int(b_unit.max(initial=-1)) + 1)
    cells = grouped_unions(faces, face_unit, n)
    alive = np.flatnonzero(~shapely.is_empty(cells))
    remap = np.full(n, -1, dtype=np.int64)
    remap[alive] = np.arange(len(alive))
    dead = np.flatnonzero(shapely.is_empty(cells))
    if len(dead) and len(alive):
        tree = shapely.STRtree(cells[alive])
        for e in dead.tolist():
            held = np.flatnonzero(b_unit == e)
            if len(held):
                remap[e] = int(tree.query_nearest(b_pts[held[0]])[0])
    b_new = remap[b_unit] if len(b_unit) else b_unit
    return cells[alive], b_new, remap[face_unit], alive


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
