"""GCJ-02/BD-09 outputs declared as what they are, checked with GDAL's ogrinfo."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridgen.dataset import Dataset
from gridgen.io.chinese_crs import GEOJSON_MEMBER
from gridgen.io.crs import WGS84
from gridgen.io.plan import read_plan, write_plan
from gridgen.io.read import read_layers
from gridgen.io.write import write_frames
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan

pytestmark = pytest.mark.needs_client("gdal")


@pytest.fixture(scope="module")
def small_plan(sample: Dataset) -> Plan:
    ids = sorted(sample.communities["community_id"].astype(str))[:2]
    return partition_dataset(sample, communities=ids)


def ogrinfo(*args: str) -> str:
    done = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, check=True)
    assert "ERROR" not in done.stderr and "Warning" not in done.stderr, done.stderr
    return done.stdout


def srs_rows(path: Path) -> dict[str, tuple[int, str, str]]:
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT c.table_name, s.srs_id, s.srs_name, s.description FROM gpkg_contents c "
            "JOIN gpkg_spatial_ref_sys s ON s.srs_id = c.srs_id"
        ).fetchall()
    con.close()
    return {r[0]: (int(r[1]), str(r[2]), str(r[3])) for r in rows}


@pytest.mark.parametrize(("key", "name"), [("gcj02", "GCJ-02"), ("bd09", "BD-09")])
def test_plan_in_chinese_system_has_its_own_srs_row(
    tmp_path: Path, small_plan: Plan, key: str, name: str
) -> None:
    out = write_plan(small_plan, tmp_path / f"plan_{key}.gpkg", crs=key)
    srs_id, srs_name, description = srs_rows(out)["grids"]
    assert srs_id not in (4326, 0, -1)
    assert srs_name == name
    assert "NOT EPSG:4326" in description
    info = ogrinfo("-so", str(out), "grids")
    assert f'GEOGCRS["{name}"' in info
    assert 'ID["EPSG",4326]' not in info
    # coordinates really are moved (300-1500 m) and read back to WGS84 to the centimetre
    written = gpd.read_file(out, layer="grids")
    assert written.crs is not None and written.crs.name == name
    back = read_plan(out)
    metric = 32649
    a = small_plan.grids.to_crs(metric).geometry.centroid
    b = back.grids.to_crs(metric).geometry.centroid
    assert float(np.max(a.distance(b))) < 0.05
    moved = written.set_crs(WGS84, allow_override=True).to_crs(metric).geometry.centroid
    shift = float(np.min(a.distance(moved)))
    assert shift > 250.0


def test_wgs84_plan_stays_epsg_4326(tmp_path: Path, small_plan: Plan) -> None:
    out = write_plan(small_plan, tmp_path / "plan.gpkg")
    assert srs_rows(out)["grids"][0] == 4326
    assert 'ID["EPSG",4326]' in ogrinfo("-so", str(out), "grids")


def test_geojson_in_gcj02_says_so_and_reads_back(tmp_path: Path, sample: Dataset) -> None:
    folder = write_frames({"stations": sample.stations}, tmp_path / "gcj", crs="gcj02")
    doc = json.loads((folder / "stations.geojson").read_text(encoding="utf-8"))
    assert doc[GEOJSON_MEMBER]["name"] == "GCJ-02"
    assert "crs" not in doc
    frames, _ = read_layers(folder)
    back = frames["stations"].set_index("station_id").geometry
    orig = sample.stations.set_index("station_id").geometry.reindex(back.index)
    err = back.to_crs(32649).distance(orig.to_crs(32649))
    assert float(err.max()) < 0.05
    # read without our member, the file is 300+ m off: the member is what saves it
    raw = gpd.read_file(folder / "stations.geojson").set_index("station_id").geometry
    off = raw.set_crs(WGS84, allow_override=True).to_crs(32649).distance(orig.to_crs(32649))
    assert float(off.min()) > 250.0


def test_cli_partition_and_site_take_out_crs(tmp_path: Path) -> None:
    from gridgen.sample.district import sample_path
    from gridgen_cli.main import main

    data = str(sample_path() / "district.gpkg")
    plan = tmp_path / "plan.gpkg"
    assert main(["partition", data, "--out", str(plan), "--out-crs", "bd09"]) == 0
    assert srs_rows(plan)["grids"][1] == "BD-09"
    sites = tmp_path / "sites.gpkg"
    assert main(["site", data, "--add", "1", "--mode", "line", "--out", str(sites)]) == 0
    assert srs_rows(sites)["proposed_sites"][0] == 4326
    sites3857 = tmp_path / "sites3857.gpkg"
    args = ["site", data, "--add", "1", "--mode", "line", "--out-crs", "3857"]
    assert main([*args, "--out", str(sites3857)]) == 0
    assert srs_rows(sites3857)["proposed_sites"][0] == 3857
    assert main(["partition", data, "--out", str(tmp_path / "x.gpkg"), "--out-crs", "wgs85"]) == 2
    assert not (tmp_path / "x.gpkg").exists()


def test_chinese_output_stays_valid(tmp_path: Path, small_plan: Plan) -> None:
    out = write_plan(small_plan, tmp_path / "p.gpkg", crs="gcj02")
    g = gpd.read_file(out, layer="grids").geometry.to_numpy()
    assert shapely.is_valid(g).all()
    assert (shapely.get_type_id(g) == 3).all()


def test_demo_takes_out_crs_and_rejects_a_bad_one_before_working(tmp_path: Path) -> None:
    from gridgen_cli.main import main

    assert main(["demo", "--out", str(tmp_path / "d"), "--out-crs", "wgs85"]) == 2
    assert not (tmp_path / "d").exists()
