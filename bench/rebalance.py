"""Benchmark: minimal-change rebalance against a from-scratch redraw, and merge-grids.

Run: ``.venv/bin/python bench/rebalance.py [--cities walled,make_city] [--households 273000]
[--no-write]``.

Per city (the walled-compound city and ``make_city``):

1. gridgen partitions the city; then a year of drift: +30% households in 10% of the
   compounds, -50% in 3%, and a few new compounds on empty land;
2. on the drifted city, ``rebalance`` of that partition against a from-scratch
   ``partition_dataset``: band compliance (all grids, and grids not proven impossible),
   households whose grid changed (old and new grids matched one-to-one by shared
   households, ``scipy.optimize.linear_sum_assignment``), the lower bound (households that
   must move for the out-of-band grids to reach the band), codes kept, multipart grids,
   grids invalid in UTM, time;
3. ``merge-grids`` of two departments' square lattices (600 m and 450 m, offset) over the
   drifted city: grids, band compliance, grids above twice the band maximum, invalid in UTM,
   multipart grids.

Results go to ``bench/RESULTS.md`` (section ``## rebalance``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix

from gridgen.dataset import Dataset
from gridgen.io.crs import WGS84
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan
from gridgen.partition.rebalance import rebalance
from gridgen.sample.district import make_city
from gridgen.validate.layers import validate_layers

RESULTS = Path(__file__).with_name("RESULTS.md")
NOTES = (
    "Notes:",
    "- *Households whose grid changed*: old and new grids matched one-to-one by shared "
    "households (`scipy.optimize.linear_sum_assignment`); a household counts as changed when "
    "its new grid is not its old grid's match. From-scratch partitioning is a function of "
    "(dataset, community, seed), so communities the drift barely touched come out much as "
    "before.",
    "- Rebalance touches only communities with an audit finding, keeps whole compounds (splits "
    "those above the band into their buildings' units, as partition does), fixes grids by "
    "ejection chains of boundary moves, then splits/dissolves, and redraws a community from "
    "scratch only when that brings more grids into the band at <= 800 households moved per "
    "grid fixed. Every grid goes through the one finishing step (`gridgen.partition.finish`).",
    "- Merge-grids rows count every household as changed (the inputs have no assignment).",
)
BAND = (240, 360)


def drift(
    raw: dict[str, gpd.GeoDataFrame], *, seed: int = 7, new: int = 8
) -> dict[str, gpd.GeoDataFrame]:
    """Return raw layers after a year: +30% in 10% of compounds, -50% in 3%, new compounds."""
    rng = np.random.default_rng(seed)
    out = dict(raw)
    bld = raw["buildings"].copy()
    comp = raw["compounds"]
    ids = comp["compound_id"].astype(str).to_numpy()
    pick = rng.permutation(len(ids))
    up, down = (
        set(ids[pick[: len(ids) // 10]]),
        set(ids[pick[len(ids) // 10 : len(ids) // 10 + len(ids) * 3 // 100]]),
    )
    c = bld["compound_id"].astype(str)
    hh = pd.to_numeric(bld["households"]).to_numpy(dtype=float)
    hh = np.where(c.isin(up), np.round(hh * 1.3), hh)
    hh = np.where(c.isin(down), np.round(hh * 0.5), hh)
    bld["households"] = hh.astype(np.int64)
    # new compounds on empty land: 120 m squares away from every compound and building
    metric = comp.estimate_utm_crs()
    comms = raw["communities"].to_crs(metric)
    taken = shapely.union_all(
        np.concatenate(
            [
                comp.to_crs(metric).geometry.buffer(5).to_numpy(),
                bld.to_crs(metric).geometry.buffer(5).to_numpy(),
            ]
        )
    )
    new_comp, new_bld = [], []
    tries = 0
    while len(new_comp) < new and tries < 20000:
        tries += 1
        k = int(rng.integers(len(comms)))
        x0, y0, x1, y1 = comms.geometry.iloc[k].bounds
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        sq = shapely.box(x - 45, y - 45, x + 45, y + 45)
        if not comms.geometry.iloc[k].contains(sq) or sq.intersects(taken):
            continue
        taken = shapely.union(taken, sq.buffer(5))
        cid = f"NEW{len(new_comp):03d}"
        new_comp.append(
            {
                "compound_id": cid,
                "name": f"新小区{len(new_comp)}",
                "property_mode": "company",
                "geometry": sq,
            }
        )
        for j, (dx, dy) in enumerate(((-20, -20), (20, -20), (-20, 20), (20, 20))):
            new_bld.append(
                {
                    "building_id": f"{cid}B{j}",
                    "compound_id": cid,
                    "households": int(rng.integers(60, 110)),
                    "geometry": shapely.box(x + dx - 10, y + dy - 10, x + dx + 10, y + dy + 10),
                }
            )
    nc = gpd.GeoDataFrame(new_comp, geometry="geometry", crs=metric).to_crs(WGS84)
    nb = gpd.GeoDataFrame(new_bld, geometry="geometry", crs=metric).to_crs(WGS84)
    out["compounds"] = gpd.GeoDataFrame(
        pd.concat([comp, nc], ignore_index=True), geometry="geometry", crs=WGS84
    )
    out["buildings"] = gpd.GeoDataFrame(
        pd.concat([bld, nb], ignore_index=True), geometry="geometry", crs=WGS84
    )
    return out


def changed_households(ds: Dataset, old: dict[str, str], new: dict[str, str]) -> int:
    """Return households whose grid changed, old/new grids matched one-to-one."""
    bld = ds.buildings
    ids = bld["building_id"].astype(str).to_numpy()
    hh = pd.to_numeric(bld["households"]).to_numpy(dtype=float)
    o = np.asarray([old.get(b, "") for b in ids], dtype=object)
    n = np.asarray([new.get(b, "") for b in ids], dtype=object)
    both = (o != "") & (n != "")
    ou, oi = np.unique(o[both].astype(str), return_inverse=True)
    nu, ni = np.unique(n[both].astype(str), return_inverse=True)
    m = coo_matrix((hh[both], (oi, ni)), shape=(len(ou), len(nu))).toarray()
    r, c = linear_sum_assignment(m, maximize=True)
    return round(float(hh[both].sum() - m[r, c].sum() + hh[~both & (o != "")].sum()))


def codes_kept(old: dict[str, str], new: dict[str, str], hh: dict[str, float]) -> int:
    """Return old codes that a new grid of the same code holds the majority of."""
    tot: dict[str, float] = {}
    same: dict[str, float] = {}
    for b, g in old.items():
        tot[g] = tot.get(g, 0.0) + hh.get(b, 0.0) + 1e-9
        if new.get(b) == g:
            same[g] = same.get(g, 0.0) + hh.get(b, 0.0) + 1e-9
    return sum(1 for g, t in tot.items() if same.get(g, 0.0) > 0.5 * t)


@dataclass
class Row:
    layer: str
    method: str
    seconds: float
    grids: int
    compliance: float
    reachable: float
    changed: int
    codes: int
    multipart: int
    invalid_utm: int = 0
    above_twice: int = 0


def measure(
    ds: Dataset, layer: str, method: str, plan: Plan, *, secs: float, old: dict[str, str]
) -> Row:
    """Return the figures of one plan against the layer's old assignment."""
    new = dict(
        zip(
            plan.assignment["building_id"].astype(str),
            plan.assignment["grid_id"].astype(str),
            strict=True,
        )
    )
    hh = dict(
        zip(
            ds.buildings["building_id"].astype(str),
            pd.to_numeric(ds.buildings["households"]).astype(float),
            strict=True,
        )
    )
    proven = {
        p.grid_id
        for p in plan.problems
        if p.kind in ("unbalanceable", "building_above_band", "below_band") and p.grid_id
    }
    g = plan.grids
    inb = g["in_band"].astype(bool).to_numpy()
    reach = ~g["grid_id"].isin(proven).to_numpy() | inb
    return Row(
        layer=layer,
        method=method,
        seconds=secs,
        grids=len(g),
        compliance=float(inb.mean()),
        reachable=float(inb[reach].mean()) if reach.any() else 1.0,
        changed=changed_households(ds, old, new),
        codes=codes_kept(old, new, hh),
        multipart=int((shapely.get_num_geometries(g.geometry.to_numpy()) > 1).sum()),
        invalid_utm=int((~g.to_crs(ds.metric_crs).geometry.is_valid).sum()),
        above_twice=int((g["households"] > 2 * BAND[1]).sum()),
    )


