"""Placing a ledger's buildings on footprints: the groups of rows and their usable points.

Rows are grouped by (place, building): the place is the compound key (or the compound
its door plate belongs to, or the door plate itself for a scattered building such as
胜利街12号, or else the compound outline the row's point lies in); the building is the
building number. Each group is placed on at most one footprint, and each footprint takes
at most one group (:mod:`gridgen.ingest.assignment`).

A group's door-plate points (in WGS84, then metres) are left out when they lie outside
the district, outside the group's compound outline (when its name finds one;
:data:`OUTLINE_BUFFER_M` of slack) or on a spot shared by rows of
:data:`SHARED_POINT_GROUPS` or more buildings (a compound-level position, such as the
gate, not a door plate); each such row says so in the report.

Households of a building are its distinct rooms (a row without a room counts as one);
residents are summed. Exact duplicate rows count once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from gridgen.ingest.addresses import compound_key, folded_text, parse_address, texts

OUTLINE_BUFFER_M = 10.0
"""Slack around a compound outline for its points (gates, walls)."""
SHARED_POINT_GROUPS = 3
"""A 1 m spot holding rows of this many buildings is a compound-level position."""
SNAP_M = 1.0


@dataclass(frozen=True)
class Footprints:
    """Footprints prepared for placement (metric CRS).

    Attributes
    ----------
    ids
        Building ids, in frame order.
    geometry
        Footprint polygons in metres.
    place, building
        The keys their names give (None where unnamed or not parsed).
    aoi
        Index of the compound outline holding each footprint (-1: none).
    """

    ids: NDArray[np.object_]
    geometry: NDArray[np.object_]
    place: list[str | None]
    building: list[str | None]
    aoi: NDArray[np.int64]


@dataclass(frozen=True)
class Outlines:
    """Compound outlines (AOIs) prepared for placement (metric CRS)."""

    geometry: NDArray[np.object_]
    key: list[str | None]

    def by_key(self) -> dict[str, int]:
        """Return compound key → outline index, for keys held by exactly one outline."""
        seen: dict[str, list[int]] = defaultdict(list)
        for i, k in enumerate(self.key):
            if k is not None:
                seen[k].append(i)
        return {k: v[0] for k, v in seen.items() if len(v) == 1}


def name_keys(
    names: list[str | None], aoi_keys: list[str | None]
) -> tuple[list[str | None], list[str | None]]:
    """Return (place, building) keys of footprint names; the outline's name fills the place."""
    places: list[str | None] = []
    buildings: list[str | None] = []
    for name, aoi_key in zip(texts(names), aoi_keys, strict=True):
        if name is None:
            places.append(None)
            buildings.append(None)
            continue
        parts = parse_address(str(name))
        if parts.building is None and parts.doorplate is not None and parts.compound is None:
            places.append(folded_text(parts.doorplate))
            buildings.append("")
            continue
        place = compound_key(parts.compound) or aoi_key
        building = parts.building
        if building is None and parts.compound is not None:  # 综合楼: a building's own name
            building, place = compound_key(parts.compound), aoi_key
        places.append(place)
        buildings.append(building)
    return places, buildings


def outline_of(points: NDArray[np.object_], outlines: Outlines) -> NDArray[np.int64]:
    """Return the index of the outline holding each geometry's representative point (-1)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(outlines.geometry) == 0 or len(points) == 0:
        return out
    tree = shapely.STRtree(outlines.geometry)
    probe = shapely.point_on_surface(points)
    src, dst = tree.query(probe, predicate="within")
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    first = np.unique(src, return_index=True)[1]
    out[src[first]] = dst[first]
    return out


@dataclass
class Groups:
    """The ledger rows' groups: keys, their rows and their usable points."""

    place: list[str | None]
    building: list[str | None]
    of_row: NDArray[np.int64]  # group per row, -1 for rows in no group
    outline: NDArray[np.int64]  # outline index per group (-1: none)
    points: NDArray[np.object_]  # usable points (metric)
    point_group: NDArray[np.int64]
    point_count: NDArray[np.int64]  # usable points per group


