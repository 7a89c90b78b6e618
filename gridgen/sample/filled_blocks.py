"""Compounds that fill one road block, their buildings and internal roads (filled city).

Helpers of :func:`gridgen.sample.filled.make_filled_city`. A block is laid out in its own
frame (rotated so that its long side runs along x); what follows each real pattern:

- **Compounds tile the block** (封闭小区 sharing walls, 街区 built out plot by plot): the
  block less a road reserve of :data:`SETBACK_RANGE` metres (half the street, the
  pavement) is cut recursively, across the long side of each piece, into compounds whose
  areas follow the households drawn for them, so neighbouring compounds share a wall and
  the only open land left is the road reserve and the odd plot that holds no homes (a
  school, a market: :data:`NON_RESIDENTIAL_SHARE`).
- **Compound sizes** are drawn from a log-normal law, median :data:`MEDIAN_HOUSEHOLDS`
  (most compounds of Chinese districts hold 100-900 households; a few large estates hold
  several thousand), and give each compound its share of the block; the households built
  come out somewhat fewer (rows of buildings do not use every metre).
- **Buildings** stand in rows (south-facing slabs for walk-ups and mid-rises, point
  towers for high-rises), spaced for sunlight (日照间距), each wholly inside its compound.
- **Internal roads** (小区内部道路, mapped in OSM as ``highway=service`` / ``footway``):
  most large compounds have a main internal road (kind ``minor``) along the row gap
  nearest their middle, running out through the gate to the street where the compound
  fronts one, secondary lanes (宅间路, kind ``path``) along some other row gaps and a
  cross lane where a clear line between buildings exists. :data:`NO_ROAD_SHARE` of the
  large compounds have none mapped (the map is not complete, and the test is not rigged).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from gridgen.sample.walled_blocks import FLOOR_AREA_PER_HOUSEHOLD

FloatArray = NDArray[np.float64]

MEDIAN_HOUSEHOLDS = 420.0
"""Median households of a compound (log-normal, sigma :data:`SIZE_SIGMA`)."""
SIZE_SIGMA = 0.7
SETBACK_RANGE = (6.0, 11.0)
"""Metres from the street centreline to the compound walls (half a street, a pavement)."""
NON_RESIDENTIAL_SHARE = 0.05
"""Share of plots left without homes (schools, markets, small squares)."""
SCHOOL_MAX_M2 = 30_000.0
"""Plots left without homes are at most this large (a school, a market)."""
NO_ROAD_SHARE = 0.2
"""Share of large compounds with no internal road mapped."""
STOREYS = (6, 6, 6, 7, 11, 11, 18, 24, 26, 30)
"""Storeys of a compound's buildings: walk-ups, mid-rises, towers."""
WALL_INSET_M = 7.0
"""Buildings stand at least this far inside the compound wall."""


def _coverage(storeys: int) -> float:
    """Return the share of a compound's land under buildings (towers stand farther apart)."""
    return 0.15 if storeys >= 18 else 0.24


def density(storeys: int) -> float:
    """Return the households per m² of a compound of buildings of ``storeys`` storeys."""
    return _coverage(storeys) * storeys / FLOOR_AREA_PER_HOUSEHOLD


@dataclass
class Compound:
    """One compound in the block frame: outline, buildings, storeys and row gaps."""

    outline: BaseGeometry
    buildings: list[BaseGeometry]
    storeys: int
    gaps: list[float]
    """Local y of the middle of each gap between building rows."""
    clear_x: list[float] = field(default_factory=list)
    """Local x of lines running between buildings from one row end to the other."""


@dataclass
class FilledBlock:
    """A block of the filled city, in metric coordinates."""

    polygon: BaseGeometry
    superblock: int
    angle: float
    origin: shapely.Point
    reserve: BaseGeometry
    """The road reserve (the block less its inset), in the block frame."""
    compounds: list[Compound] = field(default_factory=list)


