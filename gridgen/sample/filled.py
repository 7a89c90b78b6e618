"""A city whose road blocks are filled by compounds sharing walls (deterministic).

:func:`make_filled_city` draws a district as the built-up core of a Chinese city looks,
differently from :func:`gridgen.sample.district.make_city` (a jittered lattice of
communities, compounds whose edges are the roads) and from
:func:`gridgen.sample.walled.make_walled_city` (a Voronoi net of main roads, walled
compounds with open land between them). The layers are the same (EPSG:4326):

- **Arterials** (kind ``main``): two families of long roads 550-1,000 m apart, each road
  gently bowed and tilted (a planned grid that grew over decades, not a lattice), one
  diagonal arterial across the city (an old radial road), and a river (河道) winding
  across it between two embankment roads (滨河路, kind ``main``); the river strip is land
  with no homes. The data model has no river or railway kind, so the river is drawn as
  its embankment roads and an empty strip.
- **Local streets** (kind ``minor``): each superblock is cut recursively across its long
  side, at 35-65% of it and a few degrees off square, until the blocks are 6-18 ha: the
  block sizes vary, streets end on others (T-junctions), no two superblocks are cut alike.
- **Compounds fill the blocks** (:mod:`gridgen.sample.filled_blocks`): neighbouring
  compounds share walls; the only open land is the road reserve along the streets and a
  few plots without homes (schools, markets).
- **Large compounds have internal roads** (小区内部道路, as OSM maps them): a service road
  (kind ``minor``) through the gate and lanes (kind ``path``) between building rows; a
  fifth of them have none mapped.
- **Communities** are runs of blocks inside a superblock (~2,750 households, 社区按照3000户
  左右规模设置), so their boundaries are arterials and streets; **streets** (街道) group ~9
  neighbouring communities; each community has a service centre and micro-stations.

Households come from floor area (95 m² a household) and are scaled so their total is
within a fraction of a percent of the number asked; at the gross density
:data:`HOUSEHOLDS_PER_KM2` the scaling stays close to 1 (1.08 at the default size).

At the defaults (273,000 households, seed 7): 19.5 km², 91 communities, 760 compounds
(median 264 households, 5-95% 50-880; 288 above 360 holding 68% of the households, 218 of
them with internal roads), 4,194 buildings, 1,460 road lines; compounds cover 81% of the
district, and 5% of it is in no compound and farther than 15 m from every road (the river,
school plots).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84
from gridgen.sample.filled_blocks import (
    NO_ROAD_SHARE,
    FilledBlock,
    block_compounds,
    compound_roads,
    long_axis,
    split_by_share,
    to_metric,
)
from gridgen.sample.layout import SAMPLE_METRIC_CRS
from gridgen.sample.walled_blocks import BlockContents, compound_households
from gridgen.sample.walled_city import Block, city_layers, communities_of

__all__ = ["make_filled_city"]

FloatArray = NDArray[np.float64]

FILLED_CENTER_LONLAT = (112.51, 37.86)
"""Centre of the filled city (west of the sample district, Taiyuan 万柏林区)."""
FILLED_DISTRICT_CODE = "140109"
HOUSEHOLDS_PER_KM2 = 14_000.0
"""Gross density used to size the district (roads, river and school plots included)."""
BIG_COMPOUND_HOUSEHOLDS = 360
"""Households above which a compound is large (the band maximum of the default target 300
± 20%: such a compound must be split into several grids) and gets internal roads."""
RIVER_HALF_WIDTH_M = 45.0
"""Centreline to embankment road: water, banks and greenway."""


def make_filled_city(*, households: int = 273_000, seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of a filled-block city of about ``households`` households.

    Parameters
    ----------
    households
        Total households requested (≥ 5,000); the result is within a few tenths of a
        percent of it.
    seed
        Seed of the random generator (same seed, identical frames).

    Returns
    -------
    dict of GeoDataFrame
        The layers of :func:`gridgen.sample.district.make_city` (EPSG:4326).

    Raises
    ------
    ParameterError
        When ``households`` is below 5,000.
    """
    if households < 5000:
        msg = f"households={households} is too small for a filled city: give at least 5000"
        raise ParameterError(msg)
    rng = np.random.default_rng(seed)
    radius = math.sqrt(households / HOUSEHOLDS_PER_KM2 / math.pi) * 1000.0
    outline = _outline(radius, rng)
    supers, river, main_lines = _superblocks(outline, radius, rng)
    polys: list[BaseGeometry] = []
    owner: list[int] = []
    minor_lines: list[BaseGeometry] = []
    for s, sb in enumerate(supers):
        if river[s]:
            polys.append(sb)
            owner.append(s)
            continue
        for poly in _cut(sb, rng, minor_lines):
            polys.append(poly)
            owner.append(s)
    polys = _noded(polys)
    filled = [
        FilledBlock(p, s, 0.0, p.centroid, shapely.Polygon())
        if river[s]
        else block_compounds(p, s, rng)
        for p, s in zip(polys, owner, strict=True)
    ]
    blocks = [Block(f.polygon, f.superblock, _contents(f)) for f in filled]
    factor = households / max(sum(b.raw_households() for b in blocks), 1.0)
    service, lanes = _internal_roads(filled, blocks, factor, rng)
    raw_hh = np.asarray([b.raw_households() for b in blocks])
    members = communities_of(blocks, raw_hh * factor, rng)
    roads = (main_lines, minor_lines + service, lanes)
    return city_layers(blocks, members, roads, factor, rng, district_code=FILLED_DISTRICT_CODE)


