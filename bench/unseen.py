"""Benchmark: every command of issue 24 on cities none of the benches was tuned on.

Run: ``.venv/bin/python bench/unseen.py [--cities city31,filled41,walled43] [--no-write]``.

The tuned benches (``bench/partition.py``, ``bench/rebalance.py``) use the generators'
default seeds at 273k households; here each generator makes another city, at another size,
with another drift:

- ``city31``: :func:`gridgen.sample.district.make_city`, seed 31, 150k households;
- ``filled41``: :func:`gridgen.sample.filled.make_filled_city`, seed 41, 120k, with a river
  and a railway (:func:`gridgen.sample.railway.with_railway_and_river`);
- ``walled43``: :func:`gridgen.sample.walled.make_walled_city`, seed 43, 90k, with a river
  and a railway.

Drift: :class:`gridgen.sample.drift.Drift` with seed = city seed + 100. Departments' layers
for merge-grids: square lattices of 550 m and 400 m, offset (``bench/rebalance.py``'s
``lattice_layer``). Each command runs as a user runs it (``gridgen ...`` in a subprocess,
wall time): partition (``--workers 2``), ``audit --standard DB11/T2157``, rebalance of the
drifted city from the partition (``--workers 2``), a from-scratch redraw of the drifted city
(``--workers 2``), merge-grids.
Every plan is measured by ``bench/rebalance_figures.figures`` (band, proofs, validity in
every output CRS, tiling, buildings outside their grid, households changed) and
:func:`gridgen.partition.measures.grid_barrier_straddles`. Results go to
``bench/RESULTS.md`` (``## unseen cities``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rebalance import BAND, lattice_layer, problems_of
from rebalance_figures import Figures, figures, grid_of
from results_section import write_section

from gridgen.dataset import Dataset
from gridgen.io.plan import read_plan
from gridgen.io.read import read_dataset
from gridgen.io.write import write_frames
from gridgen.partition.measures import grid_barrier_straddles
from gridgen.sample.drift import Drift, drifted

ROOT = Path(__file__).resolve().parents[1]
GRIDGEN = [sys.executable, "-c", "from gridgen_cli.main import main; raise SystemExit(main())"]
CITIES: dict[str, tuple[str, int, int, bool]] = {
    "city31": ("make_city", 31, 150_000, False),
    "filled41": ("filled", 41, 120_000, True),
    "walled43": ("walled", 43, 90_000, True),
}
"""name -> (generator, seed, households, with a river and a railway)."""


def generator(kind: str) -> Callable[..., dict[str, Any]]:
    """Return the city generator of ``kind``."""
    if kind == "walled":
        from gridgen.sample.walled import make_walled_city

        return make_walled_city
    if kind == "filled":
        from gridgen.sample.filled import make_filled_city

        return make_filled_city
    from gridgen.sample.district import make_city

    return make_city


def make_inputs(name: str, tmp: Path) -> dict[str, Path]:
    """Write the city, its drift and two departments' layers; return their paths."""
    kind, seed, households, barriers = CITIES[name]
    raw = generator(kind)(households=households, seed=seed)
    if barriers:
        from gridgen.sample.railway import with_railway_and_river

        raw = with_railway_and_river(dict(raw))
    paths = {k: tmp / f"{name}{suffix}" for k, suffix in INPUTS.items()}
    write_frames(raw, paths["data"])
    write_frames(drifted(raw, Drift(seed=seed + 100)), paths["drift"])
    ds = read_dataset(paths["data"])
    lattice_layer(ds, 550.0, (0, 0), "A").to_file(paths["dept_a"])
    lattice_layer(ds, 400.0, (130, 260), "B").to_file(paths["dept_b"])
    return paths


INPUTS = {
    "data": ".gpkg",
    "drift": "_drift.gpkg",
    "dept_a": "_a.geojson",
    "dept_b": "_b.geojson",
}


