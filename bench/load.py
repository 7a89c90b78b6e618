"""Bounded load run against a real ``gridgen serve`` on loopback (issue 11).

For each back end (the embedded SQLite store, and PostGIS when
``GRIDGEN_TEST_DATABASE_URL`` is set) a server process serves the sample district with a
published plan; ``--clients`` concurrent clients (asyncio, one keep-alive connection each)
then run for ``--seconds``: 19 readers mixing vector tiles (55 %), OGC feature pages by bbox
(25 %) and coverage tables (20 %), as viewer and grid worker, and one planner editing (lock
and unlock a grid on the current head version, then publish-free reads). Every answer that
is not 2xx/304 and every transport failure is an error. Prints requests, errors, requests
per second and p50/p99 latency per back end, as one markdown table.

Loopback only, bounded in time and clients. Run::

    export GRIDGEN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/gridgen_test
    PYTHONPATH=. .venv/bin/python bench/load.py --clients 20 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN = "load-admin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(database: str, env_extra: dict[str, str]) -> Iterator[str]:
    """Yield the URL of a ``gridgen serve`` process on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "GRIDGEN_ADMIN_KEY": ADMIN, **env_extra}
    cmd = [sys.executable, "-m", "gridgen_cli.cmd_serve", "--host", "127.0.0.1",
           "--port", str(port), "--database", database]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/ogc/conformance", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "died")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Fixture:
    viewer: str
    worker: str
    planner: str
    plan_id: str
    grid: str
    tiles: list[str]
    boxes: list[str]


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def prepare(base: str) -> Fixture:
    """Upload the sample district, make and publish a plan, create the keys."""
    from gridgen.io.read import load_sample
    from gridgen.sample.district import sample_path

    with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=300) as c:
        with (sample_path() / "district.gpkg").open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)})
        r.raise_for_status()
        dataset = r.json()["id"]
        job = c.post("/plans", json={"dataset_id": dataset, "target": 300}).json()
        while job["status"] not in ("done", "failed"):
            time.sleep(0.2)
            job = c.get(f"/jobs/{job['id']}").json()
        assert job["status"] == "done", job
        plan_id = job["result"]["plan_id"]
        c.post(f"/plans/{plan_id}/versions/1/publish").raise_for_status()
        ds = load_sample()
        own = str(ds.communities["community_id"].iloc[0])
        keys = {}
        for role in ("viewer", "grid_worker", "planner"):
            body = {"name": f"load {role}", "role": role}
            if role == "grid_worker":
                body["community_id"] = own
            keys[role] = c.post("/keys", json=body).json()["secret"]
        grid = c.get(f"/plans/{plan_id}/versions/1").json()["features"][0]["properties"]
    x0, y0, x1, y1 = ds.compounds.to_crs(4326).total_bounds
    tiles = []
    for z in (14, 15, 16, 17):
        (ax, ay), (bx, by) = _tile(x0, y1, z), _tile(x1, y0, z)
        for layer in ("buildings", "compounds", "grids"):
            tiles += [f"/tiles/{layer}/{z}/{x}/{y}.mvt" for x in range(ax, bx + 1)
                      for y in range(ay, by + 1)]  # fmt: skip
    rng = random.Random(0)
    boxes = []
    for _ in range(50):
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        boxes.append(f"{lon:.5f},{lat:.5f},{lon + 0.004:.5f},{lat + 0.003:.5f}")
    return Fixture(keys["viewer"], keys["grid_worker"], keys["planner"], plan_id,
                   str(grid["grid_id"]), tiles, boxes)  # fmt: skip


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    requests: int = 0


async def _timed(c: httpx.AsyncClient, tally: Tally, kind: str, method: str, url: str,
                 **kw: object) -> httpx.Response | None:  # fmt: skip
    tally.requests += 1
    t = time.perf_counter()
    try:
        r = await c.request(method, url, **kw)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        tally.errors.append(f"{kind} {url}: {type(exc).__name__}")
        return None
    tally.latencies.append(time.perf_counter() - t)
    tally.kinds[kind] = tally.kinds.get(kind, 0) + 1
    if not (200 <= r.status_code < 300 or r.status_code == 304):
        tally.errors.append(f"{kind} {url}: {r.status_code} {r.text[:120]}")
    return r


async def reader(
    base: str, key: str, fx: Fixture, until: float, tally: Tally, *, seed: int
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=60) as c:
        while time.monotonic() < until:
            u = rng.random()
            if u < 0.55:
                await _timed(c, tally, "tile", "GET", rng.choice(fx.tiles))
            elif u < 0.80:
                layer = rng.choice(("buildings", "compounds", "stations"))
                url = f"/ogc/collections/{layer}/items?limit=100&bbox={rng.choice(fx.boxes)}"
                await _timed(c, tally, "features", "GET", url)
            else:
                level = rng.choice(("community", "street", "district"))
                await _timed(c, tally, "coverage", "GET", f"/coverage?level={level}&radius=500")


async def editor(base: str, fx: Fixture, until: float, tally: Tally) -> None:
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": fx.planner}, timeout=120
    ) as c:
        locked = False
        while time.monotonic() < until:
            r = await _timed(c, tally, "read", "GET", f"/plans/{fx.plan_id}")
            if r is None or r.status_code != 200:
                await asyncio.sleep(0.5)
                continue
            head = r.json()["plan"]["head_version"]
            body = {"grid_ids": [fx.grid], "locked": not locked, "base_version": head}
            r = await _timed(c, tally, "edit", "POST", f"/plans/{fx.plan_id}/edits/lock",
                             json=body)  # fmt: skip
            locked = not locked if r is not None and r.status_code == 201 else locked
            await asyncio.sleep(0.5)


async def run_load(base: str, fx: Fixture, clients: int, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    start = time.monotonic()
    until = start + seconds
    tasks = [editor(base, fx, until, tally)]
    for i in range(clients - 1):
        key = fx.worker if i % 4 == 0 else fx.viewer
        tasks.append(reader(base, key, fx, until, tally, seed=i))
    await asyncio.gather(*tasks)
    return tally, time.monotonic() - start


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    backends: list[tuple[str, str, dict[str, str]]] = []
    tmp = Path(tempfile.mkdtemp(prefix="gridgen-load-"))
    backends.append(("embedded (SQLite)", f"sqlite:///{tmp / 'load.db'}", {}))
    pg = os.environ.get("GRIDGEN_TEST_DATABASE_URL")
    schema = f"load_{uuid.uuid4().hex[:8]}"
    if pg:
        backends.append(("PostGIS", pg, {"GRIDGEN_DATABASE_SCHEMA": schema}))
    rows = []
    for name, url, env in backends:
        with serve(url, {**env, "GRIDGEN_TEMP_DIR": str(tmp / "svc")}) as base:
            fx = prepare(base)
            tally, took = asyncio.run(run_load(base, fx, args.clients, args.seconds))
        n = tally.requests
        rows.append((name, n, len(tally.errors), n / took, _pct(tally.latencies, 0.5),
                     _pct(tally.latencies, 0.99), tally.kinds))  # fmt: skip
        for e in tally.errors[:5]:
            print("error:", e, file=sys.stderr)
    if pg:
        import psycopg

        with psycopg.connect(pg, autocommit=True) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    print(f"\n{args.clients} clients, {args.seconds:.0f} s, loopback, {os.cpu_count()} cores\n")
    print("| back end | requests | errors | req/s | p50 ms | p99 ms | mix |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, n, err, rps, p50, p99, kinds in rows:
        mix = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        print(f"| {name} | {n} | {err} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {mix} |")
    return 0 if all(r[2] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
