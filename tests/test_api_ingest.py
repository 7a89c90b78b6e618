"""``POST /datasets/ingest`` (a job), the match report, and ledgers on the ledger route:
real-size uploads accepted, spreadsheet bombs refused (413) at once, on both store back ends.
About 60 s (the sample's raw set ingested once per back end)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from job_helpers import wait_job
from shapely.geometry import LineString
from test_ingest_units import _bomb

from api.app import create_app
from api.settings import Settings
from gridgen.sample.district import sample_path

RAW = sample_path() / "raw"
ADMIN = {"X-API-Key": ADMIN_KEY}


def _files(
    raw: Path, ledger: tuple[str, bytes] | None = None
) -> list[tuple[str, tuple[str, bytes]]]:
    parts = [("communities", (p.name, p.read_bytes())) for p in sorted(raw.glob("communities.*"))]
    parts += [("roads", (p.name, p.read_bytes())) for p in sorted((raw / "roads").glob("*"))]
    parts += [
        ("footprints", ("footprints.gpkg", (raw / "footprints.gpkg").read_bytes())),
        ("compounds", ("compounds.geojson", (raw / "compounds.geojson").read_bytes())),
        ("ledger", ledger or ("台账.xlsx", (raw / "ledger.xlsx").read_bytes())),
    ]
    return parts


def _railway_across(raw: Path) -> bytes:
    """Return a GeoJSON railway (one line, WGS84) running west-east across the district."""
    comms = pyogrio.read_dataframe(raw / "communities.shp").to_crs(4326)
    minx, miny, maxx, maxy = comms.total_bounds
    y = (miny + maxy) / 2
    rail = gpd.GeoDataFrame(
        {"fclass": ["rail"]}, geometry=[LineString([(minx, y), (maxx, y)])], crs=4326
    )
    return rail.to_json().encode()


def _wait(client: TestClient, job_id: str, headers: dict[str, str]) -> dict:
    return wait_job(client, job_id, headers=headers, timeout_s=240.0)


@pytest.fixture
def served(
    database: tuple[str, str | None],
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as client:
        keys = {"admin": ADMIN}
        for role in ("viewer", "planner"):
            r = client.post("/keys", json={"name": role, "role": role}, headers=ADMIN)
            keys[role] = {"X-API-Key": r.json()["secret"]}
        yield client, keys


def test_a_planner_ingests_a_district_and_downloads_the_report(served: tuple) -> None:
    client, keys = served
    assert (
        client.post("/datasets/ingest", files=_files(RAW), headers=keys["viewer"]).status_code
        == 403
    )
    assert client.post("/datasets/ingest", files=_files(RAW)).status_code == 401
    r = client.post(
        "/datasets/ingest",
        files=[*_files(RAW), ("barriers", ("铁路.geojson", _railway_across(RAW)))],
        data={"name": "坞城"},
        headers=keys["planner"],
    )
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["id"], keys["planner"])
    assert job["status"] == "done", job
    result = job["result"]
    totals = result["totals"]
    assert totals["balanced"] and totals["matched"] > 0.9 * totals["rows"]
    dataset = client.get(f"/datasets/{result['dataset_id']}", headers=keys["planner"]).json()
    assert dataset["name"] == "坞城" and dataset["layers"]["buildings"] > 1000
    assert dataset["layers"]["barriers"] == 1  # the railway, stored with the dataset
    report = client.get(result["report"], headers=keys["planner"]).json()
    assert report["totals"] == totals and len(report["rows"]) == totals["rows"]
    assert report["rows"][0]["row"] == 1 and set(report["rows"][0]) == {
        "row",
        "building_id",
        "how",
        "reason",
    }
    xlsx = client.get(result["report"] + "?f=xlsx", headers=keys["planner"])
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(xlsx.content), read_only=True).sheetnames == [
        "汇总",
        "楼栋",
        "台账行",
    ]
    assert client.get(result["report"], headers=keys["viewer"]).status_code == 403
    # a key scoped to one community may not make a district's dataset
    items = client.get(
        "/ogc/collections/communities/items",
        params={"dataset": result["dataset_id"], "limit": 1},
        headers=keys["planner"],
    ).json()
    cid = items["features"][0]["properties"]["community_id"]
    r = client.post(
        "/keys",
        json={"name": "scoped", "role": "planner", "community_id": cid},
        headers=ADMIN,
    )
    scoped = {"X-API-Key": r.json()["secret"]}
    refused = client.post("/datasets/ingest", files=_files(RAW), headers=scoped)
    assert refused.status_code == 403 and "scoped to" in refused.json()["detail"]


def test_bad_inputs_to_the_ingest_route(served: tuple) -> None:
    client, _ = served
    before = len(client.get("/datasets", headers=ADMIN).json())
    r = client.post(  # refused early: tests/test_ingest_units.py counts what is read
        "/datasets/ingest", files=_files(RAW, ("bomb.xlsx", _bomb(3_000_000))), headers=ADMIN
    )
    assert r.status_code == 413 and "limit of 500000 rows" in r.json()["detail"], r.text
    r = client.post("/datasets/ingest", files=_files(RAW, ("l.pdf", b"%PDF")), headers=ADMIN)
    assert r.status_code == 415 and "ledger 'l.pdf'" in r.json()["detail"]
    r = client.post(
        "/datasets/ingest", files=_files(RAW), data={"map": "ledger.colour=X"}, headers=ADMIN
    )
    assert r.status_code == 422 and "has no field 'colour'" in r.json()["detail"]
    # the route's messages name its form fields, not the command line's options
    assert r.json()["detail"].startswith("map 'ledger.colour=X'"), r.text
    assert "--" not in r.json()["detail"]
    r = client.post(
        "/datasets/ingest", files=_files(RAW), data={"road_class": "tertiary"}, headers=ADMIN
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("road_class 'tertiary'")
    assert "e.g. road_class tertiary=main" in r.json()["detail"]
    notes = "会议纪要\n今天讨论网格\n".encode()
    r = client.post("/datasets/ingest", files=_files(RAW, ("notes.csv", notes)), headers=ADMIN)
    job = _wait(client, r.json()["id"], ADMIN)
    assert job["status"] == "failed" and "is not a table with a header row" in job["error"]
    assert len(client.get("/datasets", headers=ADMIN).json()) == before


def test_the_ledger_route_takes_a_household_ledger_over_1_mib(served: tuple) -> None:
    client, keys = served
    with (sample_path() / "district.gpkg").open("rb") as fh:
        ds = client.post("/datasets", files={"file": ("district.gpkg", fh)}, headers=ADMIN).json()
    ledger = (RAW / "ledger.xlsx").read_bytes()
    assert len(ledger) > 1024 * 1024  # the old cap of every non-dataset body
    url = f"/datasets/{ds['id']}/ledger"
    r = client.post(url, files={"file": ("一标三实.xlsx", ledger)}, headers=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "households" and body["totals"]["balanced"]
    assert body["matched"] > 0.9 * body["totals"]["rows"]
    report = client.get(body["match_report"], headers=keys["planner"]).json()
    assert len(report["rows"]) == body["totals"]["rows"]
    r = client.post(url, files={"file": ("bomb.xlsx", _bomb(3_000_000))}, headers=ADMIN)
    assert r.status_code == 413 and "rows" in r.json()["detail"]


def test_a_failed_ingest_names_the_upload_not_the_server_folder(served: tuple) -> None:
    client, keys = served
    files = [
        (part, ("footprints.gpkg", b"not a geopackage") if part == "footprints" else f)
        for part, f in _files(RAW)
    ]
    r = client.post("/datasets/ingest", files=files, headers=keys["planner"])
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["id"], keys["planner"])
    assert job["status"] == "failed" and "footprints.gpkg" in job["error"], job
    assert "/tmp" not in job["error"] and "ingest-" not in job["error"], job["error"]
