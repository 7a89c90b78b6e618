"""The governance report figures: hand arithmetic on a small dataset, and two sample snapshots."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from coverage_helpers import SmallPlan, frame, pt, small_dataset, small_layers
from shapely.geometry import box

from gridgen.coverage.figure_changes import figure_changes
from gridgen.coverage.figures import (
    FIGURES,
    figures_dict,
    governance_figures,
)
from gridgen.io.read import load_sample


def report_layers() -> dict[str, gpd.GeoDataFrame]:
    """The small coverage dataset with residents, a second street, compound K3, station S3.

    C1 (street ST1): B1 100 hh (K1), B3 50 (scattered), B4 80 (K1); K1 company P1 (party
    org), branch; K3 red_property P2 (no party org), no buildings. C2 (street ST2): B2 200 hh
    (K2, no property). Stations: S1 centre (C1), S2 micro (C2), S3 red front (C2, far away).
    """
    layers = small_layers()
    layers["streets"] = pd.concat(
        [layers["streets"], frame([{"street_id": "ST2", "name": "街道二"}], [box(0, 0, 1, 1)])],
        ignore_index=True,
    )
    layers["communities"].loc[1, "street_id"] = "ST2"
    layers["buildings"]["residents"] = [250, 500, 120, 200]
    k3 = frame(
        [
            {
                "compound_id": "K3",
                "community_id": "C1",
                "property_mode": "red_property",
                "property_company_id": "P2",
                "party_branch": False,
            }
        ],
        [box(0, 0, 1, 1)],
    )
    layers["compounds"] = pd.concat([layers["compounds"], k3], ignore_index=True)
    s3 = frame([{"station_id": "S3", "kind": "red_front", "community_id": "C2"}], [pt(1100, 2000)])
    layers["stations"] = pd.concat([layers["stations"], s3], ignore_index=True)
    layers["property_companies"] = pd.DataFrame(
        {"company_id": ["P1", "P2"], "name": ["物业一", "物业二"], "has_party_org": [True, False]}
    )
    return layers


@pytest.fixture(scope="module")
def report() -> dict:
    ds = small_dataset(report_layers())
    figs = governance_figures(ds, plan=SmallPlan(), radius=800, mode="walk", band=(100, 200))
    return json.loads(json.dumps(figures_dict(figs)))  # JSON-serialisable as it stands


def values(entry: dict) -> dict:
    return {k: v["value"] for k, v in entry.items() if isinstance(v, dict)}


def test_district_figures_equal_hand_arithmetic(report: dict) -> None:
    d = report["district"]
    assert set(values(d)) == {f.name for f in FIGURES}
    expect = {
        "households": 430,  # 100 + 200 + 50 + 80
        "residents": 1070,  # 250 + 500 + 120 + 200
        "buildings": 4,
        "compounds": 3,
        "grids": 3,
        "households_per_grid": 430 / 3,
        "households_per_grid_min": 50,  # G2 = B3
        "households_per_grid_max": 200,  # G3 = B2
        "grids_in_band": 2,  # G1 180 and G3 200 inside 100-200
        "grids_with_party_org": 1,
        "stations": 3,
        "center_stations": 1,
        "micro_stations": 1,
        "red_front_stations": 1,
        "stations_per_grid": 1.0,
        "micro_stations_per_grid": 1 / 3,
        "compounds_company": 1,
        "compounds_red_property": 1,
        "compounds_with_property": 2,
        "no_property_compounds": 1,
        "property_companies": 2,
        "companies_with_party_org": 1,
        "compounds_with_party_branch": 1,
        "compounds_chain_complete": 1,  # K1: branch, B1 has 4 members, 5 members in all
        "grid_workers": 2,
        "workers_per_grid": 2 / 3,
        "households_per_worker": 215.0,
        "buildings_with_leader": 2,  # B1 张三, B4 李四
        "covered_households": 380,  # B1 430 m, B2 740 m, B4 775 m; B3 1010 m via S3
    }
    got = values(d)
    for name, value in expect.items():
        assert got[name] == pytest.approx(value), name
    assert d["companies_with_party_org"] == {
        "value": 1,
        "numerator": 1,
        "denominator": 2,
        "share": 0.5,
    }
    assert d["households_per_worker"] == {"value": 215.0, "numerator": 430, "denominator": 2}
    assert d["covered_households"]["share"] == pytest.approx(380 / 430)
    assert d["no_property_compounds"]["share"] == pytest.approx(1 / 3)
    assert report["radius_m"] == 800 and report["mode"] == "walk" and report["band"] == [100, 200]


def test_community_and_street_figures(report: dict) -> None:
    comm = {c["id"]: c for c in report["communities"]}
    c1, c2 = values(comm["C1"]), values(comm["C2"])
    assert comm["C1"]["street_id"] == "ST1" and comm["C2"]["street_id"] == "ST2"
    assert (c1["households"], c1["residents"], c1["buildings"], c1["compounds"]) == (230, 570, 3, 2)
    assert (c1["grids"], c1["households_per_grid"]) == (2, 115.0)
    assert (c1["households_per_grid_min"], c1["households_per_grid_max"]) == (50, 180)
    assert comm["C1"]["grids_in_band"]["share"] == 0.5
    assert (c1["stations"], c1["stations_per_grid"], c1["micro_stations"]) == (1, 0.5, 0)
    assert (c1["compounds_with_property"], c1["no_property_compounds"]) == (2, 0)
    assert comm["C1"]["companies_with_party_org"]["share"] == 0.5
    assert (c1["grid_workers"], c1["workers_per_grid"], c1["households_per_worker"]) == (2, 1, 115)
    assert comm["C1"]["buildings_with_leader"]["share"] == pytest.approx(2 / 3)
    assert comm["C1"]["covered_households"]["share"] == pytest.approx(180 / 230)
    assert (c2["households"], c2["grids"], c2["stations"], c2["stations_per_grid"]) == (
        200,
        1,
        2,
        2.0,
    )
    assert comm["C2"]["no_property_compounds"]["share"] == 1.0
    # no companies and no workers: the shares have no denominator
    assert comm["C2"]["companies_with_party_org"]["share"] is None
    assert c2["households_per_worker"] is None and c2["covered_households"] == 200
    streets = {s["id"]: s for s in report["streets"]}
    assert streets["ST1"]["name"] == "街道一"
    assert values(streets["ST1"])["property_companies"] == 2
    assert values(streets["ST2"])["households"] == 200


def test_without_plan_grid_figures_have_no_denominator() -> None:
    ds = small_dataset(report_layers())
    d = figures_dict(governance_figures(ds, radius=500))["district"]
    assert d["grids"]["value"] == 0 and d["households_per_grid"]["value"] is None
    assert d["households_per_grid_min"]["value"] is None
    assert d["stations_per_grid"] == {"value": None, "numerator": 3, "denominator": 0}
    assert d["covered_households"]["value"] == 100  # only B1 within 500 m


def sample_snapshots() -> tuple:
    """The sample district, and a copy where 5 no-property compounds got property
    management (red property by company WY0003) and companies WY0003 and WY0005 founded
    party organisations, and the first 4 compounds founded branches."""
    before = load_sample()
    layers = {k: v.copy() for k, v in before.layers.items()}
    comp = layers["compounds"]
    none_ids = comp.loc[comp["property_mode"] == "none", "compound_id"].tolist()[:5]
    changed = comp["compound_id"].isin(none_ids)
    comp.loc[changed, "property_mode"] = "red_property"
    comp.loc[changed, "property_company_id"] = "WY0003"
    comp.loc[comp.index[:4], "party_branch"] = True
    companies = layers["property_companies"]
    companies.loc[companies["company_id"].isin(["WY0003", "WY0005"]), "has_party_org"] = True
    from gridgen.dataset import Dataset

    after = Dataset(layers=layers, metric_crs=before.metric_crs, name=before.name)
    return before, after, none_ids


def test_before_after_on_two_sample_snapshots() -> None:
    before, after, none_ids = sample_snapshots()
    fb = governance_figures(before, radius=500, mode="line")
    fa = governance_figures(after, radius=500, mode="line")
    ch = figure_changes(fb, fa, before_dataset=before, after_dataset=after)
    d = ch["district"]
    n_none = int((before.compounds["property_mode"] == "none").sum())
    assert n_none == 9
    n = len(before.compounds)
    assert d["no_property_compounds"] == {
        "before": 9,
        "after": 4,
        "difference": -5,
        "share_before": pytest.approx(9 / n),
        "share_after": pytest.approx(4 / n),
        "share_difference": pytest.approx(-5 / n),
    }
    assert d["compounds_with_property"]["difference"] == 5
    assert d["no_property_compounds_eliminated"] == {
        "count": 5,
        "denominator": 9,
        "share": pytest.approx(5 / 9),
    }

    # companies serving compounds, with a party org, by hand from the layers
    def served_with_org(ds: object) -> tuple[int, int]:
        comp = ds.compounds  # type: ignore[attr-defined]
        served = set(comp.loc[comp["property_mode"] != "none", "property_company_id"].dropna())
        pc = ds.property_companies  # type: ignore[attr-defined]
        org = set(pc.loc[pc["has_party_org"].astype(bool), "company_id"])
        return len(served), len(served & org)

    (sb, ob), (sa, oa) = served_with_org(before), served_with_org(after)
    cp = d["companies_with_party_org"]
    assert (cp["before"], cp["after"], cp["difference"]) == (ob, oa, oa - ob)
    assert cp["share_before"] == pytest.approx(ob / sb) and cp["share_after"] == pytest.approx(
        oa / sa
    )
    assert oa - ob == 2  # WY0003 and WY0005 both serve compounds
    branch_gain = int((~before.compounds["party_branch"].astype(bool).iloc[:4]).sum())
    assert d["compounds_with_party_branch"]["difference"] == branch_gain
    assert d["households"]["difference"] == 0
    # per community, eliminated compounds add up to the district count
    by_comm = sum(c["no_property_compounds_eliminated"]["count"] for c in ch["communities"])
    assert by_comm == 5
    comm_of = after.compounds.set_index("compound_id")["community_id"]
    for c in ch["communities"]:
        want = sum(comm_of[i] == c["id"] for i in none_ids)
        assert c["no_property_compounds_eliminated"]["count"] == want
    assert json.dumps(ch)  # serialisable


def test_mode_defaults_to_line_without_walkable_roads() -> None:
    layers = report_layers()
    layers["roads"]["walkable"] = False
    figs = governance_figures(small_dataset(layers), radius=800)
    assert figs.mode == "line"
    # straight line: B1 401 m, B2 ~700 m (S2), B4 ~515 m, B3 ~2010 m from S1 / ~1000 m from S3
    assert figs.tables["district"].loc[0, "covered_households"] == 380
    assert governance_figures(small_dataset(report_layers()), radius=800).mode == "walk"


def test_dataset_without_streets() -> None:
    from gridgen.dataset import empty_layer

    layers = small_layers()
    layers["streets"] = empty_layer("streets")
    layers["communities"] = layers["communities"].drop(columns="street_id")
    doc = figures_dict(governance_figures(small_dataset(layers), radius=500))
    assert doc["streets"] == []
    assert [c["street_id"] for c in doc["communities"]] == [None, None]
    assert doc["district"]["covered_households"]["value"] == 100
    assert sum(c["households"]["value"] for c in doc["communities"]) == 430
