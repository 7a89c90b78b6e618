"""Benchmark: do rebalance and merge-grids keep grids off rivers and railways?

Run: ``.venv/bin/python bench/river_moves.py [walled:60000:23 filled:60000:29 osm ...]``.

Per city (:func:`gridgen.sample.walled.make_walled_city` or
:func:`gridgen.sample.filled.make_filled_city` at the given households and seed, with a
railway and a river laid across it by :func:`gridgen.sample.railway.with_railway_and_river`)
or central Helsinki (``osm``: :func:`gridgen.sample.osm.osm_city`, real OpenStreetMap
railways, walls and a stream), it counts the grids whose buildings lie on both sides of a
river or railway (:func:`gridgen.partition.measures.grid_barrier_straddles`) after

- ``partition`` of the city;
- ``redraw``: partition of the city after a year of drift (``Drift(seed=3)``);
- ``rebalance`` of the first plan on the drifted city (as ``bench/rebalance.py`` asks it);
- ``merge-grids`` of two departments' square lattices (``bench/rebalance.py``'s
  ``LATTICES``) over the city;

with grids, grids out of band, out of band without a proof, and CPU seconds
(``time.process_time``). Prints one line per command; nothing is written.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace

import geopandas as gpd
from rebalance import BAND, LATTICES, lattice_layer, problems_of, rebalanced

from gridgen.dataset import Dataset
from gridgen.partition.community import partition_dataset
from gridgen.partition.measures import grid_barrier_straddles
from gridgen.partition.merge import merge_layers
from gridgen.partition.plan import Plan
from gridgen.partition.settle import PROVEN_KINDS
from gridgen.sample.drift import Drift, drifted
from gridgen.sample.filled import make_filled_city
from gridgen.sample.railway import with_railway_and_river
from gridgen.sample.walled import make_walled_city
from gridgen.validate.layers import validate_layers

MAKERS: dict[str, Callable[..., dict[str, gpd.GeoDataFrame]]] = {
    "walled": make_walled_city,
    "filled": make_filled_city,
}


def line(city: str, command: str, ds: Dataset, plan: Plan, seconds: float) -> str:
    """Return one printed line of figures for ``plan``."""
    straddles = grid_barrier_straddles(ds, plan.assignment)
    out = [p for p in problems_of(plan) if p[0] in {"below_band", "above_band"}]
    proven = [p for p in plan.problems if p.kind in PROVEN_KINDS]
    return (
        f"{city} {command}: straddling {len(straddles)} "
        f"(households across {int(straddles['households_across'].sum()):,}); "
        f"grids {len(plan.grids)}, out of band unproven {len(out)}, proven {len(proven)}; "
        f"CPU {seconds:.1f} s"
    )


def raw_city(spec: str) -> tuple[dict[str, gpd.GeoDataFrame], str]:
    """Return the raw layers and the name of ``kind:households:seed`` (a generated city with
    a railway and a river) or ``osm`` (central Helsinki: railways, walls, a stream)."""
    if spec == "osm":
        from gridgen.sample.osm import osm_city

        return osm_city(), "osm"
    kind, hh, seed = spec.split(":")
    raw = MAKERS[kind](households=int(hh), seed=int(seed))
    return with_railway_and_river(dict(raw)), f"{kind}{seed}"


def main() -> None:
    """Measure every city named on the command line."""
    warnings.filterwarnings("ignore")
    for spec in sys.argv[1:] or ["walled:60000:23", "filled:60000:29"]:
        raw, city = raw_city(spec)
        ds0 = validate_layers(raw, source=city)
        ds1 = validate_layers(drifted(raw, Drift(seed=3)), source=city)
        t = time.process_time()
        current = partition_dataset(ds0, band=BAND)
        print(line(city, "partition", ds0, current, time.process_time() - t), flush=True)
        t = time.process_time()
        red = partition_dataset(ds1, band=BAND)
        print(line(city, "redraw", ds1, red, time.process_time() - t), flush=True)
        named = current.grids["grid_id"].notna()
        if not named.all():  # seen on main at 96ea71c: an empty grid of 0 m² without a code
            print(f"{city}: {int((~named).sum())} grid(s) without grid_id left out", flush=True)
            current = replace(current, grids=current.grids[named])
        t = time.process_time()
        ours = rebalanced(ds1, current)
        print(line(city, "rebalance", ds1, ours.plan, time.process_time() - t), flush=True)
        layers = [lattice_layer(ds0, side, off, prefix) for side, off, prefix in LATTICES]
        t = time.process_time()
        merged = merge_layers(ds0, layers, band=BAND)
        print(line(city, "merge-grids", ds0, merged.plan, time.process_time() - t), flush=True)


if __name__ == "__main__":
    main()
