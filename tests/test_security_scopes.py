"""Scoped keys and report redaction (issue 11, class 3).

A planner key scoped to one community (or street) may plan only there (403 elsewhere) and
sees drafts only of its own plans; a key naming an unknown community or street is refused
(422); the validation report never repeats a restricted value to anyone but an admin. A grid
worker key scoped to a street sees restricted columns of its street's communities only, and
the street scope is stored in its own column (legacy ``street:<id>`` values are migrated).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from job_helpers import finished_job

from api.app import create_app
from api.settings import Settings
from api.store import open_store
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}
SECRET_KP = "张三-吸毒前科"


def _district_with_bad_restricted_value(folder: Path) -> Path:
    src = sample_path() / "district.gpkg"
    out = folder / "district.gpkg"
    for layer, _ in pyogrio.list_layers(src):
        frame = gpd.read_file(src, layer=layer)
        if layer == "buildings":
            frame["key_persons"] = frame["key_persons"].astype(object)
            frame.loc[0, "key_persons"] = SECRET_KP
        if isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame:
            frame.to_file(out, layer=layer, driver="GPKG")
        else:
            pyogrio.write_dataframe(pd.DataFrame(frame), out, layer=layer, driver="GPKG")
    return out


@pytest.fixture
def client(database: tuple[str, str | None], tmp_path: Path) -> Iterator[TestClient]:
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        path = _district_with_bad_restricted_value(tmp_path)
        with path.open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)}, headers=ADMIN)
        assert r.status_code == 201, r.text
        yield c


def _key(c: TestClient, **body: Any) -> dict[str, str]:
    r = c.post("/keys", json={"name": "k", **body}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["secret"]}


def _plan(c: TestClient, who: dict[str, str], dataset: str, **body: Any) -> tuple[str, int]:
    r = c.post("/plans", json={"dataset_id": dataset, "target": 300, **body}, headers=who)
    assert r.status_code == 202, r.text
    job = finished_job(c, r.json()["id"], headers=who, timeout_s=60)
    return job["result"]["plan_id"], job["result"]["version"]


def test_scoped_planner_plans_only_inside_its_community(client: TestClient) -> None:
    c = client
    (dataset,) = [d["id"] for d in c.get("/datasets", headers=ADMIN).json()]
    communities = gpd.read_file(sample_path() / "district.gpkg", layer="communities")
    own, other = str(communities["community_id"][0]), str(communities["community_id"][1])
    street = str(communities["street_id"][0])

    # unknown community / street: 422; scoped viewer: 422
    for body in (
        {"role": "planner", "community_id": "999"},
        {"role": "planner", "street_id": "nowhere"},
        {"role": "viewer", "community_id": own},
    ):
        r = c.post("/keys", json={"name": "x", **body}, headers=ADMIN)
        assert r.status_code == 422, (body, r.text)
        assert ("community_id" in r.json()["detail"]) or ("street_id" in r.json()["detail"])

    scoped = _key(c, role="planner", community_id=own)
    assert c.get("/me", headers=scoped).json()["community_id"] == own
    by_street = _key(c, role="planner", street_id=street)
    assert c.get("/me", headers=by_street).json()["street_id"] == street

    # an admin's draft over two communities
    wide, v = _plan(c, ADMIN, dataset, communities=[own, other])
    # the scoped planner cannot start a plan outside, and its default plan stays inside
    r = c.post("/plans", json={"dataset_id": dataset, "communities": [other]}, headers=scoped)
    assert r.status_code == 403 and other in r.json()["detail"]
    mine, mv = _plan(c, scoped, dataset)
    grids = c.get(f"/plans/{mine}/versions/{mv}", headers=scoped).json()["features"]
    assert {g["properties"]["community_id"] for g in grids} == {own}

    # drafts outside the scope are invisible; its own are visible
    listed = {p["id"] for p in c.get("/plans", headers=scoped).json()}
    assert mine in listed and wide not in listed
    assert c.get(f"/plans/{wide}", headers=scoped).status_code == 403
    assert c.get(f"/plans/{wide}/versions/{v}", headers=scoped).status_code == 403
    assert c.get(f"/plans/{wide}/versions/{v}/metrics", headers=scoped).status_code == 403

    # edits outside: 403, nothing saved
    wide_body = c.get(f"/plans/{wide}/versions/{v}", headers=ADMIN).json()
    other_grids = [
        g["properties"]["grid_id"]
        for g in wide_body["features"]
        if g["properties"]["community_id"] == other
    ]
    other_grid = other_grids[0]
    other_building = next(b for b, g in wide_body["assignment"].items() if g == other_grids[1])
    edits = [
        ("lock", {"grid_ids": [other_grid], "base_version": v}),
        ("repartition", {"communities": [other], "base_version": v}),
        ("move", {"building_id": other_building, "to_grid": other_grid, "base_version": v}),
    ]
    for kind, body in edits:
        r = c.post(f"/plans/{wide}/edits/{kind}", json=body, headers=scoped)
        assert r.status_code == 403, (kind, r.text)
    assert c.post(f"/plans/{wide}/versions/{v}/publish", headers=scoped).status_code == 403
    assert c.get(f"/plans/{wide}", headers=ADMIN).json()["plan"]["head_version"] == v

    # inside: allowed
    own_grid = grids[0]["properties"]["grid_id"]
    r = c.post(f"/plans/{mine}/edits/lock", json={"grid_ids": [own_grid], "base_version": mv},
               headers=scoped)  # fmt: skip
    assert r.status_code == 201, r.text
    assert c.post(f"/plans/{mine}/versions/{mv}/publish", headers=scoped).status_code == 200
    # the street-scoped planner may plan every community of its street
    r = c.post("/plans", json={"dataset_id": dataset, "communities": [own]}, headers=by_street)
    assert r.status_code == 202, r.text


def test_report_shows_restricted_values_to_admin_only(client: TestClient) -> None:
    c = client
    (dataset,) = [d["id"] for d in c.get("/datasets", headers=ADMIN).json()]
    admin_report = c.get(f"/datasets/{dataset}/report", headers=ADMIN)
    assert SECRET_KP in admin_report.text  # the check below can fail
    planner = _key(c, role="planner")
    r = c.get(f"/datasets/{dataset}/report", headers=planner)
    assert r.status_code == 200
    assert SECRET_KP not in r.text
    finding = next(f for f in r.json()["findings"] if f["field"] == "key_persons")
    assert finding["row"] == 0 and "withheld" in finding["message"]


def test_street_grid_worker_sees_phones_of_its_street_only(client: TestClient) -> None:
    c = client
    communities = gpd.read_file(sample_path() / "district.gpkg", layer="communities")
    streets = sorted(set(communities["street_id"].astype(str)))
    assert len(streets) >= 2  # the check below needs another street
    street = streets[0]
    mine = set(communities.loc[communities["street_id"].astype(str) == street, "community_id"])
    worker = _key(c, role="grid_worker", street_id=street)
    me = c.get("/me", headers=worker).json()
    assert (me["street_id"], me["community_id"], me["role"]) == (street, None, "grid_worker")
    seen: dict[bool, int] = {True: 0, False: 0}
    offset = 0
    while True:  # every building of the district, page by page
        page = c.get(
            f"/ogc/collections/buildings/items?limit=1000&offset={offset}", headers=worker
        ).json()
        for f in page["features"]:
            p = f["properties"]
            inside = str(p["community_id"]) in mine
            assert ("leader_phone" in p) is inside and ("key_persons" in p) is inside, p
            seen[inside] += 1
        offset += len(page["features"])
        if not page["features"] or offset >= page["numberMatched"]:
            break
    assert seen[True] and seen[False]
    rows = c.get("/coverage?level=building&f=json", headers=worker).json()["rows"]
    assert rows and {str(r["community_id"]) for r in rows} <= mine


LEGACY_KEYS = """CREATE TABLE api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, community_id TEXT,
    created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, secret_hash TEXT UNIQUE)"""
"""The key table before it had a street_id column (a street scope was ``street:<id>``)."""


def test_legacy_street_scopes_are_migrated(database: tuple[str, str | None]) -> None:
    url, schema = database
    rows = [
        ("k1", "w", "grid_worker", "street:S1", "2026-01-01T00:00:00", 0, "h1"),
        ("k2", "p", "planner", "C1", "2026-01-01T00:00:00", 0, "h2"),
    ]
    if schema is None:
        path = url.removeprefix("sqlite:").removeprefix("///").removeprefix("//")
        with sqlite3.connect(path) as conn:
            conn.execute(LEGACY_KEYS)
            conn.executemany("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"SET search_path TO {schema}")
            conn.execute(LEGACY_KEYS)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO api_keys VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
    for attempt in range(2):  # opening twice: the migration is idempotent
        store = open_store(url, schema=schema)
        try:
            worker, planner = store.find_key("h1"), store.find_key("h2")
            assert worker is not None and planner is not None
            assert (worker.community_id, worker.street_id) == (None, "S1")
            assert (planner.community_id, planner.street_id) == ("C1", None)
            new = store.add_key(
                name="n", role="grid_worker", community_id=None, street_id="S2",
                secret_hash=f"h{attempt}3", actor="t",
            )  # fmt: skip
            assert store.find_key(f"h{attempt}3") == new and new.street_id == "S2"
        finally:
            store.close()