def split_by_share(
    poly: BaseGeometry, share: float, angle: float
) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
    """Return ``poly`` cut by a line at ``angle`` (degrees) into two parts, the first
    holding ``share`` of its area, and the cut line (snapped to 1 cm)."""
    a = np.radians(angle)
    u = np.array([np.cos(a), np.sin(a)])  # along the cut line
    v = np.array([-u[1], u[0]])  # across it
    xy = shapely.get_coordinates(poly)
    proj = xy @ v
    lo, hi = float(proj.min()), float(proj.max())
    span = float(np.ptp(xy @ u)) + 10.0
    mid = xy.mean(axis=0)
    base = mid - (mid @ v) * v

    def half(s: float) -> BaseGeometry:
        p0, p1 = base + s * v - span * u, base + s * v + span * u
        far = base + (lo - 10.0) * v
        q0, q1 = far - span * u, far + span * u
        return shapely.Polygon([p0, p1, q1, q0])

    target = share * poly.area
    a_lo, a_hi = lo, hi
    for _ in range(40):
        s = (a_lo + a_hi) / 2.0
        if shapely.intersection(poly, half(s)).area < target:
            a_lo = s
        else:
            a_hi = s
    s = (a_lo + a_hi) / 2.0
    cutter = half(s)
    first = shapely.intersection(poly, cutter, grid_size=0.01)
    second = shapely.difference(poly, cutter, grid_size=0.01)
    line = shapely.intersection(
        shapely.LineString([base + s * v - span * u, base + s * v + span * u]), poly
    )
    return first, second, line


def long_axis(poly: BaseGeometry) -> float:
    """Return the direction (degrees) of the long side of ``poly``'s rotated rectangle."""
    ring = shapely.get_coordinates(shapely.minimum_rotated_rectangle(poly))
    d = np.diff(ring[:3], axis=0)
    k = int(np.argmax(np.hypot(d[:, 0], d[:, 1])))
    return float(np.degrees(np.arctan2(d[k, 1], d[k, 0])))


def _tile(poly: BaseGeometry, weights: list[float]) -> list[BaseGeometry]:
    """Return ``poly`` cut into ``len(weights)`` pieces of areas proportional to them."""
    if len(weights) == 1 or poly.area < 3000.0:
        return [poly]
    cum = np.cumsum(weights)[:-1] / sum(weights)
    k = int(np.argmin(np.abs(cum - 0.5))) + 1  # the most even cut: no thin slices
    share = float(cum[k - 1])
    first, second, _ = split_by_share(poly, share, long_axis(poly) + 90.0)
    parts = []
    for piece, w in ((first, weights[:k]), (second, weights[k:])):
        polys = [p for p in shapely.get_parts(piece) if p.area > 1.0]
        if len(polys) != 1:  # a concave piece cut in two: keep it whole
            return [poly]
        parts.extend(_tile(polys[0], w))
    return parts


def block_compounds(block: BaseGeometry, superblock: int, rng: np.random.Generator) -> FilledBlock:
    """Return a block filled by compounds (see the module docstring)."""
    angle = long_axis(block)
    origin = block.centroid
    local = affinity.rotate(block, -angle, origin=origin)
    setback = float(rng.uniform(*SETBACK_RANGE))
    inner = local.buffer(-setback, join_style="mitre", mitre_limit=3.0)
    out = FilledBlock(block, superblock, angle, origin, shapely.difference(local, inner))
    for part in shapely.get_parts(shapely.set_precision(inner, 0.01)):
        if part.geom_type == "Polygon" and part.area >= 2500.0:
            out.compounds.extend(_fill(part, rng))
    return out


def _fill(inner: BaseGeometry, rng: np.random.Generator) -> list[Compound]:
    """Return the compounds tiling ``inner`` (sizes drawn, some plots without homes)."""
    storeys = [int(rng.choice(STOREYS))]
    sizes = [float(rng.lognormal(np.log(MEDIAN_HOUSEHOLDS), SIZE_SIGMA))]
    land = [sizes[0] / density(storeys[0])]
    while sum(land) < inner.area * 0.9:
        storeys.append(int(rng.choice(STOREYS)))
        sizes.append(float(rng.lognormal(np.log(MEDIAN_HOUSEHOLDS), SIZE_SIGMA)))
        land.append(sizes[-1] / density(storeys[-1]))
    if len(land) > 1 and sum(land) - inner.area > 0.5 * land[-1]:
        land.pop()
        storeys.pop()
    out: list[Compound] = []
    for plot, st in zip(_tile(inner, land), storeys, strict=False):
        if plot.area < SCHOOL_MAX_M2 and rng.random() < NON_RESIDENTIAL_SHARE:
            continue
        comp = _compound(plot, st, rng)
        if comp is not None:
            out.append(comp)
    return out


