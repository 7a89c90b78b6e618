"""``GET /reports/governance`` on both back ends: formats, change since a dataset, roles."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from handmade import raw_layers
from job_helpers import finished_job

from api.app import create_app
from api.settings import Settings
from gridgen.io.write import write_frames

ADMIN = {"X-API-Key": ADMIN_KEY}
PHONE = "13800000000"


def _upload(client: TestClient, path: Path) -> str:
    with path.open("rb") as fh:
        r = client.post("/datasets", files={"file": (path.name, fh)}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def served(database: tuple[str, str | None], tmp_path: Path) -> Iterator[tuple[TestClient, dict]]:
    """Two snapshots of the hand-made dataset: K2 gets property management in the second."""
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    layers = raw_layers()
    old = write_frames(layers, tmp_path / "old.gpkg")
    layers["compounds"].loc[layers["compounds"]["compound_id"] == "K2", "property_mode"] = "subsidy"
    new = write_frames(layers, tmp_path / "new.gpkg")
    with TestClient(create_app(settings)) as client:
        ids = {"old": _upload(client, old), "new": _upload(client, new)}
        for role in ("viewer", "planner"):
            r = client.post("/keys", json={"name": role, "role": role}, headers=ADMIN)
            ids[role] = r.json()["secret"]
        yield client, ids


def test_report_formats_and_changes_for_a_viewer(served: tuple[TestClient, dict]) -> None:
    client, ids = served
    viewer = {"X-API-Key": ids["viewer"]}
    path = f"/reports/governance?dataset={ids['new']}&before={ids['old']}&radius=500"
    r = client.get(path + "&f=json", headers=viewer)
    assert r.status_code == 200, r.text
    doc = r.json()
    d = doc["district"]
    assert d["households"]["value"] == 165  # 30 + 40 + 55 + 12 + 8 + 20
    assert d["compounds"]["value"] == 3 and d["no_property_compounds"]["value"] == 0
    assert d["companies_with_party_org"] == {
        "value": 1,
        "numerator": 1,
        "denominator": 2,
        "share": 0.5,
    }
    assert d["grids"]["value"] == 0  # no published plan
    assert {c["id"] for c in doc["communities"]} == {"C1", "C2"}
    elim = doc["changes"]["district"]["no_property_compounds_eliminated"]
    assert elim == {"count": 1, "denominator": 1, "share": 1.0}
    assert doc["changes"]["district"]["compounds_with_property"]["difference"] == 1
    for f in ("json", "xlsx", "html"):
        r = client.get(f"{path}&f={f}", headers=viewer)
        assert r.status_code == 200, (f, r.text)
        text = r.text if f != "xlsx" else _xlsx_text(r.content)
        assert PHONE not in text and "leader_phone" not in text and "key_persons" not in text
    html = client.get(path + "&f=html", headers=viewer)
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    xlsx = client.get(path + "&f=xlsx", headers=viewer)
    assert "spreadsheetml" in xlsx.headers["content-type"]
    assert "已消除的无物业小区" in _xlsx_text(xlsx.content)


def _xlsx_text(content: bytes) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content))
    return "\n".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )


def test_viewer_cannot_read_a_draft_plan_report(served: tuple[TestClient, dict]) -> None:
    client, ids = served
    planner = {"X-API-Key": ids["planner"]}
    r = client.post("/plans", json={"dataset_id": ids["new"], "target": 60}, headers=planner)
    assert r.status_code == 202, r.text
    job = finished_job(client, r.json()["id"], headers=planner, timeout_s=60)
    plan_id = job["result"]["plan_id"]
    path = f"/reports/governance?dataset={ids['new']}&plan_id={plan_id}"
    draft = client.get(path, headers=planner)
    assert draft.status_code == 200 and draft.json()["district"]["grids"]["value"] > 0
    refused = client.get(path, headers={"X-API-Key": ids["viewer"]})
    assert refused.status_code == 403 and "not published" in refused.json()["detail"]


def test_unknown_format_and_dataset(served: tuple[TestClient, dict]) -> None:
    client, _ids = served
    r = client.get("/reports/governance?f=pdf", headers=ADMIN)
    assert r.status_code == 400 and "f" in r.json()["detail"]
    r = client.get("/reports/governance?before=nope", headers=ADMIN)
    assert r.status_code == 404


def test_ledger_upload_makes_a_new_dataset(served: tuple[TestClient, dict]) -> None:
    client, ids = served
    csv = "楼栋编号,户数,楼栋长\nB1,35,王五\nB2,40,\n".encode("gbk")
    url = f"/datasets/{ids['new']}/ledger"
    viewer = client.post(
        url, files={"file": ("台账.csv", csv)}, headers={"X-API-Key": ids["viewer"]}
    )
    assert viewer.status_code == 403
    r = client.post(url, files={"file": ("台账.csv", csv)}, headers=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["matched"], body["changed"], body["unmatched_layer"]) == (2, 1, 4)
    assert body["columns"] == ["households", "leader_name"]
    new_id = body["dataset"]["id"]
    doc = client.get(f"/reports/governance?dataset={new_id}", headers=ADMIN).json()
    assert doc["district"]["households"]["value"] == 170  # B1: 30 -> 35
    count = len(client.get("/datasets", headers=ADMIN).json())
    bad = "楼栋编号,户数\nB1,35\nB1,36\n".encode("gbk")
    r = client.post(url, files={"file": ("bad.csv", bad)}, headers=ADMIN)
    assert (
        r.status_code == 422 and "rows 2, 3: the same id more than once (B1)" in r.json()["detail"]
    )
    r = client.post(url, files={"file": ("bad.txt", b"x")}, headers=ADMIN)
    assert r.status_code == 415
    assert len(client.get("/datasets", headers=ADMIN).json()) == count
