"""Grid partitioning: invariants on the sample district, hand-made answers, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from partition_helpers import block_community, row_of_compounds

from gridgen.dataset import Dataset
from gridgen.errors import NotFoundError, ParameterError
from gridgen.partition.codes import standard_order
from gridgen.partition.community import partition_community, partition_dataset
from gridgen.partition.plan import Plan, merge_plans, parse_band, plan_metrics


@pytest.fixture(scope="module")
def sample_plan(sample: Dataset) -> Plan:
    return partition_dataset(sample, target=300, seed=0)


def assert_invariants(ds: Dataset, plan: Plan) -> None:
    """Assert tiling, single polygons, whole compounds and a complete assignment."""
    hi = plan.band[1]
    comms = ds.metric("communities")
    grids = plan.grids.to_crs(ds.metric_crs)
    for cid, comm in zip(comms["community_id"].astype(str), comms.geometry, strict=True):
        g = grids.geometry[grids["community_id"] == cid].to_numpy()
        assert len(g) >= 1, cid
        union = shapely.union_all(g)
        diff = shapely.area(shapely.symmetric_difference(union, comm)) / comm.area
        assert diff <= 1e-4, (cid, diff)
        overlap = float(shapely.area(g).sum() - union.area)
        assert overlap <= 1.0, (cid, overlap)
        assert all(x.geom_type == "Polygon" for x in g), cid
    # every building assigned exactly once, to a grid of its community
    a = plan.assignment
    assert a["building_id"].is_unique
    assert set(a["building_id"]) == set(ds.buildings["building_id"].astype(str))
    assert set(a["grid_id"]) <= set(plan.grids["grid_id"])
    # no compound split unless above the band maximum
    b = ds.buildings.assign(building_id=ds.buildings["building_id"].astype(str))
    m = b.merge(a, on="building_id")
    m = m[m["compound_id"].notna()]
    per = m.groupby("compound_id").agg(hh=("households", "sum"), grids=("grid_id", "nunique"))
    split = per[(per["grids"] > 1) & (per["hh"] <= hi)]
    assert split.empty, split
    # households add up
    assert int(plan.grids["households"].sum()) == int(ds.buildings["households"].sum())
    assert plan.metrics.tiling_ok
    assert plan.metrics.contiguous_share == 1.0


def test_sample_invariants(sample: Dataset, sample_plan: Plan) -> None:
    assert_invariants(sample, sample_plan)
    assert sample_plan.metrics.n_grids == len(sample_plan.grids)
    assert sample_plan.metrics.band_compliance >= 0.9
    # out-of-band grids are all reported with a reason
    out = set(sample_plan.grids.loc[~sample_plan.grids["in_band"], "grid_id"])
    reported = {p.grid_id for p in sample_plan.problems if p.grid_id}
    assert out <= reported


def test_sample_grid_ids(sample_plan: Plan) -> None:
    for cid, g in sample_plan.grids.groupby("community_id"):
        ids = sorted(g["grid_id"])
        assert ids == [f"{cid}{i:03d}" for i in range(1, len(g) + 1)]


def test_metrics_remeasured_from_geometry(sample: Dataset, sample_plan: Plan) -> None:
    again = plan_metrics(
        sample,
        sample_plan.grids,
        sample_plan.assignment,
        target=sample_plan.target,
        band=sample_plan.band,
    )
    assert again.n_grids == sample_plan.metrics.n_grids
    assert again.band_compliance == pytest.approx(sample_plan.metrics.band_compliance)
    assert again.mean_polsby_popper == pytest.approx(sample_plan.metrics.mean_polsby_popper)
    assert again.cut_edges == sample_plan.metrics.cut_edges


def test_six_compounds_of_150_make_three_grids_of_300() -> None:
    ds = row_of_compounds([150] * 6)
    plan = partition_community(ds, "C1")
    assert sorted(plan.grids["households"]) == [300, 300, 300]
    # pairs of neighbours, numbered west to east
    grid_of = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    assert [grid_of[f"B{i:02d}"] for i in range(6)] == [
        "C1001",
        "C1001",
        "C1002",
        "C1002",
        "C1003",
        "C1003",
    ]
    assert plan.metrics.band_compliance == 1.0
    assert plan.metrics.max_abs_deviation == 0.0
    assert plan.metrics.cut_edges == 2
    assert plan.problems == ()


def test_uneven_row_balanced() -> None:
    # 100+200 | 300 | 150+150 is the only all-in-band answer (band 240-360)
    ds = row_of_compounds([100, 200, 300, 150, 150])
    plan = partition_community(ds, "C1")
    assert list(plan.grids.sort_values("grid_id")["households"]) == [300, 300, 300]


def test_community_below_band_is_reported() -> None:
    ds = row_of_compounds([50, 60])
    plan = partition_community(ds, "C1")
    assert len(plan.grids) == 1
    assert plan.grids["households"].iloc[0] == 110
    kinds = [p.kind for p in plan.problems]
    assert "below_band" in kinds
    assert "110 households, below the band minimum 240" in plan.metrics.infeasible["C1"]


def test_building_above_max_is_reported() -> None:
    ds = row_of_compounds([150, 500, 150])
    plan = partition_community(ds, "C1")
    found = [p for p in plan.problems if p.kind == "building_above_band"]
    assert len(found) == 1
    assert found[0].building_id == "B01"
    assert "500 households" in found[0].reason
    assert_invariants(ds, plan)


def test_big_compound_split_by_buildings() -> None:
    # one compound of 2 x 300 = 600 households (> 360) becomes two grids of 300
    hh = np.array([[600]])
    ds = block_community(hh)
    plan = partition_community(ds, "C1")
    assert sorted(plan.grids["households"]) == [300, 300]
    assert_invariants(ds, plan)


def test_main_road_is_preferred_boundary() -> None:
    # 2 x 4 compounds of 150; a main road between columns 1 and 2 (x = 250)
    hh = np.full((2, 4), 150)
    ds = block_community(hh, main_road_x=250.0)
    plan = partition_community(ds, "C1")
    assert plan.metrics.main_road_crossings == 0
    grids = plan.grids.to_crs(ds.metric_crs)
    roads = ds.metric("roads").geometry.iloc[0]
    inner = shapely.buffer(grids.geometry.to_numpy(), -15)
    assert all(shapely.length(shapely.intersection(inner, roads)) < 30)


def test_same_seed_same_plan(sample: Dataset) -> None:
    cid = str(sample.communities["community_id"].iloc[0])
    a = partition_community(sample, cid, seed=7)
    b = partition_community(sample, cid, seed=7)
    pd.testing.assert_frame_equal(a.assignment, b.assignment)
    assert list(a.grids["grid_id"]) == list(b.grids["grid_id"])
    assert all(shapely.equals(a.grids.geometry.to_numpy(), b.grids.geometry.to_numpy()))


def test_merge_plans_matches_dataset_plan(sample: Dataset, sample_plan: Plan) -> None:
    ids = sorted(sample.communities["community_id"].astype(str))[:3]
    parts = [partition_community(sample, c) for c in ids]
    merged = merge_plans(parts)
    sub = sample_plan.grids[sample_plan.grids["community_id"].isin(ids)]
    assert sorted(merged.grids["grid_id"]) == sorted(sub["grid_id"])
    assert merged.metrics.n_grids == len(sub)
    assert merged.metrics.band_compliance == pytest.approx(float(sub["in_band"].mean()))


def test_progress_called(sample: Dataset) -> None:
    calls: list[tuple[int, int]] = []
    ids = sorted(sample.communities["community_id"].astype(str))[:2]
    partition_dataset(sample, communities=ids, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 2), (2, 2)]


@pytest.mark.parametrize(
    ("target", "band", "word"),
    [(0, None, "target"), (300, (400, 500), "band"), (300, (0, 360), "band")],
)
def test_bad_options_raise(target: int, band: tuple[int, int] | None, word: str) -> None:
    ds = row_of_compounds([150, 150])
    with pytest.raises(ParameterError, match=word):
        partition_dataset(ds, target=target, band=band)


def test_band_checked_once_at_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from gridgen.partition import plan as plan_module

    calls: list[tuple[int, object]] = []
    real = plan_module.default_band

    def counting(target: int, band: tuple[int, int] | None = None) -> plan_module.Band:
        calls.append((target, band))
        return real(target, band)

    monkeypatch.setattr(plan_module, "default_band", counting)
    ds = row_of_compounds([150, 150, 150, 150])
    plan = partition_dataset(ds, target=300, band=(240, 360))
    assert calls == [(300, (240, 360))]  # once for the dataset, not again per community
    checked = real(300, (250, 350))
    again = partition_dataset(ds, target=300, band=checked)
    assert calls == [(300, (240, 360))]  # a Band from an entry point is taken as is
    assert plan.band == (240, 360)
    assert again.band == (250, 350)
    assert plan_module.checked_band(300, checked) is checked


def test_parse_band_one_reading_for_cli_and_api() -> None:
    assert parse_band(" 240, 360 ") == (240, 360)
    assert parse_band(None) is None
    for bad in ("", "240", "240,360,400", "240;360", "-1,360", "2.5,360"):
        with pytest.raises(ParameterError, match=r"--band .* must be two whole numbers MIN,MAX"):
            parse_band(bad)
    with pytest.raises(ParameterError, match=r"^band 'x' must"):
        parse_band("x", option="band")


def test_unknown_community_raises() -> None:
    with pytest.raises(NotFoundError, match="C9"):
        partition_community(row_of_compounds([150]), "C9")


def test_grid_order_rows_then_west_to_east() -> None:
    boxes = np.asarray(
        [
            shapely.box(100, 0, 200, 100),
            shapely.box(0, 100, 100, 200),
            shapely.box(0, 0, 100, 100),
            shapely.box(100, 100, 200, 200),
        ],
        dtype=object,
    )
    order = standard_order(boxes, shapely.box(0, 0, 200, 200))
    assert order.tolist() == [1, 3, 2, 0]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(1, 3),
    cols=st.integers(2, 4),
    data=st.data(),
)
def test_random_small_communities(rows: int, cols: int, data: st.DataObject) -> None:
    hh = np.asarray(
        data.draw(st.lists(st.integers(0, 450), min_size=rows * cols, max_size=rows * cols))
    ).reshape(rows, cols)
    n_sc = data.draw(st.integers(0, 3))
    scattered = [
        (10.0 + 7 * i, 10.0 + 120 * (i % max(rows, 1)), data.draw(st.integers(1, 80)))
        for i in range(n_sc)
    ]
    if hh.sum() == 0 and not scattered:
        scattered = [(10.0, 10.0, 20)]
    ds = block_community(hh, scattered=scattered)
    plan = partition_community(ds, "C1", seed=data.draw(st.integers(0, 3)))
    assert_invariants(ds, plan)
    lo = plan.band[0]
    total = int(hh.sum()) + sum(s[2] for s in scattered)
    if total < lo:
        assert any(p.kind == "below_band" for p in plan.problems)


def test_split_grid_is_mended() -> None:
    from gridgen.partition.finish import grid_shapes, mend_grids
    from gridgen.partition.units import build_units

    units = build_units(row_of_compounds([100, 100, 100]), "C1", band_max=360)
    # grid 0 = K00 + K02, which do not touch; K01 and any land between are grid 1
    labels = np.asarray([0 if c in ("K00", "K02") else 1 for c in units.unit_ids])
    geoms = grid_shapes(units.cells, labels)
    assert geoms[0].geom_type == "MultiPolygon"
    new_labels, new_geoms = mend_grids(units, labels, geoms)
    assert all(g.geom_type == "Polygon" for g in new_geoms)
    k = {u: int(new_labels[i]) for i, u in enumerate(units.unit_ids)}
    assert k["K01"] == 1 and k["K00"] != k["K02"]


def test_unbalanceable_compound_is_proven_and_reported() -> None:
    # 200 | 250 | 200: each 200 needs a neighbour, and 200 + 250 > 360
    ds = row_of_compounds([200, 250, 200])
    plan = partition_community(ds, "C1")
    stuck = [p for p in plan.problems if p.kind == "unbalanceable"]
    assert {p.reason.split(" ")[1] for p in stuck} == {"K00", "K02"}
    assert all(p.grid_id in set(plan.grids["grid_id"]) for p in stuck)
    assert_invariants(ds, plan)


def test_scattered_only_and_empty_communities() -> None:
    from partition_helpers import make_dataset
    from shapely.geometry import box

    b = [(f"S{i}", None, 60, box(20 + i * 50, 20, 30 + i * 50, 30), "C1") for i in range(10)]
    ds = make_dataset([("C1", box(0, 0, 520, 100))], [], b)
    plan = partition_community(ds, "C1")
    assert sorted(plan.grids["households"]) == [300, 300]
    assert_invariants(ds, plan)
    ds = make_dataset(
        [("C1", box(0, 0, 200, 100)), ("C2", box(200, 0, 400, 100))],
        [("K1", "C2", box(220, 20, 380, 80))],
        [("B1", "K1", 300, box(250, 30, 260, 40), "C2")],
    )
    plan = partition_community(ds, "C1")
    assert len(plan.grids) == 1 and plan.grids["households"].iloc[0] == 0
    assert "no households" in " ".join(p.reason for p in plan.problems)
    assert plan.metrics.tiling_ok


def test_main_road_crossing_is_counted() -> None:
    from partition_helpers import make_dataset
    from shapely.geometry import LineString, box

    # two compounds of 150 must share one grid, across a main road between them
    ds = make_dataset(
        [("C1", box(0, 0, 260, 140))],
        [("K1", "C1", box(20, 20, 120, 120)), ("K2", "C1", box(140, 20, 240, 120))],
        [
            ("B1", "K1", 150, box(50, 50, 60, 60), "C1"),
            ("B2", "K2", 150, box(180, 50, 190, 60), "C1"),
        ],
        [("R1", "main", LineString([(130, -5), (130, 145)]))],
    )
    plan = partition_community(ds, "C1")
    assert len(plan.grids) == 1
    assert plan.grids["main_road_crossings"].tolist() == [1]
    assert plan.metrics.main_road_crossings == 1


def test_community_in_two_parts() -> None:
    from partition_helpers import make_dataset
    from shapely.geometry import MultiPolygon, box

    # two separate blocks of one community: each part gets its own grids
    comm = MultiPolygon([box(0, 0, 260, 140), box(400, 0, 660, 140)])
    compounds = [
        ("K1", "C1", box(20, 20, 120, 120)),
        ("K2", "C1", box(140, 20, 240, 120)),
        ("K3", "C1", box(420, 20, 520, 120)),
        ("K4", "C1", box(540, 20, 640, 120)),
    ]
    buildings = [
        (f"B{i}", k, 150, box(g.bounds[0] + 30, 50, g.bounds[0] + 40, 60), "C1")
        for i, (k, _, g) in enumerate(compounds)
    ]
    ds = make_dataset([("C1", comm)], compounds, buildings)
    plan = partition_community(ds, "C1")
    assert sorted(plan.grids["households"]) == [300, 300]
    assert_invariants(ds, plan)