def lower_bound(ds: Dataset, old: dict[str, str]) -> int:
    """Return households that must move for the old grids to reach the band.

    Per community: the larger of the households above the band maximum, the households
    missing below the band minimum (a move fixes at most one of each), and the households
    the new grids it needs must receive (ceil(total / max) - grids, each at least the
    minimum). Grids holding a single building above the maximum are left out.
    """
    lo, hi = BAND
    bld = ds.buildings
    frame = pd.DataFrame(
        {
            "grid": [old.get(b, "") for b in bld["building_id"].astype(str)],
            "community": bld["community_id"].astype(str).to_numpy(),
            "hh": pd.to_numeric(bld["households"]).to_numpy(dtype=float),
            "big": pd.to_numeric(bld["households"]).to_numpy(dtype=float) > hi,
        }
    )
    frame = frame[frame["grid"] != ""]
    per = frame.groupby(["community", "grid"]).agg(hh=("hh", "sum"), big=("big", "any"))
    total = 0.0
    for _, grids in per.groupby(level=0):
        h = grids["hh"].to_numpy()
        ok = ~grids["big"].to_numpy()
        excess = float(np.maximum(h[ok] - hi, 0).sum())
        deficit = float(np.maximum(lo - h[ok], 0).sum())
        new = max(0, math.ceil(h.sum() / hi) - len(h)) * lo
        total += max(excess, deficit, new)
    return round(total)


