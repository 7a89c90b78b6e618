"""Saving an editor edit on a large city: the old full write against the new copying store.

Run: ``PYTHONPATH=. python bench/editor_save.py --households 1000000`` after
``python bench/editor.py --prepare --households 1000000`` (which stores the city and its
partition in ``bench/data/editor-<N>.db``). Optional ``--postgis URL`` repeats the store
write on PostGIS (the plan is copied into a scratch schema, dropped at the end);
``--profile`` prints the cProfile of one new-path save.

The edit is the one ``bench/editor.py`` saves from the page: rotate the grid labels of one
community (every paintable unit changes grid; every grid keeps its shape), sent as one
``POST /plans/{id}/edits/assign`` to the app in process. Old and new paths alternate in the
same run; the old path is the store writing every grid row (``changed_grids`` dropped).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
ADMIN = "bench-admin"
H = {"X-API-Key": ADMIN}


class Timed:
    """Wrap ``SQLStore.add_version``: time it, and drop ``changed_grids`` when ``old``."""

    def __init__(self) -> None:
        from api.store.sql import SQLStore

        self.old = False
        self.seconds: list[float] = []
        self.real = SQLStore.add_version
        timed = self

        def add_version(store: Any, plan_id: str, **kw: Any) -> Any:
            if timed.old and "changed_grids" in kw:  # the store writing every row
                kw["changed_grids"] = kw["changed_assignment"] = None
            t0 = time.perf_counter()
            try:
                return timed.real(store, plan_id, **kw)
            finally:
                timed.seconds.append(time.perf_counter() - t0)

        SQLStore.add_version = add_version  # type: ignore[method-assign]


def rotation(data: dict[str, Any]) -> dict[str, str]:
    """Return ``{unit id: next grid}``: the community's grid labels rotated (as the page does)."""
    locked = set(data["locked"])
    members: dict[str, int] = {}
    for u in data["units"]:
        if u["kind"] != "empty" and u["grid"]:
            members[u["grid"]] = members.get(u["grid"], 0) + 1
    gs = [
        g["grid_id"]
        for g in data["grids"]
        if members.get(g["grid_id"]) and g["grid_id"] not in locked
    ]
    nxt = {g: gs[(k + 1) % len(gs)] for k, g in enumerate(gs)}
    return {u["id"]: nxt[u["grid"]] for u in data["units"] if u["grid"] in nxt}


@contextmanager
def client(households: int) -> Iterator[Any]:
    """Yield a TestClient of the app on the bench's SQLite store of the city."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    db = DATA / f"editor-{households}.db"
    if not db.exists():
        raise SystemExit(f"{db} is missing: run bench/editor.py --prepare --households N")
    settings = Settings(database_url=f"sqlite:///{db}", admin_key=ADMIN)
    with TestClient(create_app(settings)) as c:
        yield c


def save_once(c: Any, plan: str, community: str, timed: Timed, *, old: bool) -> dict[str, Any]:
    """Save one rotation of ``community`` on the head version; return its timings."""
    data = c.get(f"/plans/{plan}/editor", params={"community": community}, headers=H).json()
    assign = rotation(data)
    head = data["head_version"]
    timed.old, timed.seconds = old, []
    t0 = time.perf_counter()
    r = c.post(
        f"/plans/{plan}/edits/assign", json={"base_version": head, "assign": assign}, headers=H
    )
    total = time.perf_counter() - t0
    assert r.status_code == 201, r.text
    return {"units": len(assign), "total": total, "store": sum(timed.seconds)}


def store_writes(c: Any, plan: str, url: str, changed: set[str], rounds: int) -> dict[str, Any]:
    """Time ``add_version`` of the head plan on PostGIS: every row against changed rows."""
    from api.store import open_store
    from api.store.postgis import PostGISStore

    app_store = c.app.state.gridgen.store
    head = app_store.get_plan(plan).head_version
    base, new = app_store.load_version(plan, head - 1), app_store.load_version(plan, head)
    pg = open_store(url, schema="bench_editsave")
    assert isinstance(pg, PostGISStore)
    try:
        ds = pg.add_dataset(name="b", layers={}, metric_crs="EPSG:32649", report={}, actor="b")
        info = pg.create_plan(dataset_id=ds.id, name="b", plan=base, actor="b", message="")
        out: dict[str, list[float]] = {"old": [], "new": []}
        version = 1
        for k in range(rounds):
            for way in ("old", "new") if k % 2 == 0 else ("new", "old"):
                t0 = time.perf_counter()
                pg.add_version(
                    info.plan_id,
                    base_version=version,
                    plan=new if version % 2 else base,
                    actor="b",
                    message="",
                    changed_grids=None if way == "old" else changed,
                )
                out[way].append(time.perf_counter() - t0)
                version += 1
        return {k: statistics.median(v) for k, v in out.items()}
    finally:
        pg.drop_schema()
        pg.close()


def profile_route(c: Any, plan: str, community: str) -> None:
    """Print the cProfile of the assign route called in this thread (one new-path save)."""
    from api.auth import Principal
    from api.editor_bodies import AssignUnits
    from api.routers.editor import assign

    data = c.get(f"/plans/{plan}/editor", params={"community": community}, headers=H).json()
    body = AssignUnits(base_version=data["head_version"], assign=rotation(data))
    who = Principal("bench", "bench", "admin")
    prof = cProfile.Profile()
    prof.enable()
    assign(state=c.app.state.gridgen, who=who, plan_id=plan, body=body)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(45)
    print(buf.getvalue())


def main() -> None:
    """Run the comparison and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgis", default=None, help="PostgreSQL URL for the store write")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    timed = Timed()
    with client(args.households) as c:
        plan = c.get("/plans", headers=H).json()[-1]["id"]
        grids = c.get(f"/plans/{plan}/versions/head/metrics", headers=H).json()["grids"]
        comms = sorted({g["community_id"] for g in grids})
        community = comms[len(comms) // 2]
        save_once(c, plan, community, timed, old=False)  # warm: units, dataset, plan cache
        rows: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
        for k in range(args.rounds):  # alternate who goes first (WAL checkpoints, caches)
            for way in ("old", "new") if k % 2 == 0 else ("new", "old"):
                rows[way].append(save_once(c, plan, community, timed, old=way == "old"))
        if args.profile:
            profile_route(c, plan, community)
        pg = None
        if args.postgis:
            cg = {g["grid_id"] for g in grids if g["community_id"] == community}
            pg = store_writes(c, plan, args.postgis, cg, args.rounds)
    med = {
        w: {k: statistics.median(r[k] for r in rs) for k in ("total", "store")}
        for w, rs in rows.items()
    }
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"city {args.households:,} households, {len(grids):,} grids, {len(comms)} communities;"
        f" edit: {rows['new'][0]['units']} units of community {community}, medians of {args.rounds}"
    )
    print("| path | save, POST → 201 (s) | store write (s) | rest: load, assign, rebuild (s) |")
    print("|---|---:|---:|---:|")
    for w in ("old", "new"):
        m = med[w]
        print(f"| {w} | {m['total']:.3f} | {m['store']:.3f} | {m['total'] - m['store']:.3f} |")
    print(
        f"- save old/new: ×{med['old']['total'] / med['new']['total']:.1f};"
        f" store write old/new: ×{med['old']['store'] / med['new']['store']:.1f}"
    )
    if pg:
        print(
            f"- PostGIS store write: old {pg['old']:.3f} s, new {pg['new']:.3f} s"
            f" (×{pg['old'] / pg['new']:.1f})"
        )


if __name__ == "__main__":
    main()
