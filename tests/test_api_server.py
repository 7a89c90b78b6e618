"""The real server process (``python -m gridgen_cli.cmd_serve``, uvicorn) on loopback, over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
from served import running_service

from gridgen.sample.district import sample_path


def test_real_server_over_http(tmp_path: Path) -> None:
    key = {"X-API-Key": "server-admin"}
    with (
        running_service(tmp_path / "served.db", admin_key="server-admin") as base,
        httpx.Client(base_url=base, headers=key, timeout=60) as c,
    ):
        assert c.get("/docs").status_code == 200
        assert "/ogc/collections/{collection_id}/items" in c.get("/openapi.json").json()["paths"]
        with (sample_path() / "district.gpkg").open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)})
        assert r.status_code == 201, r.text
        page = c.get("/ogc/collections/stations/items?limit=5").json()
        assert (
            page["numberReturned"] == 5 and page["numberMatched"] == r.json()["layers"]["stations"]
        )
        assert (
            c.get("/ogc/collections/stations/items", headers={"X-API-Key": "x"}).status_code == 401
        )
        page = c.get("/")
        assert page.status_code == 200
        # the viewer's default station radius is the service's, not a literal in the page
        assert '<meta name="gridgen-radius" content="500">' in page.text
    assert (tmp_path / "served.db").exists()
