"""The editor's API on both back ends: data, unit tiles, one-step assign, 409, rebalance."""

from __future__ import annotations

from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from conftest import ADMIN_KEY
from editor_helpers import movable_unit
from fastapi.testclient import TestClient
from job_helpers import wait_job
from test_api import key, run_plan, tile_xyz, upload

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


def test_editor_assign_conflict_rebalance(client: TestClient) -> None:
    planner = key(client, "planner")
    viewer = key(client, "viewer")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=2", headers=viewer).json()
    cids = sorted(f["properties"]["community_id"] for f in comms["features"])
    plan_id = run_plan(client, planner, ds, communities=cids[:1])
    data = client.get(f"/plans/{plan_id}/editor", headers=planner).json()
    assert data["community_id"] == cids[0] and data["version"] == 1
    assert client.get(f"/plans/{plan_id}/editor", headers=viewer).status_code == 403
    # unit tiles carry unit id and households
    lon = (data["bounds"][0] + data["bounds"][2]) / 2
    lat = (data["bounds"][1] + data["bounds"][3]) / 2
    z, x, y = tile_xyz(lon, lat, 14)
    r = client.get(
        f"/plans/{plan_id}/units/{z}/{x}/{y}.mvt",
        params={"community": cids[0], "version": 1},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    feats = mapbox_vector_tile.decode(r.content)["units"]["features"]
    ids = {u["id"]: u["households"] for u in data["units"]}
    assert feats and all(
        ids[f["properties"]["unit_id"]] == f["properties"]["households"] for f in feats
    )
    for path in (f"units/{z}/{x}/{y}.mvt", f"layers/roads/{z}/{x}/{y}.mvt"):
        r = client.get(
            f"/plans/{plan_id}/{path}", params={"community": cids[0], "version": 1}, headers=viewer
        )
        assert r.status_code == 403, path
    r = client.get(f"/plans/{plan_id}/layers/roads/{z}/{x}/{y}.mvt", headers=planner)
    assert r.status_code == 200 and mapbox_vector_tile.decode(r.content)["roads"]["features"]
    r = client.get(f"/plans/{plan_id}/versions/1/grids/{z}/{x}/{y}.mvt", headers=planner)
    assert r.status_code == 200 and mapbox_vector_tile.decode(r.content)["grids"]["features"]
    # bad ids are named
    r = client.post(
        f"/plans/{plan_id}/edits/assign",
        json={"base_version": 1, "assign": {"NO-SUCH": data["grids"][0]["grid_id"]}},
        headers=planner,
    )
    assert r.status_code == 422 and "NO-SUCH" in r.json()["detail"]
    # a planner scoped to another community may neither open nor edit this one
    scoped = key(client, "planner", cids[1])
    r = client.get(f"/plans/{plan_id}/editor", params={"community": cids[0]}, headers=scoped)
    assert r.status_code == 403 and cids[1] in r.json()["detail"]
    some = data["units"][0]["id"]
    r = client.post(
        f"/plans/{plan_id}/edits/assign",
        json={"base_version": 1, "assign": {some: data["grids"][1]["grid_id"]}},
        headers=scoped,
    )
    assert r.status_code == 403
    # a good assign saves version 2 (If-Match accepted)
    i, src, dst = movable_unit(data)
    unit = data["units"][i]
    r = client.post(
        f"/plans/{plan_id}/edits/assign",
        json={"assign": {unit["id"]: dst}, "message": "move one"},
        headers={**planner, "If-Match": '"1"'},
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"]["version"] == 2 and r.headers["ETag"] == '"2"'
    assert r.json()["version"]["author"].startswith("planner")
    after = client.get(f"/plans/{plan_id}/editor", headers=planner).json()
    assert after["units"][i]["grid"] == dst
    hh = {g["grid_id"]: g["households"] for g in after["grids"]}
    hh0 = {g["grid_id"]: g["households"] for g in data["grids"]}
    # both keep their codes: the grid the unit left is still that grid (all its households
    # come from it; codes module), as the unit does not outweigh what both had besides it
    assert 2 * unit["households"] <= hh0[src] + hh0[dst]
    left = src
    assert set(hh) == set(hh0)
    assert hh[dst] - hh0[dst] == unit["households"] == hh0[src] - hh[left]
    metrics = client.get(f"/plans/{plan_id}/versions/2/metrics", headers=planner).json()
    assert metrics["metrics"]["tiling_ok"]
    # stale base: 409 naming who saved which version
    r = client.post(
        f"/plans/{plan_id}/edits/assign",
        json={"base_version": 1, "assign": {unit["id"]: src}},
        headers=planner,
    )
    assert r.status_code == 409
    body = r.json()
    assert body["head_version"] == 2 and "planner" in body["head_author"]
    assert "version 2" in body["detail"] and "saved by" in body["detail"]
    # compare: the moved unit
    cmp = client.get(
        f"/plans/{plan_id}/editor/compare",
        params={"a": 1, "b": 2, "community": cids[0]},
        headers=planner,
    ).json()
    # grids matched by membership: a grid renamed for losing most of its households is the
    # same grid, so only the moved unit changed
    changed = {c["id"] for c in cmp["changed"]}
    assert changed == {unit["id"]}
    pairs = {(g["code_a"], g["code_b"]) for g in cmp["grids"]}
    assert (src, left) in pairs and (dst, dst) in pairs
    # rebalance job with a locked grid
    r = client.post(
        f"/plans/{plan_id}/edits/lock",
        json={"base_version": 2, "grid_ids": [dst], "locked": True},
        headers=planner,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/plans/{plan_id}/edits/assign",
        json={"base_version": 3, "assign": {unit["id"]: left}},
        headers=planner,
    )
    assert r.status_code == 422 and "locked" in r.json()["detail"]
    r = client.post(
        f"/plans/{plan_id}/edits/rebalance",
        json={"base_version": 3, "community_id": cids[0]},
        headers=planner,
    )
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"], headers=planner)
    assert job["status"] == "done", job
    # a new version, or none when the rebalance moves nothing (the plan stays as it is)
    assert job["result"]["version"] == (3 if job["result"].get("unchanged") else 4)
    final = client.get(f"/plans/{plan_id}/editor", headers=planner).json()
    lo, hi = final["band"]
    free = [g for g in final["grids"] if g["grid_id"] not in final["locked"]]
    assert final["locked"] == [dst]
    assert sum(lo <= g["households"] <= hi for g in free) >= 0.8 * len(free)
