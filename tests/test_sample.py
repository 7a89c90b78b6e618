"""Tests of the sample district and synthetic city generator (gridgen.sample.district)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gridgen.errors import ParameterError
from gridgen.io.crs import gcj02_to_wgs84
from gridgen.sample.district import make_city, make_district, sample_path
from gridgen.sample.layout import SAMPLE_METRIC_CRS
from gridgen.schema import DATASET_LAYERS, LAYERS, PROPERTY_MODES, ROAD_KINDS, STATION_KINDS


@pytest.fixture(scope="module")
def district() -> dict[str, gpd.GeoDataFrame]:
    return make_district()


@pytest.fixture(scope="module")
def metric(district: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return {k: v.to_crs(SAMPLE_METRIC_CRS) for k, v in district.items() if "geometry" in v}


def _assert_frames_equal(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    cols = [c for c in a.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[cols]), pd.DataFrame(b[cols]))
    if "geometry" in a.columns:
        assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all()


def test_same_seed_gives_identical_frames(district: dict[str, gpd.GeoDataFrame]) -> None:
    again = make_district()
    for name in DATASET_LAYERS:
        _assert_frames_equal(district[name], again[name])


def test_different_seed_gives_different_district(district: dict[str, gpd.GeoDataFrame]) -> None:
    other = make_district(seed=7)
    assert other["buildings"]["households"].sum() != district["buildings"]["households"].sum()
    assert not district["communities"].geometry.geom_equals(other["communities"].geometry).all()


def test_layers_have_exactly_the_schema_columns(district: dict[str, gpd.GeoDataFrame]) -> None:
    assert set(district) == set(DATASET_LAYERS)
    for name, frame in district.items():
        schema = LAYERS[name]
        expected = [*schema.column_names, *(["geometry"] if schema.spatial else [])]
        assert list(frame.columns) == expected, name
        if schema.spatial:
            assert frame.crs.to_epsg() == 4326
            assert set(frame.geom_type) <= set(schema.geometry_types), name
        assert frame[schema.id_column].is_unique, name
        assert frame[schema.id_column].map(type).eq(str).all(), name
        assert isinstance(frame.index, pd.RangeIndex)


def test_district_counts(district: dict[str, gpd.GeoDataFrame]) -> None:
    b, c = district["buildings"], district["compounds"]
    assert len(district["streets"]) >= 2
    assert len(district["communities"]) >= 8
    assert len(c) >= 80
    assert len(b) >= 800
    assert b["compound_id"].isna().sum() >= 30  # scattered buildings
    assert 1 <= (b.geom_type == "Point").sum() <= 20
    assert (b["households"] > 0).all()
    ratio = b["residents"] / b["households"]
    assert ratio.between(2.2, 3.1).all()
    assert set(b["floors"]) >= {6, 11, 18}
    assert b["leader_name"].notna().all() and b["leader_phone"].str.fullmatch(r"1\d{10}").all()
    assert b["key_persons"].sum() > 0 and b["party_members"].sum() > 0


def test_compound_and_community_sizes(district: dict[str, gpd.GeoDataFrame]) -> None:
    b = district["buildings"]
    per_compound = b.groupby("compound_id")["households"].sum()
    assert set(per_compound.index) == set(district["compounds"]["compound_id"])
    assert per_compound.min() >= 50 and 1000 <= per_compound.max() <= 1600
    assert (per_compound > 360).sum() >= 3
    comm_of_compound = district["compounds"].set_index("compound_id")["community_id"]
    per_comm = b.assign(cid=b["compound_id"].map(comm_of_compound)).groupby("cid")["households"]
    assert per_comm.sum().between(1800, 3600).all()


def test_property_modes_companies_and_party(district: dict[str, gpd.GeoDataFrame]) -> None:
    c, pc = district["compounds"], district["property_companies"]
    assert set(c["property_mode"]) == set(PROPERTY_MODES)
    share_company = (c["property_mode"] == "company").mean()
    assert 0.55 <= share_company <= 0.85
    company = c["property_mode"] == "company"
    assert c.loc[company, "property_company_id"].isin(pc["company_id"]).all()
    assert c.loc[~company, "property_company_id"].isna().all()
    assert "geometry" not in pc.columns and 10 <= len(pc) <= 20
    assert pc["has_party_org"].any() and not pc["has_party_org"].all()
    assert c["party_branch"].any() and not c["party_branch"].all()


def test_stations_and_road_kinds(district: dict[str, gpd.GeoDataFrame]) -> None:
    s, r = district["stations"], district["roads"]
    kinds = s["kind"].value_counts()
    assert set(kinds.index) == set(STATION_KINDS)
    assert kinds["center"] == len(district["communities"]) and kinds["micro"] >= 20
    assert (s["capacity_households"] > 0).all()
    assert set(r["kind"]) == set(ROAD_KINDS) and r["walkable"].all()


def test_buildings_inside_their_compound(metric: dict[str, gpd.GeoDataFrame]) -> None:
    b, c = metric["buildings"], metric["compounds"]
    inside = b[b["compound_id"].notna()].merge(
        c[["compound_id", "geometry"]].rename(columns={"geometry": "cg"}), on="compound_id"
    )
    assert shapely.within(inside.geometry.values, inside["cg"].values).all()
    scattered = b[b["compound_id"].isna()]
    assert gpd.sjoin(scattered, c, predicate="intersects").empty


def test_compounds_and_stations_inside_communities(metric: dict[str, gpd.GeoDataFrame]) -> None:
    c, cm = metric["compounds"], metric["communities"]
    pairs = c.merge(cm[["community_id", "geometry"]].rename(columns={"geometry": "g"}),
                    on="community_id")  # fmt: skip
    assert len(pairs) == len(c)
    assert shapely.within(pairs.geometry.values, pairs["g"].values).all()
    joined = gpd.sjoin(metric["stations"], cm, predicate="within")
    assert len(joined) == len(metric["stations"])


def test_communities_tile_streets(metric: dict[str, gpd.GeoDataFrame]) -> None:
    streets, cm = metric["streets"], metric["communities"]
    for street in streets.itertuples():
        parts = cm[cm["street_id"] == street.street_id]
        assert len(parts) >= 2
        assert parts.area.sum() == pytest.approx(street.geometry.area, abs=1.0)  # no overlap
        union = shapely.union_all(parts.geometry.values)
        assert shapely.symmetric_difference(union, street.geometry).area < 1.0  # no gap
    assert streets.area.sum() == pytest.approx(cm.area.sum(), abs=1.0)
    assert not (cm.geom_equals(cm.envelope)).all()  # irregular, not all rectangles


def _road_graph(roads: gpd.GeoDataFrame, ndigits: int) -> nx.Graph:
    graph = nx.Graph()
    for line in roads.geometry.values:
        xy = np.round(shapely.get_coordinates(line), ndigits)
        graph.add_edge(tuple(xy[0]), tuple(xy[-1]))
    return graph


def test_road_network_is_connected_and_noded(
    metric: dict[str, gpd.GeoDataFrame], district: dict[str, gpd.GeoDataFrame]
) -> None:
    roads = metric["roads"]
    assert roads.is_valid.all() and (roads.length > 1.0).all()
    assert nx.is_connected(_road_graph(roads, 3))
    # shared endpoints are bit-identical even in WGS84 (no snapping needed)
    assert nx.is_connected(_road_graph(district["roads"], 12))
    lines = roads.geometry.values
    left, _right = shapely.STRtree(lines).query(lines, predicate="crosses")
    assert len(left) == 0  # every meeting is at a shared endpoint


def test_committed_gpkg_matches_generator(district: dict[str, gpd.GeoDataFrame]) -> None:
    path = sample_path() / "district.gpkg"
    listed = {name for name, _ in pyogrio.list_layers(path)}
    assert listed == set(DATASET_LAYERS)
    for name in DATASET_LAYERS:
        stored = pyogrio.read_dataframe(path, layer=name)
        id_col = LAYERS[name].id_column
        assert list(stored[id_col]) == list(district[name][id_col]), name
    stored_b = pyogrio.read_dataframe(path, layer="buildings")
    assert list(stored_b["households"]) == list(district["buildings"]["households"])
    assert stored_b.geometry.geom_equals_exact(district["buildings"].geometry, 1e-9).all()


def test_committed_gcj02_stations_convert_back(district: dict[str, gpd.GeoDataFrame]) -> None:
    gcj = pyogrio.read_dataframe(sample_path() / "stations_gcj02.geojson")
    assert list(gcj["station_id"]) == list(district["stations"]["station_id"])
    wgs = district["stations"].geometry
    assert (np.abs(gcj.geometry.x - wgs.x) > 1e-3).all()  # the GCJ-02 offset (~500 m) is there
    lon, lat = gcj02_to_wgs84(gcj.geometry.x, gcj.geometry.y)
    back = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(SAMPLE_METRIC_CRS)
    assert back.distance(wgs.to_crs(SAMPLE_METRIC_CRS)).max() < 0.01


def test_city_households_within_five_percent() -> None:
    city = make_city(households=50_000)
    total = city["buildings"]["households"].sum()
    assert abs(total / 50_000 - 1) < 0.05
    assert len(city["communities"]) >= 15 and len(city["streets"]) >= 2
    assert len(city["stations"]) == pytest.approx(50_000 / 300, rel=0.1)
    assert city["buildings"]["building_id"].is_unique
    assert city["compounds"]["compound_id"].is_unique
    again = make_city(households=50_000)
    _assert_frames_equal(city["buildings"], again["buildings"])


def test_city_rejects_tiny_request() -> None:
    with pytest.raises(ParameterError, match="households=100"):
        make_city(households=100)
