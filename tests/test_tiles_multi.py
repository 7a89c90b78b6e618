"""One tile request for several layers (``/tiles/a,b/{z}/{x}/{y}.mvt``), as the viewer asks:
the same features as the single-layer tiles, each in its own MVT layer, with the same access
rules (restricted columns only for roles allowed to see them), an ETag and clear 400s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.tiles import MAX_LAYERS
from api.settings import Settings
from api.tile_encoder import HALF
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def client(database: tuple[str, str | None]) -> Iterator[TestClient]:
    """A service on each store back end (ST_AsMVT tiles in PostGIS) with the sample district."""
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        with Path(sample_path() / "district.gpkg").open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)}, headers=ADMIN)
        assert r.status_code == 201, r.text
        yield c


def _tile_of(c: TestClient) -> tuple[int, int, int]:
    """Return the z15 tile holding the middle of the sample district's buildings."""
    import math

    b = c.get("/tiles/buildings.json", headers=ADMIN).json()["bounds"]
    lon, lat = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    x = (lon * math.pi / 180) * 6378137.0
    y = math.log(math.tan(math.pi / 4 + lat * math.pi / 360)) * 6378137.0
    n = 1 << 15
    return 15, int((x + HALF) / (2 * HALF) * n), int((HALF - y) / (2 * HALF) * n)


def _features(data: bytes) -> dict[str, list[Any]]:
    return {k: v["features"] for k, v in mapbox_vector_tile.decode(data).items()}


def test_one_request_holds_each_layer_as_its_single_tile(client: TestClient) -> None:
    z, x, y = _tile_of(client)
    names = ["communities", "compounds", "buildings", "stations"]
    one = {
        n: _features(client.get(f"/tiles/{n}/{z}/{x}/{y}.mvt", headers=ADMIN).content)
        for n in names
    }
    r = client.get(f"/tiles/{','.join(names)}/{z}/{x}/{y}.mvt", headers=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.mapbox-vector-tile"
    )
    multi = _features(r.content)
    assert set(multi) == {n for n in names if one[n].get(n)}
    assert len(multi["buildings"]) > 10 and multi["compounds"] and multi["communities"]
    for n in multi:
        assert multi[n] == one[n][n]
    # ETag and 304 as for one layer
    again = client.get(
        f"/tiles/{','.join(names)}/{z}/{x}/{y}.mvt",
        headers={**ADMIN, "If-None-Match": r.headers["etag"]},
    )
    assert again.status_code == 304


def test_restricted_columns_follow_the_role_in_a_multi_layer_tile(client: TestClient) -> None:
    z, x, y = _tile_of(client)
    key = client.post("/keys", json={"name": "v", "role": "viewer"}, headers=ADMIN).json()
    viewer = {"X-API-Key": key["secret"]}
    url = f"/tiles/compounds,buildings,building_points/{z}/{x}/{y}.mvt"
    admin_tile = _features(client.get(url, headers=ADMIN).content)
    assert any("leader_phone" in f["properties"] for f in admin_tile["buildings"])
    r = client.get(url, headers=viewer)
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    assert b"leader_phone" not in r.content and b"key_persons" not in r.content
    assert len(_features(r.content)["buildings"]) == len(admin_tile["buildings"])


def test_bad_layer_lists_are_clear_errors(client: TestClient) -> None:
    too_many = ",".join(["roads"] + [f"l{i}" for i in range(MAX_LAYERS)])
    for layers, status in (("buildings,buildings", 400), (too_many, 400), ("roads,nope", 404)):
        r = client.get(f"/tiles/{layers}/15/0/0.mvt", headers=ADMIN)
        assert r.status_code == status, r.text
        assert "layer" in r.json()["detail"] or "collection" in r.json()["detail"]


def test_one_failing_layer_never_removes_the_others(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    z, x, y = _tile_of(client)
    store = client.app.state.gridgen.store  # type: ignore[attr-defined]
    real = store.tile_async

    async def roads_fail(key: str, *args: Any, layer: str, **kw: Any) -> bytes:
        if layer == "roads":
            raise RuntimeError("TopologyException: unable to assign free hole to a shell")
        data: bytes = await real(key, *args, layer=layer, **kw)
        return data

    monkeypatch.setattr(store, "tile_async", roads_fail)
    url = f"/tiles/communities,roads,compounds/{z}/{x}/{y}.mvt"
    r = client.get(url, headers=ADMIN)
    assert r.status_code == 200
    assert r.headers["x-gridgen-tile-errors"] == "roads"
    assert r.headers["cache-control"] == "no-store"
    assert set(_features(r.content)) == {"communities", "compounds"}
    assert "roads 15/" in caplog.text and "could not be made" in caplog.text
    alone = client.get(f"/tiles/roads/{z}/{x}/{y}.mvt", headers=ADMIN)
    assert alone.status_code == 200 and alone.content == b""
    monkeypatch.setattr(store, "tile_async", real)  # the failure was not cached
    r = client.get(url, headers=ADMIN)
    assert "x-gridgen-tile-errors" not in r.headers
    assert set(_features(r.content)) == {"communities", "compounds", "roads"}
