"""Planner operations: re-partition around locked grids, moves with violations, comparison."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from partition_helpers import block_community, row_of_compounds

from gridgen.dataset import Dataset
from gridgen.errors import InfeasibleError, NotFoundError, ParameterError
from gridgen.partition.assign import community_units
from gridgen.partition.community import partition_community, partition_dataset
from gridgen.partition.compare import community_unit_changes, compare_plans, locked_unchanged
from gridgen.partition.plan import Plan
from gridgen.partition.planner import best_repartition, move_unit, repartition


@pytest.fixture(scope="module")
def sample_plan(sample: Dataset) -> Plan:
    ids = sorted(sample.communities["community_id"].astype(str))[:3]
    return partition_dataset(sample, communities=ids)


def grid_of(plan: Plan) -> dict[str, str]:
    return dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))


def test_repartition_keeps_locked_grids(sample: Dataset, sample_plan: Plan) -> None:
    cid = sorted(sample_plan.grids["community_id"])[0]
    ids = sorted(sample_plan.grids.loc[sample_plan.grids["community_id"] == cid, "grid_id"])
    locked = ids[:2]
    other = sample_plan.grids.loc[sample_plan.grids["community_id"] != cid, "grid_id"].iloc[0]
    new = repartition(sample, sample_plan, cid, locked=[*locked, other], seed=11)
    assert locked_unchanged(sample_plan, new, locked)
    # the community is still tiled, every building assigned once
    assert new.metrics.tiling_ok
    assert new.metrics.contiguous_share == 1.0
    assert new.assignment["building_id"].is_unique
    assert set(new.assignment["building_id"]) == set(sample_plan.assignment["building_id"])
    # other communities untouched
    others = sample_plan.grids[sample_plan.grids["community_id"] != cid]
    after = new.grids.set_index("grid_id").loc[others["grid_id"]]
    assert all(shapely.equals_exact(others.geometry.to_numpy(), after.geometry.to_numpy(), 0.0))
    # new ids do not clash and keep the community prefix
    new_ids = set(new.grids.loc[new.grids["community_id"] == cid, "grid_id"]) - set(locked)
    assert all(g.startswith(cid) and len(g) == len(cid) + 3 for g in new_ids)


def out_of_band(plan: Plan, cid: str, locked: tuple[str, ...]) -> int:
    g = plan.grids[(plan.grids["community_id"] == cid) & ~plan.grids["grid_id"].isin(locked)]
    return int((~g["households"].between(*plan.band)).sum())


def test_best_repartition_keeps_the_most_balanced_seed(sample: Dataset, sample_plan: Plan) -> None:
    cid = sorted(sample_plan.grids["community_id"])[0]
    grids = sample_plan.grids
    locked = (sorted(grids.loc[grids["community_id"] == cid, "grid_id"])[0],)
    seeds = range(sample_plan.seed + 1, sample_plan.seed + 4)
    tried = [repartition(sample, sample_plan, cid, locked=locked, seed=s) for s in seeds]
    outs = [out_of_band(p, cid, locked) for p in tried]
    if 0 in outs:  # it stops at the first seed with every unlocked grid in band
        tried, outs = tried[: outs.index(0) + 1], outs[: outs.index(0) + 1]
    expected = tried[outs.index(min(outs))]
    best = best_repartition(sample, sample_plan, cid, locked=locked, tries=3)
    assert out_of_band(best, cid, locked) == min(outs)
    assert best.assignment.equals(expected.assignment)
    assert locked_unchanged(sample_plan, best, locked)
    assert best_repartition(sample, sample_plan, cid, locked=locked, tries=0) is sample_plan


def test_repartition_unknown_locked_grid(sample: Dataset, sample_plan: Plan) -> None:
    cid = sorted(sample_plan.grids["community_id"])[0]
    with pytest.raises(NotFoundError, match="XX999"):
        repartition(sample, sample_plan, cid, locked=["XX999"])


def test_move_compound_along_row() -> None:
    ds = row_of_compounds([100] * 9)
    plan = partition_community(ds, "C1")
    assert grid_of(plan)["B02"] == "C1001"
    res = move_unit(ds, plan, compound_id="K02", to_grid="C1002")
    kinds = {(v.kind, v.grid_id) for v in res.violations}
    assert kinds == {("below_band", "C1001"), ("above_band", "C1002")}
    assert not res.ok
    assert res.from_grids == ("C1001",)
    hh = dict(zip(res.plan.grids["grid_id"], res.plan.grids["households"], strict=True))
    assert hh == {"C1001": 200, "C1002": 400, "C1003": 300}
    assert res.metrics.tiling_ok
    assert res.metrics.contiguous_share == 1.0
    assert grid_of(res.plan)["B02"] == "C1002"
    # the plan passed in is unchanged (nothing saved)
    assert grid_of(plan)["B02"] == "C1001"


def test_move_that_breaks_contiguity_is_flagged() -> None:
    ds = row_of_compounds([100] * 9)
    plan = partition_community(ds, "C1")
    res = move_unit(ds, plan, compound_id="K01", to_grid="C1002")
    kinds = {(v.kind, v.grid_id) for v in res.violations}
    assert ("multipart", "C1001") in kinds
    assert ("not_adjacent", "C1002") in kinds
    assert res.metrics.contiguous_share < 1.0
    with pytest.raises(InfeasibleError, match=r"C1001 would fall into 2 separate pieces"):
        res.require_savable()  # the service does not save it


def test_moving_one_building_splits_compound() -> None:
    ds = block_community(np.array([[300, 300, 300]]))
    plan = partition_community(ds, "C1")
    g = grid_of(plan)
    assert g["B000a"] == g["B000b"] != g["B001a"]
    res = move_unit(ds, plan, building_id="B000b", to_grid=g["B001a"])
    assert "split_compound" in {v.kind for v in res.violations}
    assert res.metrics.tiling_ok


def test_move_errors() -> None:
    ds = row_of_compounds([100] * 6)
    plan = partition_community(ds, "C1")
    with pytest.raises(ParameterError, match="exactly one"):
        move_unit(ds, plan, to_grid="C1001", building_id="B00", compound_id="K00")
    with pytest.raises(NotFoundError, match="C1999"):
        move_unit(ds, plan, to_grid="C1999", compound_id="K00")
    with pytest.raises(ParameterError, match="already in grid"):
        move_unit(ds, plan, to_grid=grid_of(plan)["B00"], compound_id="K00")
    with pytest.raises(NotFoundError, match="K77"):
        move_unit(ds, plan, to_grid="C1001", compound_id="K77")


def test_compare_plans() -> None:
    ds = row_of_compounds([100] * 9)
    plan = partition_community(ds, "C1")
    res = move_unit(ds, plan, compound_id="K02", to_grid="C1002")
    cmp = compare_plans(plan, res.plan, dataset=ds)
    assert list(cmp.buildings["building_id"]) == ["B02"]
    assert cmp.buildings.iloc[0].to_dict() == {
        "building_id": "B02",
        "grid_a": "C1001",
        "grid_b": "C1002",
    }
    assert cmp.compounds == ("K02",)
    assert cmp.grids_reshaped == ("C1001", "C1002")
    assert cmp.grids_added == cmp.grids_removed == ()
    assert cmp.metric_deltas["n_grids"] == 0
    assert cmp.metric_deltas["band_compliance"] == pytest.approx(-2 / 3)
    d = cmp.to_dict()
    assert d["buildings_changed"] == 1
    same = compare_plans(plan, plan)
    assert same.buildings.empty and same.grids_reshaped == ()


def test_community_unit_changes_names_the_moved_unit() -> None:
    ds = row_of_compounds([100] * 9)
    plan = partition_community(ds, "C1")
    res = move_unit(ds, plan, compound_id="K02", to_grid="C1002")
    units = community_units(ds, plan, "C1")
    diff = community_unit_changes(ds, units, plan, res.plan)
    assert diff["changed"] == [{"id": "K02", "a": "C1001", "b": "C1002"}]
    assert diff["grids"] == [
        {"grid_id": g, "code_a": g, "code_b": g, "a": 300, "b": hb}
        for g, hb in (("C1001", 200), ("C1002", 400), ("C1003", 300))
    ]
    assert community_unit_changes(ds, units, plan, plan)["changed"] == []
