"""``gridgen validate DATA [--crs CRS] [--report FILE.json]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridgen_cli.options import output_file


def add_parser(sub: Any) -> None:
    """Register the ``validate`` subcommand."""
    p = sub.add_parser("validate", help="read and validate a dataset; print a summary")
    p.add_argument("data", type=Path, help="GeoPackage, GeoJSON folder, zipped Shapefile or CSV")
    p.add_argument("--crs", default=None, help="declared CRS: EPSG code, gcj02 or bd09")
    p.add_argument(
        "--report", type=output_file(".json"), default=None, help="write the JSON report here"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate ``args.data``; exit 0 when every row was kept, 1 when rows were rejected."""
    from gridgen.io.read import read_dataset
    from gridgen.io.write import write_report

    ds = read_dataset(args.data, crs=args.crs)
    print(ds.report.summary())
    if args.report is not None:
        write_report(ds.report, args.report)
        print(f"report written to {args.report}")
    return 1 if ds.report.rejected() else 0
