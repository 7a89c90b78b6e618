"""Tests of the filled-block city generator (gridgen.sample.filled)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from city_checks import assert_same_city, assert_schema_and_valid

from gridgen.errors import ParameterError
from gridgen.sample.filled import BIG_COMPOUND_HOUSEHOLDS, make_filled_city
from gridgen.sample.layout import SAMPLE_METRIC_CRS

WALL_SHARE_MIN = 0.7
"""Smallest share of compounds sharing at least 20 m of wall with a neighbour (a block
small enough holds a single compound)."""
OPEN_LAND_MAX = 0.12
"""Largest share of the district in no compound and farther than 15 m from every road
(the river strip, school and market plots): the blocks are filled."""


@pytest.fixture(scope="module")
def city() -> dict[str, gpd.GeoDataFrame]:
    return make_filled_city(households=40_000, seed=5)


@pytest.fixture(scope="module")
def metric(city: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return {k: v.to_crs(SAMPLE_METRIC_CRS) for k, v in city.items() if "geometry" in v}


def test_same_seed_same_city_and_households_as_asked(city: dict[str, gpd.GeoDataFrame]) -> None:
    again = make_filled_city(households=40_000, seed=5)
    assert_same_city(city, again)
    total = int(city["buildings"]["households"].sum())
    assert abs(total - 40_000) / 40_000 < 0.01
    other = make_filled_city(households=40_000, seed=6)
    assert (
        len(other["compounds"]) != len(city["compounds"])
        or not other["compounds"]["geometry"]
        .geom_equals_exact(city["compounds"].geometry, 0.0)
        .all()
    )


def test_layers_follow_the_schema_and_validate_without_findings(
    city: dict[str, gpd.GeoDataFrame],
) -> None:
    assert_schema_and_valid(city, source="filled")
    for name in ("communities", "compounds", "buildings"):
        assert shapely.is_valid(city[name].geometry.to_numpy()).all()


def test_compounds_fill_the_blocks_sharing_walls(metric: dict[str, gpd.GeoDataFrame]) -> None:
    comp = metric["compounds"]
    geoms = comp.geometry.to_numpy()
    comm = shapely.union_all(metric["communities"].geometry.to_numpy())
    roads = metric["roads"]
    # compounds do not overlap (beyond the rounding of the trip through WGS84), and most
    # share a wall with a neighbour
    total = shapely.area(geoms).sum()
    assert abs(shapely.union_all(geoms).area - total) < 1e-5 * total
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=0.05)
    shared = shapely.length(shapely.intersection(shapely.buffer(geoms[a], 0.05), geoms[b]))
    walled = np.unique(a[(a != b) & (shared > 20.0)])
    assert len(walled) / len(geoms) > WALL_SHARE_MIN
    # little open land: land in no compound farther than 15 m from every road
    near_road = shapely.buffer(shapely.union_all(roads.geometry.to_numpy()), 15.0)
    rest = shapely.difference(comm, shapely.union_all([near_road, *geoms]))
    assert rest.area / comm.area < OPEN_LAND_MAX
    # no street or arterial runs through a compound (only its own internal roads)
    streets = roads[roads["kind"] == "main"].geometry.to_numpy()
    assert not shapely.intersects(shapely.buffer(geoms, -1.0), shapely.union_all(streets)).any()
    # every building lies inside its compound
    bld = metric["buildings"]
    inside = bld.merge(comp[["compound_id", "geometry"]], on="compound_id", suffixes=("", "_c"))
    assert len(inside) == len(bld)
    assert shapely.within(inside["geometry"].to_numpy(), inside["geometry_c"].to_numpy()).all()


def test_compound_sizes_and_internal_roads(metric: dict[str, gpd.GeoDataFrame]) -> None:
    comp = metric["compounds"]
    hh = metric["buildings"].groupby("compound_id")["households"].sum()
    sizes = comp["compound_id"].map(hh).to_numpy()
    # most compounds hold 100-900 households; some are above the band maximum
    assert np.mean((sizes >= 100) & (sizes <= 900)) > 0.6
    big = sizes > BIG_COMPOUND_HOUSEHOLDS
    assert 0.2 < big.mean() < 0.8
    # internal roads (kind minor or path) cross most large compounds, not all of them
    inner = shapely.buffer(comp.geometry.to_numpy(), -1.0)
    lines = metric["roads"][metric["roads"]["kind"] != "main"].geometry.to_numpy()
    _, hit = shapely.STRtree(inner).query(lines, predicate="intersects")
    crossed = np.zeros(len(comp), dtype=bool)
    crossed[hit] = True
    assert 0.5 < crossed[big].mean() < 0.95
    assert crossed[~big].mean() < 0.05


def test_communities_tile_the_district_along_roads(metric: dict[str, gpd.GeoDataFrame]) -> None:
    comm = metric["communities"]
    geoms = comm.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert shapely.is_valid(comm.to_crs(4326).geometry.to_numpy()).all()
    union = shapely.union_all(geoms)
    assert abs(union.area - shapely.area(geoms).sum()) < 1.0  # no overlap
    roads = shapely.union_all(metric["roads"].geometry.to_numpy())
    inner = shapely.difference(shapely.union_all(shapely.boundary(geoms)), shapely.boundary(union))
    near = shapely.intersection(inner, shapely.buffer(roads, 0.5))
    assert near.length / inner.length > 0.99
    hh = metric["buildings"].merge(metric["compounds"][["compound_id", "community_id"]])
    per = hh.groupby("community_id")["households"].sum()
    assert per.min() >= 1000 and per.median() == pytest.approx(2750, rel=0.3)
    assert set(comm["street_id"]) <= set(metric["streets"]["street_id"])


def test_too_small_a_city_is_refused() -> None:
    with pytest.raises(ParameterError, match="at least 5000"):
        make_filled_city(households=1000)