def _metric_points(
    lon: NDArray[np.float64], lat: NDArray[np.float64], metric: pyproj.CRS
) -> NDArray[np.object_]:
    tr = pyproj.Transformer.from_crs(4326, metric, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(shapely.points(x, y), dtype=object)


def row_groups(
    frame: pd.DataFrame,
    *,
    active: NDArray[np.bool_],
    district: shapely.Geometry,
    outlines: Outlines,
    metric: pyproj.CRS,
    notes: list[str | None],
) -> Groups:
    """Return the groups of the active rows and their usable points; add notes per row."""
    n = len(frame)
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    has = active & np.isfinite(lon) & np.isfinite(lat)
    pts = np.full(n, None, dtype=object)
    pts[has] = _metric_points(lon[has], lat[has], metric)
    inside = np.zeros(n, dtype=bool)
    inside[has] = shapely.contains_xy(district, *shapely.get_coordinates(pts[has]).T)
    for i in np.flatnonzero(has & ~inside):
        notes[i] = _joined(
            notes[i], f"coordinates ({lon[i]:.6f}, {lat[i]:.6f}) outside the district: ignored"
        )
    has &= inside
    row_outline = np.full(n, -1, dtype=np.int64)
    row_outline[has] = outline_of(pts[has], outlines)
    place, building = _row_keys(frame, row_outline, outlines)
    grouped = active & np.array(
        [p is not None and b is not None for p, b in zip(place, building, strict=True)]
    )
    keys = pd.Series([f"{place[i]}\x1f{building[i]}" if grouped[i] else None for i in range(n)])
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    of_row = np.where(grouped, codes, -1).astype(np.int64)
    g_place = [u.split("\x1f", 1)[0] for u in uniques]
    g_building = [u.split("\x1f", 1)[1] for u in uniques]
    by_key = outlines.by_key()
    g_outline = np.array([by_key.get(p, -1) for p in g_place], dtype=np.int64)
    usable = has & (of_row >= 0)
    usable &= _not_shared(pts, of_row, usable, notes)
    with_outline = usable & (g_outline[np.maximum(of_row, 0)] >= 0)
    idx = np.flatnonzero(with_outline)
    near = (
        shapely.dwithin(pts[idx], outlines.geometry[g_outline[of_row[idx]]], OUTLINE_BUFFER_M)
        if len(idx)
        else np.zeros(0, dtype=bool)
    )
    out_of_outline = np.zeros(n, dtype=bool)
    out_of_outline[idx[~near]] = True
    for i in np.flatnonzero(out_of_outline):
        notes[i] = _joined(notes[i], "coordinates outside the compound's outline: not used")
    usable &= ~out_of_outline
    point_rows = np.flatnonzero(usable)
    return Groups(
        place=g_place,
        building=g_building,
        of_row=of_row,
        outline=g_outline,
        points=pts[point_rows],
        point_group=of_row[point_rows],
        point_count=np.bincount(of_row[point_rows], minlength=len(uniques)).astype(np.int64),
    )


def doorplate_compounds(compounds: list[str | None], doors: list[str | None]) -> dict[str, str]:
    """Return door plate → compound, learnt from rows that give both (the majority wins).

    A compound's gate has a door plate (锦绣花园 is 胜利街12号); rows that write only the
    door plate (胜利街12号3号楼) are rows of that compound. A door plate no row ties to a
    compound is a scattered building's.
    """
    pairs = pd.DataFrame({"door": doors, "compound": compounds}).dropna()
    if pairs.empty:
        return {}
    counts = pairs.groupby(["door", "compound"]).size().reset_index(name="n")
    best = counts.sort_values(["door", "n"], ascending=[True, False]).drop_duplicates("door")
    return dict(zip(best["door"], best["compound"], strict=True))


def _row_keys(
    frame: pd.DataFrame, row_outline: NDArray[np.int64], outlines: Outlines
) -> tuple[list[str | None], list[str | None]]:
    """Return (place, building) per row.

    The place is the compound; else the compound the door plate belongs to
    (:func:`doorplate_compounds`); else the door plate itself, and then a row without a
    building number is the scattered building of that door plate (building ``""``); else
    the name of the compound outline the row's point lies in.
    """
    compounds, numbers = texts(frame["compound"]), texts(frame["building"])
    doors = [folded_text(d) if d is not None else None for d in texts(frame["doorplate"])]
    alias = doorplate_compounds(compounds, doors)
    places: list[str | None] = []
    buildings: list[str | None] = []
    for i, (compound, door, number) in enumerate(zip(compounds, doors, numbers, strict=True)):
        place, building = compound, number
        if place is None and door is not None:
            place = alias.get(door)
            if place is None:
                place, building = door, "" if number is None else number
        if place is None and row_outline[i] >= 0:
            place = outlines.key[row_outline[i]]
        places.append(place)
        buildings.append(building)
    return places, buildings


def _not_shared(
    pts: NDArray[np.object_],
    of_row: NDArray[np.int64],
    usable: NDArray[np.bool_],
    notes: list[str | None],
) -> NDArray[np.bool_]:
    """Return the mask of rows whose point is not a spot shared by several buildings."""
    keep = np.ones(len(pts), dtype=bool)
    idx = np.flatnonzero(usable)
    if len(idx) == 0:
        return keep
    xy = np.round(shapely.get_coordinates(pts[idx]) / SNAP_M).astype(np.int64)
    spots = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "g": of_row[idx]})
    distinct = spots.groupby(["x", "y"])["g"].transform("nunique").to_numpy()
    shared = distinct >= SHARED_POINT_GROUPS
    for i, k in zip(idx[shared], distinct[shared], strict=True):
        notes[i] = _joined(
            notes[i], f"coordinates shared by rows of {k} buildings (not a door plate): not used"
        )
    keep[idx[shared]] = False
    return keep


def _joined(old: str | None, new: str) -> str:
    return new if not old else f"{old}; {new}"
