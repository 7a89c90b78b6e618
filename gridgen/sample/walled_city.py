"""Communities, streets, stations and roads of the walled-compound city.

Helpers of :func:`gridgen.sample.walled.make_walled_city`: blocks are grouped into
communities (runs of blocks inside one superblock, so community boundaries are roads), a
few communities get a detached piece of another superblock, communities are grouped into
streets, and the road lines are noded and labelled by kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.sample.layers import LayerRows, finished_layers
from gridgen.sample.layout import AreaSpec
from gridgen.sample.names import community_names, street_names
from gridgen.sample.walled_blocks import BlockContents, building_households, compound_households

COMMUNITY_HOUSEHOLDS = 2750.0
"""Households a community is drawn around (社区按照3000户左右规模设置)."""
MIN_COMMUNITY_HOUSEHOLDS = 1200.0
DETACHED_SHARE = 0.06
"""Share of communities that get a detached piece (most of them empty)."""
FloatArray = NDArray[np.float64]


@dataclass
class Block:
    """A road block: its polygon, superblock index and contents."""

    polygon: BaseGeometry
    superblock: int
    contents: BlockContents

    def raw_households(self) -> float:
        """Return the block's households before the city-wide scaling."""
        c = self.contents
        total = 0.0
        for slabs, floors in zip(c.compound_buildings, c.compound_floors, strict=True):
            total += float(building_households(slabs, [floors] * len(slabs)).sum())
        if c.scattered:
            total += float(building_households(c.scattered, c.scattered_floors).sum())
        return total


def _axis(polys: list[BaseGeometry]) -> FloatArray:
    """Return the unit vector of the long side of the polygons' rotated rectangle."""
    rect = shapely.minimum_rotated_rectangle(shapely.union_all(polys))
    ring = shapely.get_coordinates(rect) if rect.geom_type == "Polygon" else np.zeros((3, 2))
    d = np.diff(ring[:3], axis=0)
    k = int(np.argmax(np.hypot(d[:, 0], d[:, 1])))
    n = float(np.hypot(*d[k])) or 1.0
    return np.asarray(d[k] / n, dtype=float)


def communities_of(
    blocks: list[Block], households: FloatArray, rng: np.random.Generator
) -> list[list[int]]:
    """Return the block indices of each community (connected runs inside a superblock)."""
    groups: list[list[int]] = []
    by_super: dict[int, list[int]] = {}
    for i, b in enumerate(blocks):
        by_super.setdefault(b.superblock, []).append(i)
    for idx in by_super.values():
        total = float(households[idx].sum())
        k = max(1, min(len(idx), round(total / COMMUNITY_HOUSEHOLDS)))
        axis = _axis([blocks[i].polygon for i in idx])
        xy = np.asarray([blocks[i].polygon.centroid.coords[0] for i in idx])
        order = [idx[j] for j in np.argsort(xy @ axis, kind="stable")]
        cum = np.cumsum(households[order])
        cut = np.searchsorted(cum, total * np.arange(1, k) / k)
        parts = np.split(np.asarray(order), np.unique(cut + 1))
        groups.extend([p.tolist() for p in parts if len(p)])
    groups = _connected(blocks, groups)
    return _merge_small_groups(blocks, groups, households)


def _connected(blocks: list[Block], groups: list[list[int]]) -> list[list[int]]:
    """Return groups whose blocks form one polygon (stray blocks join a touching group)."""
    for _ in range(6):
        moved = False
        for g, members in enumerate(groups):
            union = shapely.union_all([blocks[i].polygon for i in members])
            if union.geom_type == "Polygon" or not members:
                continue
            parts = shapely.get_parts(union)
            main = parts[int(np.argmax(shapely.area(parts)))]
            for i in list(members):
                if blocks[i].polygon.intersection(main).area > 0:
                    continue
                for h, other in enumerate(groups):
                    if h != g and any(_touch(blocks[i], blocks[j]) for j in other):
                        members.remove(i)
                        other.append(i)
                        moved = True
                        break
        if not moved:
            break
    return [m for m in groups if m]


def _touch(a: Block, b: Block) -> bool:
    return bool(shapely.length(shapely.intersection(a.polygon.boundary, b.polygon.boundary)) > 10)


