"""多网合一 as nesting on the sample: zones made of base grids report nothing; a zone cutting a
grid reports exactly that grid and the households on its far side, and the change to fix it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from records_helpers import soffice_csv

from gridgen.dataset import Dataset
from gridgen.io.plan import write_plan
from gridgen.io.write import write_dataset
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan
from gridgen.records.nesting import nesting_report
from gridgen_cli.main import main


@pytest.fixture(scope="module")
def base(sample: Dataset) -> Plan:
    return partition_dataset(sample, on=date(2024, 1, 1))


def _zones(codes: list[str], geoms: list[object], crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"grid_id": codes}, geometry=list(geoms), crs=crs).to_crs(4326)


def unions_layer(sample: Dataset, base: Plan) -> gpd.GeoDataFrame:
    """A department's layer whose zones are unions of base grids: pairs of grids in code order
    within each community (an odd grid alone)."""
    m = base.grids.to_crs(sample.metric_crs).sort_values("grid_id")
    codes, geoms = [], []
    for cid, g in m.groupby("community_id"):
        parts = g.geometry.tolist()
        for k in range(0, len(parts), 2):
            codes.append(f"Z{cid}-{k // 2}")
            geoms.append(shapely.union_all(parts[k : k + 2]))
    return _zones(codes, geoms, sample.metric_crs)


def cutting_layer(sample: Dataset, base: Plan) -> tuple[gpd.GeoDataFrame, str, int]:
    """A layer of one zone per community, except that one community is split in two along
    its grids' boundaries but through the middle of one grid (a north-south line): (layer,
    that grid, households of the grid on the side holding fewer of them)."""
    m = base.grids.to_crs(sample.metric_crs)
    comm = sample.metric("communities").set_index("community_id")
    cid = sorted(m["community_id"])[0]
    mine = m[m["community_id"] == cid]
    cut = mine.sort_values("grid_id").iloc[len(mine) // 2]
    x = cut.geometry.centroid.x
    x0, y0, _, y1 = comm.loc[cid].geometry.bounds
    rest = mine[mine["grid_id"] != cut["grid_id"]]
    westward = rest[rest.geometry.centroid.x < x].geometry.tolist()
    half = shapely.intersection(cut.geometry, shapely.box(x0 - 1, y0 - 1, x, y1 + 1))
    west = shapely.union_all([*westward, half])
    east = shapely.difference(comm.loc[cid].geometry, west)
    others = comm.drop(index=cid)
    layer = _zones(
        ["W", "E", *others.index.tolist()], [west, east, *others.geometry], sample.metric_crs
    )
    # expected: households of the grid's buildings west and east of the line, counted here
    bld = sample.metric("buildings")
    ids = set(base.assignment.loc[base.assignment["grid_id"] == cut["grid_id"], "building_id"])
    b = bld[bld["building_id"].isin(ids)]
    pts = shapely.point_on_surface(b.geometry.to_numpy())
    hh = pd.to_numeric(b["households"]).to_numpy()
    w = int(hh[shapely.get_coordinates(pts)[:, 0] < x].sum())
    e = int(hh.sum()) - w
    return layer, str(cut["grid_id"]), min(w, e)


def test_unions_of_base_grids_report_nothing(sample: Dataset, base: Plan) -> None:
    communities = base.grids.dissolve("community_id").reset_index()
    by_community = communities.assign(grid_id=communities["community_id"])[["grid_id", "geometry"]]
    report = nesting_report(
        sample, base, [("社区", by_community), ("城管", unions_layer(sample, base))]
    )
    assert report["nested"]
    for layer in report["layers"]:
        assert layer["cut_grids"] == [] and layer["zones_report"] == []
        assert layer["proposal"]["households_rezoned"] == 0


def test_a_zone_cutting_a_grid_reports_that_grid(sample: Dataset, base: Plan) -> None:
    layer, code, far = cutting_layer(sample, base)
    r = nesting_report(sample, base, [("综治", layer)])["layers"][0]
    assert not r["nested"] and [g["code"] for g in r["cut_grids"]] == [code]
    assert far > 0
    zones = {z["zone"]: z for z in r["zones_report"]}
    assert set(zones) == {"W", "E"}
    assert all(z["households_crossing"] == far and z["cut_grids"] == [code] for z in zones.values())
    change = r["proposal"]["changes"]
    assert [c["grid"] for c in change] == [code] and change[0]["households"] == far
    assert r["proposal"]["households_rezoned"] == far
    shares = r["cut_grids"][0]["zones"]
    assert sum(z["households"] for z in shares) == int(
        base.grids.set_index("grid_id").loc[code, "households"]
    )


@pytest.mark.needs_client("libreoffice")
def test_cli_nesting_json_and_xlsx(sample: Dataset, base: Plan, tmp_path: Path) -> None:
    data, plan = tmp_path / "data.gpkg", tmp_path / "base.gpkg"
    write_dataset(sample, data)
    write_plan(base, plan)
    good = tmp_path / "城管.geojson"
    unions_layer(sample, base).to_file(good, driver="GeoJSON")
    bad, code, far = cutting_layer(sample, base)
    bad_path = tmp_path / "综治.gpkg"
    bad.rename(columns={"grid_id": "网格编码"}).to_file(bad_path, layer="zones", driver="GPKG")
    args = ["nesting", str(data), "--base", str(plan), "--layer", str(good)]
    args += ["--layer", str(bad_path)]
    assert main([*args, "--out", str(tmp_path / "n.json")]) == 0
    doc = json.loads((tmp_path / "n.json").read_text(encoding="utf-8"))
    assert [r["nested"] for r in doc["layers"]] == [True, False]
    assert doc["layers"][1]["proposal"]["households_rezoned"] == far
    xlsx = tmp_path / "n.xlsx"
    assert main([*args, "--out", str(xlsx)]) == 0
    sheets = soffice_csv(xlsx, tmp_path)
    assert sheets["汇总"][2][:3] == ["综治.gpkg", str(len(bad)), "2"]
    assert sheets["2-调整建议"][1][0] == code and sheets["2-调整建议"][1][3] == str(far)
    assert main([*args, "--out", str(tmp_path / "n.csv")]) == 2