def merge_row(ds: Dataset) -> tuple[Row, float]:
    """Return the figures of merging two offset lattices (600 m and 450 m) and the time."""
    from gridgen.partition.merge import merge_layers

    a = lattice_side(ds, 600.0, 0.0)
    b = lattice_side(ds, 450.0, 150.0)
    t = time.perf_counter()
    res = merge_layers(ds, [a, b], band=BAND)
    secs = time.perf_counter() - t
    old = dict(zip(ds.buildings["building_id"].astype(str), [""] * len(ds.buildings), strict=True))
    return measure(ds, "two lattices", "merge-grids", res.plan, secs=secs, old=old), secs


def lattice_side(ds: Dataset, side: float, offset: float) -> gpd.GeoDataFrame:
    """Return square cells of ``side`` metres (shifted by ``offset``) clipped to communities."""
    comms = ds.metric("communities")
    x0, y0, x1, y1 = comms.total_bounds
    xs = np.arange(x0 - offset, x1 + side, side)
    ys = np.arange(y0 - offset, y1 + side, side)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + side, gy.ravel() + side)
    rows: list[tuple[str, object]] = []
    for cid, geom in zip(comms["community_id"].astype(str), comms.geometry, strict=True):
        hit = shapely.STRtree(cells).query(geom, predicate="intersects")
        parts = shapely.intersection(cells[hit], geom)
        parts = [p for p in parts if p.area > 1.0 and p.geom_type in ("Polygon", "MultiPolygon")]
        rows += [(f"{cid}S{side:.0f}{k:03d}", p) for k, p in enumerate(parts, start=1)]
    return gpd.GeoDataFrame(
        {"grid_id": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=ds.metric_crs
    ).to_crs(WGS84)


def city_rows(name: str, households: int) -> tuple[str, list[Row], dict[str, int]]:
    """Return the description, rows and lower bounds of one city."""
    if name == "walled":
        from gridgen.sample.walled import make_walled_city

        raw = make_walled_city(households=households)
    else:
        raw = make_city(households=households)
    ds0 = validate_layers(raw, source=name)
    ds1 = validate_layers(drift(raw), source=f"{name} drifted")
    current = partition_dataset(ds0, band=BAND)
    t = time.perf_counter()
    scratch = partition_dataset(ds1, band=BAND)
    t_scratch = time.perf_counter() - t
    t = time.perf_counter()
    res = rebalance(ds1, current.grids, assignment=current.assignment, band=BAND)
    secs = time.perf_counter() - t
    old = dict(zip(res.crosswalk["building_id"], res.crosswalk["old_grid"], strict=True))
    old = {b: g for b, g in old.items() if g}
    rows = [
        measure(ds1, "gridgen partition", "rebalance", res.plan, secs=secs, old=old),
        measure(ds1, "gridgen partition", "from scratch", scratch, secs=t_scratch, old=old),
    ]
    merged, _ = merge_row(ds1)
    rows.append(merged)
    info = (
        f"`{name}`: {ds0.total_households():,} households -> {ds1.total_households():,} after "
        f"drift, {len(ds0.buildings):,} buildings, {len(ds0.compounds):,} compounds, "
        f"{len(ds0.communities)} communities"
    )
    for r in rows:
        print(r)
    return info, rows, {"lower": lower_bound(ds1, old)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cities", default="walled,make_city")
    parser.add_argument("--households", type=int, default=273_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    sections = [city_rows(name, args.households) for name in args.cities.split(",")]
    report(args, sections, load0, write=not args.no_write)


def report(
    args: argparse.Namespace,
    sections: list[tuple[str, list[Row], dict[str, int]]],
    load0: float,
    *,
    write: bool,
) -> None:
    """Print the section and write it to RESULTS.md."""
    header = (
        "| method | time (s) | grids | in band | in band, not proven impossible | households "
        "whose grid changed | codes kept | multipart grids | invalid in UTM | grids above "
        "2x the band maximum |"
    )
    lines = [
        "## rebalance",
        "",
        f"`bench/rebalance.py`, {date.today()}; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other helpers' jobs (load average {load0:.1f} at "
        f"the start, {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}. "
        f"Band {BAND[0]}-{BAND[1]}. Drift: +30% households in 10% of compounds, -50% in 3%, 8 "
        "new compounds on empty land. Current grids: gridgen's partition before the drift. "
        "Merge-grids: two square lattices (600 m and 450 m, offset 150 m) over the drifted city.",
        "",
    ]
    for info, rows, extra in sections:
        lines += [f"### {info}", "", header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            lines.append(
                f"| {r.method} | {r.seconds:.1f} | {r.grids} | {r.compliance:.1%} "
                f"| {r.reachable:.1%} | {r.changed:,} | {r.codes} | {r.multipart} "
                f"| {r.invalid_utm} | {r.above_twice} |"
            )
        reb, scratch = rows[0], rows[1]
        lines += [
            "",
            f"- rebalance changes {reb.changed:,} households = "
            f"{reb.changed / max(scratch.changed, 1):.1%} of the {scratch.changed:,} a "
            f"from-scratch redraw changes (goal <= 30%); lower bound {extra['lower']:,} "
            "(households that must move for the out-of-band grids to reach the band: "
            f"rebalance moves {reb.changed / max(extra['lower'], 1):.1f}x it); band compliance "
            f"{reb.compliance:.1%} vs {scratch.compliance:.1%}; time x"
            f"{scratch.seconds / max(reb.seconds, 1e-9):.2f} (scratch / rebalance).",
            "",
        ]
    lines.extend(NOTES)
    text = "\n".join(lines)
    print(text)
    if write:
        old = RESULTS.read_text(encoding="utf-8")
        old = re.sub(r"\n## rebalance\n.*?(?=\n## |\Z)", "\n", old, flags=re.S)
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
