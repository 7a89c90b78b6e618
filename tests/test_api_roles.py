"""Restricted columns (leader_phone, key_persons) never reach a role without access, in any output.

The hand-made dataset gives every building the phone 13800000000 and key_persons 1, in
two communities (C1, C2). Each output is fetched by every role; the raw bytes of what a
role without access receives must not hold the phone, nor the column names.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import pandas as pd
import pytest
from clients import have_client
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from handmade import frame as utm_frame
from handmade import local_box, raw_layers

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
    if not path.endswith(".pdf") or not have_client("poppler"):
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
    if have_client("poppler"):
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


def _two_streets() -> dict[str, gpd.GeoDataFrame]:
    """Return the hand-made layers plus street S2 with community C3 (compound K4, building B7)."""
    layers = raw_layers()
    extra = {
        "streets": {"street_id": "S2", "name": "西街道", "geometry": local_box(2000, 0, 3e3, 1e3)},
        "communities": {
            "community_id": "C3",
            "name": "三社区",
            "street_id": "S2",
            "geometry": local_box(2000, 0, 3000, 1000),
        },
        "compounds": {
            "compound_id": "K4",
            "name": "丁小区",
            "property_mode": "company",
            "property_company_id": "P1",
            "party_branch": True,
            "geometry": local_box(2100, 100, 2400, 400),
        },
        "buildings": {
            **layers["buildings"].drop(columns="geometry").iloc[0].to_dict(),
            "building_id": "B7",
            "compound_id": "K4",
            "leader_name": "楼长B7",
            "geometry": local_box(2150, 150, 2200, 200),
        },
    }
    for name, row in extra.items():
        layers[name] = pd.concat([layers[name], utm_frame([row])], ignore_index=True)
    return layers


@pytest.fixture
def streets_served(
    database: tuple[str, str | None], tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    gpkg = tmp_path / "streets.gpkg"
    for name, layer in _two_streets().items():
        if "geometry" in layer.columns:
            layer.to_file(gpkg, layer=name, driver="GPKG")
    with TestClient(create_app(settings)) as client:
        with gpkg.open("rb") as fh:
            r = client.post("/datasets", files={"file": ("streets.gpkg", fh)}, headers=ADMIN)
        assert r.status_code == 201, r.text
        headers = {"admin": ADMIN}
        keys = {
            "viewer": {"role": "viewer"},
            "c3": {"role": "grid_worker", "community_id": "C3"},
            "s1": {"role": "grid_worker", "street_id": "S1"},
            "s2": {"role": "grid_worker", "street_id": "S2"},
        }
        for name, body in keys.items():
            r = client.post("/keys", json={"name": name, **body}, headers=ADMIN)
            assert r.status_code == 201, r.text
            assert r.json()["street_id"] == body.get("street_id"), r.text
            headers[name] = {"X-API-Key": r.json()["secret"]}
        yield client, headers


def _phones(client: TestClient, path: str, headers: dict[str, str]) -> set[str]:
    """Return the buildings whose restricted columns ``headers``' caller gets at ``path``."""
    props = _buildings(client, path, headers)
    assert props, path
    return {b for b, p in props.items() if p.get("leader_phone") == "13800000000"}


def test_street_grid_worker_sees_its_streets_communities_only(
    streets_served: tuple[TestClient, dict],
) -> None:
    client, h = streets_served
    assert client.get("/me", headers=h["s1"]).json()["street_id"] == "S1"
    out = _outputs(client)
    # S1 = C1 + C2 (B1-B6), S2 = C3 (B7); a street's worker sees as C3's worker does
    for name in ("features", "tile", "uncovered", "tile_uncovered"):
        everyone = set(_buildings(client, out[name], h["admin"]))
        s1 = _phones(client, out[name], h["s1"])
        s2 = _phones(client, out[name], h["s2"])
        assert s1 == everyone - {"B7"} and s2 == everyone & {"B7"}, name
        assert s2 == _phones(client, out[name], h["c3"]), name
    b1, b7 = "/ogc/collections/buildings/items/B1", "/ogc/collections/buildings/items/B7"
    assert client.get(b1, headers=h["s1"]).json()["properties"]["key_persons"] == 1
    assert "key_persons" not in client.get(b1, headers=h["s2"]).json()["properties"]
    assert client.get(b7, headers=h["s2"]).json()["properties"]["leader_phone"] == "13800000000"
    assert "leader_phone" not in client.get(b7, headers=h["s1"]).json()["properties"]
    # building rows: those of its street's communities only (as a community's worker)
    for key, communities in (("s1", {"C1", "C2"}), ("s2", {"C3"}), ("c3", {"C3"})):
        rows = client.get("/coverage?level=building&f=json", headers=h[key]).json()["rows"]
        assert {r["community_id"] for r in rows} == communities, key
        csv = client.get("/coverage?level=building&f=csv", headers=h[key]).text
        assert len(csv.strip().splitlines()) == len(rows) + 1, key
        assert all(c in csv for c in communities) and ("C3" in csv) is (key != "s1"), key
    for path in ("/coverage?level=community&f=csv", "/coverage?level=community&f=json"):
        assert PHONE not in client.get(path, headers=h["s1"]).content


def test_street_grid_worker_sheets_and_reports(streets_served: tuple[TestClient, dict]) -> None:
    client, h = streets_served
    # K1 lies in C1 (street S1), K4 in C3 (street S2)
    for fmt in ("html", "pdf"):
        for key, sheet, shown in (("s1", "K1", True), ("s1", "K4", False), ("s2", "K4", True),
                                  ("s2", "K1", False), ("c3", "K4", True)):  # fmt: skip
            r = client.get(f"/sheets/{sheet}.{fmt}", headers=h[key])
            assert r.status_code == 200, r.text
            assert (PHONE in _text(f".{fmt}", r.content)) is shown, (key, sheet, fmt)
            assert ("private" in r.headers.get("cache-control", "")) is shown, (key, sheet)
    # the PNG carries what the community's own worker sees, not what a viewer sees
    png = {k: client.get("/sheets/K4.png", headers=h[k]).content for k in ("s2", "c3", "viewer")}
    assert png["s2"] == png["c3"] != png["viewer"]
    # reports never repeat a restricted value to a grid worker (the validation report: 403)
    (dataset,) = [d["id"] for d in client.get("/datasets", headers=ADMIN).json()]
    for path in (
        f"/datasets/{dataset}/report",
        "/reports/governance?f=json",
        "/reports/governance?f=html",
    ):
        as_community = client.get(path, headers=h["c3"]).status_code
        for key in ("s1", "s2"):
            r = client.get(path, headers=h[key])
            assert r.status_code == as_community, (path, r.text)  # the report: 403 for both
            assert PHONE not in r.content, (path, key)
