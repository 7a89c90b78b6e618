"""Contents of one road block of the walled-compound city (:mod:`gridgen.sample.walled`).

A block is the land between roads (convex: a superblock cut by straight minor roads). It
is laid out in its own frame, rotated so that its minor roads run along the axes:

- ``compounds``: walled compounds set back from the roads, in rows separated by open land
  (gaps of 8-60 m, sometimes none: two compounds then share a wall); some slots are left
  open (green space, parking); a service road (kind ``path``) may run into the block
  along a gap between rows, as a dead end or through;
- ``village``: scattered buildings (城中村, no compound) on a jittered grid;
- ``park``: no homes.

Buildings are slabs (east-west in the block frame) in rows inside their compound, each
wholly inside it. Households come from footprint area x floors and are scaled to the
city's total afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import affinity
from shapely.geometry.base import BaseGeometry

FloatArray = NDArray[np.float64]

FLOOR_AREA_PER_HOUSEHOLD = 95.0
"""Square metres of floor per household (before the city-wide scaling)."""
BLOCK_KINDS = ("compounds", "village", "park")
BLOCK_KIND_WEIGHTS = (0.82, 0.08, 0.10)


@dataclass
class BlockContents:
    """What one block holds, in metric coordinates."""

    compounds: list[BaseGeometry] = field(default_factory=list)
    compound_buildings: list[list[BaseGeometry]] = field(default_factory=list)
    compound_floors: list[int] = field(default_factory=list)
    scattered: list[BaseGeometry] = field(default_factory=list)
    scattered_floors: list[int] = field(default_factory=list)
    paths: list[BaseGeometry] = field(default_factory=list)


def block_contents(
    block: BaseGeometry, angle: float, kind: str, rng: np.random.Generator
) -> BlockContents:
    """Return the compounds, buildings and service roads of one block.

    Parameters
    ----------
    block
        The block polygon (metric CRS).
    angle
        Direction of the block's minor roads (degrees): the block frame's x axis.
    kind
        One of :data:`BLOCK_KINDS`.
    rng
        Random generator.
    """
    out = BlockContents()
    if kind == "park" or block.area < 4000:
        return out
    origin = block.centroid
    local = affinity.rotate(block, -angle, origin=origin)
    setback = float(rng.uniform(8.0, 16.0))
    inner = local.buffer(-setback, join_style="mitre")
    if inner.is_empty or inner.area < 2000:
        return out
    if kind == "village":
        pts, floors = _village(inner, rng)
        out.scattered = [affinity.rotate(p, angle, origin=origin) for p in pts]
        out.scattered_floors = floors
        return out
    comps, paths = _compound_slots(local, inner, rng)
    for comp in comps:
        storeys = int(rng.choice([6, 6, 7, 11, 11, 18, 24, 30]))
        slabs = _slabs(comp, storeys, rng)
        if not slabs:
            continue
        out.compounds.append(affinity.rotate(comp, angle, origin=origin))
        out.compound_buildings.append([affinity.rotate(s, angle, origin=origin) for s in slabs])
        out.compound_floors.append(storeys)
    out.paths = [affinity.rotate(p, angle, origin=origin) for p in paths]
    return out


def _compound_slots(
    local: BaseGeometry, inner: BaseGeometry, rng: np.random.Generator
) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    """Return compound polygons in rows inside ``inner`` and service roads along row gaps."""
    x0, y0, x1, y1 = inner.bounds
    comps: list[BaseGeometry] = []
    paths: list[BaseGeometry] = []
    y = y0
    while y < y1 - 40:
        depth = float(rng.uniform(70.0, 180.0))
        top = min(y + depth, y1)
        if y1 - top < 50:
            top = y1
        x = x0
        while x < x1 - 40:
            width = float(rng.uniform(60.0, 230.0))
            right = min(x + width, x1)
            if x1 - right < 45:
                right = x1
            if rng.random() > 0.12:  # else open land (green, parking)
                cell = shapely.intersection(shapely.box(x, y, right, top), inner)
                box_area = (right - x) * (top - y)
                if cell.geom_type == "Polygon" and cell.area >= max(2500.0, 0.55 * box_area):
                    comps.append(shapely.set_precision(cell, 0.01))
            gap = 0.0 if rng.random() < 0.15 else float(rng.uniform(8.0, 60.0))
            x = right + gap
        gap = 0.0 if rng.random() < 0.1 else float(rng.uniform(10.0, 50.0))
        if gap > 14 and top < y1 and rng.random() < 0.45:
            paths.append(_service_road(local, (top + top + gap) / 2.0, rng))
        y = top + gap
    return comps, [p for p in paths if not p.is_empty]


def _service_road(local: BaseGeometry, y: float, rng: np.random.Generator) -> BaseGeometry:
    """Return a service road along ``y`` from the block edge: a dead end or through."""
    x0, _, x1, _ = local.bounds
    line = shapely.intersection(shapely.LineString([(x0 - 5, y), (x1 + 5, y)]), local)
    if line.is_empty or line.geom_type != "LineString":
        return shapely.LineString()
    if rng.random() < 0.4:
        return line
    frac = float(rng.uniform(0.3, 0.6))
    a, b = line.coords[0], line.coords[-1]
    if rng.random() < 0.5:
        a, b = b, a
    end = (a[0] + frac * (b[0] - a[0]), a[1] + frac * (b[1] - a[1]))
    return shapely.LineString([a, end])


def _slabs(comp: BaseGeometry, floors: int, rng: np.random.Generator) -> list[BaseGeometry]:
    """Return building footprints in rows, each wholly inside the compound (inset 6 m)."""
    inset = comp.buffer(-6.0, join_style="mitre")
    if inset.is_empty:
        return []
    x0, y0, x1, y1 = inset.bounds
    tower = floors >= 18
    depth = 18.0 if tower else float(rng.uniform(11.0, 15.0))
    pitch = depth + (28.0 if tower else float(rng.uniform(16.0, 24.0)))
    out: list[BaseGeometry] = []
    y = y0
    while y + depth <= y1:
        x = x0
        while x < x1:
            width = 22.0 if tower else float(rng.uniform(28.0, 62.0))
            slab = shapely.box(x, y, x + width, y + depth)
            if inset.contains(slab):
                out.append(slab)
            x += width + (18.0 if tower else float(rng.uniform(8.0, 16.0)))
        y += pitch
    if not out:
        c = inset.representative_point()
        w = min(20.0, (x1 - x0) * 0.8)
        d = min(12.0, (y1 - y0) * 0.8)
        slab = shapely.box(c.x - w / 2, c.y - d / 2, c.x + w / 2, c.y + d / 2)
        if inset.contains(slab):
            out.append(slab)
    return out


def _village(inner: BaseGeometry, rng: np.random.Generator) -> tuple[list[BaseGeometry], list[int]]:
    """Return scattered small buildings on a jittered grid inside ``inner``."""
    x0, y0, x1, y1 = inner.bounds
    step = float(rng.uniform(24.0, 34.0))
    xs, ys = np.meshgrid(np.arange(x0 + 8, x1 - 8, step), np.arange(y0 + 8, y1 - 8, step))
    xy = np.column_stack([xs.ravel(), ys.ravel()]) + rng.uniform(-4, 4, (xs.size, 2))
    keep = rng.random(len(xy)) < 0.7
    candidates = shapely.box(xy[:, 0] - 6, xy[:, 1] - 5, xy[:, 0] + 6, xy[:, 1] + 5)[keep]
    boxes: list[BaseGeometry] = [b for b in candidates if inner.contains(b)]
    floors = [int(f) for f in rng.integers(2, 6, len(boxes))]
    return boxes, floors


def building_households(geoms: list[BaseGeometry], floors: list[int]) -> FloatArray:
    """Return raw households per building: floor area over :data:`FLOOR_AREA_PER_HOUSEHOLD`."""
    area = np.asarray(shapely.area(np.asarray(geoms, dtype=object)), dtype=float)
    return np.asarray(area * np.asarray(floors, dtype=float) / FLOOR_AREA_PER_HOUSEHOLD)


def compound_households(slabs: list[BaseGeometry], floors: int, factor: float) -> FloatArray:
    """Return the households of a compound's buildings of ``floors`` floors: raw households
    (:func:`building_households`) scaled by ``factor``, rounded, at least 1 each."""
    raw = building_households(slabs, [floors] * len(slabs))
    return np.asarray(np.maximum(1, np.round(raw * factor)))
