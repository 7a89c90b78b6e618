"""A city of walled compounds inside road blocks, with open land between them (deterministic).

:func:`make_city` (:mod:`gridgen.sample.district`) fills every block with compounds whose
edges are the roads. Real Chinese districts look different, and this generator draws them
so (the layers are those of :func:`make_city`, EPSG:4326):

- an irregular district outline (a smooth random blob sized for the households asked);
- main roads on a coarse irregular net (the edges of a Voronoi diagram of jittered seeds
  ~850 m apart): the superblocks;
- each superblock cut by straight minor roads in its own direction (230-420 m apart, some
  merged away) into blocks; service roads (kind ``path``) run into blocks along the gaps
  between compound rows, as dead ends or through;
- blocks hold walled compounds set back from the roads with open land between them, or
  scattered village buildings, or nothing (parks): :mod:`gridgen.sample.walled_blocks`;
- communities are runs of blocks inside a superblock (~2,750 households), so their
  boundaries follow main and minor roads; a few communities hold a detached piece of
  another superblock, most of them empty (a park, a depot): communities in several pieces;
- streets (街道) group ~9 neighbouring communities.

Households come from floor area and are scaled so their total is within a fraction of a
percent of the number asked.
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
from gridgen.sample.layout import SAMPLE_METRIC_CRS
from gridgen.sample.walled_blocks import (
    BLOCK_KIND_WEIGHTS,
    BLOCK_KINDS,
    block_contents,
)
from gridgen.sample.walled_city import (
    Block,
    city_layers,
    communities_of,
    detach_pieces,
)

__all__ = ["make_walled_city"]

WALLED_CENTER_LONLAT = (112.57, 37.87)
"""Centre of the walled city (north of the sample district, Taiyuan 迎泽区)."""
WALLED_DISTRICT_CODE = "140106"
HOUSEHOLDS_PER_KM2 = 5200.0
"""Gross density used to size the district (open land and parks included)."""
MAIN_SPACING_M = 850.0
FloatArray = NDArray[np.float64]


def make_walled_city(*, households: int = 273_000, seed: int = 11) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of a walled-compound city of about ``households`` households.

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
        msg = f"households={households} is too small for a walled city: give at least 5000"
        raise ParameterError(msg)
    rng = np.random.default_rng(seed)
    outline = _outline(math.sqrt(households / HOUSEHOLDS_PER_KM2 / math.pi) * 1000.0, rng)
    supers, main_lines = _superblocks(outline, rng)
    blocks: list[Block] = []
    minor_lines: list[BaseGeometry] = []
    for s, sb in enumerate(supers):
        angle = float(rng.uniform(-25.0, 25.0)) + _main_axis(sb)
        polys, minor = _cut_superblock(sb, angle, rng)
        minor_lines.extend(minor)
        for poly in polys:
            kind = str(rng.choice(BLOCK_KINDS, p=BLOCK_KIND_WEIGHTS))
            blocks.append(Block(poly, s, block_contents(poly, angle, kind, rng)))
    _node_blocks(blocks)
    raw_hh = np.asarray([b.raw_households() for b in blocks])
    factor = households / max(float(raw_hh.sum()), 1.0)
    members = communities_of(blocks, raw_hh * factor, rng)
    members = detach_pieces(blocks, members, rng)
    factor = households / max(sum(b.raw_households() for b in blocks), 1.0)  # pieces emptied
    paths = [p for b in blocks for p in b.contents.paths]
    roads = (main_lines, minor_lines, paths)
    return city_layers(blocks, members, roads, factor, rng, district_code=WALLED_DISTRICT_CODE)


def _node_blocks(blocks: list[Block]) -> None:
    """Replace each block polygon by its face of the noded block boundaries.

    Blocks of neighbouring superblocks meet at T-junctions (a minor road ends on a main
    road the other side knows nothing of); polygonizing all boundaries together gives
    faces that share every vertex, so unions of blocks (communities, streets) are exact
    and stay valid when reprojected.
    """
    polys = np.asarray([b.polygon for b in blocks], dtype=object)
    noded = shapely.union_all(shapely.boundary(polys))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    pts = shapely.point_on_surface(faces)
    fi, bi = shapely.STRtree(polys).query(pts, predicate="within")
    parts: dict[int, list[BaseGeometry]] = {}
    for f, b in zip(fi.tolist(), bi.tolist(), strict=True):
        parts.setdefault(b, []).append(faces[f])
    for b, faces_b in parts.items():
        blocks[b].polygon = faces_b[0] if len(faces_b) == 1 else shapely.coverage_union_all(faces_b)


def _outline(radius: float, rng: np.random.Generator) -> BaseGeometry:
    """Return a smooth random blob of mean radius ``radius`` around the city centre."""
    to_utm = pyproj.Transformer.from_crs(WGS84, SAMPLE_METRIC_CRS, always_xy=True)
    cx, cy = to_utm.transform(*WALLED_CENTER_LONLAT)
    t = np.linspace(0.0, 2 * np.pi, 240, endpoint=False)
    r = np.ones_like(t)
    for k in (2, 3, 5):
        r += rng.uniform(0.03, 0.1) / (k / 2) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    ring = np.column_stack([cx + radius * r * np.cos(t), cy + radius * r * np.sin(t)])
    return shapely.set_precision(shapely.Polygon(ring), 0.01)


def _superblocks(
    outline: BaseGeometry, rng: np.random.Generator
) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    """Return the superblocks (polygonized main road net) and the main road lines."""
    x0, y0, x1, y1 = outline.bounds
    xs = np.arange(x0 - MAIN_SPACING_M, x1 + MAIN_SPACING_M, MAIN_SPACING_M)
    ys = np.arange(y0 - MAIN_SPACING_M, y1 + MAIN_SPACING_M, MAIN_SPACING_M)
    gx, gy = np.meshgrid(xs, ys)
    seeds = np.column_stack([gx.ravel(), gy.ravel()])
    seeds += rng.uniform(-0.3, 0.3, seeds.shape) * MAIN_SPACING_M
    env = shapely.box(x0 - 2000, y0 - 2000, x1 + 2000, y1 + 2000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=env))
    edges = shapely.intersection(shapely.union_all(shapely.boundary(cells)), outline)
    edges = shapely.set_precision(edges, 0.01)
    rim = shapely.boundary(outline)
    noded = shapely.union_all([rim, edges])
    found = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = _merge_small([f for f in found if f.area > 1.0], min_area=0.12e6)
    inner_edges = shapely.difference(
        shapely.union_all([f.boundary for f in faces]), shapely.buffer(rim, 0.05)
    )
    lines = [g for g in shapely.get_parts(shapely.line_merge(inner_edges)) if g.length > 1.0]
    return faces, lines


def _merge_small(faces: list[BaseGeometry], *, min_area: float) -> list[BaseGeometry]:
    """Return ``faces`` with those under ``min_area`` joined to their longest neighbour."""
    faces = list(faces)
    while True:
        areas = [f.area for f in faces]
        small = [i for i in np.argsort(areas).tolist() if areas[i] < min_area]
        if not small or len(faces) == 1:
            return faces
        i = small[0]
        shared = [
            (shapely.length(shapely.intersection(faces[i].boundary, f.boundary)), j)
            for j, f in enumerate(faces)
            if j != i
        ]
        best_len, j = max(shared)
        if best_len <= 0:
            return faces
        faces[j] = shapely.union(faces[j], faces[i])
        del faces[i]


def _main_axis(poly: BaseGeometry) -> float:
    """Return the direction (degrees) of the long side of ``poly``'s rotated rectangle."""
    ring = shapely.get_coordinates(shapely.minimum_rotated_rectangle(poly))
    d = np.diff(ring[:3], axis=0)
    k = int(np.argmax(np.hypot(d[:, 0], d[:, 1])))
    return float(np.degrees(np.arctan2(d[k, 1], d[k, 0])))


