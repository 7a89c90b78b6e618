"""Figures of one compound (小区): its station, its grids and its summary.

The compound sheet (:mod:`maps.sheet.data`) labels and draws these; the computations
live here so that every output (sheet, atlas, service) counts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.partition.plan import Plan

STATION_SEARCH_FACTOR = 3.0
"""A compound's nearest station is shown up to this many radii away (else: none nearby)."""


@dataclass(frozen=True)
class NearestStation:
    """The station serving a compound (geometry in the dataset's metric CRS)."""

    station_id: str
    name: str
    kind: str
    geometry: BaseGeometry
    distance_m: float
    radius_m: float

    @property
    def reaches_compound(self) -> bool:
        """Return whether the compound lies (partly) within the station's reach."""
        return self.distance_m <= self.radius_m


@dataclass(frozen=True)
class CompoundGrids:
    """The grids of a compound: ids, geometries (metric CRS) and grid workers."""

    grid_ids: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]
    workers: int | None


@dataclass(frozen=True)
class CompoundSummary:
    """What a compound's buildings add up to (restricted figures only when asked for)."""

    buildings: int
    households: int
    residents: int | None
    leaders: int
    party_members: int
    covered_households: int | None
    key_persons: int | None = None

    @property
    def covered_share(self) -> float | None:
        """Return covered households / households (None without coverage; 0 when empty)."""
        if self.covered_households is None:
            return None
        return self.covered_households / self.households if self.households else 0.0


def text_or_none(value: object) -> str | None:
    """Return ``value`` as stripped text, or None when missing or blank."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    text = str(value).strip()
    return text or None


def nearest_station(
    dataset: Dataset,
    compound: BaseGeometry,
    building_ids: list[str],
    *,
    coverage: pd.DataFrame | None,
    radius: float,
) -> NearestStation | None:
    """Return the compound's station: the one coverage assigned most, else the nearest.

    ``coverage`` (from :func:`gridgen.coverage.stations.station_coverage`) names each
    building's station; the station most of the compound's buildings use wins. Without
    it (or when none of them is covered), the station nearest to the compound by straight
    line. None when there are no stations or the chosen one is more than
    :data:`STATION_SEARCH_FACTOR` radii away.
    """
    stations = dataset.metric("stations")
    if stations.empty:
        return None
    chosen: int | None = None
    if coverage is not None and {"building_id", "station_id"} <= set(coverage.columns):
        mine = coverage.loc[coverage["building_id"].astype(str).isin(building_ids), "station_id"]
        mine = mine.dropna()
        if not mine.empty:
            hits = np.flatnonzero(stations["station_id"].astype(str) == str(mine.mode().iloc[0]))
            chosen = int(hits[0]) if hits.size else None
    dists = stations.geometry.distance(compound).to_numpy()
    if chosen is None:
        chosen = int(np.argmin(dists))
    distance = float(dists[chosen])
    if distance > STATION_SEARCH_FACTOR * radius:
        return None
    row = stations.iloc[chosen]
    return NearestStation(
        station_id=str(row["station_id"]),
        name=text_or_none(row.get("name")) or str(row["station_id"]),
        kind=str(row["kind"]),
        geometry=row.geometry,
        distance_m=distance,
        radius_m=float(radius),
    )


def compound_grids(
    dataset: Dataset, plan: Plan | None, building_ids: list[str], compound: BaseGeometry
) -> CompoundGrids:
    """Return the grids the plan put the compound's buildings in, else the one under it."""
    if plan is None:
        return CompoundGrids((), (), None)
    grids = plan.grids.to_crs(dataset.metric_crs)
    assignment = plan.assignment
    assigned = assignment.loc[assignment["building_id"].astype(str).isin(building_ids), "grid_id"]
    grid_ids = sorted(set(assigned.astype(str)))
    if not grid_ids:
        under = grids.loc[grids.geometry.contains(compound.representative_point())]
        grid_ids = under["grid_id"].astype(str).tolist()
    sel = grids.loc[grids["grid_id"].astype(str).isin(grid_ids)]
    workers = None
    if "workers" in sel:
        workers = int(pd.to_numeric(sel["workers"], errors="coerce").fillna(1).sum())
    return CompoundGrids(tuple(grid_ids), tuple(sel.geometry), workers)


def compound_summary(
    buildings: pd.DataFrame,
    *,
    covered: pd.Series | None = None,
    restricted: bool = False,
) -> CompoundSummary:
    """Return the totals of a compound's ``buildings`` (one row each).

    ``covered`` (aligned to ``buildings``; NA: unknown) gives the covered households when
    any building's coverage is known. ``key_persons`` is summed only when ``restricted``.
    """
    households = pd.to_numeric(buildings["households"]).astype(int)
    residents = _known_ints(buildings, "residents")
    party = _known_ints(buildings, "party_members")
    leaders = 0
    if "leader_name" in buildings:
        leaders = sum(text_or_none(v) is not None for v in buildings["leader_name"])
    covered_hh: int | None = None
    if covered is not None:
        flags = covered.astype("boolean")
        known = flags.notna().to_numpy()
        if known.any():
            covered_hh = int(households.to_numpy()[flags.fillna(False).to_numpy(dtype=bool)].sum())
    key_persons: int | None = None
    if restricted:
        keys = _known_ints(buildings, "key_persons")
        key_persons = int(keys.sum()) if len(keys) else None
    return CompoundSummary(
        buildings=len(buildings),
        households=int(households.sum()),
        residents=int(residents.sum()) if len(residents) else None,
        leaders=leaders,
        party_members=int(party.sum()),
        covered_households=covered_hh,
        key_persons=key_persons,
    )


def _known_ints(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series([], dtype="int64")
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return values.astype("int64")
