"""Cities of ≥ 250k households served by the real service, built once per test session.

Two cities built differently: ``grid``, ``make_city(households=260_000)`` (the sample
district's generator scaled: communities on a lattice), and ``walled``, engine's
``make_walled_city()`` (273k households in walled compounds inside an irregular road net,
communities in pieces, built like a real district). Each is validated and written to a
GeoPackage, uploaded to ``gridgen serve`` (embedded store, loopback), partitioned through
the API (a job) and its plan published. The store file is made once per session (in the
session's base temporary folder, which every module of the session shares) and every user
serves a copy of it, so the tests that need a big city pay for it once.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from served import running_service

ADMIN = "big-city-admin"
HOUSEHOLDS = 260_000


@dataclass(frozen=True)
class City:
    """A served big city: URL, plan, its communities and the bounds of the data (WGS84)."""

    base: str
    plan_id: str
    communities: list[str]
    bounds: tuple[float, float, float, float]
    households: int


def wait_job(c: httpx.Client, job_id: str, *, timeout_s: float = 600.0) -> dict[str, Any]:
    """Return the finished job (asserting it is done)."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = dict(c.get(f"/jobs/{job_id}").json())
        if job["status"] in ("done", "failed"):
            assert job["status"] == "done", job
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def _city_gpkg(folder: Path, kind: str) -> Path:
    from gridgen.io.write import write_dataset
    from gridgen.sample.district import make_city
    from gridgen.sample.walled import make_walled_city
    from gridgen.validate.layers import validate_layers

    path = folder / f"{kind}.gpkg"
    raw = make_city(households=HOUSEHOLDS, seed=1) if kind == "grid" else make_walled_city()
    write_dataset(validate_layers(raw, source=kind), path)
    return path


def build_city_store(root: Path, kind: str = "walled") -> Path:
    """Return a store file holding the city ``kind`` (grid, walled) and its published plan.

    Made once in ``root / kind``; later calls with the same folder return it.
    """
    folder = root / kind
    db = folder / "city.db"
    if db.exists():
        return db
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = _city_gpkg(folder, kind)
    part = folder / "city.partial.db"
    part.unlink(missing_ok=True)
    with (
        running_service(part, admin_key=ADMIN, wait_s=60) as base,
        httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=600) as c,
    ):
        with gpkg.open("rb") as fh:
            r = c.post("/datasets", files={"file": (gpkg.name, fh)})
        assert r.status_code == 201, r.text
        r = c.post("/plans", json={"dataset_id": r.json()["id"], "name": "city", "target": 300})
        assert r.status_code == 202, r.text
        result = wait_job(c, r.json()["id"])["result"]
        r = c.post(f"/plans/{result['plan_id']}/versions/{result['version']}/publish")
        assert r.status_code == 200, r.text
    with sqlite3.connect(part) as src, sqlite3.connect(db) as dst:
        src.backup(dst)  # the write-ahead log included; a build cut short leaves no city.db
    return db


@contextmanager
def serving(store: Path, folder: Path) -> Iterator[City]:
    """Serve a copy of ``store`` (made by :func:`build_city_store`) on loopback."""
    db = folder / "served.db"
    with sqlite3.connect(store) as src, sqlite3.connect(db) as dst:
        src.backup(dst)  # the write-ahead log included
    with running_service(db, admin_key=ADMIN, wait_s=60) as base:
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=300) as c:
            plan = c.get("/plans").json()[0]
            grids = c.get(f"/plans/{plan['id']}/versions/head/metrics").json()["grids"]
            b = c.get("/tiles/communities.json").json()["bounds"]
        yield City(
            base=base,
            plan_id=str(plan["id"]),
            communities=sorted({str(g["community_id"]) for g in grids}),
            bounds=(b[0], b[1], b[2], b[3]),
            households=sum(int(g["households"]) for g in grids),
        )


def tiles_over(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int, int]]:
    """Return every tile z/x/y touching ``bounds`` (lon/lat)."""
    n = 1 << z

    def tx(lon: float) -> int:
        return min(n - 1, int((lon + 180) / 360 * n))

    def ty(lat: float) -> int:
        r = math.radians(lat)
        return min(n - 1, int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n))

    return [
        (z, x, y)
        for x in range(tx(bounds[0]), tx(bounds[2]) + 1)
        for y in range(ty(bounds[3]), ty(bounds[1]) + 1)
    ]
