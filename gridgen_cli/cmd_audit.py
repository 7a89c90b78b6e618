"""``gridgen audit DATA --grids GRIDS [--band MIN,MAX] [--standard DB11/T2157|CJ/T349]
--out REPORT.json|REPORT.gpkg|REPORT.xlsx`` (the xlsx, with ``--standard``, is the list of
fixes, 整改清单)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridgen_cli.grid_options import add_grid_options, load_grids
from gridgen_cli.options import read_data


def add_parser(sub: Any) -> None:
    """Register the ``audit`` subcommand."""
    p = sub.add_parser("audit", help="check an existing grid layer against the planning rules")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder of GeoJSON layers")
    add_grid_options(p)
    p.add_argument(
        "--standard",
        default=None,
        help="also check the grid standard: DB11/T2157 (15-digit codes) or CJ/T349 (20 digits)",
    )
    p.add_argument("--object-code", default=None, help="CJ/T 349's 6-digit object code")
    p.add_argument("--out", type=Path, required=True, help="report: .json, .gpkg or .xlsx")
    p.set_defaults(run=run)


def _standard_report(args: argparse.Namespace, ds: Any, grids: Any, audit: Any) -> None:
    """Write the audit with its ``standard`` section (.json, .xlsx: 整改清单, .gpkg)."""
    import json

    from gridgen.io.grids import write_audit
    from gridgen.io.records_xlsx import fixes_workbook
    from gridgen.io.report_xlsx import write_atomic
    from gridgen.records.standard import CHECK_LABELS, fixes_rows, standard_named, standard_section

    std = standard_named(args.standard)
    section = standard_section(ds, grids, audit, standard=std, object_code=args.object_code)
    suffix = args.out.suffix.lower()
    if suffix == ".xlsx":
        rows = list(fixes_rows(section))
        write_atomic(args.out, fixes_workbook(section, labels=CHECK_LABELS, rows=rows))
    elif suffix == ".json":
        doc = {**audit.to_dict(), "standard": section}
        write_atomic(args.out, json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"))
    else:
        import pandas as pd
        import pyogrio

        write_audit(audit, args.out)
        cols = ["no", "check", "code", "where", "problem", "fix"]
        fixes = pd.DataFrame(list(fixes_rows(section)), columns=cols).astype(str)
        pyogrio.write_dataframe(fixes, args.out, layer="fixes", driver="GPKG", append=True)
    found = ", ".join(f"{k} {v['count']}" for k, v in section["checks"].items())
    print(f"{std.name}: {'clean' if section['clean'] else found}")


def run(args: argparse.Namespace) -> int:
    """Audit the grid layer and write the report (exit 0 whatever it found)."""
    from gridgen.errors import ParameterError
    from gridgen.io.grids import write_audit
    from gridgen.partition.audit import audit_grids
    from gridgen.partition.plan import default_band, parse_band

    if args.grids is None:
        msg = "--grids GRIDS is required: the grid layer to audit"
        raise ParameterError(msg)
    suffixes = (".json", ".gpkg", ".xlsx") if args.standard else (".json", ".gpkg")
    if args.out.suffix.lower() not in suffixes:
        msg = f"--out {args.out}: give a {', '.join(suffixes)} report path"
        if args.out.suffix.lower() == ".xlsx":
            msg += " (.xlsx is the list of fixes of --standard)"
        raise ParameterError(msg)
    std = None
    if args.standard:
        from gridgen.records.standard import standard_named

        std = standard_named(args.standard)  # a bad name fails before the work
    if args.object_code is not None and (std is None or std.scheme != "cjt349"):
        msg = (
            f"--object-code {args.object_code!r} goes with --standard CJ/T349 (DB11/T 2157 "
            "codes have no object code): add --standard CJ/T349 or drop --object-code"
        )
        raise ParameterError(msg)
    band = default_band(args.target, parse_band(args.band))
    ds = read_data(args.data, crs=args.crs)
    grids = load_grids(args, ds, args.grids)
    audit = audit_grids(ds, grids, band=band)
    if args.standard:
        _standard_report(args, ds, grids, audit)
    else:
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