def _outline(radius: float, rng: np.random.Generator) -> BaseGeometry:
    """Return an irregular district outline of mean radius ``radius`` (metric)."""
    to_utm = pyproj.Transformer.from_crs(WGS84, SAMPLE_METRIC_CRS, always_xy=True)
    cx, cy = to_utm.transform(*FILLED_CENTER_LONLAT)
    t = np.linspace(0.0, 2 * np.pi, 9, endpoint=False) + rng.uniform(0, 0.5)
    r = radius * rng.uniform(0.8, 1.2, len(t))
    ring = np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])
    # a polygon of 9 corners rounded off: district limits follow old roads and fields
    poly = shapely.Polygon(ring).buffer(radius * 0.08).buffer(-radius * 0.08)
    scale = math.sqrt(math.pi * radius**2 / poly.area)
    poly = shapely.affinity.scale(poly, scale, scale, origin=(cx, cy))
    return shapely.set_precision(shapely.simplify(poly, 2.0), 0.01)


def _arterials(
    outline: BaseGeometry, radius: float, rng: np.random.Generator
) -> tuple[list[BaseGeometry], BaseGeometry]:
    """Return the arterial centrelines and the river centreline (metric, unclipped)."""
    c = np.asarray(outline.centroid.coords[0])
    theta = float(rng.uniform(-12.0, 12.0))
    reach = radius * 1.6
    t = np.linspace(-reach, reach, 60)
    river_off = float(rng.uniform(-0.35, 0.35)) * radius
    river_dir = theta + float(rng.uniform(-8.0, 8.0))
    amp, wave = float(rng.uniform(120.0, 220.0)), float(rng.uniform(1800.0, 2600.0))
    river = _curve(c, river_dir, river_off, t, amp * np.sin(2 * np.pi * t / wave + 1.0))
    lines: list[BaseGeometry] = []
    for base in (theta, theta + 90.0):
        s = -reach + float(rng.uniform(200.0, 600.0))
        while s < reach:
            ang = base + float(rng.uniform(-5.0, 5.0))
            bow = float(rng.uniform(-90.0, 90.0)) * (t / reach) ** 2
            line = _curve(c, ang, s, t, bow)
            if base != theta or line.distance(river) > 250.0:
                lines.append(line)
            s += float(rng.uniform(550.0, 1000.0))
    diag = theta + 45.0 + float(rng.uniform(-10.0, 10.0))
    lines.append(_curve(c, diag, float(rng.uniform(-0.3, 0.3)) * radius, t, 0.0 * t))
    return lines, river


def _curve(
    c: FloatArray, angle: float, offset: float, t: FloatArray, bend: FloatArray
) -> BaseGeometry:
    """Return a line at ``angle`` (degrees), ``offset`` m off centre ``c``, bent by ``bend``."""
    a = math.radians(angle)
    u = np.array([math.cos(a), math.sin(a)])
    v = np.array([-u[1], u[0]])
    xy = c + t[:, None] * u + (offset + np.asarray(bend))[:, None] * v
    return shapely.LineString(xy)


def _superblocks(
    outline: BaseGeometry, radius: float, rng: np.random.Generator
) -> tuple[list[BaseGeometry], list[bool], list[BaseGeometry]]:
    """Return the superblocks, whether each is river, and the main road lines."""
    lines, river = _arterials(outline, radius, rng)
    banks = [
        shapely.offset_curve(river, d, quad_segs=4)
        for d in (RIVER_HALF_WIDTH_M, -RIVER_HALF_WIDTH_M)
    ]
    strip = shapely.buffer(river, RIVER_HALF_WIDTH_M - 1.0)
    every = [shapely.boundary(outline), *[shapely.intersection(g, outline) for g in lines + banks]]
    noded = shapely.union_all(every, grid_size=0.01)
    faces = [
        f for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))) if f.area > 1
    ]
    is_river = [bool(strip.contains(f.representative_point())) for f in faces]
    faces, is_river = _merge_small(faces, is_river, min_area=90_000.0)
    rim = shapely.buffer(shapely.boundary(outline), 0.05)
    inner = shapely.difference(shapely.union_all([f.boundary for f in faces]), rim)
    main = [g for g in shapely.get_parts(shapely.line_merge(inner)) if g.length > 1.0]
    return faces, is_river, main


