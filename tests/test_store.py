"""The store interface on both back ends (SQLite file, PostGIS schema): same tests."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import pandas as pd
import pytest
import shapely

from api.access import FULL, PUBLIC, Access
from api.errors import ConflictError
from api.store import open_store
from api.store.base import Store, dataset_key, grids_key
from gridgen.errors import NotFoundError, ParameterError
from gridgen.partition.plan import Plan, PlanMetrics, Problem

W, S = 112.50, 37.80  # south-west corner of the two test communities (Taiyuan)


def _frames() -> dict[str, pd.DataFrame]:
    comm = gpd.GeoDataFrame(
        {"community_id": ["c1", "c2"], "name": ["甲社区", "乙社区"], "street_id": ["s1", "s1"]},
        geometry=[
            shapely.box(W, S, W + 0.01, S + 0.01),
            shapely.box(W + 0.01, S, W + 0.02, S + 0.01),
        ],
        crs=4326,
    )
    bld = gpd.GeoDataFrame(
        {
            "building_id": ["b1", "b2", "b3"],
            "compound_id": [None, "k1", None],
            "households": pd.array([10, 20, 30], dtype="Int64"),
            "leader_phone": ["13800000001", "13800000002", None],
            "key_persons": pd.array([1, 2, None], dtype="Int64"),
            "community_id": ["c1", "c1", "c2"],
        },
        geometry=[
            shapely.Point(W + 0.001, S + 0.001),
            shapely.box(W + 0.003, S + 0.003, W + 0.0035, S + 0.0035),
            shapely.box(W + 0.015, S + 0.005, W + 0.0155, S + 0.0055),
        ],
        crs=4326,
    )
    companies = pd.DataFrame({"company_id": ["p1"], "name": ["物业一"], "has_party_org": [True]})
    return {"communities": comm, "buildings": bld, "property_companies": companies}


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def _plan(grid_ids: list[str]) -> Plan:
    grids = gpd.GeoDataFrame(
        {
            "grid_id": grid_ids,
            "community_id": ["c1"] * len(grid_ids),
            "households": [30] * len(grid_ids),
        },
        geometry=[shapely.box(W, S, W + 0.01, S + 0.01)] * len(grid_ids),
        crs=4326,
    )
    assignment = pd.DataFrame({"building_id": ["b1", "b2"], "grid_id": [grid_ids[0]] * 2})
    return Plan.from_record(grids, assignment, {"target": 300})


@pytest.fixture
def store(database: tuple[str, str | None]) -> Iterator[Store]:
    url, schema = database
    s = open_store(url, schema=schema)
    yield s
    s.close()


def test_dataset_roundtrip_bbox_and_feature(store: Store) -> None:
    info = store.add_dataset(
        name="t", layers=_frames(), metric_crs="EPSG:32649", report={"ok": 1}, actor="tester"
    )
    assert info.layers == {"communities": 2, "buildings": 3, "property_companies": 1}
    assert info.bounds == pytest.approx((W, S, W + 0.02, S + 0.01))
    assert store.get_report(info.id) == {"ok": 1}
    key = dataset_key(info.id, "buildings")
    rows, total = store.query_features(key, bbox=(W, S, W + 0.005, S + 0.01), limit=10, offset=0)
    assert total == 2 and [r.fid for r in rows] == ["b1", "b2"]
    rows, total = store.query_features(key, bbox=None, limit=1, offset=1)
    assert total == 3 and [r.fid for r in rows] == ["b2"]
    b2 = store.get_feature(key, "b2")
    assert b2.properties["leader_phone"] == "13800000002" and b2.community_id == "c1"
    assert shapely.from_wkb(b2.wkb).area == pytest.approx(0.0005**2)
    assert store.get_feature(dataset_key(info.id, "property_companies"), "p1").wkb is None
    with pytest.raises(NotFoundError, match="b9"):
        store.get_feature(key, "b9")
    with pytest.raises(ParameterError, match="bbox"):
        store.query_features(key, bbox=(1, 1, 0, 0), limit=1, offset=0)
    assert store.counts()["audit"] == 1
    assert store.list_audit()[0].action == "dataset.create"


def test_failed_dataset_write_stores_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = store.counts()
    original = store._insert_features  # type: ignore[attr-defined]
    calls = []

    def failing(cur: Any, key: str, rows: Any) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        original(cur, key, rows)

    monkeypatch.setattr(store, "_insert_features", failing)
    with pytest.raises(RuntimeError):
        store.add_dataset(name="t", layers=_frames(), metric_crs="EPSG:32649", report={}, actor="x")
    assert store.counts() == before


def test_tiles_filter_restricted_columns(store: Store) -> None:
    info = store.add_dataset(
        name="t", layers=_frames(), metric_crs="EPSG:32649", report={}, actor="x"
    )
    key = dataset_key(info.id, "buildings")
    z, x, y = _tile_of(W + 0.003, S + 0.003, 14)
    seen = {}
    c1, c2 = Access(communities=frozenset({"c1"})), Access(communities=frozenset({"c2"}))
    for access in (PUBLIC, FULL, c1, c2, Access(communities=frozenset({"c1", "c2"}))):
        tile = mapbox_vector_tile.decode(store.tile(key, z, x, y, layer="buildings", access=access))
        feats = {
            f["properties"]["building_id"]: f["properties"] for f in tile["buildings"]["features"]
        }
        seen[access.cache_class] = feats
    assert set(seen["public"]) == {"b1", "b2", "b3"}
    assert all("leader_phone" not in p and "key_persons" not in p for p in seen["public"].values())
    assert seen["full"]["b2"]["leader_phone"] == "13800000002"
    assert seen["communities:c1"]["b1"]["key_persons"] == 1
    assert "key_persons" not in seen["communities:c2"]["b1"]
    # a street's worker: every community of the street
    assert seen["communities:c1,c2"]["b1"]["key_persons"] == 1
    assert "leader_phone" not in seen["communities:c2"]["b1"]
    far = store.tile(key, 14, 0, 0, layer="buildings", access=FULL)
    assert far == b""


def test_plan_versions_conflict_and_publish(store: Store) -> None:
    info = store.add_dataset(
        name="t", layers=_frames(), metric_crs="EPSG:32649", report={}, actor="x"
    )
    v1 = store.create_plan(
        dataset_id=info.id, name="p", plan=_plan(["g1"]), actor="a", message="new"
    )
    v2 = store.add_version(
        v1.plan_id, base_version=1, plan=_plan(["g1", "g2"]), actor="b", message="e"
    )
    assert (v2.version, v2.parent, v2.author) == (2, 1, "b")
    before = store.counts()
    with pytest.raises(ConflictError, match="version 2") as stale:
        store.add_version(v1.plan_id, base_version=1, plan=_plan(["g9"]), actor="c", message="x")
    assert (stale.value.head_version, stale.value.base_version) == (2, 1)
    assert store.counts() == before
    loaded = store.load_version(v1.plan_id, 2)
    assert list(loaded.grids["grid_id"]) == ["g1", "g2"]
    assert dict(
        zip(loaded.assignment["building_id"], loaded.assignment["grid_id"], strict=True)
    ) == {
        "b1": "g1",
        "b2": "g1",
    }
    assert store.published(info.id) is None
    store.publish(v1.plan_id, 1, actor="a")
    assert store.published(info.id).version == 1  # type: ignore[union-attr]
    assert [v.published for v in store.list_versions(v1.plan_id)] == [True, False]
    assert store.has_layer(grids_key(v1.plan_id, 2))


def test_a_plan_is_stored_and_loaded_as_the_same_value(store: Store) -> None:
    info = store.add_dataset(
        name="t", layers=_frames(), metric_crs="EPSG:32649", report={}, actor="x"
    )
    metrics = PlanMetrics(2, 60, 0.5, 0.7, float("nan"), 3, 0, 1.0, True, 0.0, 0.0, {"c1": "x"})
    plan = Plan(
        grids=_plan(["g1", "g2"]).grids,
        assignment=_plan(["g1", "g2"]).assignment,
        metrics=metrics,
        problems=(Problem("below_band", "c1", "too few", grid_id="g2"),),
        target=40,
        band=(30, 50),
        seed=7,
        locked=("g2", "g1", "g2"),
    )
    v1 = store.create_plan(dataset_id=info.id, name="p", plan=plan, actor="a", message="")
    assert v1.locked == ("g1", "g2") and v1.metrics == plan.record()
    loaded = store.load_version(v1.plan_id, 1)
    assert loaded.record() == plan.record()
    assert (loaded.target, loaded.band, loaded.seed, loaded.locked) == (
        40,
        (30, 50),
        7,
        ("g1", "g2"),
    )
    assert loaded.problems == plan.problems
    assert list(loaded.grids["grid_id"]) == ["g1", "g2"]
    # a record without parameters gets the defaults of gridgen, not a second copy of them
    bare = Plan.from_record(plan.grids, plan.assignment, {})
    assert (bare.target, bare.band) == (300, (240, 360))


def test_concurrent_edits_one_wins(store: Store) -> None:
    info = store.add_dataset(
        name="t", layers=_frames(), metric_crs="EPSG:32649", report={}, actor="x"
    )
    v1 = store.create_plan(dataset_id=info.id, name="p", plan=_plan(["g1"]), actor="a", message="")
    results: list[str] = []
    barrier = threading.Barrier(4)

    def edit(i: int) -> None:
        barrier.wait()
        try:
            store.add_version(
                v1.plan_id, base_version=1, plan=_plan([f"e{i}"]), actor=f"u{i}", message=""
            )
            results.append(f"ok{i}")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("conflict") == 3
    winner = next(r for r in results if r.startswith("ok"))[2:]
    assert store.get_plan(v1.plan_id).head_version == 2
    assert list(store.load_version(v1.plan_id, 2).grids["grid_id"]) == [f"e{winner}"]


def test_keys_and_audit(store: Store) -> None:
    k = store.add_key(
        name="w", role="grid_worker", community_id="c1", secret_hash="h1", actor="adm"
    )
    assert store.find_key("h1") == k
    with pytest.raises(ParameterError, match="community_id"):
        store.add_key(
            name="w", role="grid_worker", community_id=None, secret_hash="h2", actor="adm"
        )
    with pytest.raises(ParameterError, match="role"):
        store.add_key(name="w", role="boss", community_id=None, secret_hash="h3", actor="adm")
    store.revoke_key(k.id, actor="adm")
    assert store.find_key("h1") is None
    assert [e.action for e in store.list_audit()] == ["key.revoke", "key.create"]
    assert store.list_audit()[0].actor == "adm"
