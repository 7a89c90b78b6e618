"""A stale editor save gets a 409 naming the units both sides changed (who, where to);
units only one side changed are not conflicts, and nothing is saved by the 409."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ADMIN_KEY
from editor_helpers import movable_unit
from fastapi.testclient import TestClient
from test_api import run_plan, upload

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


def _planner(client: TestClient, name: str) -> dict[str, str]:
    r = client.post("/keys", json={"name": name, "role": "planner"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["secret"]}


def _other_grid(data: dict[str, Any], unit: dict[str, Any], *not_: str) -> str:
    return next(g["grid_id"] for g in data["grids"] if g["grid_id"] not in {unit["grid"], *not_})


def test_a_stale_save_names_the_units_both_sides_changed(client: TestClient) -> None:
    a, b = _planner(client, "规划员甲"), _planner(client, "规划员乙")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=1", headers=a).json()
    cid = comms["features"][0]["properties"]["community_id"]
    plan = run_plan(client, a, ds, communities=[cid])
    data = client.get(f"/plans/{plan}/editor?community={cid}", headers=a).json()
    i, src, dst = movable_unit(data)
    j, _, dst_j = movable_unit(data, avoid={src, dst}, kinds=("compound", "subunit", "building"))
    u, w = data["units"][i], data["units"][j]
    # A moves unit u to dst (version 2)
    r = client.post(
        f"/plans/{plan}/edits/assign", json={"base_version": 1, "assign": {u["id"]: dst}}, headers=a
    )
    assert r.status_code == 201, r.text
    # B, still on version 1, moves u elsewhere and w: u is a conflict, w is not
    mine = _other_grid(data, u, dst)
    edit = {"base_version": 1, "assign": {u["id"]: mine, w["id"]: dst_j}}
    r = client.post(f"/plans/{plan}/edits/assign", json=edit, headers=b)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["head_version"] == 2 and body["base_version"] == 1
    assert body["head_author"].startswith("规划员甲")
    (c,) = body["conflicts"]
    assert c["unit"] == u["id"] and c["mine"] == mine and c["theirs"] == dst
    assert c["base"] == src and c["version"] == 2 and c["author"].startswith("规划员甲")
    assert c["created_at"] and u["id"] in body["detail"]
    # a code A's save retired (the grid kept too few of its households) is named with the
    # grid its households are in now; a unit A did not move is no conflict even so
    v2 = client.get(f"/plans/{plan}/editor?community={cid}", headers=a).json()
    stay = next(k for k, x in enumerate(data["units"]) if x["grid"] == src and k != i)
    if v2["units"][stay]["grid"] != src:
        assert body["renamed"] == {src: v2["units"][stay]["grid"]}
    else:
        assert body["renamed"] == {}
    r = client.post(
        f"/plans/{plan}/edits/assign",
        json={"base_version": 1, "assign": {data["units"][stay]["id"]: dst_j}},
        headers=b,
    )
    assert r.status_code == 409 and r.json()["conflicts"] == []
    # B moving only w (a unit A left alone): 409 with no conflict, nothing saved
    r = client.post(
        f"/plans/{plan}/edits/assign",
        json={"base_version": 1, "assign": {w["id"]: dst_j}},
        headers=b,
    )
    assert r.status_code == 409 and r.json()["conflicts"] == []
    assert client.get(f"/plans/{plan}", headers=a).json()["plan"]["head_version"] == 2
    # both moved u to the same grid: no conflict either
    r = client.post(
        f"/plans/{plan}/edits/assign",
        json={"base_version": 1, "assign": {u["id"]: dst, w["id"]: dst_j}},
        headers=b,
    )
    assert r.status_code == 409 and r.json()["conflicts"] == []
    # on the head, B's edit of w saves
    r = client.post(
        f"/plans/{plan}/edits/assign",
        json={"base_version": 2, "assign": {w["id"]: dst_j}},
        headers=b,
    )
    assert r.status_code == 201, r.text
