"""The service through HTTP on both back ends: upload → plan job → edit → publish → layers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from job_helpers import finished_job

from api.app import create_app
from api.settings import Settings
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}
DISTRICT = sample_path() / "district.gpkg"


@pytest.fixture
def client(database: tuple[str, str | None]) -> Iterator[TestClient]:
    url, schema = database
    settings = Settings(
        database_url=url, database_schema=schema, admin_key=ADMIN_KEY, upload_limit_bytes=2_000_000
    )
    with TestClient(create_app(settings)) as c:
        yield c


def key(client: TestClient, role: str, community: str | None = None) -> dict[str, str]:
    r = client.post(
        "/keys", json={"name": role, "role": role, "community_id": community}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["secret"]}


def upload(client: TestClient, path: Path) -> str:
    with path.open("rb") as fh:
        r = client.post("/datasets", files={"file": (path.name, fh)}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def run_plan(client: TestClient, headers: dict[str, str], dataset_id: str, **extra: Any) -> str:
    r = client.post("/plans", json={"dataset_id": dataset_id, **extra}, headers=headers)
    assert r.status_code == 202, r.text
    job = finished_job(client, r.json()["id"], headers=headers, timeout_s=60)
    assert job["progress"] == 1.0
    return str(job["result"]["plan_id"])


def tile_xyz(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    return (
        z,
        int((lon + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
    )


def test_upload_plan_edit_publish_layers(client: TestClient) -> None:
    planner = key(client, "planner")
    viewer = key(client, "viewer")
    ds = upload(client, DISTRICT)
    info = client.get(f"/datasets/{ds}", headers=viewer).json()
    assert info["layers"]["buildings"] > 1000
    communities = client.get("/ogc/collections/communities/items?limit=2", headers=viewer).json()
    two = sorted(f["properties"]["community_id"] for f in communities["features"])
    plan_id = run_plan(client, planner, ds, communities=two, name="试点")

    v1 = client.get(f"/plans/{plan_id}/versions/1", headers=planner)
    assert v1.status_code == 200 and v1.headers["etag"] == '"1"'
    v1 = v1.json()
    grids1 = {f["properties"]["grid_id"]: f["properties"] for f in v1["features"]}
    assert {g["community_id"] for g in grids1.values()} == set(two)
    # move one building into another grid of its community: a move that would leave a grid
    # in pieces (or land away from its new grid) is refused with 422 and saves nothing
    for building, from_grid in sorted(v1["assignment"].items()):
        community = grids1[from_grid]["community_id"]
        to_grid = next(
            g
            for g, p in sorted(grids1.items())
            if p["community_id"] == community and g != from_grid
        )
        r = client.post(
            f"/plans/{plan_id}/edits/move",
            json={"building_id": building, "to_grid": to_grid, "message": "调整"},
            headers={**planner, "If-Match": '"1"'},
        )
        if r.status_code != 422:
            break
        assert "one piece" in r.json()["detail"], r.text
        assert client.get(f"/plans/{plan_id}", headers=planner).json()["plan"]["head_version"] == 1
    assert r.status_code == 201, r.text
    assert r.json()["version"]["version"] == 2 and r.json()["version"]["parent"] == 1
    assert r.json()["version"]["author"].startswith("planner")
    assert not {v["kind"] for v in r.json()["move"]["violations"]} & {
        "multipart",
        "not_adjacent",
        "empty_grid",
    }
    v2 = client.get(f"/plans/{plan_id}/versions/2", headers=planner).json()
    assert v2["assignment"][building] == to_grid
    grids2 = {f["properties"]["grid_id"]: f["properties"] for f in v2["features"]}
    assert grids2[to_grid]["households"] > grids1[to_grid]["households"]

    # viewers see nothing of an unpublished plan
    assert client.get("/ogc/collections/grids/items", headers=viewer).status_code == 404
    assert client.get(f"/plans/{plan_id}/versions/2", headers=viewer).status_code == 403
    r = client.post(f"/plans/{plan_id}/versions/2/publish", headers=planner)
    assert r.status_code == 200 and r.json()["published"] is True

    items = client.get("/ogc/collections/grids/items?limit=1000", headers=viewer)
    assert items.status_code == 200 and items.headers["content-type"] == "application/geo+json"
    served = {
        f["properties"]["grid_id"]: f["properties"]["households"] for f in items.json()["features"]
    }
    assert served == {g: p["households"] for g, p in grids2.items()}
    one = client.get(f"/ogc/collections/grids/items/{to_grid}", headers=viewer).json()
    assert one["properties"]["households"] == grids2[to_grid]["households"]

    # the tile holding the target grid shows the version-2 households
    feat = next(f for f in items.json()["features"] if f["properties"]["grid_id"] == to_grid)
    ring = (
        feat["geometry"]["coordinates"][0]
        if feat["geometry"]["type"] == "Polygon"
        else feat["geometry"]["coordinates"][0][0]
    )
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    z, x, y = tile_xyz(lon, lat, 13)
    t = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt", headers=viewer)
    assert (
        t.status_code == 200 and t.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    )
    decoded = mapbox_vector_tile.decode(t.content)
    in_tile = {
        f["properties"]["grid_id"]: f["properties"]["households"]
        for f in decoded["grids"]["features"]
    }
    assert in_tile[to_grid] == grids2[to_grid]["households"]
    again = client.get(
        f"/tiles/grids/{z}/{x}/{y}.mvt", headers={**viewer, "If-None-Match": t.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    tj = client.get("/tiles/grids.json", headers=viewer).json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/tiles/grids/{z}/{x}/{y}.mvt")

    # compare, metrics, GeoPackage, audit
    cmp = client.get(f"/plans/{plan_id}/compare?a=1&b=2", headers=planner).json()
    assert cmp["buildings_changed"] >= 1 and any(
        b["building_id"] == building for b in cmp["buildings"]
    )
    metrics = client.get(f"/plans/{plan_id}/versions/2/metrics", headers=planner).json()
    assert metrics["metrics"]["n_grids"] == len(grids2)
    gpkg = client.get(f"/plans/{plan_id}/versions/2?f=gpkg", headers=planner)
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    actions = [e["action"] for e in client.get("/audit", headers=ADMIN).json()]
    for action in ("dataset.create", "job.create", "plan.create", "plan.edit", "plan.publish"):
        assert action in actions
    assert client.get("/audit", headers=planner).status_code == 403

    # coverage on the published plan, JSON and CSV
    cov = client.get("/coverage?level=grid&mode=line", headers=viewer)
    assert cov.status_code == 200 and cov.json()["count"] >= len(grids2)
    csv = client.get("/coverage?level=community&mode=line&f=csv", headers=viewer)
    assert (
        csv.headers["content-type"].startswith("text/csv") and "share" in csv.text.splitlines()[0]
    )


def test_ogc_core_paging(client: TestClient) -> None:
    ds = upload(client, DISTRICT)
    landing = client.get("/ogc").json()
    assert {link["rel"] for link in landing["links"]} >= {"service-desc", "conformance", "data"}
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    cols = client.get("/ogc/collections", headers=ADMIN).json()["collections"]
    assert {"streets", "communities", "compounds", "buildings", "stations"} <= {
        c["id"] for c in cols
    }
    n = client.get(f"/datasets/{ds}", headers=ADMIN).json()["layers"]["compounds"]
    url: str | None = "/ogc/collections/compounds/items?limit=40"
    ids: list[str] = []
    while url:
        page = client.get(url, headers=ADMIN).json()
        assert page["numberMatched"] == n and page["numberReturned"] == len(page["features"])
        ids += [f["id"] for f in page["features"]]
        url = next((lk["href"] for lk in page["links"] if lk["rel"] == "next"), None)
    assert len(ids) == len(set(ids)) == n
    big = client.get("/ogc/collections/buildings/items?limit=100000", headers=ADMIN).json()
    assert big["numberReturned"] == 1000  # server maximum
    first = big["features"][0]
    lon, lat = (
        first["geometry"]["coordinates"][0][0]
        if first["geometry"]["type"] == "Polygon"
        else first["geometry"]["coordinates"]
    )
    box = f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}"
    near = client.get(f"/ogc/collections/buildings/items?bbox={box}", headers=ADMIN).json()
    assert first["id"] in {f["id"] for f in near["features"]} and near["numberMatched"] < 20
