"""Resource exhaustion before authentication (issue 11, class 2), against a real server.

A raw socket sends chunked bodies (no Content-Length) to ``gridgen serve`` on loopback:
an anonymous or non-admin upload is answered 401/403 before its body is read, an admin's
upload beyond ``upload_limit_bytes`` and a JSON body beyond ``json_limit_bytes`` get 413
while they stream, and nothing of them is spooled to the service's temp folder. A tiny
GeoPackage whose buildings layer is a recursive view of 200,000 rows is refused (413) by
the row cap.
"""

from __future__ import annotations

import select
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import geopandas as gpd
import httpx
import pytest
from served import running_service

from gridgen.sample.district import sample_path

ADMIN = "limits-admin"
UPLOAD_LIMIT = 2_000_000
JSON_LIMIT = 100_000
CHUNK = b"x" * 65536


@dataclass(frozen=True)
class Server:
    base: str
    temp: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("limits")
    temp = tmp / "service-tmp"
    env = {
        "GRIDGEN_UPLOAD_LIMIT_BYTES": str(UPLOAD_LIMIT),
        "GRIDGEN_JSON_LIMIT_BYTES": str(JSON_LIMIT),
        "GRIDGEN_TEMP_DIR": str(temp),
    }
    with running_service(tmp / "limits.db", admin_key=ADMIN, env=env) as base:
        yield Server(base, temp)


def _chunked(
    base: str, path: str, headers: dict[str, str], *, max_bytes: int, first: bytes = b""
) -> tuple[int, int]:
    """Stream a chunked body (``first``, then filler) until the server answers.

    Returns the status and the number of body bytes sent.
    """
    url = urlparse(base)
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", "Transfer-Encoding: chunked"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sent = 0
    answer = b""
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        if first:
            sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        while sent < max_bytes:
            readable, _, _ = select.select([sock], [], [], 0.05 if sent else 2.0)
            if readable:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(CHUNK)
        sock.settimeout(30)
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else 0
    return status, sent


MULTIPART = {"Content-Type": "multipart/form-data; boundary=xyz"}
PART = (
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.gpkg"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)


def _spooled(temp: Path) -> int:
    if not temp.exists():
        return 0
    return sum(p.stat().st_size for p in temp.rglob("*") if p.is_file())


def test_anonymous_and_non_admin_uploads_refused_before_the_body(server: Server) -> None:
    status, sent = _chunked(server.base, "/datasets", MULTIPART, max_bytes=50_000_000)
    assert status == 401
    assert sent <= 8 * len(CHUNK)  # answered while the body was still coming
    with httpx.Client(base_url=server.base, headers={"X-API-Key": ADMIN}) as c:
        viewer = c.post("/keys", json={"name": "v", "role": "viewer"}).json()["secret"]
    status, sent = _chunked(
        server.base, "/datasets", {**MULTIPART, "X-API-Key": viewer}, max_bytes=50_000_000
    )
    assert status == 403
    assert sent <= 8 * len(CHUNK)
    status, _ = _chunked(server.base, "/keys", {"X-API-Key": "wrong"}, max_bytes=50_000_000)
    assert status == 401
    assert _spooled(server.temp) == 0


def test_chunked_bodies_are_capped_while_streaming(server: Server) -> None:
    admin = {"X-API-Key": ADMIN}
    status, sent = _chunked(
        server.base, "/datasets", {**MULTIPART, **admin}, max_bytes=300_000_000, first=PART
    )
    assert status == 413
    assert sent < 40_000_000  # the cap (2 MB) plus what the socket buffers absorbed
    assert _spooled(server.temp) <= UPLOAD_LIMIT
    json_headers = {"Content-Type": "application/json", **admin}
    status, sent = _chunked(
        server.base, "/keys", json_headers, max_bytes=300_000_000, first=b'{"name": "'
    )
    assert status == 413
    assert sent < 40_000_000
    # a declared Content-Length beyond the cap: 413 without sending the body at all
    url = urlparse(server.base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        head = (
            f"POST /keys HTTP/1.1\r\nHost: {url.netloc}\r\nX-API-Key: {ADMIN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
        )
        sock.sendall(head.encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")
    # the service still answers normally afterwards
    assert httpx.get(f"{server.base}/me", headers=admin).status_code == 200


def _recursive_view_gpkg(folder: Path, rows: int) -> Path:
    """Return a small GeoPackage whose buildings layer is a view expanding to ``rows`` rows."""
    src = sample_path() / "district.gpkg"
    out = folder / "bomb.gpkg"
    for layer in ("streets", "communities", "compounds"):
        gpd.read_file(src, layer=layer).to_file(out, layer=layer, driver="GPKG")
    one = gpd.read_file(src, layer="buildings").head(1)
    one.to_file(out, layer="seed", driver="GPKG")
    con = sqlite3.connect(out)
    cols = ", ".join(f'b."{c}"' for c in one.columns if c not in ("geometry", "building_id"))
    con.executescript(
        f"""
        CREATE VIEW buildings AS
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
          SELECT n.i AS fid, 'B' || n.i AS building_id, {cols}, b.geom AS geom
          FROM n, seed AS b;
        INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
          SELECT 'buildings', 'features', 'buildings', srs_id FROM gpkg_contents
          WHERE table_name = 'seed';
        INSERT INTO gpkg_geometry_columns
          SELECT 'buildings', 'geom', geometry_type_name, srs_id, z, m
          FROM gpkg_geometry_columns WHERE table_name = 'seed';
        """
    )
    con.commit()
    con.close()
    return out


def test_recursive_view_geopackage_hits_the_row_cap(server: Server, tmp_path: Path) -> None:
    import pyogrio

    bomb = _recursive_view_gpkg(tmp_path, 200_000)
    assert bomb.stat().st_size < UPLOAD_LIMIT
    assert pyogrio.read_info(bomb, layer="buildings")["features"] == 200_000  # the attack works
    with httpx.Client(base_url=server.base, headers={"X-API-Key": ADMIN}, timeout=120) as c:
        with bomb.open("rb") as fh:
            r = c.post("/datasets", files={"file": ("bomb.gpkg", fh)})
        assert r.status_code == 413, r.text
        assert "150000 rows" in r.json()["detail"] and "buildings" in r.json()["detail"]
        assert c.get("/datasets").json() == []
