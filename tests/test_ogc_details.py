"""OGC API – Features details: unknown parameters, OpenAPI 3.0, media types, ETags, HEAD, gzip."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from job_helpers import finished_job

from api.app import create_app
from api.fields import FIELD_DESCRIPTIONS, etag_matches
from api.settings import Settings
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("ogc") / "g.db"
    settings = Settings(database_url=f"sqlite:///{db}", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        path = sample_path() / "district.gpkg"
        with Path(path).open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)}, headers=ADMIN)
        assert r.status_code == 201, r.text
        ids = sorted(r.json()["layers"])  # noqa: F841 - the upload answer lists the layers
        job = c.post("/plans", json={"dataset_id": r.json()["id"]}, headers=ADMIN).json()
        job = finished_job(c, job["id"], headers=ADMIN, timeout_s=60)
        plan_id = job["result"]["plan_id"]
        assert c.post(f"/plans/{plan_id}/versions/1/publish", headers=ADMIN).status_code == 200
        yield c


def test_unknown_query_parameter_is_400_naming_it(client: TestClient) -> None:
    r = client.get("/ogc/collections/stations/items?limit=2&colour=red", headers=ADMIN)
    assert r.status_code == 400
    assert "colour" in r.json()["detail"]
    r = client.get("/ogc/collections/stations/items?limit=2&offset=1", headers=ADMIN)
    assert r.status_code == 200 and r.json()["numberReturned"] == 2
    sid = r.json()["features"][0]["id"]
    assert (
        client.get(f"/ogc/collections/stations/items/{sid}?x=1", headers=ADMIN).status_code == 400
    )
    assert client.get(f"/ogc/collections/stations/items/{sid}", headers=ADMIN).status_code == 200


def test_openapi_document_is_3_0_and_items_are_geojson_with_errors(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.0")
    text = str(doc)
    assert "'type': 'null'" not in text and "'const'" not in text
    items = doc["paths"]["/ogc/collections/{collection_id}/items"]["get"]["responses"]
    assert "application/geo+json" in items["200"]["content"]
    assert "application/json" not in items["200"]["content"]
    assert {"400", "404"} <= set(items)
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/oas30") for c in conf)
    r = client.get("/ogc/collections/grids/items?limit=1", headers=ADMIN)
    assert r.headers["content-type"].startswith("application/geo+json")


def test_collections_declare_one_geometry_type(client: TestClient) -> None:
    cols = {c["id"]: c for c in client.get("/ogc/collections", headers=ADMIN).json()["collections"]}
    assert cols["buildings"]["geometryType"] == "Polygon"
    assert cols["building_points"]["geometryType"] == "Point"
    for cid, kind in (("buildings", "Polygon"), ("building_points", "Point"), ("grids", "Polygon")):
        feats = client.get(f"/ogc/collections/{cid}/items?limit=2000", headers=ADMIN).json()
        types = {f["geometry"]["type"] for f in feats["features"]}
        assert types == {kind}, cid
    n_fp = client.get("/ogc/collections/buildings/items?limit=1", headers=ADMIN).json()
    n_pt = client.get("/ogc/collections/building_points/items?limit=1", headers=ADMIN).json()
    assert n_fp["numberMatched"] + n_pt["numberMatched"] == 1151  # nothing dropped
    assert n_pt["numberMatched"] == 7


def test_tilejson_fields_are_every_key_the_tiles_carry(client: TestClient) -> None:
    tj = client.get("/tiles/grids.json", headers=ADMIN).json()
    fields = tj["vector_layers"][0]["fields"]
    for key in ("grid_id", "households", "deviation", "in_band", "polsby_popper"):
        assert key in fields
    assert all(desc != key and len(desc) > len(key) for key, desc in fields.items())
    assert fields["deviation"] == FIELD_DESCRIPTIONS["deviation"]
    r = client.post("/keys", json={"name": "v", "role": "viewer"}, headers=ADMIN)
    viewer = {"X-API-Key": r.json()["secret"]} if "secret" in r.json() else {}
    viewer_tj = client.get("/tiles/buildings.json", headers=viewer).json()
    assert "leader_phone" not in viewer_tj["vector_layers"][0]["fields"]


def center_tile(client: TestClient) -> str:
    """Return the path of the z14 grids tile at the centre of the district."""
    tj = client.get("/tiles/grids.json", headers=ADMIN).json()
    lon, lat = tj["center"][:2]
    z = 14
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"tiles/grids/{z}/{x}/{y}.mvt"


def test_weak_etag_star_and_head_on_tiles(client: TestClient) -> None:
    path = center_tile(client)
    r = client.get(f"/{path}", headers=ADMIN)
    assert r.status_code == 200 and r.content
    etag = r.headers["etag"]
    opaque = etag[2:] if etag.startswith("W/") else etag
    for header in (etag, f"W/{opaque}", "*", f'"nope", {opaque}'):
        assert client.get(f"/{path}", headers={**ADMIN, "If-None-Match": header}).status_code == 304
    assert client.get(f"/{path}", headers={**ADMIN, "If-None-Match": '"x"'}).status_code == 200
    head = client.head(f"/{path}", headers=ADMIN)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag
    assert client.head("/ogc/collections/grids/items?limit=1", headers=ADMIN).status_code == 200


def test_geojson_and_tiles_are_gzipped_when_accepted(client: TestClient) -> None:
    r = client.get(
        "/ogc/collections/grids/items?limit=50",
        headers={**ADMIN, "Accept-Encoding": "gzip"},
    )
    assert r.headers.get("content-encoding") == "gzip"
    assert r.json()["numberReturned"] == 50  # httpx decodes it
    plain = client.get(
        "/ogc/collections/grids/items?limit=50", headers={**ADMIN, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    path = center_tile(client)
    tile = client.get(f"/{path}", headers={**ADMIN, "Accept-Encoding": "gzip"})
    assert tile.headers.get("content-encoding") == "gzip"
    identity = client.get(f"/{path}", headers={**ADMIN, "Accept-Encoding": "identity"})
    assert tile.content == identity.content  # decoded by the client, same tile
    assert int(tile.headers["content-length"]) < len(identity.content)


def test_etag_matching_rules() -> None:
    assert etag_matches('W/"a"', '"a"') and etag_matches('"a"', 'W/"a"')
    assert etag_matches("*", '"a"') and etag_matches(' "b" , "a"', '"a"')
    assert not etag_matches(None, '"a"') and not etag_matches('"b"', '"a"')


def test_tile_polygons_made_invalid_by_the_grid_are_repaired() -> None:
    import numpy as np
    import shapely

    from api.tile_grid import valid_on_grid

    # a thin spike whose two sides cross once rounded to whole tile units
    bow = shapely.Polygon([(0, 0), (10, 0), (10, 10), (6, 4), (4, 6), (0, 10)])
    touching = shapely.Polygon([(0, 0), (4, 0), (2, 2), (4, 4), (0, 4), (2, 2)])
    geoms = np.array([bow, touching, shapely.Point(1, 1)], dtype=object)
    assert not shapely.is_valid(touching)
    out = valid_on_grid(geoms)
    assert shapely.is_valid(out).all()
    assert out[0] is bow  # valid ones untouched
    assert shapely.area(out[1]) == 8.0