def _merge_small(
    faces: list[BaseGeometry], river: list[bool], *, min_area: float
) -> tuple[list[BaseGeometry], list[bool]]:
    """Return land faces under ``min_area`` joined to the land face they share most with."""
    faces, river = list(faces), list(river)
    while True:
        small = [
            i
            for i in np.argsort([f.area for f in faces]).tolist()
            if faces[i].area < min_area and not river[i]
        ]
        merged = False
        for i in small:
            shared = [
                (shapely.length(shapely.intersection(faces[i].boundary, f.boundary)), j)
                for j, f in enumerate(faces)
                if j != i and not river[j]
            ]
            best = max(shared, default=(0.0, -1))
            if best[0] > 1.0:
                j = best[1]
                faces[j] = shapely.union(faces[j], faces[i], grid_size=0.01)
                del faces[i], river[i]
                merged = True
                break
        if not merged:
            return faces, river


def _cut(
    poly: BaseGeometry, rng: np.random.Generator, roads: list[BaseGeometry]
) -> list[BaseGeometry]:
    """Return the blocks of ``poly`` cut recursively by local streets (added to ``roads``)."""
    if poly.area < float(rng.uniform(60_000.0, 180_000.0)):
        return [poly]
    for share, tilt in ((float(rng.uniform(0.35, 0.65)), float(rng.uniform(-9, 9))), (0.5, 0)):
        first, second, line = split_by_share(poly, share, long_axis(poly) + 90.0 + tilt)
        parts = [*shapely.get_parts(first), *shapely.get_parts(second)]
        if len(parts) == 2 and min(p.area for p in parts) > 20_000.0:
            roads.extend(g for g in shapely.get_parts(line) if g.length > 1.0)
            return [b for p in parts for b in _cut(p, rng, roads)]
    return [poly]


def _noded(polys: list[BaseGeometry]) -> list[BaseGeometry]:
    """Return each block as its face of all block boundaries noded together.

    Blocks of neighbouring superblocks meet at T-junctions; polygonizing every boundary
    together gives faces sharing every vertex, so unions of blocks (communities, streets)
    are exact and stay valid when reprojected. Each face goes to the block it overlaps most
    (slivers of the 1 cm snapping too).
    """
    arr = np.asarray(polys, dtype=object)
    noded = shapely.union_all(shapely.boundary(arr), grid_size=0.01)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    fi, bi = shapely.STRtree(arr).query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[fi], arr[bi]))
    best: dict[int, tuple[float, int]] = {}
    for f, b, a in zip(fi.tolist(), bi.tolist(), overlap.tolist(), strict=True):
        if a > best.get(f, (-1.0, -1))[0]:  # a sliver of the noding goes to its main block
            best[f] = (a, b)
    parts: dict[int, list[BaseGeometry]] = {}
    for f, (_, b) in sorted(best.items()):
        parts.setdefault(b, []).append(faces[f])
    return [
        parts[b][0] if len(parts[b]) == 1 else shapely.coverage_union_all(parts[b])
        for b in range(len(polys))
    ]


def _contents(block: FilledBlock) -> BlockContents:
    """Return the compounds and buildings of ``block`` in metric coordinates."""
    out = BlockContents()
    for comp in block.compounds:
        out.compounds.append(to_metric(block, comp.outline))
        out.compound_buildings.append([to_metric(block, b) for b in comp.buildings])
        out.compound_floors.append(comp.storeys)
    return out


def _internal_roads(
    filled: list[FilledBlock], blocks: list[Block], factor: float, rng: np.random.Generator
) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    """Return the internal service roads and lanes of the large compounds (the lanes also
    go to their block's ``paths``)."""
    service: list[BaseGeometry] = []
    lanes: list[BaseGeometry] = []
    for f, b in zip(filled, blocks, strict=True):
        for comp, slabs in zip(f.compounds, b.contents.compound_buildings, strict=True):
            big = float(compound_households(slabs, comp.storeys, factor).sum())
            big = big > BIG_COMPOUND_HOUSEHOLDS
            if not big or rng.random() < NO_ROAD_SHARE:
                continue
            s, p = compound_roads(f, comp, rng)
            service.extend(s)
            lanes.extend(p)
            b.contents.paths.extend(p)
    return service, lanes
