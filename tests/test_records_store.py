"""Grid code lifecycle in the store, on both back ends: dates per version, each code's history."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from api.store import open_store
from api.store.base import Store
from api.store.history import code_history
from gridgen.errors import NotFoundError
from gridgen.partition.codes import CodeBook, CodeScheme, RetiredCode
from gridgen.partition.plan import Plan

W, S = 112.50, 37.80
TODAY = ["2025-01-15"]
"""The date the patched store clock gives (noon UTC: the same date in every zone ±11 h)."""


def _dataset(store: Store) -> str:
    comm = gpd.GeoDataFrame(
        {"community_id": ["c1"], "name": ["甲社区"], "street_id": ["s1"]},
        geometry=[shapely.box(W, S, W + 0.02, S + 0.01)],
        crs=4326,
    )
    bld = gpd.GeoDataFrame(
        {"building_id": ["b1", "b2"], "households": pd.array([10, 20], dtype="Int64")},
        geometry=[shapely.Point(W + 0.005, S + 0.005), shapely.Point(W + 0.015, S + 0.005)],
        crs=4326,
    )
    return store.add_dataset(
        name="t",
        layers={"communities": comm, "buildings": bld},
        metric_crs="EPSG:32649",
        report={},
        actor="t",
    ).id


def _plan(cells: dict[str, tuple[float, int]], *, retired: tuple[RetiredCode, ...] = ()) -> Plan:
    """A plan of grids ``code: (west edge offset, households)``, each 0.005° wide."""
    codes = list(cells)
    grids = gpd.GeoDataFrame(
        {
            "grid_id": codes,
            "community_id": ["c1"] * len(codes),
            "households": [cells[c][1] for c in codes],
            "valid_from": [None] * len(codes),
            "valid_to": [None] * len(codes),
        },
        geometry=[
            shapely.box(W + cells[c][0], S, W + cells[c][0] + 0.005, S + 0.01) for c in codes
        ],
        crs=4326,
    )
    assignment = pd.DataFrame({"building_id": ["b1", "b2"], "grid_id": [codes[0], codes[-1]]})
    plan = Plan.from_record(grids, assignment, {"target": 300})
    return Plan.from_record(
        grids, assignment, {**plan.record(), "codes": CodeBook(CodeScheme(), retired).to_dict()}
    )


@pytest.fixture
def store(database: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr("api.store.sql.now", lambda: f"{TODAY[0]}T12:00:00.000+00:00")
    url, schema = database
    s = open_store(url, schema=schema)
    yield s
    s.close()


def test_versions_date_codes_and_keep_history(store: Store) -> None:
    ds = _dataset(store)
    TODAY[0] = "2025-02-15"
    v1 = store.create_plan(
        dataset_id=ds,
        name="p",
        plan=_plan({"c1001": (0.0, 10), "c1002": (0.01, 20)}),
        actor="a",
        message="first",
    )
    loaded = store.load_version(v1.plan_id, 1)
    assert loaded.grids["valid_from"].tolist() == ["2025-02-15", "2025-02-15"]
    # March: c1002 retired, c1003 new; c1001 grows (a changed boundary)
    TODAY[0] = "2025-03-15"
    gone = RetiredCode("c1002", "c1", "2025-02-15", "2099-01-01")
    v2 = _plan({"c1001": (0.0, 15), "c1003": (0.012, 15)}, retired=(gone,))
    store.add_version(v1.plan_id, base_version=1, plan=v2, actor="b", message="second")
    loaded = store.load_version(v1.plan_id, 2)
    dates = dict(zip(loaded.grids["grid_id"], loaded.grids["valid_from"], strict=True))
    assert dates == {"c1001": "2025-02-15", "c1003": "2025-03-15"}
    # the store dates the retirement with the version that made it, whatever the producer said
    assert loaded.codes.retired == (RetiredCode("c1002", "c1", "2025-02-15", "2025-03-15"),)
    # April: a lock-only version copies the rows and dates nothing new
    TODAY[0] = "2025-04-15"
    store.add_version(
        v1.plan_id,
        base_version=2,
        plan=loaded.with_locked(["c1001"]),
        actor="c",
        message="lock",
        changed_grids=(),
        changed_assignment={},
    )
    versions = store.list_versions(v1.plan_id)
    h = code_history(store, v1.plan_id, "c1002", versions=versions)
    assert (h["status"], h["valid_from"], h["valid_to"]) == ("retired", "2025-02-15", "2025-03-15")
    assert [(e["event"], e["version"], e["date"]) for e in h["events"]] == [
        ("created", 1, "2025-02-15"),
        ("retired", 2, "2025-03-15"),
    ]
    h = code_history(store, v1.plan_id, "c1001", versions=versions)
    assert h["status"] == "active" and h["valid_to"] is None
    assert [(e["event"], e["version"]) for e in h["events"]] == [("created", 1), ("changed", 2)]
    assert h["events"][1]["households_before"] == 10 and h["events"][1]["households"] == 15
    with pytest.raises(NotFoundError, match="c1009"):
        code_history(store, v1.plan_id, "c1009", versions=versions)
