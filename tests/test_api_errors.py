"""Bad uploads and parameters get 4xx with a body naming the problem and store nothing;
concurrent edits of one version: one wins, the other gets 409, nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from handmade import raw_layers
from job_helpers import finished_job

from api.app import create_app
from api.settings import Settings
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def client(database: tuple[str, str | None]) -> Iterator[TestClient]:
    url, schema = database
    settings = Settings(
        database_url=url, database_schema=schema, admin_key=ADMIN_KEY, upload_limit_bytes=300_000
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def hand_gpkg(tmp_path: Path) -> Path:
    path = tmp_path / "hand.gpkg"
    for name, frame in raw_layers().items():
        if "geometry" in frame.columns:
            frame.to_file(path, layer=name, driver="GPKG")
    return path


def _planner(client: TestClient) -> dict[str, str]:
    r = client.post("/keys", json={"name": "p", "role": "planner"}, headers=ADMIN)
    return {"X-API-Key": r.json()["secret"]}


def test_bad_uploads_and_parameters_store_nothing(
    client: TestClient, hand_gpkg: Path, tmp_path: Path
) -> None:
    planner = _planner(client)
    store = client.app.state.gridgen.store  # type: ignore[attr-defined]
    before = store.counts()
    streets_only = tmp_path / "streets.gpkg"
    raw_layers()["streets"].to_file(streets_only, layer="streets", driver="GPKG")
    csv = tmp_path / "buildings.csv"
    csv.write_text("building_id,households,lon,lat\nB1,-5,116.4,39.9\n", encoding="utf-8")
    bad_json = tmp_path / "buildings.geojson"
    bad_json.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    cases = [
        ("notes.txt", b"hello", 415, "unsupported format"),
        ("broken.gpkg", b"not a geopackage" * 50, 422, "broken.gpkg"),
        (streets_only.name, streets_only.read_bytes(), 422, "communities"),
        (csv.name, csv.read_bytes(), 422, ""),
        (bad_json.name, bad_json.read_bytes(), 422, ""),
        ("big.gpkg", (sample_path() / "district.gpkg").read_bytes(), 413, "limit"),
    ]
    for name, data, status, words in cases:
        r = client.post("/datasets", files={"file": (name, data)}, headers=ADMIN)
        assert r.status_code == status, (name, r.text)
        body = r.json()
        assert body["detail"] and words in body["detail"], (name, body)
    # not an admin, no key, wrong key
    with hand_gpkg.open("rb") as fh:
        r = client.post("/datasets", files={"file": ("h.gpkg", fh)}, headers=planner)
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert client.get("/datasets").status_code == 401
    r = client.get("/datasets", headers={"X-API-Key": "nope"})
    assert r.status_code == 401 and "not recognised" in r.json()["detail"]
    r = client.get("/datasets", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    assert store.counts() == before

    # bad parameters on a stored dataset
    with hand_gpkg.open("rb") as fh:
        assert (
            client.post("/datasets", files={"file": ("h.gpkg", fh)}, headers=ADMIN).status_code
            == 201
        )
    ds = client.get("/datasets", headers=ADMIN).json()[0]["id"]
    before = store.counts()
    bad = [
        ("/ogc/collections/buildings/items?bbox=1,2,3", 400, "bbox"),
        ("/ogc/collections/buildings/items?bbox=a,b,c,d", 400, "bbox"),
        ("/ogc/collections/buildings/items?limit=0", 400, "limit"),
        ("/ogc/collections/buildings/items?offset=-1", 400, "offset"),
        ("/ogc/collections/rivers/items", 404, "rivers"),
        ("/ogc/collections/buildings/items/B99", 404, "B99"),
        ("/ogc/collections/grids/items", 404, "published"),
        ("/tiles/buildings/23/0/0.mvt", 400, "z=23"),
        ("/tiles/buildings/3/8/0.mvt", 400, "x=8"),
        ("/tiles/rivers/3/1/1.mvt", 404, "rivers"),
        (f"/datasets/{ds}x", 404, f"{ds}x"),
        ("/coverage?radius=-5", 400, "radius"),
        ("/coverage?level=galaxy", 400, "level"),
        ("/coverage?level=grid", 400, "plan"),
        ("/siting?add=1&target_share=0.5", 400, "exactly one"),
        ("/jobs/nope", 404, "nope"),
    ]
    for path, status, words in bad:
        r = client.get(path, headers=ADMIN)
        assert r.status_code == status, (path, r.text)
        assert words in r.json()["detail"], (path, r.json())
    for body, words in (
        ({"dataset_id": ds, "target": 0}, "target"),
        ({"dataset_id": ds, "target": 300, "band": [400, 500]}, "band"),
        ({"dataset_id": "nope"}, "nope"),
    ):
        r = client.post("/plans", json=body, headers=planner)
        assert r.status_code in (404, 422) and words in r.json()["detail"], r.text
    assert store.counts() == before


def _plan(client: TestClient, planner: dict[str, str], hand_gpkg: Path) -> tuple[str, list[str]]:
    with hand_gpkg.open("rb") as fh:
        ds = client.post("/datasets", files={"file": ("h.gpkg", fh)}, headers=ADMIN).json()["id"]
    job = client.post("/plans", json={"dataset_id": ds, "target": 30}, headers=planner).json()
    job = finished_job(client, job["id"], headers=planner, timeout_s=30)
    plan_id = job["result"]["plan_id"]
    grids = client.get(f"/plans/{plan_id}/versions/1", headers=planner).json()["features"]
    return plan_id, sorted(f["properties"]["grid_id"] for f in grids)


def test_concurrent_edits_one_wins_nothing_lost(client: TestClient, hand_gpkg: Path) -> None:
    planner = _planner(client)
    plan_id, grids = _plan(client, planner, hand_gpkg)
    assert len(grids) >= 2
    edits = {"a": [grids[0]], "b": [grids[1]]}
    responses: dict[str, int] = {}
    bodies: dict[str, dict] = {}
    barrier = threading.Barrier(2)

    def edit(name: str) -> None:
        barrier.wait()
        r = client.post(
            f"/plans/{plan_id}/edits/lock",
            json={"grid_ids": edits[name], "base_version": 1, "message": name},
            headers=planner,
        )
        responses[name] = r.status_code
        bodies[name] = r.json()

    threads = [threading.Thread(target=edit, args=(n,)) for n in edits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(responses.values()) == [201, 409], bodies
    winner = next(n for n, s in responses.items() if s == 201)
    loser = next(n for n, s in responses.items() if s == 409)
    assert bodies[loser]["head_version"] == 2 and "reload version 2" in bodies[loser]["detail"]
    versions = client.get(f"/plans/{plan_id}", headers=planner).json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["locked"] == edits[winner] and versions[1]["message"] == winner
    # the loser reloads and applies its edit again: both edits are kept
    r = client.post(
        f"/plans/{plan_id}/edits/lock",
        json={"grid_ids": edits[loser], "message": loser},
        headers={**planner, "If-Match": '"2"'},
    )
    assert r.status_code == 201
    assert sorted(r.json()["version"]["locked"]) == sorted(edits["a"] + edits["b"])
    # a stale If-Match is refused; an edit without a base version is refused
    r = client.post(
        f"/plans/{plan_id}/edits/lock",
        json={"grid_ids": grids[:1]},
        headers={**planner, "If-Match": '"1"'},
    )
    assert r.status_code == 409
    r = client.post(f"/plans/{plan_id}/edits/lock", json={"grid_ids": grids[:1]}, headers=planner)
    assert r.status_code == 422 and "base_version" in r.json()["detail"]
    r = client.post(
        f"/plans/{plan_id}/edits/move",
        json={"building_id": "B1", "to_grid": "nope", "base_version": 3},
        headers=planner,
    )
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert client.get(f"/plans/{plan_id}", headers=planner).json()["plan"]["head_version"] == 3
