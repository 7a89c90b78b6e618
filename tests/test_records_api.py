"""The records routes on both back ends: code schemes of a new plan, a code's history, change
orders between versions (JSON, workbook, PDF) and who sees what."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import ADMIN_KEY
from editor_helpers import movable_unit
from fastapi.testclient import TestClient
from test_api import key, run_plan, upload

from api.app import create_app
from api.settings import Settings
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def client(database: tuple[str, str | None]) -> Iterator[TestClient]:
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        yield c


def test_scheme_history_and_changes(client: TestClient) -> None:
    planner, viewer = key(client, "planner"), key(client, "viewer")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=1", headers=viewer).json()
    cid = comms["features"][0]["properties"]["community_id"]
    r = client.post(
        "/plans",
        json={"dataset_id": ds, "communities": [cid], "code_scheme": "cjt349", "object_code": "12"},
        headers=planner,
    )
    assert r.status_code == 422 and "object_code" in r.text
    cj = run_plan(
        client, planner, ds, communities=[cid], code_scheme="cjt349", object_code="990000"
    )
    grids = client.get(f"/plans/{cj}/versions/1", headers=planner).json()
    codes = [f["properties"]["grid_id"] for f in grids["features"]]
    assert codes and all(len(c) == 20 and c.startswith("990000" + cid) for c in codes)
    assert all(f["properties"]["valid_from"] for f in grids["features"])

    plan_id = run_plan(client, planner, ds, communities=[cid])
    data = client.get(f"/plans/{plan_id}/editor", headers=planner).json()
    assert data["new_codes"][0] == f"{cid}{len(data['grids']) + 1:03d}"
    i, src, dst = movable_unit(data)
    unit = data["units"][i]
    r = client.post(
        f"/plans/{plan_id}/edits/assign",
        json={"base_version": 1, "assign": {unit["id"]: dst}},
        headers=planner,
    )
    assert r.status_code == 201, r.text
    # a retired code is never given out again
    after = client.get(f"/plans/{plan_id}/editor", headers=planner).json()
    h = client.get(f"/plans/{plan_id}/grids/{dst}/history", headers=planner).json()
    assert [(e["event"], e["version"]) for e in h["events"]] == [("created", 1), ("changed", 2)]
    assert h["status"] == "active" and h["valid_from"] == h["events"][0]["date"]
    assert h["events"][1]["households"] - h["events"][1]["households_before"] == unit["households"]
    if src not in {g["grid_id"] for g in after["grids"]}:  # it lost most of its households
        gone = client.get(f"/plans/{plan_id}/grids/{src}/history", headers=planner).json()
        assert gone["status"] == "retired" and gone["valid_to"] == gone["events"][-1]["date"]
        assert src not in after["new_codes"]
    assert client.get(f"/plans/{plan_id}/grids/NOPE/history", headers=planner).status_code == 404

    r = client.get(f"/plans/{plan_id}/changes", params={"from": 1, "to": 2}, headers=planner)
    assert r.status_code == 200, r.text
    order = r.json()
    moved = {b["building_id"] for g in order["grids"] for b in g["buildings_in"]}
    assert order["summary"]["households_moved"] >= unit["households"] and moved
    assert order["effective_date"] == h["events"][1]["date"]
    for f, media in (("xlsx", "spreadsheetml"), ("pdf", "application/pdf")):
        r = client.get(f"/plans/{plan_id}/changes", params={"from": 1, "f": f}, headers=planner)
        assert r.status_code == 200 and media in r.headers["content-type"], f
        assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"%PDF")

    # viewers see published versions only: the history as of the published version
    assert client.get(f"/plans/{plan_id}/changes?from=1", headers=viewer).status_code == 403
    # nothing published: 404 (no history to show a viewer), not a 400 naming no parameter
    assert client.get(f"/plans/{plan_id}/grids/{dst}/history", headers=viewer).status_code == 404
    client.post(f"/plans/{plan_id}/versions/2/publish", headers=planner)
    h = client.get(f"/plans/{plan_id}/grids/{dst}/history", headers=viewer).json()
    assert [e["version"] for e in h["events"]] == [2]