def _cut_superblock(
    sb: BaseGeometry, angle: float, rng: np.random.Generator
) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    """Return the blocks of a superblock cut by minor roads, and those roads."""
    a = math.radians(angle)
    u = np.array([math.cos(a), math.sin(a)])
    v = np.array([-u[1], u[0]])
    c = np.asarray(sb.centroid.coords[0])
    reach = math.sqrt(sb.area) * 2.0 + 500.0
    cuts: list[BaseGeometry] = []
    for axis, other, lo, hi in ((v, u, 230.0, 420.0), (u, v, 200.0, 380.0)):
        s = -reach + float(rng.uniform(0, lo))
        while s < reach:
            p = c + s * axis
            cuts.append(shapely.LineString([p - reach * other, p + reach * other]))
            s += float(rng.uniform(lo, hi))
    clipped = [g for g in shapely.intersection(np.asarray(cuts, dtype=object), sb) if g.length > 0]
    noded = shapely.union_all([shapely.boundary(sb), *clipped])
    found = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = _merge_small([f for f in found if f.area > 1], min_area=15_000.0)
    for _ in range(int(len(faces) * 0.12)):  # some minor roads are missing
        if len(faces) < 3:
            break
        i = int(rng.integers(len(faces)))
        touching = [j for j, f in enumerate(faces) if j != i and faces[i].touches(f)]
        long = [j for j in touching if shapely.intersection(faces[i], faces[j]).length > 50]
        if long:
            j = long[int(rng.integers(len(long)))]
            faces[j] = shapely.union(faces[j], faces[i])
            del faces[i]
    inner = shapely.union_all([f.boundary for f in faces])
    minor = shapely.difference(inner, shapely.buffer(sb.boundary, 0.05))
    lines = [g for g in shapely.get_parts(shapely.line_merge(minor)) if g.length > 1.0]
    return faces, lines
