"""Minimal-change rebalance of existing grids: fills, reunions, moves, splits, stable codes."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from partition_helpers import UTM49, at, block_community
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.partition.audit import audit_grids
from gridgen.partition.moves import Moves, balance
from gridgen.partition.rebalance import rebalance

BAND = (240, 360)


def layer(*grids: tuple[str, BaseGeometry]) -> gpd.GeoDataFrame:
    """Return a WGS84 grid layer from (code, local-metre polygon) pairs."""
    return gpd.GeoDataFrame(
        {"grid_id": [c for c, _ in grids]}, geometry=[at(g) for _, g in grids], crs=UTM49
    ).to_crs(4326)


@pytest.fixture(scope="module")
def row4() -> Dataset:
    return block_community(np.array([[150, 150, 161, 150]]))


def test_valid_layer_comes_back_unchanged(row4: Dataset) -> None:
    grids = layer(("G1", box(0, 0, 260, 140)), ("G2", box(260, 0, 500, 140)))
    r = rebalance(row4, grids, band=BAND)
    s = r.summary
    assert s["households_moved"] == 0 and s["grids_changed"] == 0
    assert s["communities_touched"] == [] and s["codes_kept"] == 2
    assert all(
        shapely.equals(a, b) for a, b in zip(r.plan.grids.geometry, grids.geometry, strict=True)
    )
    assert not r.crosswalk["moved"].any()


def test_split_compound_reunited_and_gap_filled(row4: Dataset) -> None:
    r = rebalance(row4, layer(("G1", box(0, 0, 310, 140)), ("G2", box(310, 0, 500, 140))))
    assert r.summary["households_moved"] == 80  # B002a (80) joins B002b (81) in G2
    moved = r.crosswalk[r.crosswalk["moved"]]
    assert moved[["building_id", "old_grid", "new_grid"]].values.tolist() == [["B002a", "G1", "G2"]]
    after = r.summary["audit_after"]
    assert after["split_compound"] == 0 and after["out_of_band"] == 0
    g = rebalance(row4, layer(("G1", box(0, 0, 260, 140)), ("G2", box(260, 0, 380, 140))))
    assert g.summary["households_filled"] == 150 and g.summary["households_moved"] == 0
    assert g.summary["audit_after"]["gap_m2"] < 1.0
    assert g.summary["audit_after"]["unassigned_building"] == 0


def test_overlap_resolved(row4: Dataset) -> None:
    r = rebalance(row4, layer(("G1", box(0, 0, 310, 140)), ("G2", box(250, 0, 500, 140))))
    after = r.summary["audit_after"]
    assert after["overlap_m2"] < 1.0 and after["gap_m2"] < 1.0 and after["out_of_band"] == 0


def test_overfull_grid_moves_only_units_next_to_it() -> None:
    # four columns of three compounds; G1's column grew (100 -> 170), G2's has room (80s)
    hh = np.array([[170, 80, 100, 100], [100, 80, 100, 100], [100, 80, 100, 100]])
    ds = block_community(hh)
    cols = [box(0, 0, 130, 380), box(130, 0, 250, 380), box(250, 0, 370, 380)]
    grids = layer(*[(f"G{i + 1}", g) for i, g in enumerate([*cols, box(370, 0, 500, 380)])])
    before = audit_grids(ds, grids, band=BAND)
    assert before.grids.set_index("grid_id")["households"].to_dict() == {
        "G1": 370,
        "G2": 240,
        "G3": 300,
        "G4": 300,
    }
    r = rebalance(ds, grids, band=BAND)
    s = r.summary
    assert s["audit_after"]["out_of_band"] == 0
    assert s["households_moved"] == 100  # one 100-household compound of G1 goes to G2
    moved = r.crosswalk[r.crosswalk["moved"]]
    assert set(moved["old_grid"]) == {"G1"} and set(moved["new_grid"]) == {"G2"}
    assert s["codes_kept"] == 4 and s["new_codes"] == [] and s["retired_codes"] == []
    # G3 and G4 kept their buildings
    assert s["grids_changed"] == 2


def test_split_where_moves_cannot_new_code_next_free(row4: Dataset) -> None:
    ds = block_community(np.array([[150, 150, 150, 160]]))
    r = rebalance(ds, layer(("C1001", box(0, 0, 500, 140))), band=BAND)
    s = r.summary
    assert s["audit_after"]["out_of_band"] == 0
    assert s["codes_kept"] == 1 and s["new_codes"] == ["C1002"] and s["retired_codes"] == []
    # the part that keeps C1001 holds the majority of its households
    hh = r.plan.grids.set_index("grid_id")["households"]
    assert hh["C1001"] >= hh["C1002"]
    assert s["households_moved"] == int(hh["C1002"])


def test_budget_limits_balancing_moves() -> None:
    hh = np.array([[170, 80, 100, 100], [100, 80, 100, 100], [100, 80, 100, 100]])
    ds = block_community(hh)
    grids = layer(
        ("G1", box(0, 0, 130, 380)),
        ("G2", box(130, 0, 250, 380)),
        ("G3", box(250, 0, 370, 380)),
        ("G4", box(370, 0, 500, 380)),
    )
    r = rebalance(ds, grids, band=BAND, max_moved=50)
    assert r.summary["households_moved"] == 0
    assert r.summary["max_moved_reached"] is False
    assert r.summary["audit_after"]["out_of_band"] == 1
    assert r.summary["not_fixed"]


def test_balance_chain_through_an_in_band_grid() -> None:
    # path of units: grid 0 overfull, grid 1 full, grid 2 has room: a 2-move chain
    hh = np.array([100, 100, 100, 100, 100, 100, 100, 60, 60, 60])
    edges = np.array([[i, i + 1] for i in range(9)])
    g = Moves.from_edges(hh, edges, np.ones(9))
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    out, moved = balance(g, labels, lo=240, hi=360)
    h = np.bincount(out, weights=hh)
    assert ((h >= 240) & (h <= 360)).all()
    assert moved == 200 and out.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]


def test_cli_rebalance(row4: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gridgen.io.plan import read_plan
    from gridgen.io.write import write_dataset
    from gridgen_cli.main import main

    data = write_dataset(row4, tmp_path / "d.gpkg")
    layer(("=G1", box(0, 0, 310, 140)), ("G2", box(310, 0, 500, 140))).to_file(
        tmp_path / "g.gpkg", layer="grids"
    )
    out, cw, summ = tmp_path / "new.gpkg", tmp_path / "x.csv", tmp_path / "s.json"
    args = ["rebalance", str(data), "--grids", str(tmp_path / "g.gpkg"), "--out", str(out)]
    assert main([*args, "--crosswalk", str(cw), "--summary", str(summ)]) == 0
    said = capsys.readouterr().out
    bound = json.loads(summ.read_text(encoding="utf-8"))["lower_bound"]
    assert 0 <= bound <= 80 and f"80 households moved (1 buildings; at least {bound} had to" in said
    plan = read_plan(out)
    assert sorted(plan.grids["grid_id"]) == ["=G1", "G2"]
    table = pd.read_csv(cw, dtype=str, encoding="utf-8-sig")
    row = table[table["building_id"] == "B002a"].iloc[0]
    assert row["old_grid"] == "'=G1" and row["new_grid"] == "G2"  # formula neutralised
    assert json.loads(summ.read_text(encoding="utf-8"))["audit_after"]["split_compound"] == 0
    again = ["rebalance", str(data), "--plan", str(out), "--out", str(tmp_path / "n2.gpkg")]
    again += ["--workers", "2"]
    assert main(again) == 0
    assert "0 households moved" in capsys.readouterr().out
    assert main(["rebalance", str(data), "--out", str(tmp_path / "n3.gpkg")]) == 2


def test_only_proven_impossible_grids_stay_out_of_band() -> None:
    from partition_helpers import row_of_compounds

    # compounds of 200 households: any two exceed 360, alone they are below 240
    ds = row_of_compounds([200, 200, 200, 300])
    xs = [0, 130, 250, 370, 500]
    grids = layer(*[(f"G{i + 1}", box(xs[i], 0, xs[i + 1], 140)) for i in range(4)])
    r = rebalance(ds, grids, band=BAND)
    s = r.summary
    assert s["households_moved"] == 0 and s["not_fixed"] == []
    out = set(r.plan.grids.loc[~r.plan.grids["in_band"], "grid_id"])
    proven = {p.grid_id for p in r.plan.problems if p.kind == "unbalanceable"}
    assert out == proven == {"G1", "G2", "G3"}
    assert s["audit_after"]["out_of_band"] == 3


def test_cut_units_match_connectivity() -> None:
    from gridgen.partition.chains import cut_units
    from gridgen.partition.moves import _stays_connected

    rng = np.random.default_rng(3)
    for _ in range(30):
        n = 12
        edges = np.array([(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.25])
        if len(edges) == 0:
            continue
        g = Moves.from_edges(np.ones(n, dtype=np.int64), edges, np.ones(len(edges)))
        labels = rng.integers(0, 2, n)
        for lab in (0, 1):
            cuts = cut_units(g, labels, lab)
            members = np.flatnonzero(labels == lab).tolist()
            from gridgen.partition.moves import pieces

            if len(pieces(g, labels, lab)) != 1:
                continue
            for u in members:
                assert (u in cuts) == (not _stays_connected(g, labels, lab, u))


def test_locked_grids_keep_their_community(row4: Dataset) -> None:
    grids = layer(("G1", box(0, 0, 310, 140)), ("G2", box(310, 0, 500, 140)))
    r = rebalance(row4, grids, band=BAND, locked=["G2"])
    assert r.summary["skipped_locked"] == ["C1"] and r.summary["households_moved"] == 0
    assert r.summary["audit_after"]["split_compound"] == 1


def two_communities() -> Dataset:
    """C1 (x 0-500) and C2 (x 500-1000), four 150-household compounds each."""
    from partition_helpers import make_dataset

    comms = [("C1", box(0, 0, 500, 140)), ("C2", box(500, 0, 1000, 140))]
    compounds, buildings = [], []
    for i in range(8):
        cid = "C1" if i < 4 else "C2"
        x = 20 + 120 * i + (20 if i >= 4 else 0)
        compounds.append((f"K{i}", cid, box(x, 20, x + 100, 120)))
        buildings.append((f"B{i}", f"K{i}", 150, box(x + 30, 50, x + 70, 90), cid))
    return make_dataset(comms, compounds, buildings)


def test_grid_crossing_a_community_boundary_is_split_along_it() -> None:
    ds = two_communities()
    grids = layer(
        ("C1001", box(0, 0, 260, 140)),
        ("C1002", box(260, 0, 640, 140)),  # takes K4 of C2 (x 540-640)
        ("C2001", box(640, 0, 1000, 140)),
    )
    r = rebalance(ds, grids, band=BAND)
    s = r.summary
    assert s["audit_before"]["crosses_community"] == 1
    after = s["audit_after"]
    assert after["crosses_community"] == 0 and after["out_of_band"] == 0 and after["gap_m2"] < 1
    assert r.crosswalk.set_index("building_id").loc["B4", "new_grid"].startswith("C2")


def test_community_without_grids_gets_new_ones() -> None:
    ds = two_communities()
    r = rebalance(ds, layer(("C1001", box(0, 0, 260, 140)), ("C1002", box(260, 0, 500, 140))))
    s = r.summary
    assert s["audit_before"]["gap_households"] == 600
    assert s["households_filled"] == 600 and s["households_moved"] == 0
    assert s["codes_kept"] == 2 and s["new_codes"] == ["C2001", "C2002"]
    assert s["audit_after"]["gap_m2"] < 1.0 and s["audit_after"]["out_of_band"] == 0


def test_rebalance_plan_defaults_scope_and_summary() -> None:
    from gridgen.partition.existing import import_grids
    from gridgen.partition.rebalance_plan import rebalance_plan

    ds = two_communities()  # both communities: 450 + 150 households, both grids out of band
    grids = layer(
        ("C1001", box(0, 0, 380, 140)),
        ("C1002", box(380, 0, 500, 140)),
        ("C2001", box(500, 0, 880, 140)),
        ("C2002", box(880, 0, 1000, 140)),
    )
    plan = import_grids(ds, grids, target=300, band=BAND, source="test")
    new, s = rebalance_plan(ds, plan, community_id="C1")
    assert new.band == plan.band and new.target == 300 and new.locked == ()
    assert s["skipped_locked"] == ["C2"]  # the other community is held as it is
    assert s["out_of_band_before"] == 4 and s["out_of_band_after"] == 2
    assert s["households_moved"] == 150 and s["codes_new"] == 0
    assert [(r["building_id"], r["old_grid"], r["new_grid"]) for r in s["crosswalk"]] == [
        ("B2", "C1001", "C1002")
    ]  # only buildings whose grid changed
    c2 = new.grids[new.grids["community_id"] == "C2"]
    assert all(shapely.equals(a, b) for a, b in zip(c2.geometry, grids.geometry[2:], strict=True))
    held, s = rebalance_plan(ds, plan, community_id="C1", locked=("C1002",))
    assert held.locked == ("C1002",) and s["households_moved"] == 0
    smaller, s = rebalance_plan(ds, plan, target=150)  # another target: its own ±20% band
    assert smaller.band == (120, 180) and s["out_of_band_after"] == 0


def test_heaviest_communities_go_first_and_results_keep_id_order() -> None:
    from gridgen.distributed.executor import Executor
    from gridgen.partition.rebalance import heaviest_first

    ds = two_communities()  # C1: 450 + 150 households (two grids out); C2: 600 in one grid
    grids = layer(
        ("C1001", box(0, 0, 380, 140)),
        ("C1002", box(380, 0, 500, 140)),
        ("C2001", box(500, 0, 1000, 140)),
    )
    before = audit_grids(ds, grids, band=BAND)
    assert before.grids.set_index("grid_id")["in_band"].sum() == 0
    # four buildings each; C1 has two grids out of band, C2 one: C1 (4 x 3) before C2 (4 x 2)
    assert heaviest_first({"C2", "C1"}, before, ds) == ["C1", "C2"]
    grids2 = layer(
        ("C1001", box(0, 0, 500, 140)),
        ("C2001", box(500, 0, 760, 140)),
        ("C2002", box(760, 0, 880, 140)),
        ("C2003", box(880, 0, 1000, 140)),
    )  # C1: one grid out; C2: two
    assert heaviest_first({"C1", "C2"}, audit_grids(ds, grids2, band=BAND), ds) == ["C2", "C1"]
    serial = rebalance(ds, grids2, band=BAND)
    pooled = rebalance(ds, grids2, band=BAND, executor=Executor(workers=2))
    assert serial.summary["communities_touched"] == ["C1", "C2"]
    assert pooled.plan.grids.equals(serial.plan.grids)
    assert pooled.crosswalk.equals(serial.crosswalk)