def _compound(plot: BaseGeometry, storeys: int, rng: np.random.Generator) -> Compound | None:
    """Return a compound on ``plot`` with buildings in rows, or None if none fits."""
    inset = plot.buffer(-WALL_INSET_M, join_style="mitre")
    if inset.is_empty:
        return None
    x0, y0, x1, y1 = inset.bounds
    tower = storeys >= 18
    depth = 18.0 if tower else float(rng.uniform(11.0, 14.0))
    gap = (36.0 if tower else 0.9 * storeys * 3.0 + 4.0) * float(rng.uniform(0.9, 1.1))
    buildings: list[BaseGeometry] = []
    gaps: list[float] = []
    y = y0
    while y + depth <= y1:
        row: list[BaseGeometry] = []
        x = x0 + float(rng.uniform(0.0, 6.0))
        while x < x1:
            width = 24.0 if tower else float(rng.uniform(30.0, 64.0))
            slab = shapely.box(x, y, x + width, y + depth)
            if inset.contains(slab):
                row.append(slab)
            x += width + (20.0 if tower else float(rng.uniform(8.0, 14.0)))
        if row:
            if buildings:
                top = max(b.bounds[3] for b in buildings)
                gaps.append((top + y) / 2.0)
            buildings.extend(row)
        y += depth + gap
    if not buildings:  # a narrow plot: one building in its middle, if it fits
        c = inset.representative_point()
        slab = shapely.box(c.x - 15.0, c.y - depth / 2, c.x + 15.0, c.y + depth / 2)
        if not inset.contains(slab):
            return None
        buildings.append(slab)
    return Compound(plot, buildings, storeys, gaps, _clear_lines(inset, buildings))


def _clear_lines(inset: BaseGeometry, buildings: list[BaseGeometry]) -> list[float]:
    """Return x positions (middle third of the compound) where a north-south line meets
    no building: where a cross lane can run."""
    x0, _, x1, _ = inset.bounds
    bx = np.asarray([b.bounds for b in buildings])
    out = []
    for x in np.linspace(x0 + (x1 - x0) / 3.0, x1 - (x1 - x0) / 3.0, 25):
        if not ((bx[:, 0] - 4.0 <= x) & (x <= bx[:, 2] + 4.0)).any():
            out.append(float(x))
    return out


def compound_roads(
    block: FilledBlock, comp: Compound, rng: np.random.Generator
) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    """Return the internal roads of a large compound: service roads (kind ``minor``) and
    lanes (kind ``path``), in metric coordinates (see the module docstring)."""
    if not comp.gaps:
        return [], []
    x0, _, x1, _ = comp.outline.bounds
    order = np.argsort(np.abs(np.asarray(comp.gaps) - comp.outline.centroid.y))
    main_y = comp.gaps[int(order[0])]
    # the service road runs out through the gate, across the road reserve, to the street
    gate = shapely.union_all([comp.outline, block.reserve])
    line = shapely.LineString([(x0 - 60.0, main_y), (x1 + 60.0, main_y)])
    service = [
        p
        for p in shapely.get_parts(shapely.intersection(line, gate))
        if p.intersects(comp.outline) and p.length > 1.0
    ]
    lanes: list[BaseGeometry] = []
    for k in order[1:].tolist():
        if rng.random() < 0.6:
            lane = shapely.intersection(
                shapely.LineString([(x0 - 1, comp.gaps[k]), (x1 + 1, comp.gaps[k])]),
                comp.outline,
            )
            lanes.extend(p for p in shapely.get_parts(lane) if p.length > 1.0)
    if comp.clear_x:
        x = comp.clear_x[len(comp.clear_x) // 2]
        _, y0, _, y1 = comp.outline.bounds
        cross = shapely.intersection(shapely.LineString([(x, y0 - 1), (x, y1 + 1)]), comp.outline)
        lanes.extend(p for p in shapely.get_parts(cross) if p.length > 1.0)
    return [to_metric(block, g) for g in service], [to_metric(block, g) for g in lanes]


def to_metric(block: FilledBlock, geom: BaseGeometry) -> BaseGeometry:
    """Return ``geom`` from the block frame back in metric coordinates (snapped to 1 cm)."""
    return shapely.set_precision(affinity.rotate(geom, block.angle, origin=block.origin), 0.01)
