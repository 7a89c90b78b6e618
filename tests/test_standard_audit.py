"""Conformance audit against DB11/T 2157 and CJ/T 349: the sample plan is clean; planted faults
(a 14-digit code, a grid grown 20 m over its neighbours, a grid shrunk 15 m, swapped
codes, a duplicate, a missing date) are each reported; the list of fixes opens in LibreOffice."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from records_helpers import soffice_csv

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError
from gridgen.io.plan import write_plan
from gridgen.io.write import write_dataset
from gridgen.partition.audit import audit_grids
from gridgen.partition.codes import scheme_for
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan
from gridgen.records.standard import STANDARDS, standard_named, standard_section
from gridgen_cli.main import main

DB11 = STANDARDS["DB11/T2157"]


@pytest.fixture(scope="module")
def plan(sample: Dataset) -> Plan:
    return partition_dataset(sample, on=date(2024, 1, 1))


def _section(ds: Dataset, grids: gpd.GeoDataFrame, std: str = "DB11/T2157") -> dict:
    return standard_section(ds, grids, audit_grids(ds, grids), standard=STANDARDS[std])


def _counts(section: dict) -> dict[str, int]:
    return {k: v["count"] for k, v in section["checks"].items()}


def test_standard_names() -> None:
    for text in ("DB11/T2157", "DB11/T 2157-2023", "db11", "db11/t2157"):
        assert standard_named(text) is DB11
    assert standard_named("CJ/T 349-2010") is STANDARDS["CJ/T349"]
    with pytest.raises(ParameterError, match="DB11/T2157"):
        standard_named("GB/T 1")


def test_sample_plan_is_clean(sample: Dataset, plan: Plan) -> None:
    s = _counts(_section(sample, plan.grids))
    assert s["bad_codes"] == s["gaps"] == s["overlaps"] == 0
    assert s["outside_community"] == s["not_closed"] == 0
    # the plan carries its start dates; 责任主体 comes from the offices' sheet
    assert s["missing_attributes"] == len(plan.grids)
    filled = plan.grids.assign(responsible="社区居委会")
    assert _section(sample, filled)["clean"]


def test_planted_faults_are_each_reported(sample: Dataset, plan: Plan) -> None:
    m = plan.grids.assign(responsible="社区居委会").to_crs(sample.metric_crs)
    codes = m["grid_id"].tolist()
    short, grown, shrunk = codes[0], codes[5], codes[40]
    m.loc[0, "grid_id"] = short[:14]
    m.loc[5, "geometry"] = m.geometry[5].buffer(20, join_style="mitre")
    m.loc[40, "geometry"] = m.geometry[40].buffer(-15, join_style="mitre")
    section = _section(sample, m.to_crs(4326))
    checks = section["checks"]
    assert [i["code"] for i in checks["bad_codes"]["items"]] == [short[:14]]
    assert "14 位" in checks["bad_codes"]["items"][0]["problem"]
    pairs = {frozenset(i["code"].split("/")) for i in checks["overlaps"]["items"]}
    assert pairs and all(grown in p for p in pairs)
    assert sum(i["area_m2"] for i in checks["overlaps"]["items"]) > 1000
    gaps = checks["gaps"]["items"]
    assert len(gaps) == 1 and gaps[0]["area_m2"] > 1000
    community = plan.grids.set_index("grid_id").loc[shrunk, "community_id"]
    assert community in gaps[0]["where"]
    assert not section["clean"]


def test_codes_out_of_order_duplicated_and_undated(sample: Dataset, plan: Plan) -> None:
    g = plan.grids.assign(responsible="社区居委会")
    first = g[g["community_id"] == g["community_id"].iloc[0]]
    a, b = first.index[0], first.index[-1]
    g.loc[[a, b], "grid_id"] = g.loc[[b, a], "grid_id"].to_numpy()  # swap first and last
    g.loc[first.index[1], "valid_from"] = None
    g = gpd.GeoDataFrame(pd.concat([g, g.iloc[[60]]], ignore_index=True), crs=4326)
    checks = _section(sample, g)["checks"]
    problems = [i["problem"] for i in checks["bad_codes"]["items"]]
    assert any("之后" in p for p in problems)
    assert any("重复" in p for p in problems)
    missing = checks["missing_attributes"]["items"]
    assert [i["code"] for i in missing] == [g.loc[first.index[1], "grid_id"]]


def test_cjt349_plan_passes_cjt349_not_db11(sample: Dataset) -> None:
    ids = sorted(sample.communities["community_id"])[:2]
    scheme = scheme_for(sample.communities, "cjt349", object_code="140000")
    plan = partition_dataset(sample, communities=ids, scheme=scheme, on=date(2024, 1, 1))
    grids = plan.grids.assign(responsible="居委会")
    assert {len(c) for c in grids["grid_id"]} == {20}
    # only the two communities are gridded: the others are gaps
    cj = _counts(_section(sample, grids, "CJ/T349"))
    assert cj["bad_codes"] == 0 and cj["overlaps"] == 0
    db = _section(sample, grids)["checks"]["bad_codes"]
    assert db["count"] == len(grids) and "20 位" in db["items"][0]["problem"]


@pytest.mark.needs_client("libreoffice")
def test_cli_audit_standard_json_xlsx(sample: Dataset, plan: Plan, tmp_path: Path) -> None:
    data = tmp_path / "data.gpkg"
    write_dataset(sample, data)
    write_plan(plan, tmp_path / "plan.gpkg")
    base = ["audit", str(data), "--grids", str(tmp_path / "plan.gpkg")]
    assert main([*base, "--standard", "DB11/T2157", "--out", str(tmp_path / "a.json")]) == 0
    doc = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert doc["standard"]["standard"] == "DB11/T 2157-2023"
    assert doc["standard"]["checks"]["bad_codes"]["count"] == 0
    assert doc["summary"]["grids"] == len(plan.grids)  # the audit's own sections stay
    xlsx = tmp_path / "fixes.xlsx"
    assert main([*base, "--standard", "db11", "--out", str(xlsx)]) == 0
    sheets = soffice_csv(xlsx, tmp_path)
    assert set(sheets) == {"汇总", "整改清单"}
    assert sheets["整改清单"][0] == ["序号", "检查项", "网格编码", "位置", "问题", "整改要求"]
    assert len(sheets["整改清单"]) == 1 + len(plan.grids)  # 责任主体 missing on each
    assert sheets["整改清单"][1][1] == "属性缺失" and "属地兜底" in sheets["整改清单"][1][5]
    assert main([*base, "--standard", "GB/T1", "--out", str(tmp_path / "b.json")]) == 2
    assert main([*base, "--out", str(tmp_path / "b.xlsx")]) == 2


def test_a_grid_holding_its_community_s_enclave_is_explained_not_told_to_merge() -> None:
    import shapely
    from partition_helpers import at, make_dataset
    from shapely.geometry import MultiPolygon, box

    from gridgen.io.crs import WGS84
    from gridgen.partition.community import partition_community

    # a 300 m² enclave 20 m east of the community's main part, with one small building
    comm = MultiPolygon([box(0, 0, 400, 300), box(420, 0, 440, 15)])
    blds = [(f"B{i}", None, 100, box(20 + 90 * i, 100, 40 + 90 * i, 120), "C1") for i in range(4)]
    blds.append(("BS", None, 5, box(425, 2, 430, 8), "C1"))
    ds = make_dataset([("C1", comm)], [], blds)
    grids = partition_community(ds, "C1").grids
    assert len(grids) == 1
    # a second layer: the grid in two parts inside the main piece (a real fault)
    torn = shapely.MultiPolygon([at(box(0, 0, 100, 100)), at(box(200, 0, 300, 100))])
    faulty = gpd.GeoDataFrame(
        {"grid_id": ["X1"]}, geometry=gpd.GeoSeries([torn], crs=ds.metric_crs)
    ).to_crs(WGS84)
    for layer, word in ((grids, "飞地"), (faulty, "合并或拆分")):
        items = _section(ds, layer)["checks"]["not_closed"]["items"]
        assert len(items) == 1 and items[0]["rule"] == "multipart"
        assert word in items[0]["problem"] + items[0]["fix"], items[0]
    assert "飞地" not in _section(ds, faulty)["checks"]["not_closed"]["items"][0]["problem"]
