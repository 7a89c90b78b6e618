"""A district's raw files, as its offices hand them over, made from any gridgen district.

:func:`raw_district` takes the layers of a generated (or real) district and returns what a
district would give a planner, with the truth kept aside:

- community boundaries with 12-digit codes and names (written as a GBK Shapefile in a
  CGCS2000 Gauss-Krüger zone by :mod:`gridgen.sample.raw_files`);
- building footprints, a share of them named (锦绣花园3号楼, 3号楼, 胜利街12号), some
  missing (new or demolished buildings whose households are still in the ledger);
- compound outlines (AOIs) with names;
- roads with OpenStreetMap classes (``fclass``);
- the population ledger (一标三实): one row per household (room) with a standard address
  and split columns, residents and door-plate coordinates, made messy at ``mess``: building
  spellings (3号楼/3栋/3幢/三号楼/３号楼/3#楼), compound names with or without 小区 or
  left blank, rows without coordinates, door plates in the yard, whole compounds
  geocoded to their gate, exact duplicate rows, a few rows outside the district, blank and
  totals rows.

Everything random comes from one seeded generator; the same spec gives the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

BUILDING_SPELLINGS = (
    "{n}号楼",
    "{n}栋",
    "{n}幢",
    "{cn}号楼",
    "{fw}号楼",
    "{n}#楼",
    "{n}#",
    "{n} 号楼",
)
CN_DIGITS = "零一二三四五六七八九"
ROAD_SUFFIXES = ("路", "街", "巷", "大街")
FCLASS_BY_KIND = {
    "main": ("primary", "secondary", "secondary", "trunk"),
    "minor": ("residential", "residential", "service", "tertiary", "unclassified"),
    "path": ("footway", "path", "steps"),
}


@dataclass(frozen=True)
class RawSpec:
    """How a raw district is made.

    Attributes
    ----------
    place
        Province, city and district names heading every standard address.
    named_share
        Share of footprints carrying a name.
    missing_share
        Share of residential buildings without a footprint (their rows stay).
    duplicate_share
        Share of rows copied once more (exact duplicates).
    coordinate_share
        Share of rows with door-plate coordinates.
    mess
        0 (clean) to 1 (very messy): spellings, blank compound names, blank addresses.
    noise_m
        Standard deviation of door-plate coordinates around the entrance (metres).
    yard_share
        Share of buildings whose door plates were taken in the yard in front (3-12 m off,
        never on another building).
    gate_share
        Share of compounds whose rows were all geocoded to the compound's gate.
    outside_rows
        Rows whose coordinates lie outside the district (swapped or zero).
    seed
        Seed of the random generator.
    """

    place: tuple[str, str, str] = ("山西省", "太原市", "小店区")
    named_share: float = 0.5
    missing_share: float = 0.03
    duplicate_share: float = 0.01
    coordinate_share: float = 0.85
    mess: float = 0.5
    noise_m: float = 3.0
    yard_share: float = 0.1
    gate_share: float = 0.01
    outside_rows: int = 12
    seed: int = 7


@dataclass
class RawDistrict:
    """Raw layers (EPSG:4326) and the truth kept aside.

    Attributes
    ----------
    communities, footprints, compounds, roads
        What the offices hand over (Chinese column names).
    ledger
        The ledger rows (text cells, Chinese headers; coordinates in WGS84 until written).
    truth_rows
        Per ledger data row (1-based ``row``): ``building_id`` (true building),
        ``kind`` (household, duplicate, missing_building, junk) and ``room``.
    truth_buildings
        Per true building: ``building_id``, ``households``, ``residents``, ``present``
        (whether its footprint is in the footprints) and ``footprint`` (its footprint id).
    truth_communities
        The communities as they are (to check positions after the round trip).
    """

    communities: gpd.GeoDataFrame
    footprints: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame | None
    ledger: pd.DataFrame
    truth_rows: pd.DataFrame
    truth_buildings: pd.DataFrame
    truth_communities: gpd.GeoDataFrame
    extra: dict[str, object] = field(default_factory=dict)


def cn_number(n: int) -> str:
    """Return ``n`` (1-99) in Chinese numerals (三, 十二, 二十三)."""
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else CN_DIGITS[tens]
    return f"{head}十{CN_DIGITS[ones] if ones else ''}"


def full_width(text: str) -> str:
    """Return ``text`` with ASCII digits and letters in full width (３号楼)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def building_numbers(buildings: gpd.GeoDataFrame, metric: pyproj.CRS) -> np.ndarray:
    """Return each building's number within its compound (north to south, west to east)."""
    pts = buildings.to_crs(metric).geometry.centroid
    order = pd.DataFrame(
        {
            "c": buildings["compound_id"].fillna("").to_numpy(),
            "y": -np.round(pts.y / 10),
            "x": pts.x,
        }
    ).sort_values(["c", "y", "x"])
    order["n"] = order.groupby("c").cumcount() + 1
    return order["n"].reindex(range(len(buildings))).to_numpy()


def spelled(n: int, choice: int) -> str:
    """Return building number ``n`` spelled the ``choice``-th way of :data:`BUILDING_SPELLINGS`."""
    pattern = BUILDING_SPELLINGS[choice % len(BUILDING_SPELLINGS)]
    return pattern.format(n=n, cn=cn_number(n) if n < 100 else n, fw=full_width(str(n)))


def rooms_of(households: int, floors: int) -> list[tuple[int, str]]:
    """Return (unit, room) of ``households`` rooms: two doors a floor, unit after unit."""
    floors = max(1, int(floors))
    units = max(1, -(-households // (floors * 2)))
    out = [
        (u, f"{f}{d:02d}")
        for u in range(1, units + 1)
        for f in range(1, floors + 1)
        for d in (1, 2)
    ]
    return out[:households]


def road_names(n: int, rng: np.random.Generator) -> list[str]:
    """Return ``n`` distinct road names (胜利街, 学府路 ...)."""
    from gridgen.sample.names import _STREET_WORDS

    combos = [w + s for w in _STREET_WORDS for s in ROAD_SUFFIXES]
    idx = rng.permutation(len(combos))
    return [combos[i % len(combos)] + ("" if i < len(combos) else "二") for i in idx[:n]]


@dataclass
class DoorBuilding:
    """What the ledger needs of one true building."""

    building_id: str
    footprint: str
    community: str
    street: str
    compound: str | None
    doorplate: str
    number: int
    households: int
    residents: int
    floors: int
    doors: list[tuple[float, float]]  # one door-plate position per unit (metric)
    gate: tuple[float, float] | None
    spelling: int
    present: bool
