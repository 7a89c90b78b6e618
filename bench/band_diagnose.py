"""Diagnose grids that redraw, rebalance and merge-grids leave out of band without a proof.

Run: ``.venv/bin/python bench/band_diagnose.py [--cities make_city,walled] [--households N]
[--cache DIR]``. The plans are computed as ``bench/rebalance.py`` does (partition, drift,
redraw, rebalance; merge of two lattices) and cached in ``--cache`` (pickles), then every
grid out of band without a proof (``bench/rebalance_figures.proven_grids``) is printed with
its community, households, units, neighbouring grids, and what an exhaustive search says
about the grid with its neighbours (one and two rings) and about its connected part of the
community: a partition into in-band grids exists (a search failure), none exists (a proof
the engine should report), or unknown (the search gave up); and whether a cut unit or pair
of units proves it (:mod:`gridgen.partition.cut_proofs`: without stuck units, and with
them, their grids holding at most 540 or 720 households).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from rebalance import BAND, CITIES, LATTICES, lattice_layer, problems_of, rebalanced
from rebalance_figures import grid_of, households_of, proven_grids

from gridgen.dataset import Dataset
from gridgen.partition.bits import fits_some_count
from gridgen.partition.community import partition_dataset
from gridgen.partition.cut_proofs import cut_proof
from gridgen.partition.exact import in_band_partition
from gridgen.partition.merge import merge_layers
from gridgen.partition.moves import Moves
from gridgen.partition.plan import Plan
from gridgen.partition.regions import components
from gridgen.partition.settle import stuck_units
from gridgen.partition.units import build_units
from gridgen.sample.drift import drifted
from gridgen.validate.layers import validate_layers

BIG_BUDGET = 1_000_000
"""Connected sets of the second, larger exhaustive search of a part the first left open."""


def plans(city: str, n: int, cache: Path) -> dict[str, Any]:
    """Return (cached) datasets and plans of one city."""
    path = cache / f"{city}_{n}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    raw0 = CITIES[city](n)
    ds0 = validate_layers(raw0, source=city)
    current = partition_dataset(ds0, band=BAND)
    ds1 = validate_layers(drifted(raw0), source=f"{city} drifted")
    redraw = partition_dataset(ds1, band=BAND)
    ours = rebalanced(ds1, current).plan
    layers = [lattice_layer(ds0, side, off, prefix) for side, off, prefix in LATTICES]
    merged = merge_layers(ds0, layers, band=BAND).plan
    out = {
        "ds0": ds0,
        "ds1": ds1,
        "current": current,
        "redraw": redraw,
        "rebalance": ours,
        "merge": merged,
        "layers": layers,
    }
    path.write_bytes(pickle.dumps(out))
    return out


def unproven(ds: Dataset, plan: Plan) -> list[tuple[str, str, int]]:
    """Return (grid, community, households) of grids out of band without a proof."""
    lo, hi = BAND
    hh = households_of(ds)
    new = grid_of(plan.assignment)
    per: dict[str, float] = {}
    for b, g in new.items():
        per[g] = per.get(g, 0.0) + hh.get(b, 0.0)
    grids = plan.grids
    ids = grids["grid_id"].astype(str).tolist()
    h = {g: int(per.get(g, 0.0)) for g in ids}
    below = {g for g in ids if h[g] < lo}
    proven = proven_grids(problems_of(plan), new, grids, below)
    comm = dict(zip(ids, grids["community_id"].astype(str), strict=True))
    return [(g, comm[g], h[g]) for g in ids if not lo <= h[g] <= hi and g not in proven]


def sub_exact(
    hh: np.ndarray, edges: np.ndarray, nodes: np.ndarray, *, budget: int = 200_000
) -> str:
    """Return the exhaustive search's status on the connected ``nodes``."""
    local = np.full(len(hh), -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    ea, eb = local[edges[:, 0]], local[edges[:, 1]]
    keep = (ea >= 0) & (eb >= 0)
    sub = np.column_stack([ea[keep], eb[keep]])
    return in_band_partition(hh[nodes], sub, lo=BAND[0], hi=BAND[1], budget=budget).status


def describe(ds: Dataset, plan: Plan, gid: str, cid: str, h: int) -> None:
    """Print one unproven grid: units, neighbours, and what the exhaustive search says."""
    lo, hi = BAND
    units = build_units(ds, cid, band_max=hi)
    new = grid_of(plan.assignment)
    bh = households_of(ds)
    # unit label: grid holding most of its households (empty units: -)
    lab = np.full(units.n, "", dtype=object)
    best = np.zeros(units.n)
    for b, u in zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True):
        g = new.get(str(b), "")
        w = bh.get(str(b), 0.0) + 1e-3
        if w > best[u]:
            best[u], lab[u] = w, g
    # empty units: the grid whose polygon holds their cell's point
    g_m = plan.grids.to_crs(units.crs)
    empty = np.flatnonzero(lab == "")
    if len(empty):
        pts = shapely.point_on_surface(units.cells[empty])
        tree = shapely.STRtree(g_m.geometry.to_numpy())
        pi, gi = tree.query(pts, predicate="intersects")
        gids = g_m["grid_id"].astype(str).to_numpy()
        for p_, g_ in zip(pi.tolist(), gi.tolist(), strict=True):
            lab[empty[p_]] = gids[g_]
    mine = np.flatnonzero((lab == gid) & (units.households > 0))
    e = units.edges
    comp = components(units.n, e)
    msg = [f"  grid {gid} ({cid}): {h} households, {len(mine)} units:"]
    msg.append(
        "    "
        + ", ".join(
            f"{units.unit_ids[u]}[{units.kinds[u][0]}]={int(units.households[u])}"
            for u in mine.tolist()
        )
    )
    nb: dict[str, int] = {}
    for a, b in e.tolist():
        for x, y in ((a, b), (b, a)):
            if lab[x] == gid and lab[y] not in ("", gid):
                nb[lab[y]] = 0
    gh: dict[str, int] = {}
    for u in range(units.n):
        gh[lab[u]] = gh.get(lab[u], 0) + int(units.households[u])
    msg.append("    neighbours: " + ", ".join(f"{g}={gh[g]}" for g in sorted(nb)))
    # note: empty units carry no label here: rings go through populated units only
    for rings in (1, 2):
        cluster = {gid}
        for _ in range(rings):
            cluster |= {
                lab[y]
                for a, b in e.tolist()
                for x, y in ((a, b), (b, a))
                if lab[x] in cluster and lab[y] != ""
            }
        nodes = np.flatnonzero(np.isin(lab, list(cluster)))
        # restrict to the connected part holding the grid
        sub_comp = components(units.n, e[np.isin(e[:, 0], nodes) & np.isin(e[:, 1], nodes)])
        part = np.intersect1d(nodes, np.flatnonzero(sub_comp == sub_comp[mine[0]]))
        tot = int(units.households[part].sum())
        status = sub_exact(units.households, e, part) if len(part) <= 90 else "too big"
        msg.append(
            f"    ring {rings}: {len(cluster)} grids, {len(part)} units, {tot} hh "
            f"(fits a count: {fits_some_count(tot, lo=lo, hi=hi)}): exact {status}"
        )
    part = np.flatnonzero(comp == comp[mine[0]])
    tot = int(units.households[part].sum())
    status = sub_exact(units.households, e, part) if len(part) <= 120 else "too big"
    if status == "unknown":
        status = f"unknown, {BIG_BUDGET:,}: " + sub_exact(
            units.households, e, part, budget=BIG_BUDGET
        )
    outs = sorted({lab[u] for u in part.tolist() if lab[u] and not lo <= gh.get(lab[u], 0) <= hi})
    big = [
        f"{units.unit_ids[u]}={int(units.households[u])}"
        for u in part.tolist()
        if units.households[u] > hi
    ]
    msg.append(f"    grids out of band in the part: {outs}; units above the band: {big}")
    local = np.full(units.n, -1, dtype=np.int64)
    local[part] = np.arange(len(part))
    inside = (local[e[:, 0]] >= 0) & (local[e[:, 1]] >= 0)
    cut = cut_proof(units.households[part], local[e[inside]], band=BAND)
    g = Moves.from_edges(units.households, units.edges, units.shared_length)
    stuck = np.isin(part, stuck_units(units, g, lo=lo, hi=hi))
    with_stuck = [
        cap
        for cap in (540, 720)
        if stuck.any()
        and cut_proof(units.households[part], local[e[inside]], band=BAND, stuck=stuck, cap=cap)
    ]
    msg.append(
        f"    part of the community: {len(part)} units, {tot} hh, grids "
        f"{len({lab[u] for u in part.tolist()} - {''})}, fits a count: "
        f"{fits_some_count(tot, lo=lo, hi=hi)}, exact {status}, cut proof {cut}, with "
        f"{int(stuck.sum())} stuck units up to {with_stuck or 'no cap'}"
    )
    print("\n".join(msg))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cities", default="make_city,walled")
    parser.add_argument("--households", type=int, default=273_000)
    parser.add_argument("--cache", default="/tmp/band0_cache")
    parser.add_argument("--plans", default="redraw,rebalance,merge")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(exist_ok=True)
    for city in args.cities.split(","):
        p = plans(city, args.households, cache)
        for name in args.plans.split(","):
            ds = p["ds0"] if name == "merge" else p["ds1"]
            plan = p[name]
            bad = unproven(ds, plan)
            print(f"== {city} {name}: {len(bad)} out of band without a proof")
            for gid, cid, h in bad:
                describe(ds, plan, gid, cid, h)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
