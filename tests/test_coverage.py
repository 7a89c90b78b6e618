"""Station coverage on a small hand-computed network (see tests/coverage_helpers.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from coverage_helpers import UTM, SmallPlan, small_dataset, small_layers

from gridgen.coverage.network import walk_network
from gridgen.coverage.stations import coverage_by_level, station_coverage, station_load
from gridgen.errors import InputError, ParameterError
from gridgen.io.crs import frame_from_wgs84, frame_to_wgs84, parse_crs


def by_id(cov: pd.DataFrame) -> pd.DataFrame:
    return cov.set_index("building_id")


def test_walking_distances_are_exact() -> None:
    cov = by_id(station_coverage(small_dataset(), radius=500))
    assert cov.loc["B1", "distance_m"] == pytest.approx(430.0, abs=1e-6)  # same edge as S1
    assert cov.loc["B2", "distance_m"] == pytest.approx(740.0, abs=1e-6)
    assert cov.loc["B4", "distance_m"] == pytest.approx(775.0, abs=1e-6)  # via noded crossing
    assert list(cov["station_id"].fillna("-")) == ["S1", "S2", "-", "S1"]
    assert cov.loc["B2", "snap_m"] == pytest.approx(30.0, abs=1e-6)
    assert list(cov["covered"]) == [True, False, False, False]


def test_unreachable_building_is_reported_not_covered() -> None:
    cov = by_id(station_coverage(small_dataset(), radius=5000))
    assert not cov.loc["B3", "reachable"]
    assert not cov.loc["B3", "covered"]
    assert pd.isna(cov.loc["B3", "distance_m"])
    assert pd.isna(cov.loc["B3", "station_id"])
    assert cov["covered"].sum() == 3


def test_life_circles_change_coverage() -> None:
    ds = small_dataset()
    covered = {r: int(station_coverage(ds, radius=r)["covered"].sum()) for r in (300, 500, 1000)}
    assert covered == {300: 0, 500: 1, 1000: 3}


def test_straight_line_distances() -> None:
    cov = by_id(station_coverage(small_dataset(), mode="line"))
    assert cov.loc["B1", "distance_m"] == pytest.approx(math.hypot(400, 30), abs=1e-6)
    assert cov.loc["B2", "distance_m"] == pytest.approx(math.hypot(20, 700), abs=1e-6)
    assert cov.loc["B3", "station_id"] == "S2"  # line mode ignores the network
    assert bool(cov["reachable"].all())
    assert (cov["snap_m"] == 0).all()


def test_unwalkable_road_is_skipped() -> None:
    layers = small_layers()
    layers["roads"].loc[layers["roads"]["road_id"] == "R2", "walkable"] = False
    cov = by_id(station_coverage(small_dataset(layers)))
    # B4 now snaps to the L road at (515, 0): 250 m snap, 10 + 515 + 250 walk
    assert cov.loc["B4", "snap_m"] == pytest.approx(250.0, abs=1e-6)
    assert cov.loc["B4", "distance_m"] == pytest.approx(775.0, abs=1e-6)


def test_footprints_use_a_point_inside() -> None:
    layers = small_layers()
    metric = layers["buildings"].to_crs(UTM)
    metric["geometry"] = metric.geometry.buffer(5, cap_style="square")
    layers["buildings"] = metric.to_crs(4326)
    cov = by_id(station_coverage(small_dataset(layers)))
    assert cov.loc["B2", "distance_m"] == pytest.approx(740.0, abs=1e-3)


def test_gcj02_round_trip_gives_the_same_coverage() -> None:
    gcj = parse_crs("gcj02")
    layers = small_layers()
    moved = {
        name: frame_to_wgs84(frame_from_wgs84(layer, gcj), gcj) if "geometry" in layer else layer
        for name, layer in layers.items()
    }
    for name in ("buildings", "stations", "roads"):
        shift = frame_from_wgs84(layers[name], gcj).to_crs(UTM).distance(layers[name].to_crs(UTM))
        assert shift.min() > 100  # the GCJ-02 layers really are offset
    a = station_coverage(small_dataset(layers))
    b = station_coverage(small_dataset(moved))
    assert list(a["covered"]) == list(b["covered"])
    assert list(a["station_id"].fillna("-")) == list(b["station_id"].fillna("-"))
    np.testing.assert_allclose(a["distance_m"], b["distance_m"], atol=0.01)


def test_rollups_add_up() -> None:
    ds = small_dataset()
    cov = station_coverage(ds, radius=500)
    grid = coverage_by_level(ds, cov, level="grid", plan=SmallPlan())
    comm = coverage_by_level(ds, cov, level="community")
    street = coverage_by_level(ds, cov, level="street")
    district = coverage_by_level(ds, cov, level="district")
    cols = ["households", "covered_households", "buildings", "compounds", "uncovered_compounds"]
    summed = grid.groupby("community_id")[cols].sum()
    assert summed.to_dict() == comm.set_index("community_id")[cols].to_dict()
    assert (
        comm[cols].sum().to_dict()
        == street[cols].sum().to_dict()
        == district[cols].iloc[0].to_dict()
    )
    for table in (grid, comm, street, district):
        assert (table["covered_households"] <= table["households"]).all()
    c1 = comm.set_index("community_id").loc["C1"]
    assert (c1["households"], c1["covered_households"]) == (230, 100)
    assert c1["share"] == pytest.approx(100 / 230)
    assert (c1["unreachable_buildings"], c1["partly_covered_compounds"]) == (1, 1)
    c2 = comm.set_index("community_id").loc["C2"]
    assert (c2["uncovered_compounds"], c2["share"]) == (1, 0.0)
    assert district.iloc[0]["households"] == 430
    building = coverage_by_level(ds, cov, level="building")
    assert building["covered_households"].sum() == 100


def test_grid_rollup_keeps_unassigned_buildings() -> None:
    ds = small_dataset()
    cov = station_coverage(ds)
    plan = SmallPlan()
    plan.assignment = plan.assignment[plan.assignment["building_id"] != "B2"]
    grid = coverage_by_level(ds, cov, level="grid", plan=plan)
    assert grid["households"].sum() == 430
    assert grid["grid_id"].isna().sum() == 1
    assert grid.set_index("grid_id").loc["G3", "households"] == 0


def test_station_load_against_capacity() -> None:
    ds = small_dataset()
    load = station_load(ds, station_coverage(ds, radius=1000)).set_index("station_id")
    assert load.loc["S1", "households_served"] == 180
    assert load.loc["S1", "load_ratio"] == pytest.approx(180 / 50)
    assert bool(load.loc["S1", "overloaded"])
    assert load.loc["S2", "households_served"] == 200
    assert pd.isna(load.loc["S2", "overloaded"])
    assert load["households_served"].sum() <= ds.total_households()


@pytest.mark.parametrize("radius", [0, -5, math.nan, math.inf, "far"])
def test_bad_radius(radius: object) -> None:
    with pytest.raises(ParameterError, match="radius"):
        station_coverage(small_dataset(), radius=radius)  # type: ignore[arg-type]


def test_bad_mode_and_level() -> None:
    ds = small_dataset()
    with pytest.raises(ParameterError, match="mode"):
        station_coverage(ds, mode="drive")
    cov = station_coverage(ds)
    with pytest.raises(ParameterError, match="level"):
        coverage_by_level(ds, cov, level="county")
    with pytest.raises(ParameterError, match="plan"):
        coverage_by_level(ds, cov, level="grid")


def test_walking_without_roads_says_how_to_fix() -> None:
    layers = small_layers()
    layers["roads"] = layers["roads"].iloc[0:0]
    with pytest.raises(InputError, match="mode"):
        station_coverage(small_dataset(layers))
    assert station_coverage(small_dataset(layers), mode="line")["covered"].sum() == 1


def test_network_is_noded_at_crossings() -> None:
    net = walk_network(small_dataset().metric("roads"))
    # L road split at (500, 0): 2 pieces; crossing road: 2 pieces; isolated road: 1
    assert net.n_edges == 5
    assert net.length.sum() == pytest.approx(2000 + 600 + 200)


def test_cli_coverage_and_site_on_the_sample_district(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    import pyogrio

    from gridgen.sample.district import sample_path
    from gridgen_cli.main import main

    data = str(sample_path() / "district.gpkg")
    out = tmp_path / "cov.json"
    assert main(["coverage", data, "--level", "street", "--radius", "300", "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert sum(r["households"] for r in doc["rows"]) == doc["meta"]["households"]
    assert sum(r["covered_households"] for r in doc["rows"]) == doc["meta"]["covered_households"]
    assert len(doc["stations"]) > 0
    sites = tmp_path / "sites.gpkg"
    assert main(["site", data, "--add", "3", "--radius", "300", "--out", str(sites)]) == 0
    layers = dict(pyogrio.list_layers(sites))
    assert set(layers) == {"proposed_sites", "uncovered_buildings", "layer_styles"}  # + QGIS styles
    assert len(pyogrio.read_dataframe(sites, layer="proposed_sites")) == 3
    assert "coverage" in capsys.readouterr().out
    assert main(["coverage", data, "--radius", "0", "--out", str(out)]) == 2
    assert "radius" in capsys.readouterr().err


@pytest.mark.slow
def test_grid_rollup_with_a_real_plan_adds_up_to_communities() -> None:
    from gridgen.io.read import load_sample
    from gridgen.partition.community import partition_dataset

    ds = load_sample()
    plan = partition_dataset(ds)
    cov = station_coverage(ds, radius=300)
    grid = coverage_by_level(ds, cov, level="grid", plan=plan)
    comm = coverage_by_level(ds, cov, level="community").set_index("community_id")
    cols = ["households", "covered_households", "buildings", "unreachable_buildings"]
    summed = grid.groupby("community_id")[cols].sum().reindex(comm.index, fill_value=0)
    pd.testing.assert_frame_equal(summed, comm[cols], check_dtype=False)
    assert grid["grid_id"].notna().all()
    assert (grid["covered_households"] <= grid["households"]).all()
    assert 0 < comm["covered_households"].sum() < ds.total_households()
