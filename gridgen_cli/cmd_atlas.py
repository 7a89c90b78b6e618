"""``gridgen atlas DATA --community ID --out FILE.pdf|FILE.zip`` (also ``--street ID``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen_cli.options import add_scheduler_option, executor_from


def add_context_options(p: argparse.ArgumentParser) -> None:
    """Add the options shared by ``sheet`` and ``atlas``: plan, coverage, access, CRS."""
    p.add_argument("--plan", type=Path, default=None, help="grid plan GeoPackage (grid boundary)")
    p.add_argument(
        "--coverage",
        choices=("walk", "line", "none"),
        default="walk",
        help="station coverage to mark uncovered buildings (default walk; none skips it)",
    )
    p.add_argument(
        "--radius",
        type=float,
        default=DEFAULT_RADIUS_M,
        help=f"station reach, m (default {DEFAULT_RADIUS_M:g})",
    )
    p.add_argument(
        "--restricted",
        action="store_true",
        help="include restricted personal data (leader phones, key persons, three teams)",
    )
    p.add_argument("--crs", default=None, help="declared CRS of DATA: EPSG code, gcj02 or bd09")
    add_scheduler_option(p)


def load_context(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Return (dataset, plan or None, coverage or None) for the options above.

    Coverage is computed through the executor seam (:func:`gridgen.distributed.work.run_coverage`
    on :func:`gridgen_cli.options.executor_from`), as ``gridgen coverage`` does.
    """
    from gridgen.distributed.work import run_coverage
    from gridgen.io.read import read_dataset
    from gridgen_cli.progress import progress_task

    executor = executor_from(args)
    ds = read_dataset(args.data, crs=args.crs)
    plan = None
    if args.plan is not None:
        from gridgen.io.plan import read_plan

        plan = read_plan(args.plan)
    coverage = None
    mode = args.coverage
    if mode == "walk" and ds.roads.empty:
        print("no roads in DATA: station reach measured in straight lines", file=sys.stderr)
        mode = "line"
    if mode != "none" and not ds.stations.empty:
        with progress_task("coverage blocks") as progress:
            coverage = run_coverage(
                ds, radius=args.radius, mode=mode, executor=executor, progress=progress
            )
    return ds, plan, coverage


def add_parser(sub: Any) -> None:
    """Register the ``atlas`` subcommand."""
    p = sub.add_parser("atlas", help="sheets of all compounds of a community/street in one file")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--community", default=None, help="community id")
    where.add_argument("--street", default=None, help="street id")
    p.add_argument("--out", type=Path, required=True, help="FILE.pdf (multi-page) or FILE.zip")
    p.add_argument("--paper", choices=("A4", "A3"), default="A4")
    p.add_argument("--landscape", action="store_true", help="landscape instead of portrait")
    p.add_argument("--dpi", type=float, default=150, help="PNG resolution for .zip (default 150)")
    add_context_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the atlas with a progress bar; exit 0."""
    from gridgen_cli.progress import progress_task
    from maps.atlas import write_atlas

    ds, plan, coverage = load_context(args)
    with progress_task("sheets") as progress:
        out = write_atlas(
            ds,
            out=args.out,
            community_id=args.community,
            street_id=args.street,
            plan=plan,
            coverage=coverage,
            radius=args.radius,
            restricted=args.restricted,
            paper=args.paper,
            orientation="landscape" if args.landscape else "portrait",
            dpi=args.dpi,
            progress=progress,
        )
    print(f"atlas written to {out}")
    return 0