def run(args: list[str]) -> tuple[float, str]:
    """Run ``gridgen ARGS``; return the wall seconds and its output (fails loudly)."""
    start = time.perf_counter()
    done = subprocess.run(
        [*GRIDGEN, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    secs = time.perf_counter() - start
    if done.returncode != 0:
        msg = f"gridgen {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}"
        raise RuntimeError(msg)
    return secs, done.stdout


def measured(ds: Dataset, plan_path: Path, old: dict[str, str] | None, secs: float) -> Figures:
    """Return the figures of a written plan (households changed against ``old``)."""
    plan = read_plan(plan_path)
    base = old if old is not None else grid_of(plan.assignment)
    return figures(
        ds, plan.grids, plan.assignment, problems_of(plan), band=BAND, old=base, seconds=secs
    )


def straddles(ds: Dataset, plan_path: Path) -> int:
    """Return the grids with buildings on both sides of a river or railway."""
    table = grid_barrier_straddles(ds, read_plan(plan_path).assignment)
    return int((table["parts"] > 1).sum()) if len(table) else 0


def bench_city(name: str, tmp: Path) -> list[dict[str, Any]]:
    """Return one row per command on city ``name``."""
    p = make_inputs(name, tmp)
    ds, drift = read_dataset(p["data"]), read_dataset(p["drift"])
    out = {k: tmp / f"{name}.{k}.gpkg" for k in ("plan", "rebalance", "redraw", "merge")}
    rows: list[dict[str, Any]] = []
    secs, _ = run(["partition", str(p["data"]), "--workers", "2", "--out", str(out["plan"])])
    rows.append(_row(name, "partition", ds, measured(ds, out["plan"], None, secs), out["plan"]))
    audit = tmp / f"{name}.audit.json"
    std = ["--standard", "DB11/T2157", "--out", str(audit)]
    secs, _ = run(["audit", str(p["data"]), "--grids", str(out["plan"]), *std])
    checks = json.loads(audit.read_text(encoding="utf-8"))["standard"]["checks"]
    old = grid_of(read_plan(out["plan"]).assignment)
    args = ["rebalance", str(p["drift"]), "--plan", str(out["plan"]), "--workers", "2"]
    secs, _ = run([*args, "--out", str(out["rebalance"])])
    rebalanced = measured(drift, out["rebalance"], old, secs)
    secs, _ = run(["partition", str(p["drift"]), "--workers", "2", "--out", str(out["redraw"])])
    redraw = measured(drift, out["redraw"], old, secs)
    rows.append(_row(name, "rebalance", drift, rebalanced, out["rebalance"], redraw=redraw))
    rows.append(_row(name, "redraw", drift, redraw, out["redraw"]))
    layers = ["--grids", str(p["dept_a"]), "--grids", str(p["dept_b"])]
    crosswalk = ["--crosswalk", str(tmp / f"{name}.merge.csv")]
    secs, _ = run(["merge-grids", str(p["data"]), *layers, "--out", str(out["merge"]), *crosswalk])
    rows.append(_row(name, "merge-grids", ds, measured(ds, out["merge"], None, secs), out["merge"]))
    rows[0]["standard"] = {k: v["count"] for k, v in checks.items()}
    return rows


def _row(
    city: str,
    command: str,
    ds: Dataset,
    f: Figures,
    plan_path: Path,
    *,
    redraw: Figures | None = None,
) -> dict[str, Any]:
    return {
        "city": city,
        "command": command,
        "households": int(ds.buildings["households"].sum()),
        "f": f,
        "of_redraw": f.changed / redraw.changed if redraw is not None and redraw.changed else None,
        "straddles": straddles(ds, plan_path),
    }


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Return the markdown table of the rows."""
    lines = [
        "| city (households) | command | time s | grids | in band (not proven) | out without"
        " proof | changed (of redraw) | straddles | invalid / outside / gap m² / overlap m² |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f: Figures = r["f"]
        changed = f"{f.changed:,}" + (f" ({r['of_redraw']:.1%})" if r["of_redraw"] else "")
        if r["command"] in ("partition", "merge-grids"):
            changed = ""
        lines.append(
            f"| {r['city']} ({r['households']:,}) | {r['command']} | {f.seconds:.1f} | {f.grids} "
            f"| {f.in_band:.1%} ({f.in_band_feasible:.1%}) | {f.out_unproven} | {changed} "
            f"| {r['straddles']} | {sum(f.invalid.values())} / {f.outside_buildings} / "
            f"{f.gap_m2:.0f} / {f.overlap_m2:.0f} |"
        )
    for r in rows:
        if "standard" in r:
            found = ", ".join(f"{k} {v}" for k, v in r["standard"].items())
            lines.append(f"\n`audit --standard DB11/T2157` of {r['city']}'s partition: {found}.")
    return lines


def main() -> None:
    """Run the benchmark and write ``## unseen cities`` of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", default=",".join(CITIES))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cities.split(","):
            rows += bench_city(name, Path(tmp))
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end ({now})."
    )
    lines = ["## unseen cities", "", head, "", *table(rows), ""]
    print("\n".join(lines))
    if not args.no_write:
        write_section("\n".join(lines), path=ROOT / "bench" / "RESULTS.md")


if __name__ == "__main__":
    main()
