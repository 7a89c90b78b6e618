"""Existing grid layers: import (formats, CRS, assignment) and the audit's findings."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from clients import have_client
from partition_helpers import UTM49, at, block_community
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.errors import SchemaError, UnknownCRSError
from gridgen.io.crs import frame_from_wgs84, parse_crs
from gridgen.io.grids import read_grid_layer, write_audit
from gridgen.partition import existing
from gridgen.partition.audit import audit_grids
from gridgen.partition.existing import check_grid_extent, import_grids, placed_layer

BAND = (240, 360)


@pytest.fixture(scope="module")
def row4() -> Dataset:
    """One community 500 x 140 m with compounds K000..K003 (x = 20, 140, 260, 380; 100 m)."""
    return block_community(np.array([[150, 150, 161, 150]]))


def layer(*grids: tuple[str, BaseGeometry]) -> gpd.GeoDataFrame:
    """Return a WGS84 grid layer from (code, local-metre polygon) pairs."""
    return gpd.GeoDataFrame(
        {"grid_id": [c for c, _ in grids]}, geometry=[at(g) for _, g in grids], crs=UTM49
    ).to_crs(4326)


def test_clean_layer_has_no_findings(row4: Dataset) -> None:
    a = audit_grids(row4, layer(("G1", box(0, 0, 260, 140)), ("G2", box(260, 0, 500, 140))))
    s = a.summary
    assert s["grids"] == 2
    for key in ("out_of_band", "split_compound", "unassigned_building", "multipart"):
        assert s[key] == 0, key
    assert s["gap_m2"] == 0 and s["overlap_m2"] == 0 and s["gap_households"] == 0
    assert s["crosses_community"] == 0 and s["invalid_geometry"] == 0
    assert a.grids.set_index("grid_id")["households"].to_dict() == {"G1": 300, "G2": 311}


def test_gap_found_with_area_and_households(row4: Dataset) -> None:
    a = audit_grids(row4, layer(("G1", box(0, 0, 260, 140)), ("G2", box(260, 0, 380, 140))))
    s = a.summary
    assert s["gap"] == 1
    assert s["gap_m2"] == pytest.approx(120 * 140, rel=1e-6)
    assert s["gap_households"] == 150
    assert s["unassigned_building"] == 2
    assert s["out_of_band"] == 1  # G2 holds K002 (161) only: below band
    assert a.gaps["households"].tolist() == [150]
    assert sorted(a.unassigned) == ["B003a", "B003b"]


def test_gap_below_band(row4: Dataset) -> None:
    a = audit_grids(row4, layer(("G1", box(0, 0, 140, 140)), ("G2", box(140, 0, 500, 140))))
    assert a.summary["out_of_band"] == 2
    assert a.summary["below_band"] == 1 and a.summary["above_band"] == 1


def test_overlap_found_with_area_and_households(row4: Dataset) -> None:
    a = audit_grids(row4, layer(("G1", box(0, 0, 262, 140)), ("G2", box(250, 0, 500, 140))))
    s = a.summary
    assert s["overlap"] == 1
    assert s["overlap_m2"] == pytest.approx(12 * 140, rel=1e-6)
    assert s["overlap_households"] == 0
    # an overlap over building B002a (x 270-300, 80 households) counts them twice
    b = audit_grids(row4, layer(("G1", box(0, 0, 310, 140)), ("G2", box(250, 0, 500, 140))))
    assert b.summary["overlap_m2"] == pytest.approx(60 * 140, rel=1e-6)
    assert b.summary["overlap_households"] == 80
    assert b.overlaps[["grid_a", "grid_b", "households"]].values.tolist() == [["G1", "G2", 80]]


def test_a_grid_inside_another_overlaps_it_and_touching_grids_do_not(row4: Dataset) -> None:
    # G2 drawn wholly inside G1 (a nested grid: contains, not "overlaps"); G3 beside G1
    # sharing its edge (touching is fine)
    a = audit_grids(
        row4,
        layer(
            ("G1", box(0, 0, 250, 140)),
            ("G2", box(20, 20, 120, 100)),
            ("G3", box(250, 0, 500, 140)),
        ),
    )
    assert a.summary["overlap"] == 1
    assert a.summary["overlap_m2"] == pytest.approx(100 * 80, rel=1e-6)
    assert a.overlaps[["grid_a", "grid_b"]].values.tolist() == [["G1", "G2"]]


def test_split_compound_with_households_per_grid(row4: Dataset) -> None:
    a = audit_grids(row4, layer(("G1", box(0, 0, 310, 140)), ("G2", box(310, 0, 500, 140))))
    s = a.summary
    assert s["split_compound"] == 1
    row = a.split_compounds.iloc[0]
    assert row["compound_id"] == "K002"
    assert json.loads(row["grids"]) == {"G2": 81, "G1": 80}
    assert s["out_of_band"] == 2  # G1 380, G2 231
    assert a.grids.set_index("grid_id")["split_compounds"].to_dict() == {"G1": 1, "G2": 1}


def test_multipart_invalid_and_crossing(row4: Dataset) -> None:
    two = MultiPolygon([box(0, 0, 130, 140), box(380, 0, 500, 140)])
    bowtie = Polygon([(130, 0), (380, 140), (380, 0), (130, 140)])
    a = audit_grids(row4, layer(("G1", two), ("G2", bowtie), ("G3", box(480, 0, 700, 140))))
    s = a.summary
    assert s["multipart"] >= 1 and s["invalid_geometry"] == 1
    t = a.grids.set_index("grid_id")
    assert t.loc["G1", "parts"] == 2
    assert not t.loc["G2", "valid"] and "Self-intersection" in t.loc["G2", "valid_reason"]
    # G3 lies mostly outside the community: crossing its boundary
    assert bool(t.loc["G3", "crosses_community"])


def test_audit_files(row4: Dataset, tmp_path: Path) -> None:
    import pyogrio

    a = audit_grids(row4, layer(("G1", box(0, 0, 310, 140)), ("G2", box(250, 0, 380, 140))))
    js = json.loads(write_audit(a, tmp_path / "a.json").read_text(encoding="utf-8"))
    assert js["summary"]["split_compound"] == 1 and js["summary"]["gap"] == 1
    gpkg = write_audit(a, tmp_path / "a.gpkg")
    names = {n for n, _ in pyogrio.list_layers(gpkg)}
    assert {"gaps", "overlaps", "split_compounds", "grids", "summary"} <= names
    assert len(gpd.read_file(gpkg, layer="gaps")) == 1
    ogrinfo = shutil.which("ogrinfo")
    if have_client("gdal") and ogrinfo is not None:  # GDAL's client reads every layer
        out = subprocess.run(
            [ogrinfo, "-so", "-al", str(gpkg)], capture_output=True, text=True, check=True
        ).stdout
        for name in ("gaps", "overlaps", "split_compounds"):
            assert f"Layer name: {name}" in out
        assert "Feature Count: 1" in out


def test_import_assigns_by_footprint_and_compound_majority(row4: Dataset) -> None:
    plan = import_grids(
        row4, layer(("G1", box(0, 0, 310, 140)), ("G2", box(310, 0, 500, 140))), band=BAND
    )
    grid_of = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    assert grid_of["B002a"] == "G2" and grid_of["B002b"] == "G2"  # K002 goes whole to G2 (81)
    assert plan.grids.set_index("grid_id")["households"].to_dict() == {"G1": 300, "G2": 311}
    assert plan.metrics.n_grids == 2


def test_read_formats_and_crs(row4: Dataset, tmp_path: Path) -> None:
    grids = layer(("G1", box(0, 0, 260, 140)), ("G2", box(260, 0, 500, 140)))
    grids = grids.rename(columns={"grid_id": "网格编码"})
    # GeoJSON in GCJ-02 (labelled WGS84, as Amap tracings are)
    gcj = frame_from_wgs84(grids, parse_crs("gcj02"))
    gcj.to_file(tmp_path / "g.geojson", driver="GeoJSON")
    with pytest.raises(UnknownCRSError, match="gcj02"):
        check_grid_extent(row4, read_grid_layer(tmp_path / "g.geojson"))
    back = read_grid_layer(tmp_path / "g.geojson", crs="gcj02")
    assert back["grid_id"].tolist() == ["G1", "G2"]
    check_grid_extent(row4, back)
    a = audit_grids(row4, back)
    assert a.summary["gap_m2"] < 1.0 and a.summary["out_of_band"] == 0
    # zipped Shapefile in UTM (with a .prj)
    shp = tmp_path / "shp"
    shp.mkdir()
    gbk = grids.rename(columns={"网格编码": "网格编号"}).to_crs(UTM49)
    gbk.to_file(shp / "grids.shp", encoding="GBK")
    with zipfile.ZipFile(tmp_path / "g.zip", "w") as z:
        for f in shp.iterdir():
            z.write(f, f.name)
    zs = read_grid_layer(tmp_path / "g.zip")
    assert zs["grid_id"].tolist() == ["G1", "G2"]
    assert audit_grids(row4, zs).summary["gap_m2"] < 1.0
    # the same UTM coordinates labelled as lon/lat: refused
    bad = grids.to_crs(UTM49).set_crs(4326, allow_override=True)
    with pytest.raises(UnknownCRSError, match="not longitude/latitude"):
        check_grid_extent(row4, bad)
    far = grids.translate(0.5, 0.0)
    with pytest.raises(UnknownCRSError, match="km from"):
        check_grid_extent(row4, gpd.GeoDataFrame({"grid_id": ["G1", "G2"]}, geometry=far))


def test_placing_a_layer_checks_its_extent_as_check_grid_extent(
    row4: Dataset, tmp_path: Path
) -> None:
    """placed_layer takes the share inside the communities from the layer's community
    areas, not from unions: the same verdicts and messages as check_grid_extent."""
    grids = layer(("G1", box(0, 0, 260, 140)), ("G2", box(260, 0, 500, 140)))
    frame_from_wgs84(grids, parse_crs("gcj02")).to_file(tmp_path / "g.geojson", driver="GeoJSON")
    wrong = {
        "gcj02": read_grid_layer(tmp_path / "g.geojson"),
        "not longitude/latitude": grids.to_crs(UTM49).set_crs(4326, allow_override=True),
        "km from": gpd.GeoDataFrame(
            {"grid_id": ["G1", "G2"]}, geometry=grids.translate(0.5, 0.0), crs=4326
        ),
    }
    for why, frame in wrong.items():
        with pytest.raises(UnknownCRSError) as checked:
            check_grid_extent(row4, frame, source="x.gpkg")
        with pytest.raises(UnknownCRSError) as placed:
            placed_layer(row4, frame, source="x.gpkg")
        assert why in str(placed.value) and str(placed.value) == str(checked.value)
    # a layer partly off the communities: the same share inside both ways
    shifted = gpd.GeoDataFrame({"grid_id": ["G1", "G2"]}, geometry=grids.translate(0.001, 0.0))
    shifted = shifted.set_crs(4326)
    placed = placed_layer(row4, shifted)
    share = float(np.sum(placed.pairs[2])) / float(np.sum(shapely.area(placed.geoms)))
    assert 0.5 < share < 0.9
    assert share == pytest.approx(existing._fit(row4, shifted), abs=1e-9)


def test_read_needs_a_code_column(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(116, 39, 116.1, 39.1)], crs=4326)
    g.to_file(tmp_path / "x.gpkg", layer="grids")
    with pytest.raises(SchemaError, match="--id-column"):
        read_grid_layer(tmp_path / "x.gpkg")
    assert read_grid_layer(tmp_path / "x.gpkg", id_column="name")["grid_id"].tolist() == ["a"]


def test_cli_audit(row4: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gridgen.io.write import write_dataset
    from gridgen_cli.main import main

    data = write_dataset(row4, tmp_path / "d.gpkg")
    layer(("G1", box(0, 0, 310, 140)), ("G2", box(310, 0, 500, 140))).to_file(
        tmp_path / "g.geojson", driver="GeoJSON"
    )
    out = tmp_path / "r.json"
    args = ["audit", str(data), "--grids", str(tmp_path / "g.geojson"), "--out", str(out)]
    assert main([*args, "--band", "240,360"]) == 0
    s = json.loads(out.read_text(encoding="utf-8"))["summary"]
    assert s["split_compound"] == 1 and s["out_of_band"] == 2
    assert "1 split compounds" in capsys.readouterr().out
    assert main([*args, "--grids-crs", "EPSG:32649"]) == 2
    assert "km from" in capsys.readouterr().err


def test_bd09_layer_and_point_buildings(tmp_path: Path) -> None:
    from partition_helpers import make_dataset
    from shapely.geometry import Point

    ds = make_dataset(
        [("C1", box(0, 0, 400, 200))],
        [],
        [
            ("P1", None, 120, Point(50, 100), "C1"),
            ("P2", None, 130, Point(150, 100), "C1"),
            ("P3", None, 140, Point(350, 100), "C1"),
        ],
    )
    grids = layer(("A", box(0, 0, 200, 200)), ("B", box(200, 0, 400, 200)))
    frame_from_wgs84(grids, parse_crs("bd09")).to_file(tmp_path / "b.geojson", driver="GeoJSON")
    with pytest.raises(UnknownCRSError, match="bd09"):
        check_grid_extent(ds, read_grid_layer(tmp_path / "b.geojson"))
    back = read_grid_layer(tmp_path / "b.geojson", crs="bd09")
    plan = import_grids(ds, back, band=(100, 300))
    got = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    assert got == {"P1": "A", "P2": "A", "P3": "B"}
    assert plan.grids.set_index("grid_id")["households"].to_dict() == {"A": 250, "B": 140}
