"""Restricted columns (leader_phone, key_persons) never reach a role without access, in any output.

The hand-made dataset gives every building the phone 13800000000 and key_persons 1, in
two communities (C1, C2). Each output is fetched by every role; the raw bytes of what a
role without access receives must not hold the phone, nor the column names.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from handmade import raw_layers

from api.app import create_app
from api.settings import Settings

ADMIN = {"X-API-Key": ADMIN_KEY}
PHONE = b"13800000000"


@pytest.fixture
def served(
    database: tuple[str, str | None], tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    url, schema = database
    settings = Settings(
        database_url=url, database_schema=schema, admin_key=ADMIN_KEY, anonymous_role="viewer"
    )
    gpkg = tmp_path / "hand.gpkg"
    for name, frame in raw_layers().items():
        if "geometry" in frame.columns:
            frame.to_file(gpkg, layer=name, driver="GPKG")
    with TestClient(create_app(settings)) as client:
        with gpkg.open("rb") as fh:
            r = client.post("/datasets", files={"file": ("hand.gpkg", fh)}, headers=ADMIN)
        assert r.status_code == 201, r.text
        headers = {"admin": ADMIN, "anonymous": {}}
        for role, community in (("viewer", None), ("planner", None), ("grid_worker", "C1")):
            r = client.post(
                "/keys", json={"name": role, "role": role, "community_id": community}, headers=ADMIN
            )
            headers[role] = {"Authorization": f"Bearer {r.json()['secret']}"}
        yield client, headers


def _tile(lon: float, lat: float, z: int) -> str:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{x}/{y}"


def _outputs(client: TestClient) -> dict[str, str]:
    bounds = client.get("/tiles/buildings.json", headers=ADMIN).json()["bounds"]
    t = _tile((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 12)
    return {
        "features": "/ogc/collections/buildings/items",
        "feature": "/ogc/collections/buildings/items/B1",
        "uncovered": "/ogc/collections/uncovered_buildings/items",
        "tile": f"/tiles/buildings/{t}.mvt",
        "tile_uncovered": f"/tiles/uncovered_buildings/{t}.mvt",
        "tilejson": "/tiles/buildings.json",
        "coverage_csv": "/coverage?level=community&f=csv",
        "coverage_json": "/coverage?level=community&f=json",
        "sheet_html": "/sheets/K1.html",
        "sheet_pdf": "/sheets/K1.pdf",
    }


def _text(path: str, content: bytes) -> bytes:
    """Return the text of a PDF (pdftotext) or the bytes of anything else."""
    if not path.endswith(".pdf") or shutil.which("pdftotext") is None:
        return content
    run = subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True)
    return run.stdout


def _buildings(
    client: TestClient, path: str, headers: dict[str, str]
) -> dict[str, dict[str, object]]:
    r = client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    if path.endswith(".mvt"):
        layer = next(iter(mapbox_vector_tile.decode(r.content).values()))
        return {f["properties"]["building_id"]: f["properties"] for f in layer["features"]}
    return {f["id"]: f["properties"] for f in r.json()["features"]}


@pytest.mark.parametrize("role", ["anonymous", "viewer", "planner"])
def test_no_restricted_columns_without_access(served: tuple[TestClient, dict], role: str) -> None:
    client, headers = served
    for name, path in _outputs(client).items():
        r = client.get(path, headers=headers[role])
        assert r.status_code == 200, (name, r.text)
        assert PHONE not in _text(path, r.content), name
        assert b"leader_phone" not in r.content and b"key_persons" not in r.content, name
    # building-level rows are not aggregates: viewers are refused, planners get no restricted data
    r = client.get("/coverage?level=building&f=csv", headers=headers[role])
    if role == "planner":
        assert r.status_code == 200 and PHONE not in r.content and b"leader_phone" not in r.content
    else:
        assert r.status_code == 403 and "level=building" in r.json()["detail"]


def test_admin_sees_restricted_everywhere(served: tuple[TestClient, dict]) -> None:
    client, headers = served
    out = _outputs(client)
    for name in ("features", "tile", "uncovered", "tile_uncovered"):
        props = _buildings(client, out[name], headers["admin"])
        assert props and all(p["leader_phone"] == "13800000000" for p in props.values()), name
    assert client.get(out["feature"], headers=ADMIN).json()["properties"]["key_persons"] == 1
    assert PHONE in client.get(out["sheet_html"], headers=ADMIN).content
    pdf = client.get(out["sheet_pdf"], headers=ADMIN).content
    if shutil.which("pdftotext"):
        assert PHONE in _text(".pdf", pdf)


def test_grid_worker_sees_own_community_only(served: tuple[TestClient, dict]) -> None:
    client, headers = served
    out = _outputs(client)
    for name in ("features", "tile"):
        props = _buildings(client, out[name], headers["grid_worker"])
        own = {b: p for b, p in props.items() if p["community_id"] == "C1"}
        other = {b: p for b, p in props.items() if p["community_id"] != "C1"}
        assert own and other, name
        assert all(p["key_persons"] == 1 for p in own.values()), name
        assert all("leader_phone" not in p and "key_persons" not in p for p in other.values()), name
    rows = client.get("/coverage?level=building&f=json", headers=headers["grid_worker"]).json()[
        "rows"
    ]
    assert rows and {r["community_id"] for r in rows} == {"C1"}