def _merge_small_groups(
    blocks: list[Block], groups: list[list[int]], households: FloatArray
) -> list[list[int]]:
    """Return groups where those under :data:`MIN_COMMUNITY_HOUSEHOLDS` joined a neighbour."""
    while len(groups) > 1:
        hh = [float(households[m].sum()) for m in groups]
        small = [g for g in np.argsort(hh).tolist() if hh[g] < MIN_COMMUNITY_HOUSEHOLDS]
        if not small:
            break
        g = small[0]
        polys = [shapely.union_all([blocks[i].polygon for i in m]) for m in groups]
        near = [
            (hh[h], h)
            for h in range(len(groups))
            if h != g and shapely.length(shapely.intersection(polys[g], polys[h])) > 10
        ]
        if not near:
            break
        _, h = min(near)
        groups[h] = groups[h] + groups[g]
        del groups[g]
    return groups


def detach_pieces(
    blocks: list[Block], groups: list[list[int]], rng: np.random.Generator
) -> list[list[int]]:
    """Return groups where a few communities hold a detached block (飞地), most emptied."""
    polys = [shapely.union_all([blocks[i].polygon for i in m]) for m in groups]
    want = max(2, round(DETACHED_SHARE * len(groups)))
    done = 0
    for c in rng.permutation(len(groups)).tolist():
        if done >= want:
            break
        for d in rng.permutation(len(groups)).tolist():
            if d == c or len(groups[d]) < 3:
                continue
            pick = _detachable(blocks, groups[d], polys[c], polys[d])
            if pick is None:
                continue
            groups[d].remove(pick)
            groups[c].append(pick)
            polys[d] = shapely.union_all([blocks[i].polygon for i in groups[d]])
            polys[c] = shapely.union_all([blocks[i].polygon for i in groups[c]])
            if rng.random() < 0.7:
                blocks[pick].contents = BlockContents()  # a park or depot: an empty piece
            done += 1
            break
    return groups


def _detachable(
    blocks: list[Block], donor: list[int], target: BaseGeometry, donor_poly: BaseGeometry
) -> int | None:
    """Return a block of ``donor`` near ``target`` but not touching it, or None."""
    for i in donor:
        poly = blocks[i].polygon
        if poly.area > 150_000 or poly.distance(target) < 30 or poly.distance(target) > 1500:
            continue
        rest = shapely.difference(donor_poly, poly)
        if rest.geom_type == "Polygon":
            return i
    return None


def street_groups(comm_geoms: list[BaseGeometry], rng: np.random.Generator) -> list[list[int]]:
    """Return communities grouped into streets of ~9 (k-means on their centroids)."""
    xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(comm_geoms, dtype=object)))
    k = max(1, math.ceil(len(xy) / 9))
    centres = [xy[int(rng.integers(len(xy)))]]
    while len(centres) < k:  # farthest-point start
        d = np.min(np.linalg.norm(xy[:, None, :] - np.asarray(centres)[None], axis=2), axis=1)
        centres.append(xy[int(np.argmax(d))])
    c = np.asarray(centres)
    for _ in range(30):
        lab = np.argmin(np.linalg.norm(xy[:, None, :] - c[None], axis=2), axis=1)
        c = np.asarray([xy[lab == j].mean(axis=0) if (lab == j).any() else c[j] for j in range(k)])
    groups = [np.flatnonzero(lab == j).tolist() for j in range(k)]
    return [g for g in groups if g]


def station_rows(
    acc: LayerRows,
    comm_geoms: list[BaseGeometry],
    ids: list[str],
    names: list[str],
    rng: np.random.Generator,
) -> None:
    """Add a centre per community, micro-stations (~1 per 300 households) and red fronts."""
    for c, (geom, cid, name) in enumerate(zip(comm_geoms, ids, names, strict=True)):
        pts = [geom.representative_point()]
        kinds, labels, caps = ["center"], [f"{name}党群服务中心"], [3000]
        x0, y0, x1, y1 = geom.bounds
        tries = 0
        while len(pts) < 9 and tries < 200:
            tries += 1
            p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
            if geom.contains(p):
                pts.append(p)
                kinds.append("micro")
                labels.append(f"{name}第{len(pts) - 1}网格党群服务微站")
                caps.append(int(rng.integers(6, 17)) * 50)
        if c % 3 == 0 and len(pts) > 1:
            kinds[-1], labels[-1], caps[-1] = "red_front", f"{name}红色阵地", 300
        acc.add(
            "stations",
            np.asarray(pts, dtype=object),
            kind=kinds,
            name=labels,
            capacity_households=caps,
            community_id=[cid] * len(pts),
        )


