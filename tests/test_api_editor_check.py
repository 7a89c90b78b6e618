"""The editor's check route gives the server's verdict without saving, with the same rules as
a save; locks ride with a save (one version for moves and locks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ADMIN_KEY
from editor_helpers import movable_unit
from fastapi.testclient import TestClient
from job_helpers import finished_job
from test_api import key, run_plan, upload

from api.app import create_app
from api.settings import Settings
from gridgen.sample.district import sample_path


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/check.db", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        yield c


def test_check_answers_like_a_save_and_locks_ride_with_the_save(client: TestClient) -> None:
    planner = key(client, "planner")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=1", headers=planner).json()
    cid = comms["features"][0]["properties"]["community_id"]
    plan = run_plan(client, planner, ds, communities=[cid])
    data = client.get(f"/plans/{plan}/editor?community={cid}", headers=planner).json()
    i, src, dst = movable_unit(data)
    unit = data["units"][i]
    url = f"/plans/{plan}/edits/assign"

    r = client.post(url + "/check", json={"base_version": 1, "assign": {unit["id"]: dst}},
                    headers=planner)  # fmt: skip
    assert r.status_code == 200, r.text
    rows = {g["grid_id"]: g for g in r.json()["grids"]}
    assert rows[dst]["after"] - rows[dst]["before"] == unit["households"]
    # the grid left behind keeps its code only with most of its households; else its code
    # is retired and its row says where its households are now (dst, and a new code)
    if rows[src]["after"] is not None:
        assert rows[src]["before"] - rows[src]["after"] == unit["households"]
        assert r.json()["retired"] == {}
    else:
        now_in = rows[src]["now_in"]
        (fresh,) = set(now_in) - {dst}
        assert now_in == {dst: unit["households"], fresh: rows[fresh]["after"]}
        assert rows[fresh]["before"] is None and fresh in r.json()["assign"]["new_grids"]
        assert r.json()["retired"] == {src: now_in}
    assert client.get(f"/plans/{plan}", headers=planner).json()["plan"]["head_version"] == 1

    # a grid emptied of its paintable units: reported (the page asks before saving), or
    # refused alike by check and save when what is left of it would lie in pieces
    everything = {u["id"]: dst for u in data["units"] if u["grid"] == src and u["kind"] != "empty"}
    edit = {"base_version": 1, "assign": everything}
    r = client.post(url + "/check", json=edit, headers=planner)
    if r.status_code == 200:
        # one grid holds both now: one code is retired, its households in the other grid
        (gone,) = r.json()["assign"]["removed_grids"]
        kept = ({src, dst} - {gone}).pop()
        assert gone in (src, dst) and set(r.json()["retired"][gone]) == {kept}
    else:
        assert r.status_code == 422, r.text
        saved = client.post(url, json=edit, headers=planner)
        assert saved.status_code == 422 and saved.json()["detail"] == r.json()["detail"]
    # what a save refuses, the check refuses with the same words
    bad = {"base_version": 1, "assign": {unit["id"]: "nope"}}
    verdicts = [client.post(url + s, json=bad, headers=planner) for s in ("/check", "")]
    assert [v.status_code for v in verdicts] == [422, 422]
    assert verdicts[0].json()["detail"] == verdicts[1].json()["detail"]

    # move into dst and lock dst in one version
    edit = {"base_version": 1, "assign": {unit["id"]: dst}, "lock": [dst]}
    r = client.post(url, json=edit, headers=planner)
    assert r.status_code == 201, r.text
    assert r.json()["version"]["version"] == 2 and r.json()["version"]["locked"] == [dst]
    # moving out of a locked grid is refused; unlocking it in the same edit allows it
    v2 = client.get(f"/plans/{plan}/editor?community={cid}", headers=planner).json()
    stayed = next(k for k, u in enumerate(data["units"]) if u["grid"] == src and k != i)
    left = v2["units"][stayed]["grid"]  # src, or its new code when src lost most households
    back = {"base_version": 2, "assign": {unit["id"]: left}}
    r = client.post(url, json=back, headers=planner)
    assert r.status_code == 422 and "locked" in r.json()["detail"]
    r = client.post(url, json={**back, "unlock": [dst]}, headers=planner)
    assert r.status_code == 201, r.text
    v3 = r.json()["version"]
    assert v3["version"] == 3 and v3["locked"] == [] and "unlock" in v3["message"]
    # a lock alone is one cheap version; nothing at all is refused
    v3_grids = {u["grid"] for u in client.get(f"/plans/{plan}/editor?community={cid}",
                                              headers=planner).json()["units"]}  # fmt: skip
    one = sorted(v3_grids)[0]
    r = client.post(url, json={"base_version": 3, "lock": [one]}, headers=planner)
    assert r.status_code == 201 and r.json()["version"]["locked"] == [one]
    r = client.post(url, json={"base_version": 4, "lock": [one]}, headers=planner)
    assert r.status_code == 422 and "nothing to save" in r.json()["detail"]


def test_a_rebalance_that_moves_nothing_changes_nothing(client: TestClient) -> None:
    planner = key(client, "planner")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=1", headers=planner).json()
    cid = comms["features"][0]["properties"]["community_id"]
    plan = run_plan(client, planner, ds, communities=[cid])
    grids = client.get(f"/plans/{plan}/editor?community={cid}", headers=planner).json()["grids"]
    lo, hi = client.get(f"/plans/{plan}/editor?community={cid}", headers=planner).json()["band"]
    assert all(lo <= g["households"] <= hi for g in grids)  # nothing to fix
    r = client.post(
        f"/plans/{plan}/edits/rebalance",
        json={"base_version": 1, "community_id": cid, "method": "minimal_change"},
        headers=planner,
    )
    assert r.status_code == 202, r.text
    job = finished_job(client, r.json()["id"], headers=planner)
    assert job["status"] == "done", job
    assert job["result"]["unchanged"] is True and job["result"]["version"] == 1
    assert job["result"].get("households_moved", 0) == 0
    assert client.get(f"/plans/{plan}", headers=planner).json()["plan"]["head_version"] == 1


def test_a_scoped_planner_compares_its_own_community_only(client: TestClient) -> None:
    planner = key(client, "planner")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=2", headers=planner).json()
    mine, theirs = sorted(f["properties"]["community_id"] for f in comms["features"])
    plan = run_plan(client, planner, ds, communities=[mine, theirs])
    scoped = key(client, "planner", community=mine)
    url = f"/plans/{plan}/editor/compare"
    r = client.get(url, params={"a": 1, "b": 1, "community": theirs}, headers=scoped)
    assert r.status_code == 403 and theirs in r.json()["detail"]
    r = client.get(url, params={"a": 1, "b": 1, "community": mine}, headers=scoped)
    assert r.status_code == 200 and r.json()["changed"] == []
    # tiles: units of its own community only; draft grids of a plan reaching outside, none
    units = f"/plans/{plan}/units/14/0/0.mvt"
    r = client.get(units, params={"community": theirs, "version": 1}, headers=scoped)
    assert r.status_code == 403
    assert (
        client.get(units, params={"community": mine, "version": 1}, headers=scoped).status_code
        == 200
    )
    assert (
        client.get(f"/plans/{plan}/versions/1/grids/14/0/0.mvt", headers=scoped).status_code == 403
    )
    assert (
        client.get(f"/plans/{plan}/versions/1/grids/14/0/0.mvt", headers=planner).status_code == 200
    )
