"""``gridgen ingest --barriers``: rivers, railways and walls from OSM-style Shapefiles or a
city's own file, every row kept or counted; the dataset's grids then meet on them."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString
from test_ingest_cli import RAW
from test_ingest_cli import _args as ingest_args

from gridgen.ingest.barriers import mapped_barriers
from gridgen.io.read import read_dataset
from gridgen_cli.main import main


def _across_the_district(n: int) -> list[LineString]:
    """Return ``n`` west-east lines across the raw district (WGS84), evenly spaced."""
    comms = pyogrio.read_dataframe(RAW / "communities.shp")  # a Gauss-Krüger zone
    minx, miny, maxx, maxy = comms.to_crs(4326).total_bounds
    ys = [miny + (maxy - miny) * (k + 1) / (n + 1) for k in range(n)]
    return [LineString([(minx - 0.001, y), (maxx + 0.001, y)]) for y in ys]


def _args(out: Path, barriers: Path) -> list[str]:
    return ingest_args(RAW, out, "--barriers", str(barriers))


def test_an_osm_railways_shapefile_keeps_rail_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _across_the_district(4)
    shp = tmp_path / "gis_osm_railways_free_1.shp"
    gpd.GeoDataFrame(
        {
            "osm_id": ["1", "2", "3", "4"],
            "fclass": ["rail", "tram", "rail", "subway"],
            "tunnel": ["F", "F", "T", "F"],
            "name": ["京广铁路", "有轨电车", "地下段", "地铁"],
        },
        geometry=lines,
        crs=4326,
    ).to_file(shp)
    assert main(_args(tmp_path, shp)) == 0
    out = capsys.readouterr().out
    b = read_dataset(tmp_path / "district.gpkg").layer("barriers")
    assert sorted(b["barrier_id"]) == ["1", "4"] and set(b["kind"]) == {"railway"}
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    notes = " | ".join(report["notes"])
    assert "barriers: kept railway 2" in notes, notes
    assert "tram 1" in notes and "tunnel 1" in notes, notes
    assert out.count("\n") == 1  # the summary line is one line, as without barriers


def test_a_city_file_in_chinese_kinds_with_a_water_area(tmp_path: Path) -> None:
    rail, river = _across_the_district(2)
    water = shapely.buffer(river, 0.0002, cap_style="flat")
    path = tmp_path / "线状地物.geojson"
    gpd.GeoDataFrame(
        {"编号": ["T1", "H1", "X1"], "类型": ["铁路", "河流", "高架桥"]},
        geometry=[rail, water, rail],
        crs=4326,
    ).to_file(path)
    assert main(_args(tmp_path, path)) == 0
    b = read_dataset(tmp_path / "district.gpkg").layer("barriers")
    assert dict(zip(b["barrier_id"], b["kind"], strict=True)) == {"T1": "railway", "H1": "river"}
    assert sorted(b.geometry.geom_type) == ["LineString", "Polygon"]
    notes = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["notes"]
    assert any("高架桥 1" in n for n in notes), notes


def test_pbf_lines_take_their_class_from_railway_waterway_or_barrier() -> None:
    frame = gpd.GeoDataFrame(
        {
            "osm_id": ["1", "2", "3", "4", "5"],
            "railway": ["rail", None, None, "rail", None],
            "waterway": [None, "river", "drain", None, None],
            "barrier": [None, None, None, None, "wall"],
            "other_tags": [None, None, None, '"tunnel"=>"yes","layer"=>"-1"', None],
        },
        geometry=[LineString([(0, k), (1, k)]) for k in range(5)],
        crs=4326,
    )
    got = mapped_barriers(frame, {"barrier_id": "osm_id"})
    assert dict(zip(got.frame["barrier_id"], got.frame["kind"], strict=True)) == {
        "1": "railway",
        "2": "river",
        "5": "wall",
    }
    assert got.dropped == {"drain": 1, "tunnel": 1}
