"""``gridgen audit DATA --grids GRIDS [--band MIN,MAX] --out REPORT.json|REPORT.gpkg``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridgen_cli.grid_options import add_grid_options, load_grids


def add_parser(sub: Any) -> None:
    """Register the ``audit`` subcommand."""
    p = sub.add_parser("audit", help="check an existing grid layer against the planning rules")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder of GeoJSON layers")
    add_grid_options(p)
    p.add_argument("--out", type=Path, required=True, help="report: .json or .gpkg")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Audit the grid layer and write the report (exit 0 whatever it found)."""
    from gridgen.errors import ParameterError
    from gridgen.io.grids import write_audit
    from gridgen.io.read import read_dataset
    from gridgen.partition.audit import audit_grids
    from gridgen.partition.plan import default_band, parse_band

    if args.grids is None:
        msg = "--grids GRIDS is required: the grid layer to audit"
        raise ParameterError(msg)
    if args.out.suffix.lower() not in (".json", ".gpkg"):
        msg = f"--out {args.out}: give a .json or .gpkg report path"
        raise ParameterError(msg)
    band = default_band(args.target, parse_band(args.band))
    ds = read_dataset(args.data, crs=args.crs)
    audit = audit_grids(ds, load_grids(args, ds, args.grids), band=band)
    write_audit(audit, args.out)
    s = audit.summary
    print(
        f"{s['grids']} grids, {s['households']} households (band {band[0]}-{band[1]}): "
        f"{s['out_of_band']} out of band, {s['split_compound']} split compounds, "
        f"{s['unassigned_building']} buildings in no grid, gaps {s['gap_m2']:.0f} m² "
        f"({s['gap_households']} households), overlaps {s['overlap_m2']:.0f} m² "
        f"({s['overlap_households']} households counted twice), {s['multipart']} "
        f"multipart, {s['invalid_geometry']} invalid, {s['crosses_community']} crossing "
        f"community boundaries, {s['main_road_crossing']} crossed by a main road"
    )
    print(f"audit written to {args.out}")
    return 0