def road_frame_rows(
    main: list[BaseGeometry], minor: list[BaseGeometry], paths: list[BaseGeometry]
) -> tuple[NDArray[np.object_], list[str]]:
    """Return the noded road lines and their kinds (``main``, ``minor``, ``path``)."""
    every = [*main, *minor, *paths]
    noded = shapely.get_parts(shapely.union_all(np.asarray(every, dtype=object)))
    mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    kinds = np.full(len(noded), "path", dtype=object)
    for kind, lines in (("minor", minor), ("main", main)):
        if lines:
            near = shapely.dwithin(shapely.union_all(lines), mids, 0.05)
            kinds[near] = kind
    keep = shapely.length(noded) > 0.5
    return np.asarray(noded[keep], dtype=object), [str(k) for k in kinds[keep]]


def city_layers(
    blocks: list[Block],
    members: list[list[int]],
    roads: tuple[list[BaseGeometry], ...],
    factor: float,
    rng: np.random.Generator,
    *,
    district_code: str,
) -> dict[str, gpd.GeoDataFrame]:
    """Return the finished layers of a city of ``blocks`` grouped into communities
    (``members``): ``roads`` are the line lists of :func:`road_frame_rows` (main, minor,
    path), ``factor`` scales raw households, codes start with ``district_code``."""
    acc = LayerRows()
    n_comm = len(members)
    comm_geoms = [
        shapely.coverage_union_all(np.asarray([blocks[i].polygon for i in m], dtype=object))
        for m in members
    ]
    streets = street_groups(comm_geoms, rng)
    street_of = np.empty(n_comm, dtype=np.int64)
    for s, cells in enumerate(streets):
        street_of[list(cells)] = s
    seq = np.zeros(len(streets), dtype=np.int64)
    names = community_names(n_comm, rng)
    ids: list[str] = []
    for c in range(n_comm):
        s = int(street_of[c])
        seq[s] += 1
        ids.append(f"{district_code}{s + 1:03d}{seq[s]:03d}")
    acc.add(
        "communities",
        np.asarray(comm_geoms, dtype=object),
        community_id=ids,
        name=names,
        street_id=[f"{district_code}{s + 1:03d}" for s in street_of.tolist()],
    )
    for c, m in enumerate(members):
        for i in m:
            _add_block(acc, blocks[i].contents, ids[c], factor)
    station_rows(acc, comm_geoms, ids, names, rng)
    geoms, kinds = road_frame_rows(*roads)
    acc.add("roads", geoms, kind=kinds)
    spec = AreaSpec(
        n_x=n_comm,
        n_y=1,
        street_cells=tuple(tuple(s) for s in streets),
        street_names=tuple(street_names(len(streets))),
        community_names=tuple(names),
        community_targets=tuple([0.0] * n_comm),
        n_micro=0,
        n_red_front=0,
        n_companies=max(15, round(n_comm * 0.9)),
    )
    out = finished_layers(acc, spec, ids, street_of, rng)
    codes = [f"{district_code}{s + 1:03d}" for s in range(len(out["streets"]))]
    out["streets"] = out["streets"].assign(street_id=pd.array(codes, dtype="str"))
    return out


def _add_block(acc: LayerRows, contents: BlockContents, community_id: str, factor: float) -> None:
    """Add one block's compounds and buildings to ``acc`` (households scaled by ``factor``)."""
    for comp, slabs, floors in zip(
        contents.compounds, contents.compound_buildings, contents.compound_floors, strict=True
    ):
        acc.n_compounds += 1
        cid = f"XQ{acc.n_compounds:05d}"
        hh = compound_households(slabs, floors, factor)
        acc.add(
            "compounds",
            np.asarray([comp], dtype=object),
            compound_id=[cid],
            community_id=[community_id],
            households=[int(hh.sum())],
        )
        acc.add(
            "buildings",
            np.asarray(slabs, dtype=object),
            compound_id=[cid] * len(slabs),
            households=hh.astype(np.int64),
            floors=[floors] * len(slabs),
        )
    if contents.scattered:
        hh = building_households(contents.scattered, contents.scattered_floors) * factor
        acc.add(
            "buildings",
            np.asarray(contents.scattered, dtype=object),
            compound_id=[None] * len(contents.scattered),
            households=np.maximum(1, np.round(hh)).astype(np.int64),
            floors=contents.scattered_floors,
        )
