"""A version saved with ``changed_grids`` (rows copied in SQL) equals one saved in full."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import pandas as pd
import pytest
import shapely

from api.access import FULL
from api.store import open_store, sql
from api.store.base import FeatureRow, Store, grids_key
from api.store.delta import MAX_PATCH, assignment_patch, copy_runs, split_rows
from gridgen.partition.plan import Plan, PlanMetrics, Problem

W, S = 112.50, 37.80
IDS = ["c1001", "c1002", "c2001", "c2002", "c3001"]


def _box(i: int) -> shapely.Polygon:
    x = W + 0.002 * i
    return shapely.box(x, S, x + 0.0018, S + 0.0018 + 0.0001 * i)


def _base() -> Plan:
    grids = gpd.GeoDataFrame(
        {
            "grid_id": IDS,
            "community_id": [g[:2] for g in IDS],
            "households": pd.array([300, 310, 290, 305, 280], dtype="Int64"),
            "party_org": [True, False, False, True, False],
            "workers": pd.array([1, 2, 1, 1, None], dtype="Int64"),
            "polsby_popper": [0.71, 0.62, 0.55, 0.8, 0.9],
            "name": ["一", "二", "三", "四", None],
        },
        geometry=[_box(i) for i in range(len(IDS))],
        crs=4326,
    )
    assignment = pd.DataFrame(
        {"building_id": [f"b{i}" for i in range(10)], "grid_id": [IDS[i // 2] for i in range(10)]}
    )
    metrics = PlanMetrics(5, 1485, 1.0, 0.7, 0.05, 4, 0, 1.0, True, 0.0, 0.0, {})
    problems = (Problem("below_band", "c3", "few", grid_id="c3001"),)
    return Plan(grids, assignment, metrics, problems, 300, (240, 360), 1, ("c1001",))


def _edited(base: Plan) -> Plan:
    """Community c2 redrawn: c2001 reshaped and re-measured, c2002 gone, c2003 and c2004 new."""
    keep = base.grids[base.grids["community_id"] != "c2"]
    c2 = gpd.GeoDataFrame(
        {
            "grid_id": ["c2001", "c2003", "c2004"],
            "community_id": ["c2"] * 3,
            "households": pd.array([200, 200, 195], dtype="Int64"),
            "party_org": [False, True, False],
            "workers": pd.array([1, 1, 3], dtype="Int64"),
            "polsby_popper": [0.5, 0.6, 0.65],
            "name": ["三", None, "新"],
        },
        geometry=[_box(2).buffer(-0.0002), _box(3), shapely.box(W, S + 0.01, W + 0.002, S + 0.012)],
        crs=4326,
    )
    grids = pd.concat([keep, c2], ignore_index=True).sort_values("grid_id", kind="stable")
    grids = gpd.GeoDataFrame(grids.reset_index(drop=True), geometry="geometry", crs=4326)
    a = base.assignment.copy()
    a.loc[a["grid_id"] == "c2002", "grid_id"] = ["c2003", "c2004"]
    metrics = PlanMetrics(6, 1485, 0.5, 0.69, 0.35, 6, 0, 1.0, True, 0.0, 0.0, {})
    return Plan(grids, a, metrics, (), 300, (240, 360), 1, ("c1001", "c3001"))


@pytest.fixture
def store(database: tuple[str, str | None]) -> Iterator[Store]:
    url, schema = database
    s = open_store(url, schema=schema)
    yield s
    s.close()


def _two_plans(store: Store) -> tuple[str, str]:
    """Two plans with the same version 1 (one edited the old way, one the fast way)."""
    ds = store.add_dataset(
        name="t",
        layers={"communities": gpd.GeoDataFrame({"community_id": ["c1"]}, geometry=[_box(0)])},
        metric_crs="EPSG:32649",
        report={},
        actor="x",
    )
    base = _base()
    first = store.create_plan(dataset_id=ds.id, name="a", plan=base, actor="a", message="")
    second = store.create_plan(dataset_id=ds.id, name="b", plan=base, actor="a", message="")
    return first.plan_id, second.plan_id


def test_copy_runs_group_rows_that_keep_their_shift() -> None:
    copied, fresh = split_rows(
        ["a", "b", "x", "c", "d", "e"], {"x", "d"}, {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    )
    assert copied == [(0, 0), (1, 1), (3, 2), (5, 4)] and fresh == [2, 4]
    assert copy_runs(copied) == [(0, 1, 0), (2, 2, 1), (4, 4, 1)]
    assert copy_runs([]) == []


@pytest.fixture
def serialised(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Collect the grid ids the store serialises from Python (not copied in SQL)."""
    seen: list[str] = []
    real = sql.frame_records

    def spy(frame: pd.DataFrame, layer: str) -> list[FeatureRow]:
        rows = real(frame, layer)
        seen.extend(r.fid for r in rows if layer == "grids")
        return rows

    monkeypatch.setattr(sql, "frame_records", spy)
    return seen


