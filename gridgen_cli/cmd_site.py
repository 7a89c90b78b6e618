"""``gridgen site DATA (--add K | --target-share S) [--radius M] [--out-crs CRS] --out SITES``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen_cli.options import add_out_crs_option


def add_parser(sub: Any) -> None:
    """Register the ``site`` subcommand."""
    p = sub.add_parser("site", help="propose new micro-stations (maximal covering / set cover)")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder")
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--add", type=int, default=None, help="number of new stations K")
    goal.add_argument(
        "--target-share", type=float, default=None, help="fewest stations reaching this share (0-1]"
    )
    p.add_argument(
        "--radius",
        type=float,
        default=DEFAULT_RADIUS_M,
        help=f"service radius, m (default {DEFAULT_RADIUS_M:g})",
    )
    p.add_argument(
        "--mode", choices=("walk", "line"), default="walk", help="walking or straight line"
    )
    p.add_argument("--candidates", type=Path, default=None, help="point layer of candidate sites")
    p.add_argument("--time-limit", type=float, default=20.0, help="seconds for the exact solver")
    p.add_argument("--crs", default=None, help="declared CRS of DATA: EPSG code, gcj02 or bd09")
    p.add_argument(
        "--out", type=Path, required=True, help="SITES.gpkg (proposed_sites, uncovered_buildings)"
    )
    add_out_crs_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Solve the siting problem, write the GeoPackage and print the result with its gap."""
    from gridgen.coverage.siting import maximal_covering, minimal_stations
    from gridgen.io.coverage import read_candidates, write_siting
    from gridgen.io.crs import parse_crs
    from gridgen.io.read import read_dataset

    if args.out_crs is not None:
        parse_crs(args.out_crs)  # a bad --out-crs fails before the work
    ds = read_dataset(args.data, crs=args.crs)
    candidates = read_candidates(args.candidates) if args.candidates is not None else None
    common = {
        "radius": args.radius,
        "mode": args.mode,
        "candidates": candidates,
        "time_limit": args.time_limit,
    }
    if args.add is not None:
        result = maximal_covering(ds, k=args.add, **common)
        bound = f"upper bound {result.bound:,.0f} households ({result.bound_kind})"
    else:
        result = minimal_stations(ds, target_share=args.target_share, **common)
        bound = f"lower bound {result.bound:.0f} stations ({result.bound_kind})"
    write_siting(ds, result, args.out, crs=args.out_crs)
    print(
        f"site: {len(result.sites)} new stations cover {result.newly_covered_households:,} more "
        f"households; coverage {result.covered_share_before:.1%} -> "
        f"{result.covered_share_after:.1%}; {result.method} {result.status}, gap "
        f"{result.gap:.2%}, {bound}; written to {args.out}"
    )
    return 0
