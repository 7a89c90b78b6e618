"""Tests of the walled-compound city generator (gridgen.sample.walled)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from city_checks import assert_same_city, assert_schema_and_valid

from gridgen.errors import ParameterError
from gridgen.sample.layout import SAMPLE_METRIC_CRS
from gridgen.sample.walled import make_walled_city


@pytest.fixture(scope="module")
def city() -> dict[str, gpd.GeoDataFrame]:
    return make_walled_city(households=30_000, seed=3)


@pytest.fixture(scope="module")
def metric(city: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return {k: v.to_crs(SAMPLE_METRIC_CRS) for k, v in city.items() if "geometry" in v}


def test_same_seed_same_city_and_households_as_asked(city: dict[str, gpd.GeoDataFrame]) -> None:
    again = make_walled_city(households=30_000, seed=3)
    assert_same_city(city, again)
    total = int(city["buildings"]["households"].sum())
    assert abs(total - 30_000) / 30_000 < 0.01


def test_layers_follow_the_schema_and_validate_without_findings(
    city: dict[str, gpd.GeoDataFrame],
) -> None:
    assert_schema_and_valid(city, source="walled")


def test_compounds_are_walled_inside_blocks_with_open_land(
    metric: dict[str, gpd.GeoDataFrame],
) -> None:
    comp = metric["compounds"].geometry.to_numpy()
    roads = shapely.union_all(metric["roads"].geometry.to_numpy())
    # no road runs through a compound, and compounds stand back from the roads
    assert not shapely.intersects(comp, roads).any()
    assert shapely.distance(comp, roads).min() >= 5.0
    # open land: the compounds cover well under the communities' area
    comm = metric["communities"].geometry.to_numpy()
    assert shapely.area(comp).sum() < 0.75 * shapely.area(comm).sum()
    # every compound building lies inside its compound
    bld = metric["buildings"]
    inside = bld[bld["compound_id"].notna()].merge(
        metric["compounds"][["compound_id", "geometry"]], on="compound_id", suffixes=("", "_c")
    )
    assert shapely.within(inside["geometry"].to_numpy(), inside["geometry_c"].to_numpy()).all()
    assert bld["compound_id"].isna().any()  # village buildings, no compound


def test_communities_tile_the_district_some_in_pieces_with_empty_pieces(
    metric: dict[str, gpd.GeoDataFrame],
) -> None:
    comm = metric["communities"]
    geoms = comm.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert shapely.is_valid(comm.to_crs(4326).geometry.to_numpy()).all()
    union = shapely.union_all(geoms)
    assert abs(union.area - shapely.area(geoms).sum()) < 1.0  # no overlap
    multi = comm[comm.geom_type == "MultiPolygon"]
    assert len(multi) >= 2
    bld = shapely.union_all(metric["buildings"].geometry.to_numpy())
    empty_pieces = [
        p for g in multi.geometry for p in shapely.get_parts(g) if not p.intersects(bld)
    ]
    assert empty_pieces
    # community boundaries run along roads: every boundary shared by two communities
    roads = shapely.union_all(metric["roads"].geometry.to_numpy())
    inner = shapely.difference(shapely.union_all(shapely.boundary(geoms)), shapely.boundary(union))
    near = shapely.intersection(inner, shapely.buffer(roads, 0.5))
    assert near.length / inner.length > 0.99


def test_streets_hold_their_communities(metric: dict[str, gpd.GeoDataFrame]) -> None:
    streets = set(metric["streets"]["street_id"])
    assert set(metric["communities"]["street_id"]) <= streets
    households = np.asarray(metric["buildings"]["households"])
    assert (households >= 1).all()


def test_too_small_a_city_is_refused() -> None:
    with pytest.raises(ParameterError, match="at least 5000"):
        make_walled_city(households=1000)
