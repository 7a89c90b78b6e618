"""Domain figures that every output shares: uncovered buildings, a compound's station and totals.

Hand-checked on the small dataset of :mod:`tests.coverage_helpers` (B1 covered at 430 m
by S1; B2 740 m, B4 775 m, B3 unreachable; compound K1 = B1 + B4).
"""

from __future__ import annotations

import pandas as pd
import pytest
from coverage_helpers import small_dataset

from gridgen.coverage.compound import compound_summary, nearest_station
from gridgen.coverage.stations import station_coverage
from gridgen.coverage.uncovered import coverage_of_uncovered_ids, uncovered_buildings


def test_uncovered_buildings_of_a_coverage_result_carry_distance_and_station() -> None:
    ds = small_dataset()
    out = uncovered_buildings(ds, station_coverage(ds, radius=500))
    assert list(out["building_id"]) == ["B2", "B3", "B4"]
    assert out.crs.to_epsg() == 4326
    assert out.loc[out["building_id"] == "B2", "distance_m"].iloc[0] == pytest.approx(740.0)
    assert pd.isna(out.loc[out["building_id"] == "B3", "station_id"].iloc[0])
    assert set(ds.buildings.columns) - {"geometry"} <= set(out.columns)


def test_uncovered_buildings_after_siting_are_the_listed_ids_with_chosen_columns() -> None:
    ds = small_dataset()
    cov = coverage_of_uncovered_ids(ds, ["B3"])
    out = uncovered_buildings(ds, cov, columns=("building_id", "households", "geometry"))
    assert list(out.columns) == ["building_id", "households", "geometry"]
    assert list(out["building_id"]) == ["B3"] and int(out["households"].iloc[0]) == 50
    # a building missing from the coverage is uncovered, never silently dropped
    partial = station_coverage(ds, radius=5000).iloc[:1]
    assert list(uncovered_buildings(ds, partial)["building_id"]) == ["B2", "B3", "B4"]


def test_nearest_station_follows_coverage_then_falls_back_to_straight_line() -> None:
    ds = small_dataset()
    k1 = ds.metric("compounds").set_index("compound_id").geometry["K1"]
    cov = station_coverage(ds, radius=500)
    found = nearest_station(ds, k1, ["B1", "B4"], coverage=cov, radius=500)
    assert found is not None and found.station_id == "S1"  # B1 is covered by S1
    straight = nearest_station(ds, k1, ["B1", "B4"], coverage=None, radius=500)
    assert straight is not None and straight.station_id == "S1"
    assert straight.distance_m == pytest.approx(k1.distance(ds.metric("stations").geometry[0]))
    assert nearest_station(ds, k1, [], coverage=None, radius=1.0) is None  # > 3 radii away


def test_compound_summary_adds_up_the_buildings() -> None:
    ds = small_dataset()
    k1 = ds.buildings[ds.buildings["compound_id"] == "K1"]
    covered = pd.Series([True, None], index=k1.index, dtype=object)
    totals = compound_summary(k1, covered=covered)
    assert (totals.buildings, totals.households, totals.leaders) == (2, 180, 2)
    assert (totals.party_members, totals.covered_households) == (5, 100)
    assert totals.covered_share == pytest.approx(100 / 180)
    assert totals.residents is None and totals.key_persons is None
    unknown = compound_summary(k1, covered=pd.Series([None, None], index=k1.index))
    assert unknown.covered_households is None and unknown.covered_share is None
