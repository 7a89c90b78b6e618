"""``gridgen report DATA [--plan P] [--before OLD] [--radius M] --out REPORT.xlsx|.html|.json``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.errors import UnsupportedFormatError

SUFFIXES: dict[str, str] = {".xlsx": "xlsx", ".html": "html", ".htm": "html", ".json": "json"}


def add_parser(sub: Any) -> None:
    """Register the ``report`` subcommand."""
    p = sub.add_parser(
        "report", help="governance report: every published figure (Excel, A4 HTML, JSON)"
    )
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder")
    p.add_argument("--plan", type=Path, default=None, help="grid plan GeoPackage (grid figures)")
    p.add_argument(
        "--before", type=Path, default=None, help="an earlier snapshot of DATA (change figures)"
    )
    p.add_argument(
        "--radius",
        type=float,
        default=DEFAULT_RADIUS_M,
        help=f"station radius, m (default {DEFAULT_RADIUS_M:g})",
    )
    p.add_argument(
        "--mode",
        choices=("walk", "line"),
        default=None,
        help="distance: walk along roads (default where DATA has roads) or straight line",
    )
    p.add_argument("--crs", default=None, help="declared CRS of DATA: EPSG code, gcj02 or bd09")
    p.add_argument("--out", type=Path, required=True, help="REPORT.xlsx, REPORT.html or .json")
    p.set_defaults(run=run)


def report_format(path: Path) -> str:
    """Return the report format for ``path`` from its suffix, or raise."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        msg = f"cannot write {path.name}: give --out ending in .xlsx, .html or .json"
        raise UnsupportedFormatError(msg)
    return fmt


def run(args: argparse.Namespace) -> int:
    """Compute the figures (and changes), write the report atomically, print a summary."""
    from gridgen.coverage.figure_changes import report_figures
    from gridgen.coverage.figures import round_share
    from gridgen.io.read import read_dataset
    from gridgen.io.report_xlsx import write_atomic
    from maps.report_html import report_bytes

    fmt = report_format(args.out)
    ds = read_dataset(args.data, crs=args.crs)
    before = read_dataset(args.before, crs=args.crs) if args.before is not None else None
    plan = None
    if args.plan is not None:
        from gridgen.io.plan import read_plan

        plan = read_plan(args.plan)
    figures, changes = report_figures(
        ds, plan=plan, before=before, radius=args.radius, mode=args.mode
    )
    write_atomic(args.out, report_bytes(figures, changes=changes, fmt=fmt))
    d = figures.tables["district"].iloc[0]
    line = (
        f"report: {int(d['households']):,} households, {int(d['grids']):,} grids "
        f"({_party(d)}), "
        f"{int(d['micro_stations']):,} micro-stations, {int(d['compounds']):,} compounds "
        f"({int(d['no_property_compounds']):,} without property management), "
        f"{len(figures.tables['street'])} streets, {len(figures.tables['community'])} "
        "communities"
    )
    if changes is not None:
        e = changes["district"]["no_property_compounds_eliminated"]
        line += (
            f"; since before: {e['count']} of {e['denominator']} no-property compounds "
            f"eliminated ({round_share(e['share'])})"
        )
    print(f"{line}; written to {args.out}")
    return 0


def _party(district: Any) -> str:
    """Return how many grids have a party organisation, or that it is unknown."""
    grids, known = int(district["grids"]), int(district["grids_party_org_known"])
    if grids and not known:
        return "party organisations unknown: no grid sheet given (gridgen update --layer grids)"
    unknown = f", {grids - known:,} unknown" if grids - known else ""
    return f"{int(district['grids_with_party_org']):,} with a party organisation{unknown}"
