"""Grid attributes from an office's sheet (网格台账): applied by code, following the codes,
restricted where they are personal, and counted honestly by the governance report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from test_api import key, run_plan, upload

from api.app import create_app
from api.settings import Settings
from gridgen.coverage.figures import figures_dict, governance_figures
from gridgen.dataset import Dataset
from gridgen.errors import LedgerError, SchemaError
from gridgen.io.plan import read_plan, write_plan
from gridgen.io.write import write_dataset
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan
from gridgen.partition.rebalance import rebalance
from gridgen.records.attributes import grid_sheet_updated
from gridgen.sample.district import sample_path
from gridgen.validate.layers import validate_layers
from gridgen_cli.main import main

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def plan(sample: Dataset) -> Plan:
    ids = sorted(sample.communities["community_id"])[:2]
    return partition_dataset(sample, communities=ids, on=date(2024, 1, 1))


def _sheet(plan: Plan) -> pd.DataFrame:
    codes = plan.grids["grid_id"].tolist()
    return pd.DataFrame(
        {
            "网格编码": codes[:4],
            "网格员": ["张伟", "李娜", "", "王芳"],
            "网格党组织": ["是", "否", "第三网格党支部", "未知"],
            "责任主体": ["农科社区居委会", "", "", ""],
            "户数": ["1", "2", "3", "4"],  # households are the plan's own: ignored
        }
    )


def test_sheet_applies_by_code(plan: Plan) -> None:
    new, result = grid_sheet_updated(plan, _sheet(plan))
    g = new.grids.set_index("grid_id")
    c = plan.grids["grid_id"].tolist()
    assert g.loc[c[0], "grid_worker"] == "张伟" and g.loc[c[1], "grid_worker"] == "李娜"
    assert pd.isna(g.loc[c[2], "grid_worker"])
    assert [g.loc[x, "party_org"] for x in c[:3]] == [True, False, True]
    assert pd.isna(g.loc[c[3], "party_org"]) and pd.isna(g.loc[c[4], "party_org"])
    assert g.loc[c[2], "party_org_name"] == "第三网格党支部"
    assert g.loc[c[0], "responsible"] == "农科社区居委会"
    assert (g["households"] == plan.grids.set_index("grid_id")["households"]).all()
    assert result.matched == 4 and "户数" in result.ignored
    bad = _sheet(plan)
    bad.loc[2, "网格编码"] = "NOPE"
    with pytest.raises(LedgerError, match="row 4"):
        grid_sheet_updated(plan, bad)
    with pytest.raises(SchemaError, match="网格编码"):
        grid_sheet_updated(plan, pd.DataFrame({"名称": ["x"]}))


def test_attributes_follow_the_codes_through_a_rebalance(sample: Dataset, plan: Plan) -> None:
    new, _ = grid_sheet_updated(plan, _sheet(plan))
    grown = sample.buildings.assign(households=sample.buildings["households"] * 2)
    ds = validate_layers({**sample.layers, "buildings": grown}, source="grown")
    out = rebalance(ds, new.grids, assignment=new.assignment, codes=new.codes, on=date(2025, 1, 1))
    g = out.plan.grids.set_index("grid_id")
    before = new.grids.set_index("grid_id")
    kept = [c for c in before.index if c in g.index]
    assert kept and all(
        g.loc[c, "grid_worker"] == before.loc[c, "grid_worker"]
        or (pd.isna(g.loc[c, "grid_worker"]) and pd.isna(before.loc[c, "grid_worker"]))
        for c in kept
    )
    fresh = [c for c in g.index if c not in before.index]
    assert fresh and g.loc[fresh, "party_org"].isna().all()


def test_report_counts_party_organisations_honestly(sample: Dataset, plan: Plan) -> None:
    doc = figures_dict(governance_figures(sample, plan=plan, mode="line"))
    f = doc["district"]["grids_with_party_org"]
    assert f["value"] is None and f["share"] is None and f["unknown_grids"] == len(plan.grids)
    new, _ = grid_sheet_updated(plan, _sheet(plan))
    f = figures_dict(governance_figures(sample, plan=new, mode="line"))["district"]
    f = f["grids_with_party_org"]
    assert f["value"] == 2 and f["unknown_grids"] == len(plan.grids) - 3


def test_cli_update_grids_and_report_says_unknown(
    sample: Dataset, plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, old = tmp_path / "data.gpkg", tmp_path / "plan.gpkg"
    write_dataset(sample, data)
    write_plan(plan, old)
    assert main(["report", str(data), "--plan", str(old), "--out", str(tmp_path / "r.json")]) == 0
    assert "party organisations unknown" in capsys.readouterr().out
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["district"]["grids_with_party_org"]["value"] is None
    sheet = tmp_path / "grids.xlsx"
    _sheet(plan).to_excel(sheet, index=False)
    new = tmp_path / "new.gpkg"
    args = ["update", str(data), "--layer", "grids", "--plan", str(old), "--from", str(sheet)]
    assert main([*args, "--out", str(new)]) == 0
    assert "4 grids matched" in capsys.readouterr().out
    back = read_plan(new).grids.set_index("grid_id")
    assert back.loc[plan.grids["grid_id"].iloc[0], "grid_worker"] == "张伟"
    assert back["valid_from"].notna().all()
    assert main(["report", str(data), "--plan", str(new), "--out", str(tmp_path / "r.xlsx")]) == 0
    assert "2 with a party organisation" in capsys.readouterr().out
    assert main([*args[:4], "--from", str(sheet), "--out", str(tmp_path / "x.gpkg")]) == 2


@pytest.fixture
def client(database: tuple[str, str | None]) -> Iterator[TestClient]:
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        yield c


def test_service_sheet_new_version_and_restricted_names(client: TestClient, tmp_path: Path) -> None:
    planner = key(client, "planner")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=1", headers=planner).json()
    cid = comms["features"][0]["properties"]["community_id"]
    plan_id = run_plan(client, planner, ds, communities=[cid])
    grids = client.get(f"/plans/{plan_id}/versions/1", headers=planner).json()["features"]
    codes = sorted(f["properties"]["grid_id"] for f in grids)
    sheet = tmp_path / "grids.xlsx"
    pd.DataFrame(
        {"网格编码": codes[:2], "网格员": ["张伟", "李娜"], "网格党组织": ["是", "否"]}
    ).to_excel(sheet, index=False)
    with sheet.open("rb") as fh:
        r = client.post(
            f"/plans/{plan_id}/grid-attributes",
            files={"file": ("grids.xlsx", fh)},
            data={"base_version": "1"},
            headers=planner,
        )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["changed"] == 2
    as_planner = client.get(f"/plans/{plan_id}/versions/2", headers=planner).json()
    props = {f["properties"]["grid_id"]: f["properties"] for f in as_planner["features"]}
    assert "grid_worker" not in props[codes[0]] and props[codes[0]]["party_org"] is True
    as_admin = client.get(f"/plans/{plan_id}/versions/2", headers=ADMIN).json()
    names = {
        f["properties"]["grid_id"]: f["properties"]["grid_worker"] for f in as_admin["features"]
    }
    assert names[codes[0]] == "张伟" and names[codes[1]] == "李娜"
    r = client.get(f"/plans/{plan_id}/changes", params={"from": 2, "to": 2}, headers=planner)
    assert r.json()["summary"]["households_moved"] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("网格编码,网格员\nNOPE,张三\n", encoding="utf-8")
    with bad.open("rb") as fh:
        r = client.post(
            f"/plans/{plan_id}/grid-attributes",
            files={"file": ("bad.csv", fh)},
            headers={**planner, "If-Match": '"2"'},
        )
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]
    assert client.get(f"/plans/{plan_id}", headers=planner).json()["plan"]["head_version"] == 2
