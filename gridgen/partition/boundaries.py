"""Where grid boundaries run: the share of interior boundary that lies on the ground.

A grid boundary a resident can see runs along a road, a compound wall, a river or a railway
(地理布局). :func:`boundary_on_ground` measures, over the *interior* boundaries of a plan
(grid boundaries inside communities: community outlines are not counted), the share of
length within :data:`GROUND_DISTANCE` metres of a road, a compound edge or a line of the
``barriers`` layer (river, railway, wall), of a road alone and of a main road alone
(docs/rules.md, "Boundaries on the ground").

Each grid's boundary is measured (an interior boundary counts from both its sides, which
makes the share independent of how exactly neighbouring grids' edges match); the lines
are cut into pieces of at most :data:`PIECE_METRES` and a piece counts when its
midpoint is near enough (a spatial-index query, no buffer unions: a city of 273k
households is measured in well under a second).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset

GROUND_DISTANCE = 15.0
"""Metres from a road or compound edge within which a boundary counts as on the ground."""
PIECE_METRES = 5.0
"""Longest piece of boundary judged by its midpoint."""


@dataclass(frozen=True)
class GroundShare:
    """Interior grid boundary length and the shares of it on the ground.

    Attributes
    ----------
    length_m
        Interior boundary length (metres).
    ground, road, main_road
        Shares of that length within :data:`GROUND_DISTANCE` of a road or a compound edge,
        of a road (any kind), of a main road.
    """

    length_m: float
    ground: float
    road: float
    main_road: float


def interior_boundary(
    grids: NDArray[np.object_], outlines: NDArray[np.object_]
) -> NDArray[np.object_]:
    """Return each grid's boundary (metric) off the community outlines, as line parts.

    Every interior boundary appears twice (once per grid beside it), so shares computed on
    it do not depend on whether two neighbours' edges are vertex-for-vertex the same.
    """
    if len(grids) == 0:
        return np.zeros(0, dtype=object)
    rims = shapely.buffer(shapely.union_all(shapely.boundary(outlines)), 0.5, quad_segs=1)
    own = shapely.difference(shapely.boundary(grids), rims)
    parts = shapely.get_parts(shapely.get_parts(own))
    return np.asarray(parts[np.isin(shapely.get_type_id(parts), (1, 2))], dtype=object)


def _near(
    mids: NDArray[np.object_], lines: NDArray[np.object_], within: float
) -> NDArray[np.bool_]:
    out = np.zeros(len(mids), dtype=bool)
    if len(lines) == 0 or len(mids) == 0:
        return out
    hit, _ = shapely.STRtree(lines).query(mids, predicate="dwithin", distance=within)
    out[np.unique(hit)] = True
    return out


@dataclass(frozen=True)
class _Pieces:
    """Pieces of interior boundary (at most :data:`PIECE_METRES`): midpoints and lengths."""

    length_m: float
    mids: NDArray[np.object_]
    lengths: NDArray[np.float64]


def _pieces(dataset: Dataset, grids: gpd.GeoDataFrame) -> _Pieces:
    """Return the interior boundary of ``grids`` (any CRS) cut into pieces."""
    metric = grids.to_crs(dataset.metric_crs)
    comms = dataset.metric("communities")
    inner = interior_boundary(metric.geometry.to_numpy(), comms.geometry.to_numpy())
    length = float(shapely.length(inner).sum()) / 2.0  # counted from both sides
    parts = shapely.get_parts(shapely.segmentize(inner, PIECE_METRES))
    xy, owner = shapely.get_coordinates(parts, return_index=True)
    seg_a, seg_b = xy[:-1], xy[1:]
    same = owner[:-1] == owner[1:]
    seg_a, seg_b = seg_a[same], seg_b[same]
    mids = np.asarray(shapely.points((seg_a + seg_b) / 2.0), dtype=object)
    return _Pieces(length, mids, np.hypot(*(seg_b - seg_a).T))


def _ground(
    dataset: Dataset, mids: NDArray[np.object_], within: float
) -> dict[str, NDArray[np.bool_]]:
    """Return per piece whether it is near a road, a main road, a compound edge or a line of
    the ``barriers`` layer (river, railway, wall: "wall" below)."""
    roads = dataset.metric("roads")
    road_lines = roads.geometry.to_numpy()
    kind = roads["kind"].astype(str).to_numpy() if "kind" in roads.columns else np.array([])
    main_lines = road_lines[kind == "main"] if len(kind) else road_lines[:0]
    walls = shapely.boundary(dataset.metric("compounds").geometry.to_numpy())
    barriers = dataset.metric("barriers").geometry.to_numpy()
    return {
        "road": _near(mids, road_lines, within),
        "main": _near(mids, main_lines, within),
        "wall": _near(mids, np.asarray([*walls, *barriers], dtype=object), within),
    }


def boundary_on_ground(
    dataset: Dataset, grids: gpd.GeoDataFrame, *, within: float = GROUND_DISTANCE
) -> GroundShare:
    """Return the interior boundary of ``grids`` (any CRS) and the shares on the ground.

    Parameters
    ----------
    dataset
        The dataset the grids were drawn on (its roads, compounds and communities).
    grids
        Grid polygons with ``community_id``.
    within
        Metres from a road or compound edge that count as on the ground.
    """
    pieces = _pieces(dataset, grids)
    if pieces.length_m <= 0:
        return GroundShare(0.0, 1.0, 1.0, 1.0)
    near = _ground(dataset, pieces.mids, within)
    seg_len = pieces.lengths
    total = float(seg_len.sum()) or 1.0
    return GroundShare(
        length_m=pieces.length_m,
        ground=float(seg_len[near["road"] | near["wall"]].sum()) / total,
        road=float(seg_len[near["road"]].sum()) / total,
        main_road=float(seg_len[near["main"]].sum()) / total,
    )


@dataclass(frozen=True)
class OffGround:
    """Where the interior boundary *not* on the ground runs (shares of all interior boundary).

    Attributes
    ----------
    big_compounds
        Inside a compound with more households than the band maximum: such a compound is
        split by its buildings (大小区单独建), and the cuts between its buildings run on a
        road only where the compound has internal roads (小区内部道路).
    big_roadless
        The part of ``big_compounds`` inside compounds with no road line inside them: there
        no cut between the buildings can run on a road or a wall.
    compounds
        Inside any other compound (one a grid could have held whole).
    buildings
        Outside compounds, within :data:`GROUND_DISTANCE` of a building without a compound
        (scattered buildings with no wall around them).
    open_land
        Anywhere else (open land between compounds or buildings, far from any).
    """

    big_compounds: float
    big_roadless: float
    compounds: float
    buildings: float
    open_land: float

    def ground_without_big(self, ground: float) -> float:
        """Return the share on the ground of the boundary outside big compounds."""
        rest = 1.0 - self.big_compounds
        return ground / rest if rest > 0 else 1.0


def off_ground(
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    *,
    band_max: float,
    within: float = GROUND_DISTANCE,
) -> OffGround:
    """Return where the interior boundary of ``grids`` off the ground runs (:class:`OffGround`).

    A piece of boundary (at most :data:`PIECE_METRES`) farther than ``within`` from every
    road and compound edge is classed by its midpoint: inside a compound above
    ``band_max`` households (and of these, those with no road inside), inside another
    compound, near a building outside compounds, or open land.
    """
    pieces = _pieces(dataset, grids)
    if pieces.length_m <= 0:
        return OffGround(0.0, 0.0, 0.0, 0.0, 0.0)
    near = _ground(dataset, pieces.mids, within)
    off = np.flatnonzero(~(near["road"] | near["wall"]))
    mids = pieces.mids[off]
    comps = dataset.metric("compounds")
    bld = dataset.metric("buildings")
    hh = bld.groupby(bld["compound_id"].astype(str))["households"].sum()
    big = comps["compound_id"].astype(str).map(hh).fillna(0).to_numpy() > band_max
    c_geoms = comps.geometry.to_numpy()
    in_big = _near(mids, np.asarray(c_geoms[big], dtype=object), 0.0)
    roads = dataset.metric("roads").geometry.to_numpy()
    crossed = np.zeros(len(c_geoms), dtype=bool)
    if len(roads) and len(c_geoms):
        inner = shapely.buffer(np.asarray(c_geoms, dtype=object), -1.0)
        _, hit = shapely.STRtree(inner).query(roads, predicate="intersects")
        crossed[hit] = True
    in_roadless = _near(mids, np.asarray(c_geoms[big & ~crossed], dtype=object), 0.0)
    in_comp = _near(mids, np.asarray(c_geoms[~big], dtype=object), 0.0) & ~in_big
    loose = bld.geometry.to_numpy()[bld["compound_id"].isna().to_numpy()]
    by_bld = _near(mids, np.asarray(loose, dtype=object), within) & ~(in_big | in_comp)
    lengths = pieces.lengths[off]
    total = float(pieces.lengths.sum()) or 1.0

    def share(mask: NDArray[np.bool_]) -> float:
        return float(lengths[mask].sum()) / total

    return OffGround(
        big_compounds=share(in_big),
        big_roadless=share(in_roadless),
        compounds=share(in_comp),
        buildings=share(by_bld),
        open_land=share(~(in_big | in_comp | by_bld)),
    )
