"""``gridgen coverage DATA [--plan P] [--radius M] [--mode walk|line] [--level L] --out FILE``.

FILE is a table (``.csv``, ``.json``) or a styled GeoPackage (``.gpkg``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen_cli.options import add_scheduler_option, executor_from, output_file


def add_parser(sub: Any) -> None:
    """Register the ``coverage`` subcommand."""
    p = sub.add_parser("coverage", help="station coverage per building, grid, community, street")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder")
    p.add_argument(
        "--plan", type=Path, default=None, help="grid plan GeoPackage (for --level grid)"
    )
    p.add_argument(
        "--radius", type=float, default=DEFAULT_RADIUS_M, help="service radius, m (300/500/1000)"
    )
    p.add_argument(
        "--mode", choices=("walk", "line"), default="walk", help="walking or straight line"
    )
    p.add_argument(
        "--level",
        choices=("building", "grid", "community", "street", "district"),
        default="community",
        help="roll-up level (default community)",
    )
    p.add_argument("--crs", default=None, help="declared CRS of DATA: EPSG code, gcj02 or bd09")
    p.add_argument(
        "--out",
        type=output_file(".csv", ".json", ".gpkg"),
        required=True,
        help="FILE.csv or FILE.json (the table), or FILE.gpkg (layers QGIS opens styled: "
        "coverage by share, stations with their load, uncovered buildings)",
    )
    add_scheduler_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compute coverage, write the table at ``--level`` and print a one-line summary."""
    from gridgen.coverage.stations import coverage_by_level, station_load
    from gridgen.distributed.work import run_coverage
    from gridgen.io.coverage import write_coverage_layers, write_table
    from gridgen.io.read import read_dataset
    from gridgen_cli.progress import progress_task

    executor = executor_from(args)
    ds = read_dataset(args.data, crs=args.crs)
    plan = None
    if args.plan is not None:
        from gridgen.io.plan import read_plan

        plan = read_plan(args.plan)
    with progress_task("coverage blocks") as progress:
        cov = run_coverage(
            ds, radius=args.radius, mode=args.mode, executor=executor, progress=progress
        )
    table = coverage_by_level(ds, cov, level=args.level, plan=plan)
    total = coverage_by_level(ds, cov, level="district").iloc[0]
    load = station_load(ds, cov)
    meta = {
        "dataset": ds.name,
        "level": args.level,
        "radius_m": args.radius,
        "mode": args.mode,
        "households": int(total["households"]),
        "covered_households": int(total["covered_households"]),
        "share": float(total["share"]) if total["households"] else None,
        "unreachable_buildings": int(total["unreachable_buildings"]),
        "tables": {"stations": load},
    }
    if args.out.suffix.lower() == ".gpkg":
        write_coverage_layers(ds, table, cov, load, args.out, level=args.level, plan=plan)
    else:
        write_table(table, args.out, meta=meta)
    share = f"{total['share']:.1%}" if total["households"] else "n/a"
    overloaded = int(load["overloaded"].fillna(False).sum())
    print(
        f"coverage ({args.mode}, {args.radius:g} m): {int(total['covered_households']):,} of "
        f"{int(total['households']):,} households covered ({share}); "
        f"{int(total['unreachable_buildings'])} buildings unreachable; "
        f"{overloaded} stations over capacity; {len(table)} rows written to {args.out}"
    )
    return 0
