"""Existing grids through the service: import a layer as a plan, audit, rebalance job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from job_helpers import wait_job
from partition_helpers import UTM49, at, block_community
from shapely.geometry import box

from api.app import create_app
from api.settings import Settings
from gridgen.io.write import write_dataset

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def client(database: tuple[str, str | None]) -> Iterator[TestClient]:
    url, schema = database
    settings = Settings(
        database_url=url, database_schema=schema, admin_key=ADMIN_KEY, upload_limit_bytes=2_000_000
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_import_audit_rebalance(client: TestClient, tmp_path: Path) -> None:
    r = client.post("/keys", json={"name": "p", "role": "planner"}, headers=ADMIN)
    planner = {"X-API-Key": r.json()["secret"]}
    data = write_dataset(block_community(np.array([[150, 150, 161, 150]])), tmp_path / "d.gpkg")
    with data.open("rb") as fh:
        r = client.post("/datasets", files={"file": ("d.gpkg", fh)}, headers=ADMIN)
    assert r.status_code == 201, r.text
    ds = r.json()["id"]
    grids = gpd.GeoDataFrame(
        {"网格编码": ["G1", "G2"]},
        geometry=[at(box(0, 0, 310, 140)), at(box(310, 0, 500, 140))],
        crs=UTM49,
    ).to_crs(4326)
    grids.to_file(tmp_path / "g.geojson", driver="GeoJSON")
    with (tmp_path / "g.geojson").open("rb") as fh:
        r = client.post(
            f"/datasets/{ds}/grids",
            files={"file": ("g.geojson", fh)},
            data={"band": "240,360"},
            headers=planner,
        )
    assert r.status_code == 201, r.text
    plan_id = r.json()["plan_id"]
    assert r.json()["audit"]["split_compound"] == 1
    audit = client.get(f"/plans/{plan_id}/versions/1/audit", headers=planner).json()
    assert audit["summary"]["split_compound"] == 1  # version 1 is the layer as imported
    layer = client.get(f"/plans/{plan_id}/versions/1/audit?f=geojson", headers=planner).json()
    assert [f["properties"]["finding"] for f in layer["features"]] == ["split_compound"]
    r = client.post(f"/plans/{plan_id}/edits/rebalance", json={"base_version": 1}, headers=planner)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"], headers=planner)
    assert job["status"] == "done", job
    assert job["result"]["version"] == 2 and job["result"]["codes_kept"] == 2
    after = client.get(f"/plans/{plan_id}/versions/2/audit", headers=planner).json()
    assert after["summary"]["split_compound"] == 0 and after["summary"]["out_of_band"] == 0
    stale = client.post(
        f"/plans/{plan_id}/edits/rebalance", json={"base_version": 1}, headers=planner
    )
    assert stale.status_code == 409
    bad = tmp_path / "g.txt"
    bad.write_text("x")
    with bad.open("rb") as fh:
        r = client.post(f"/datasets/{ds}/grids", files={"file": ("g.txt", fh)}, headers=planner)
    assert r.status_code == 422 and "grid layer" in r.text
    with (tmp_path / "g.geojson").open("rb") as fh:
        r = client.post(
            f"/datasets/{ds}/grids",
            files={"file": ("g.geojson", fh)},
            data={"band": "240-360"},
            headers=planner,
        )
    assert r.status_code == 422 and "band '240-360' must be two whole numbers" in r.text
