"""Bad input to the editor's, records' and tile routes gets a 4xx naming the parameter: never a
500, never a silent guess (base versions out of range or disagreeing, tiles of versions that do
not exist, change orders backwards, unknown tile parameters); a scoped key gets 403 before a 409
could tell it about another community's edits. About 10 s (one small plan, one save)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN_KEY
from editor_helpers import movable_unit
from fastapi.testclient import TestClient
from test_api import key, run_plan, upload

from api.app import create_app
from api.settings import Settings
from gridgen.sample.district import sample_path


@dataclass(frozen=True)
class Setup:
    """A plan of two communities at version 2 (planner moved ``unit`` from ``src`` to ``dst``)."""

    client: TestClient
    dataset: str
    plan: str
    own: str  # the community edited
    other: str  # the scoped key's community
    planner: dict[str, str]
    viewer: dict[str, str]
    scoped: dict[str, str]  # a planner key of the other community
    unit: str
    src: str
    dst: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder: Path = tmp_path_factory.mktemp("edit-inputs")
    settings = Settings(database_url=f"sqlite:///{folder}/e.db", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        planner, viewer = key(c, "planner"), key(c, "viewer")
        ds = upload(c, sample_path() / "district.gpkg")
        feats = c.get("/ogc/collections/communities/items?limit=2", headers=planner).json()
        own, other = (f["properties"]["community_id"] for f in feats["features"])
        plan = run_plan(c, planner, ds, communities=[own, other])
        data = c.get(f"/plans/{plan}/editor?community={own}", headers=planner).json()
        i, src, dst = movable_unit(data)
        unit = data["units"][i]["id"]
        edit = {"base_version": 1, "assign": {unit: dst}}
        r = c.post(f"/plans/{plan}/edits/assign", json=edit, headers=planner)
        assert r.status_code == 201, r.text
        scoped = key(c, "planner", other)
        yield Setup(c, ds, plan, own, other, planner, viewer, scoped, unit, src, dst)


@pytest.mark.parametrize("route", ["/edits/assign/check", "/edits/assign"])
def test_a_base_version_out_of_range_or_disagreeing_is_refused_naming_it(
    setup: Setup, route: str
) -> None:
    s = setup
    url = f"/plans/{s.plan}{route}"
    move = {s.unit: s.src}
    cases: list[tuple[dict[str, object], dict[str, Any], str]] = [
        ({"base_version": 10**30, "assign": move}, {}, "base_version"),  # was 500 (check)
        ({"base_version": 0, "assign": move}, {}, "base_version"),  # was 404 / 409
        ({"base_version": -1, "assign": move}, {}, "base_version"),
        ({"assign": move}, {"If-Match": '"99999999999999999999999"'}, "If-Match"),  # was 500
        ({"assign": move}, {"If-Match": '"²"'.encode("latin-1")}, "If-Match"),  # was 500
        ({"base_version": 2, "assign": move}, {"If-Match": '"1"'}, "If-Match"),  # body won
    ]
    for body, headers, named in cases:
        r = s.client.post(url, json=body, headers={**s.planner, **headers})
        assert r.status_code == 422, (body, headers, r.status_code, r.text)
        assert named in r.json()["detail"], r.text
    info = s.client.get(f"/plans/{s.plan}", headers=s.planner).json()
    assert info["plan"]["head_version"] == 2
    # the same version in both is fine
    r = s.client.post(
        url.removesuffix("/check") + "/check",
        json={"base_version": 2, "assign": move},
        headers={**s.planner, "If-Match": 'W/"2"'},
    )
    assert r.status_code == 200, r.text


def test_a_scoped_key_gets_403_not_the_conflicts_of_another_community(setup: Setup) -> None:
    s = setup
    url = f"/plans/{s.plan}/edits/assign"
    # on the stale base 1, the 409 would name the unit, who moved it and where (was 409)
    r = s.client.post(url, json={"base_version": 1, "assign": {s.unit: s.src}}, headers=s.scoped)
    assert r.status_code == 403, r.text
    assert "conflicts" not in r.json() and s.unit not in r.text
    r = s.client.post(url, json={"base_version": 1, "lock": [s.dst]}, headers=s.scoped)
    assert r.status_code == 403, r.text
    # the planner of the community still gets the 409 with its conflicts
    r = s.client.post(url, json={"base_version": 1, "assign": {s.unit: s.src}}, headers=s.planner)
    assert r.status_code == 409 and r.json()["conflicts"][0]["unit"] == s.unit


def test_grid_tiles_of_a_version_that_does_not_exist_are_404(setup: Setup) -> None:
    s = setup
    for version in (3, 99, 0, -1):  # were 200 with an empty tile
        r = s.client.get(f"/plans/{s.plan}/versions/{version}/grids/3/1/1.mvt", headers=s.planner)
        assert r.status_code == 404, (version, r.status_code, r.text)
        assert f"no version {version}" in r.json()["detail"]
    for version in (1, 2):
        r = s.client.get(f"/plans/{s.plan}/versions/{version}/grids/3/1/1.mvt", headers=s.planner)
        assert r.status_code == 200, r.text


def test_a_change_order_backwards_is_refused_naming_from_and_to(setup: Setup) -> None:
    s = setup
    for query in ("from=2&to=1", "from=head&to=1"):  # was 200, the order reversed
        r = s.client.get(f"/plans/{s.plan}/changes?{query}", headers=s.planner)
        assert r.status_code == 400, (query, r.text)
        assert "from=" in r.json()["detail"] and "to=1" in r.json()["detail"]
    r = s.client.get(f"/plans/{s.plan}/changes?from=1&to=2", headers=s.planner)
    assert r.status_code == 200 and r.json()["summary"]["buildings_moved"] > 0


def test_a_code_history_of_an_unpublished_plan_is_404_for_a_viewer(setup: Setup) -> None:
    s = setup
    r = s.client.get(f"/plans/{s.plan}/grids/{s.dst}/history", headers=s.viewer)
    assert r.status_code == 404, r.text  # was 400 naming a parameter "version" it never sent
    assert "no published version" in r.json()["detail"]
    r = s.client.get(f"/plans/{s.plan}/grids/{s.dst}/history", headers=s.planner)
    assert r.status_code == 200 and r.json()["code"] == s.dst


def test_a_tile_refuses_query_parameters_it_does_not_take(setup: Setup) -> None:
    s = setup
    # ?version= was ignored: the published grids served as if they were that version
    r = s.client.get("/tiles/grids/3/1/1.mvt?version=2", headers=s.planner)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "UnknownParameterError" and "version" in r.json()["detail"]
    r = s.client.get("/tiles/grids/3/1/1.mvt?dataset=nope", headers=s.planner)
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_rebalance_refuses_what_it_would_ignore_or_fail_on_later(setup: Setup) -> None:
    s = setup
    url = f"/plans/{s.plan}/edits/rebalance"
    cases: list[tuple[dict[str, object], int, str]] = [
        ({"community_id": "zzz"}, 404, "community_id"),  # was a job that rebalanced nothing
        ({"community_id": s.own, "method": "repartition", "target": 250}, 422, "target"),
        ({"community_id": s.own, "seed": 5}, 422, "seed"),  # seed was accepted and unused
        ({"community_id": s.own, "band": [400, 200]}, 422, "band"),  # was a failed job
        ({"community_id": s.own, "band": [-5, 10]}, 422, "band"),
    ]
    for body, status, named in cases:
        r = s.client.post(url, json={"base_version": 2, **body}, headers=s.planner)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert named in r.json()["detail"], r.text
    assert s.client.get(f"/plans/{s.plan}", headers=s.planner).json()["plan"]["head_version"] == 2


def test_a_misspelt_field_is_refused_not_dropped(setup: Setup) -> None:
    s = setup
    # "lokc" was dropped: the check (and a save) went through without the lock
    r = s.client.post(
        f"/plans/{s.plan}/edits/assign/check",
        json={"base_version": 2, "assign": {s.unit: s.src}, "lokc": [s.dst]},
        headers=s.planner,
    )
    assert r.status_code == 422 and "lokc" in r.json()["detail"], r.text
    r = s.client.post(
        f"/plans/{s.plan}/edits/lock",
        json={"base_version": 2, "grid_ids": [s.dst], "lockd": False},
        headers=s.planner,
    )
    assert r.status_code == 422 and "lockd" in r.json()["detail"], r.text
    r = s.client.post("/plans", json={"dataset_id": "x", "taget": 250}, headers=s.planner)
    assert r.status_code == 422 and "taget" in r.json()["detail"], r.text


def test_a_unit_of_a_community_the_plan_does_not_cover_is_refused(setup: Setup) -> None:
    from gridgen.io.read import read_dataset

    s = setup
    covered = {s.own, *(c["community_id"] for c in _communities(s))}
    bld = read_dataset(sample_path() / "district.gpkg").buildings
    bare = bld[~bld["community_id"].astype(str).isin(covered)].iloc[0]
    cid, building = str(bare["community_id"]), str(bare["building_id"])
    # was 200 / 201: a one-building grid in a community whose other buildings have none
    for route in ("/edits/assign/check", "/edits/assign"):
        r = s.client.post(
            f"/plans/{s.plan}{route}",
            json={"base_version": 2, "assign": {building: cid + "001"}},
            headers=s.planner,
        )
        assert r.status_code == 422, r.text
        assert "does not cover" in r.json()["detail"] and building in r.json()["detail"]


def _communities(s: Setup) -> list[dict[str, str]]:
    data = s.client.get(f"/plans/{s.plan}/editor?community={s.own}", headers=s.planner).json()
    return [{"community_id": c} for c in data["communities"]]


def test_a_scoped_key_imports_grids_of_its_own_communities_only(
    setup: Setup, tmp_path: Path
) -> None:
    import geopandas as gpd

    s = setup
    comm = gpd.read_file(sample_path() / "district.gpkg", layer="communities")
    for cid, status in ((s.own, 403), (s.other, 201)):  # the first was 201: a plan outside
        row = comm[comm["community_id"].astype(str) == cid]
        layer = gpd.GeoDataFrame(
            {"grid_id": [cid + "001"], "community_id": [cid]},
            geometry=list(row.geometry),
            crs=comm.crs,
        )
        path = tmp_path / f"{cid}.geojson"
        layer.to_file(path, driver="GeoJSON")
        with path.open("rb") as fh:
            r = s.client.post(
                f"/datasets/{s.dataset}/grids", files={"file": (path.name, fh)}, headers=s.scoped
            )
        assert r.status_code == status, (cid, r.text)
        if status == 403:
            assert s.own in r.json()["detail"]


def test_an_unreadable_upload_is_named_by_its_own_name(setup: Setup) -> None:
    s = setup
    r = s.client.post(
        f"/datasets/{s.dataset}/grids",
        files={"file": ("网格.geojson", b"not json")},
        headers=s.planner,
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("网格.geojson: cannot be read"), detail  # was the server's path
    assert "/tmp" not in detail and "gridgen-grids-" not in detail


def test_a_nul_byte_in_a_body_or_form_field_is_422_on_both_stores(
    database: tuple[str, str | None],
) -> None:
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        admin = {"X-API-Key": ADMIN_KEY}
        r = c.post("/keys", json={"name": "甲\x00", "role": "viewer"}, headers=admin)
        assert r.status_code == 422, r.text  # was 500 on PostGIS
        assert r.json()["detail"] == "name: contains a NUL byte; remove it"
        planner = key(c, "planner")
        ds = upload(c, sample_path() / "district.gpkg")
        feats = c.get("/ogc/collections/communities/items?limit=1", headers=planner).json()
        cid = feats["features"][0]["properties"]["community_id"]
        plan = run_plan(c, planner, ds, communities=[cid])
        data = c.get(f"/plans/{plan}/editor?community={cid}", headers=planner).json()
        i, _, dst = movable_unit(data)
        edit = {"base_version": 1, "assign": {data["units"][i]["id"]: dst}, "message": "a\x00"}
        r = c.post(f"/plans/{plan}/edits/assign", json=edit, headers=planner)
        assert r.status_code == 422 and "message" in r.json()["detail"], r.text  # was 500
        lock = {"base_version": 1, "grid_ids": [dst], "message": "\x00"}
        r = c.post(f"/plans/{plan}/edits/lock", json=lock, headers=planner)
        assert r.status_code == 422 and "message" in r.json()["detail"], r.text  # was 500
        r = c.post(
            f"/plans/{plan}/grid-attributes",
            files={"file": ("g.csv", f"网格编码,网格员\n{dst},张三\n".encode())},
            data={"base_version": "1", "message": "\x00"},
            headers=planner,
        )
        assert r.status_code == 422 and "message" in r.json()["detail"], r.text  # was 500
        assert c.get(f"/plans/{plan}", headers=planner).json()["plan"]["head_version"] == 1


def test_one_building_given_two_grids_or_a_made_up_compound_is_refused(setup: Setup) -> None:
    from gridgen.io.read import read_dataset

    s = setup
    bld = read_dataset(sample_path() / "district.gpkg").buildings
    (b, *_) = sorted(bld.loc[bld["compound_id"].astype(str) == s.unit, "building_id"].astype(str))
    url = f"/plans/{s.plan}/edits/assign/check"
    cases = [  # were 200: the compound's grid silently won / the prefix was not checked
        ({s.unit: s.src, b: s.dst}, f"buildings given to two grids: {b} ({s.unit} → {s.src}"),
        ({b: s.src, f"b:{b}": s.dst}, f"buildings given to two grids: {b} ({b} → {s.src}"),
        ({f"XQ_NOPE/{b}": s.src}, f"unknown unit or building ids: XQ_NOPE/{b}"),
        ({"e:0": s.src}, "open-land units (no buildings"),  # an id /editor lists: not 'unknown'
    ]
    for assign, said in cases:
        r = s.client.post(url, json={"base_version": 2, "assign": assign}, headers=s.planner)
        assert r.status_code == 422 and said in r.json()["detail"], (assign, r.text)
    r = s.client.post(url, json={"base_version": 2, "assign": {s.unit: s.src, b: s.src}},
                      headers=s.planner)  # fmt: skip
    assert r.status_code == 200, r.text  # the same grid twice is one instruction
    # a grid locked twice is locked once; 25 unknown grids are named 20 and counted
    r = s.client.post(url, json={"base_version": 2, "lock": [s.dst, s.dst]}, headers=s.planner)
    assert r.status_code == 200 and r.json()["assign"]["locked"] == [s.dst], r.text
    lock = [f"G{k:03d}" for k in range(25)]
    r = s.client.post(url, json={"base_version": 2, "lock": lock}, headers=s.planner)
    assert r.status_code == 422 and "G019 (25 in all)" in r.json()["detail"], r.text


def test_an_unknown_route_or_method_gets_the_error_body_every_error_has(setup: Setup) -> None:
    s = setup
    # a code holding '/' (sent as %2F) reaches no route: was {"detail": "Not Found"}
    r = s.client.get(f"/plans/{s.plan}/grids/a%2Fb/history", headers=s.planner)
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "NotFoundError" and "no such route" in r.json()["detail"]
    r = s.client.delete("/plans", headers=s.planner)
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowedError", r.text
    assert "DELETE /plans" in r.json()["detail"] and r.headers["allow"]


def test_a_plan_of_no_or_unknown_communities_is_refused_before_the_job(setup: Setup) -> None:
    s = setup
    cases = [([], 422, "communities: name at least one"), (["XQ_NOPE"], 404, "XQ_NOPE")]
    for communities, status, said in cases:  # were jobs failing later ('merge_plans ...')
        body = {"dataset_id": s.dataset, "communities": communities}
        r = s.client.post("/plans", json=body, headers=s.planner)
        assert r.status_code == status and said in r.json()["detail"], (communities, r.text)


def test_a_repartition_of_an_empty_list_of_communities_is_refused(setup: Setup) -> None:
    s = setup
    r = s.client.post(
        f"/plans/{s.plan}/edits/repartition",
        json={"base_version": 2, "communities": []},
        headers=s.planner,
    )
    assert r.status_code == 422 and "communities" in r.json()["detail"], r.text  # was: all
    assert s.client.get(f"/plans/{s.plan}", headers=s.planner).json()["plan"]["head_version"] == 2