def test_fast_save_reads_back_as_the_full_save(store: Store, serialised: list[str]) -> None:
    old_way, fast = _two_plans(store)
    new = _edited(store.load_version(old_way, 1))
    serialised.clear()
    store.add_version(old_way, base_version=1, plan=new, actor="e", message="m")
    assert sorted(serialised) == sorted(new.grids["grid_id"])
    serialised.clear()
    store.add_version(
        fast,
        base_version=1,
        plan=new,
        actor="e",
        message="m",
        changed_grids={"c2001", "c2003", "c2004"},
        changed_assignment=assignment_patch(_base().assignment, new.assignment),
    )
    assert sorted(serialised) == ["c2001", "c2003", "c2004"]  # the other 3 rows are copied
    a, b = store.load_version(old_way, 2), store.load_version(fast, 2)
    pd.testing.assert_frame_equal(a.grids, b.grids)
    pd.testing.assert_frame_equal(a.assignment, b.assignment)
    assert a.record() == b.record() and a.locked == b.locked == ("c1001", "c3001")
    assert list(b.grids["grid_id"]) == ["c1001", "c1002", "c2001", "c2003", "c2004", "c3001"]
    assert b.grids.loc[2, "households"] == 200 and pd.isna(b.grids.loc[5, "name"])
    assert store.layer_rows(grids_key(old_way, 2)) == store.layer_rows(grids_key(fast, 2))
    # the base versions are untouched
    first = store.layer_rows(grids_key(fast, 1))
    assert first == store.layer_rows(grids_key(old_way, 1)) and len(first) == len(IDS)


def test_copied_rows_answer_bbox_queries_and_tiles(store: Store) -> None:
    old_way, fast = _two_plans(store)
    new = _edited(store.load_version(old_way, 1))
    store.add_version(old_way, base_version=1, plan=new, actor="e", message="m")
    store.add_version(
        fast,
        base_version=1,
        plan=new,
        actor="e",
        message="m",
        changed_grids={"c2001", "c2003", "c2004"},
    )
    key = grids_key(fast, 2)
    # around c3001 (copied, one position later than in version 1) and c1002 (copied in place)
    for box, want in [
        ((W + 0.0081, S + 0.0001, W + 0.0089, S + 0.0005), ["c3001"]),
        ((W + 0.0021, S + 0.0001, W + 0.0029, S + 0.0005), ["c1002"]),
        ((W + 0.0001, S + 0.0105, W + 0.0009, S + 0.0109), ["c2004"]),
    ]:
        rows, total = store.query_features(key, bbox=box, limit=10, offset=0)
        assert [r.fid for r in rows] == want and total == 1
    assert store.layer_bounds(key) == store.layer_bounds(grids_key(old_way, 2))
    z, x, y = 14, 13312, 6331
    tiles = [
        _features(store.tile(k, z, x, y, layer="grids", access=FULL))
        for k in (key, grids_key(old_way, 2))
    ]
    assert len(tiles[0]) == 5 and tiles[0] == tiles[1]  # c2004 lies in the tile above


def _features(tile: bytes) -> list[tuple[Any, ...]]:
    """Return the features of a tile's grids layer, sorted (PostGIS keeps no row order)."""
    feats = mapbox_vector_tile.decode(tile)["grids"]["features"]
    return sorted((f["id"], sorted(f["properties"].items()), str(f["geometry"])) for f in feats)


def test_assignment_patch_names_the_moved_buildings() -> None:
    base = _base().assignment
    moved = base.assign(grid_id=base["grid_id"].where(base.index != 3, "c9001"))
    assert assignment_patch(base, moved) == {"b3": "c9001"}
    assert assignment_patch(base, base) == {}
    assert assignment_patch(base, moved.iloc[::-1]) is None  # other order
    assert assignment_patch(base, moved.iloc[:-1]) is None  # other buildings
    many = pd.DataFrame({"building_id": range(MAX_PATCH + 1), "grid_id": "a"})
    assert assignment_patch(many, many.assign(grid_id="b")) is None


def test_a_patched_assignment_keeps_the_base_order(store: Store) -> None:
    _, fast = _two_plans(store)
    base = store.load_version(fast, 1)
    moved = base.assignment.assign(grid_id=pd.Series(["c2002"] * 10, dtype=object))
    new = Plan(base.grids, moved, base.metrics, (), 300, (240, 360), 1)
    patch = assignment_patch(base.assignment, moved)
    assert patch is not None and len(patch) == 10 - 2  # b4 and b5 were in c2002
    store.add_version(
        fast, base_version=1, plan=new, actor="e", message="m", changed_assignment=patch
    )
    pd.testing.assert_frame_equal(store.load_version(fast, 2).assignment, moved)
    if store.kind == "sqlite":  # the stored object is the base's, patched in the database
        lie = {"b0": "c1002"}
        store.add_version(
            fast, base_version=2, plan=base, actor="e", message="m", changed_assignment=lie
        )
        got = store.load_version(fast, 3).assignment
        assert list(got["grid_id"]) == ["c1002"] + ["c2002"] * 9


def test_other_columns_fall_back_to_writing_every_row(store: Store, serialised: list[str]) -> None:
    _, fast = _two_plans(store)
    serialised.clear()
    base = store.load_version(fast, 1)
    grids = base.grids.assign(staff=2)
    new = Plan(grids, base.assignment, base.metrics, (), 300, (240, 360), 1)
    store.add_version(fast, base_version=1, plan=new, actor="e", message="m", changed_grids=())
    assert sorted(serialised) == IDS
    got = store.load_version(fast, 2).grids
    assert list(got["staff"]) == [2] * 5


def test_a_lock_copies_every_grid_row(store: Store, serialised: list[str]) -> None:
    old_way, fast = _two_plans(store)
    serialised.clear()
    for pid, changed, patch in ((old_way, None, None), (fast, (), {})):
        plan = store.load_version(pid, 1).with_locked(["c2002"])
        store.add_version(
            pid,
            base_version=1,
            plan=plan,
            actor="e",
            message="m",
            changed_grids=changed,
            changed_assignment=patch,
        )
    assert sorted(serialised) == IDS  # written once, by the old way
    assert store.layer_rows(grids_key(old_way, 2)) == store.layer_rows(grids_key(fast, 2))
    assert store.load_version(fast, 2).locked == ("c2002",)
    pd.testing.assert_frame_equal(
        store.load_version(fast, 2).assignment, store.load_version(old_way, 2).assignment
    )
