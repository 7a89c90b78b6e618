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


def _two_planners_on_a_plan(
    client: TestClient,
) -> tuple[dict[str, str], dict[str, str], str, str, dict[str, Any]]:
    """Return two planners' headers, a plan of the sample's first community, the community
    and its editor data at version 1."""
    a, b = _planner(client, "规划员甲"), _planner(client, "规划员乙")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=1", headers=a).json()
    cid = comms["features"][0]["properties"]["community_id"]
    plan = run_plan(client, a, ds, communities=[cid])
    data = client.get(f"/plans/{plan}/editor?community={cid}", headers=a).json()
    return a, b, plan, cid, data


def _other_grid(data: dict[str, Any], unit: dict[str, Any], *not_: str) -> str:
    return next(g["grid_id"] for g in data["grids"] if g["grid_id"] not in {unit["grid"], *not_})


def test_a_stale_save_names_the_units_both_sides_changed(client: TestClient) -> None:
    a, b, plan, cid, data = _two_planners_on_a_plan(client)
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


def _emptiable(client: TestClient, plan: str, data: dict[str, Any], who: dict[str, str]) -> tuple:
    """Return (source grid, grid it is emptied into, the move) of a grid that can be emptied."""
    units, edges = data["units"], data["edges"]
    pairs = {(units[i]["grid"], units[j]["grid"]) for e in edges for i, j in (e, e[::-1])}
    for src, dst in sorted(p for p in pairs if p[0] != p[1]):
        move = {u["id"]: dst for u in units if u["grid"] == src and u["kind"] != "empty"}
        r = client.post(
            f"/plans/{plan}/edits/assign/check",
            json={"base_version": 1, "assign": move},
            headers=who,
        )
        if r.status_code == 200 and r.json()["assign"]["removed_grids"]:
            return src, dst, move, r.json()["assign"]["removed_grids"]
    raise AssertionError("no grid of the sample can be emptied into a neighbour")


def test_a_stale_edit_into_a_grid_retired_since_names_where_it_went(client: TestClient) -> None:
    a, b, plan, cid, data = _two_planners_on_a_plan(client)
    src, dst, move, (gone,) = _emptiable(client, plan, data, a)
    # A merges two grids: one of their codes is retired
    r = client.post(
        f"/plans/{plan}/edits/assign", json={"base_version": 1, "assign": move}, headers=a
    )
    assert r.status_code == 201, r.text
    v2 = client.get(f"/plans/{plan}/editor?community={cid}", headers=a).json()
    merged = {u["grid"] for u in v2["units"] if u["id"] in move}
    assert gone not in {g["grid_id"] for g in v2["grids"]} and len(merged) == 1
    # B, on version 1, gives a unit of a third grid to the retired code: the 409 said
    # "applied as is" with renamed {} (was), and the page's re-apply got a 422
    units = data["units"]
    w = next(
        units[j]
        for i, j in (p for e in data["edges"] for p in (e, e[::-1]))
        if units[i]["grid"] == gone and units[j]["grid"] not in (src, dst)
        and units[j]["kind"] != "empty"
    )  # fmt: skip
    r = client.post(
        f"/plans/{plan}/edits/assign",
        json={"base_version": 1, "assign": {w["id"]: gone}},
        headers=b,
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["conflicts"] == [] and body["renamed"][gone] == next(iter(merged))
    assert body["merged"] == [gone]  # the server says the grid went into another one
    assert f"{gone} → {body['renamed'][gone]}" in body["detail"] and "as is" not in body["detail"]
    r = client.post(
        f"/plans/{plan}/edits/assign",
        json={"base_version": 2, "assign": {w["id"]: body["renamed"][gone]}},
        headers=b,
    )
    assert r.status_code in (201, 422), r.text  # 422 only for a shape the move would break
    if r.status_code == 422:
        assert "connected" in r.json()["detail"] or "pieces" in r.json()["detail"]


def test_a_save_racing_another_gets_the_conflicts_too(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's edit passed the base check before A's save landed; the store then refused it.
    That 409 had no ``conflicts`` (the page read it as 'nobody touched these units' and saved
    again over A's move); now it names them like a stale base's 409."""
    import api.routers.editor as editor_routes

    a, b, plan, _cid, data = _two_planners_on_a_plan(client)
    u, dst, mine = _two_ways(client, plan, data, a)
    url = f"/plans/{plan}/edits/assign"
    r = client.post(url, json={"base_version": 1, "assign": {u["id"]: dst}}, headers=a)
    assert r.status_code == 201, r.text
    real, calls = editor_routes.check_assign_base, []

    def late(*args: Any, **kwargs: Any) -> None:  # B's check ran before A's save landed
        calls.append(1)
        if len(calls) > 1:
            real(*args, **kwargs)

    monkeypatch.setattr(editor_routes, "check_assign_base", late)
    r = client.post(url, json={"base_version": 1, "assign": {u["id"]: mine}}, headers=b)
    assert r.status_code == 409, r.text
    (c,) = r.json()["conflicts"]
    assert (c["unit"], c["mine"], c["theirs"]) == (u["id"], mine, dst)
    assert client.get(f"/plans/{plan}", headers=a).json()["plan"]["head_version"] == 2


def _two_ways(
    client: TestClient, plan: str, data: dict[str, Any], who: dict[str, str]
) -> tuple[dict[str, Any], str, str]:
    """Return a unit and two grids it can move to (each move valid on version 1)."""
    units, check = data["units"], f"/plans/{plan}/edits/assign/check"
    near: dict[int, set[str]] = {}
    for e in data["edges"]:
        for i, j in (e, e[::-1]):
            if units[j]["grid"] != units[i]["grid"] and units[i]["kind"] != "empty":
                near.setdefault(i, set()).add(units[j]["grid"])
    for i, grids in sorted(near.items()):
        ok = [
            g
            for g in sorted(grids)
            if client.post(
                check, json={"base_version": 1, "assign": {units[i]["id"]: g}}, headers=who
            ).status_code
            == 200
        ]
        if len(ok) >= 2:
            return units[i], ok[0], ok[1]
    raise AssertionError("no unit of the sample can move to two grids")
