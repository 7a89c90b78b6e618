"""One test per validation rule: a broken input yields the named finding, rows balance."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from handmade import at, local_box, raw_layers
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from gridgen.dataset import Dataset
from gridgen.errors import SchemaError, UnknownLayerError, ValidationFailedError
from gridgen.io.crs import parse_crs
from gridgen.sample.district import sample_path
from gridgen.validate.layers import validate_layers, validation_summary
from gridgen.validate.report import RULES, Finding

SAMPLE = sample_path() / "district.gpkg"


def wgs(geom: object) -> object:
    """Return a local-metre geometry (already placed with ``at``) in WGS84."""
    return gpd.GeoSeries([geom], crs="EPSG:32650").to_crs(4326).iloc[0]


def set_geometry(raw: dict[str, gpd.GeoDataFrame], layer: str, row: int, geom: object) -> None:
    """Replace one geometry (given in placed local metres) in a raw layer."""
    frame = raw[layer]
    geoms = list(frame.geometry)
    geoms[row] = None if geom is None else wgs(geom)
    raw[layer] = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=4326))


def accounted(ds: Dataset) -> None:
    """Assert rows in = kept + rejected everywhere and each rejected row has a finding."""
    report = ds.report
    assert report.balanced
    for layer, count in report.counts.items():
        assert count.rows_kept == len(ds.layers[layer]), layer
        rejected_rows = {f.row for f in report.rejected(layer)}
        assert len(rejected_rows) == count.rows_rejected, layer
    assert all(f.rule in RULES for f in report.findings)


def only(ds: Dataset, rule: str, layer: str) -> Finding:
    """Return the single finding of ``rule`` in ``layer``."""
    found = [f for f in ds.report.findings if f.rule == rule and f.layer == layer]
    assert len(found) == 1, ds.report.findings
    return found[0]


def test_clean_input_has_no_findings_and_derived_columns() -> None:
    ds = validate_layers(raw_layers(), source="hand.gpkg")
    accounted(ds)
    assert ds.report.findings == ()
    b = ds.buildings.set_index("building_id")
    assert b["community_id"].to_dict() == {
        "B1": "C1",
        "B2": "C1",
        "B3": "C2",
        "B4": "C1",
        "B5": "C1",
        "B6": "C2",
    }
    assert not b["households_estimated"].any()
    assert pd.isna(b.loc["B5", "compound_id"])
    assert ds.compounds.set_index("compound_id")["community_id"].to_dict() == {
        "K1": "C1",
        "K2": "C2",
        "K3": "C1",
    }
    assert ds.stations["community_id"].tolist() == ["C1", "C2", "C1"]
    assert ds.metric_crs.to_epsg() == 32650
    assert ds.name == "hand"
    assert str(ds.buildings["households"].dtype) == "Int64"
    assert "rejected" in validation_summary(ds.report)


def test_invalid_geometry_repaired_keeps_largest_part() -> None:
    raw = raw_layers()
    # a bow-tie: make_valid gives two triangles of 25 m² each
    bowtie = Polygon([(150, 150), (160, 160), (160, 150), (150, 160), (150, 150)])
    set_geometry(raw, "buildings", 0, at(bowtie))
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "invalid_geometry", "buildings")
    assert (f.row, f.feature_id, f.field, f.action) == (0, "B1", "geometry", "repaired")
    assert "Self-intersection" in f.message and "50.0%" in f.message
    geom = ds.buildings.set_index("building_id").geometry["B1"]
    assert geom.geom_type == "Polygon" and geom.is_valid


def test_invalid_geometry_beyond_repair_rejected() -> None:
    raw = raw_layers()
    set_geometry(raw, "compounds", 1, at(Polygon([(0, 0), (10, 0), (10, 0), (0, 0)])))
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "invalid_geometry", "compounds")
    assert (f.row, f.feature_id, f.action) == (1, "K2", "rejected")
    assert "K2" not in set(ds.compounds["compound_id"])
    # its building becomes scattered, and says so
    g = only(ds, "unknown_reference", "buildings")
    assert (g.row, g.feature_id, g.field, g.action) == (2, "B3", "compound_id", "flagged")
    assert "scattered" in g.message


def test_wrong_geometry_type_rejected() -> None:
    raw = raw_layers()
    set_geometry(raw, "stations", 2, local_box(0, 0, 10, 10))
    set_geometry(raw, "buildings", 3, at(LineString([(700, 700), (720, 700)])))
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "wrong_geometry_type", "stations")
    assert (f.row, f.feature_id, f.action) == (2, "T3", "rejected")
    assert "Polygon" in f.message and "Point" in f.message
    g = only(ds, "wrong_geometry_type", "buildings")
    assert (g.row, g.feature_id, g.action) == (3, "B4", "rejected")
    assert ds.report.counts["buildings"].rows_rejected == 1


def test_multipolygons_single_part_silent_multi_part_largest_kept() -> None:
    raw = raw_layers()
    set_geometry(raw, "compounds", 0, MultiPolygon([local_box(100, 100, 400, 400)]))
    set_geometry(
        raw,
        "buildings",
        1,
        MultiPolygon([local_box(250, 250, 300, 300), local_box(310, 310, 320, 320)]),
    )
    ds = validate_layers(raw)
    accounted(ds)
    assert ds.compounds.geometry.iloc[0].geom_type == "Polygon"
    f = only(ds, "wrong_geometry_type", "buildings")
    assert (f.row, f.feature_id, f.action) == (1, "B2", "repaired")
    assert "largest of 2 parts" in f.message and "3.8%" in f.message
    assert ds.buildings.geometry.iloc[1].geom_type == "Polygon"
    assert len(ds.report.findings) == 1


def test_empty_and_missing_geometry_rejected() -> None:
    raw = raw_layers()
    set_geometry(raw, "buildings", 4, None)
    set_geometry(raw, "roads", 0, LineString())
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "empty_geometry", "buildings")
    assert (f.row, f.feature_id, f.field, f.action) == (4, "B5", "geometry", "rejected")
    assert only(ds, "empty_geometry", "roads").row == 0
    assert len(ds.buildings) == 5 and len(ds.roads) == 1


def test_empty_and_duplicate_ids_rejected_first_kept() -> None:
    raw = raw_layers()
    raw["buildings"].loc[1, "building_id"] = "B1"
    raw["buildings"].loc[4, "building_id"] = "  "
    ds = validate_layers(raw)
    accounted(ds)
    d = only(ds, "duplicate_id", "buildings")
    assert (d.row, d.feature_id, d.field, d.action) == (1, "B1", "building_id", "rejected")
    assert "row 0" in d.message
    e = only(ds, "empty_id", "buildings")
    assert (e.row, e.feature_id, e.action) == (4, None, "rejected")
    kept = ds.buildings.set_index("building_id")
    assert kept.loc["B1", "households"] == 30  # the first occurrence survives
    assert ds.report.counts["buildings"].rows_kept == 4


def test_numeric_ids_become_strings() -> None:
    raw = raw_layers()
    raw["property_companies"] = gpd.GeoDataFrame(
        {"company_id": [1.0, 2.0], "name": ["甲", "乙"], "has_party_org": ["是", "否"]}
    )
    raw["compounds"]["property_company_id"] = [1, None, 2]
    ds = validate_layers(raw)
    accounted(ds)
    assert ds.property_companies["company_id"].tolist() == ["1", "2"]
    assert ds.property_companies["has_party_org"].tolist() == [True, False]
    assert ds.compounds["property_company_id"].iloc[0] == "1"


def test_missing_required_column_raises_schema_error() -> None:
    raw = raw_layers()
    raw["buildings"] = raw["buildings"].drop(columns="households")
    with pytest.raises(SchemaError, match=r"'buildings' has no column 'households'.*building_id"):
        validate_layers(raw)


def test_missing_required_layer_raises_and_optional_layer_is_empty() -> None:
    raw = raw_layers()
    del raw["communities"]
    with pytest.raises(SchemaError, match="'communities' is required"):
        validate_layers(raw)
    raw = raw_layers()
    del raw["roads"]
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "missing_layer", "roads")
    assert f.row is None and f.action == "flagged"
    assert ds.roads.empty and "kind" in ds.roads.columns
    assert ds.report.counts["roads"].rows_in == 0


def test_unknown_layer_name_raises() -> None:
    raw = raw_layers()
    raw["houses"] = raw["buildings"]
    with pytest.raises(UnknownLayerError, match=r"'houses'.*buildings"):
        validate_layers(raw)


def test_building_outside_every_community_kept_and_flagged() -> None:
    raw = raw_layers()
    set_geometry(raw, "buildings", 5, at(Point(2500, 500)))
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "building_outside_communities", "buildings")
    assert (f.row, f.feature_id, f.field, f.action) == (5, "B6", "community_id", "flagged")
    assert pd.isna(ds.buildings.set_index("building_id").loc["B6", "community_id"])
    assert ds.report.counts["buildings"].rows_kept == 6


def test_compound_crossing_communities_assigned_by_largest_overlap() -> None:
    raw = raw_layers()
    set_geometry(raw, "compounds", 1, local_box(900, 100, 1500, 500))  # 1/6 in C1, 5/6 in C2
    set_geometry(raw, "buildings", 2, local_box(920, 200, 960, 240))  # its building, in C1
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "compound_crosses_community", "compounds")
    assert (f.row, f.feature_id, f.field, f.action) == (1, "K2", "community_id", "reassigned")
    assert "C1 (17%)" in f.message and "C2 (83%)" in f.message
    assert ds.compounds.set_index("compound_id").loc["K2", "community_id"] == "C2"
    g = only(ds, "compound_crosses_community", "buildings")
    assert (g.row, g.feature_id, g.action) == (2, "B3", "reassigned")
    assert ds.buildings.set_index("building_id").loc["B3", "community_id"] == "C2"


def test_compound_declared_community_mismatch_reassigned() -> None:
    raw = raw_layers()
    raw["compounds"]["community_id"] = ["C2", "C2", "C1"]
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "community_mismatch", "compounds")
    assert (f.row, f.feature_id, f.action) == (0, "K1", "reassigned")
    assert ds.compounds["community_id"].iloc[0] == "C1"


def test_compound_outside_communities_flagged() -> None:
    raw = raw_layers()
    set_geometry(raw, "compounds", 2, local_box(2100, 100, 2300, 300))
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "compound_outside_communities", "compounds")
    assert (f.row, f.feature_id, f.action) == (2, "K3", "flagged")
    assert pd.isna(ds.compounds["community_id"].iloc[2])


def test_building_outside_declared_compound_flagged() -> None:
    raw = raw_layers()
    raw["buildings"].loc[4, "compound_id"] = "K1"  # B5 lies 100 m east of K1
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "building_outside_compound", "buildings")
    assert (f.row, f.feature_id, f.field, f.action) == (4, "B5", "compound_id", "flagged")
    assert "120 m outside" in f.message  # centre (520, 120) vs edge x = 400
    assert ds.buildings["compound_id"].iloc[4] == "K1"


def test_unknown_compound_reference_becomes_scattered() -> None:
    raw = raw_layers()
    raw["buildings"].loc[0, "compound_id"] = "K9"
    raw["compounds"].loc[0, "property_company_id"] = "P9"
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "unknown_reference", "buildings")
    assert (f.row, f.feature_id, f.field, f.action) == (0, "B1", "compound_id", "flagged")
    assert "'K9'" in f.message and "scattered" in f.message
    assert pd.isna(ds.buildings["compound_id"].iloc[0])
    assert only(ds, "unknown_reference", "compounds").field == "property_company_id"


def test_negative_and_non_numeric_households_rejected() -> None:
    raw = raw_layers()
    raw["buildings"]["households"] = raw["buildings"]["households"].astype(object)
    raw["buildings"].loc[0, "households"] = -3
    raw["buildings"].loc[1, "households"] = "many"
    raw["buildings"].loc[2, "households"] = "55"
    ds = validate_layers(raw)
    accounted(ds)
    n = only(ds, "negative_households", "buildings")
    assert (n.row, n.feature_id, n.field, n.action) == (0, "B1", "households", "rejected")
    m = only(ds, "non_numeric_households", "buildings")
    assert (m.row, m.feature_id, m.action) == (1, "B2", "rejected")
    assert "'many'" in m.message
    assert ds.buildings.set_index("building_id").loc["B3", "households"] == 55


def test_missing_households_estimated_from_floors_else_rejected() -> None:
    raw = raw_layers()
    raw["buildings"]["households"] = raw["buildings"]["households"].astype("Int64")
    raw["buildings"].loc[0, "households"] = pd.NA  # 50 m × 50 m × 6 floors / 90 = 166.7
    raw["buildings"].loc[1, "households"] = pd.NA
    raw["buildings"]["floors"] = raw["buildings"]["floors"].astype("Int64")
    raw["buildings"].loc[1, "floors"] = pd.NA
    raw["buildings"].loc[3, "households"] = pd.NA  # a point: no footprint
    ds = validate_layers(raw)
    accounted(ds)
    e = only(ds, "households_estimated", "buildings")
    assert (e.row, e.feature_id, e.field, e.action) == (0, "B1", "households", "estimated")
    assert "2500 m² × 6 floors" in e.message
    b1 = ds.buildings.set_index("building_id").loc["B1"]
    assert b1["households"] == 167 and bool(b1["households_estimated"])
    rejected = [f for f in ds.report.findings if f.rule == "missing_households"]
    assert [(f.row, f.action) for f in rejected] == [(1, "rejected"), (3, "rejected")]
    assert "give households or floors" in rejected[0].message


def _swap(geom: object) -> object:
    return shapely.transform(geom, lambda xy: xy[:, ::-1])


def test_swapped_coordinates_rejected_per_row_and_flagged_per_layer() -> None:
    raw = raw_layers()
    stations = raw["stations"]
    raw["stations"] = stations.set_geometry(
        gpd.GeoSeries([_swap(stations.geometry.iloc[0]), *stations.geometry.iloc[1:]], crs=4326)
    )
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "swapped_coordinates", "stations")
    assert (f.row, f.feature_id, f.field, f.action) == (0, "T1", "geometry", "rejected")
    assert "swap the lon/lat columns" in f.message
    raw = raw_layers()
    raw["roads"] = raw["roads"].set_geometry(raw["roads"].geometry.map(_swap))
    ds = validate_layers(raw)
    accounted(ds)
    layer_wide = [f for f in ds.report.by_rule("swapped_coordinates") if f.row is None]
    assert len(layer_wide) == 1 and "2 of 2 rows" in layer_wide[0].message
    assert ds.report.counts["roads"].rows_rejected == 2


def test_coordinates_out_of_range_rejected() -> None:
    raw = raw_layers()
    raw["buildings"] = raw["buildings"].set_geometry(
        gpd.GeoSeries([at(Point(1800, 800)), *raw["buildings"].geometry.iloc[1:]], crs=4326)
    )
    ds = validate_layers(raw)
    accounted(ds)
    f = only(ds, "coordinates_out_of_range", "buildings")
    assert (f.row, f.action) == (0, "rejected") and "--crs" in f.message


def test_outside_china_while_declared_gcj02_flagged() -> None:
    raw = raw_layers()
    stations = raw["stations"]
    raw["stations"] = stations.set_geometry(
        gpd.GeoSeries([Point(2.35, 48.85), *stations.geometry.iloc[1:]], crs=4326)
    )
    ds = validate_layers(raw, declared_crs=parse_crs("gcj02"))
    accounted(ds)
    f = only(ds, "outside_china_gcj02", "stations")
    assert (f.row, f.feature_id, f.action) == (0, "T1", "flagged")
    assert "gcj02" in f.message
    s = only(ds, "station_outside_communities", "stations")
    assert s.row == 0 and pd.isna(ds.stations["community_id"].iloc[0])
    assert ds.report.declared_crs == "gcj02"
    plain = validate_layers(raw)
    assert not plain.report.by_rule("outside_china_gcj02")


def test_type_coercion_categories_and_defaults() -> None:
    raw = raw_layers()
    raw["compounds"]["party_branch"] = ["是", "no", "maybe"]
    raw["compounds"]["property_mode"] = ["Company", "none", "great"]
    raw["stations"]["kind"] = ["center", "tower", None]
    raw["buildings"] = raw["buildings"].drop(columns="party_members")
    raw["buildings"]["floors"] = ["6", "x", "11", "3", "2", "-4"]
    raw["roads"] = raw["roads"].drop(columns="walkable")
    ds = validate_layers(raw)
    accounted(ds)
    c = ds.compounds
    assert c["party_branch"].tolist() == [True, False, False]
    assert c["property_mode"].tolist() == ["company", "none", "none"]
    defaults = [f for f in ds.report.findings if f.layer == "compounds"]
    assert {(f.row, f.field, f.action) for f in defaults} == {
        (2, "party_branch", "defaulted"),
        (2, "property_mode", "defaulted"),
    }
    kinds = [f for f in ds.report.findings if f.layer == "stations"]
    assert [(f.rule, f.row, f.field, f.action) for f in kinds] == [
        ("bad_value", 1, "kind", "rejected"),
        ("bad_value", 2, "kind", "rejected"),
    ]
    assert "center, micro, red_front" in kinds[0].message
    assert ds.buildings["party_members"].tolist() == [0] * 6
    floors = [f for f in ds.report.findings if f.layer == "buildings"]
    assert [(f.row, f.field, f.action) for f in floors] == [
        (1, "floors", "defaulted"),
        (5, "floors", "defaulted"),
    ]
    assert ds.buildings["floors"].isna().tolist() == [False, True, False, False, False, True]
    assert ds.roads["walkable"].tolist() == [True, True]


def test_no_usable_community_fails_with_report() -> None:
    raw = raw_layers()
    raw["communities"]["community_id"] = [None, None]
    with pytest.raises(ValidationFailedError, match="no usable community") as info:
        validate_layers(raw)
    assert info.value.report is not None


@pytest.mark.skipif(not SAMPLE.exists(), reason="sample district not generated yet")
def test_sample_district_validates_without_rejections() -> None:
    from gridgen.io.read import load_sample

    ds = load_sample()
    accounted(ds)
    assert ds.report.rejected() == []
    assert ds.buildings["community_id"].notna().all()
    assert load_sample() is ds
