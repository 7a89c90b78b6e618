"""The real server process (``python -m gridgen_cli.cmd_serve``, uvicorn) on loopback, over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gridgen.sample import sample_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_server_over_http(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "GRIDGEN_ADMIN_KEY": "server-admin"}
    cmd = [
        sys.executable, "-m", "gridgen_cli.cmd_serve",
        "--port", str(port), "--database", f"sqlite:///{tmp_path}/served.db",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/ogc/conformance", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        with httpx.Client(base_url=base, headers={"X-API-Key": "server-admin"}, timeout=60) as c:
            assert c.get("/docs").status_code == 200
            assert (
                "/ogc/collections/{collection_id}/items" in c.get("/openapi.json").json()["paths"]
            )
            with (sample_path() / "district.gpkg").open("rb") as fh:
                r = c.post("/datasets", files={"file": ("district.gpkg", fh)})
            assert r.status_code == 201, r.text
            page = c.get("/ogc/collections/stations/items?limit=5").json()
            assert (
                page["numberReturned"] == 5
                and page["numberMatched"] == r.json()["layers"]["stations"]
            )
            assert (
                c.get("/ogc/collections/stations/items", headers={"X-API-Key": "x"}).status_code
                == 401
            )
            assert c.get("/").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert (tmp_path / "served.db").exists()
