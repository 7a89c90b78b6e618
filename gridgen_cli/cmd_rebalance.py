"""``gridgen rebalance DATA --plan PLAN.gpkg|--grids GRIDS [--band MIN,MAX] [--max-moved N]
--out NEW.gpkg [--crosswalk X.csv] [--summary S.json]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gridgen_cli.code_options import add_code_options, code_scheme, valid_from
from gridgen_cli.grid_options import add_grid_options, load_grids
from gridgen_cli.options import (
    add_scheduler_option,
    executor_from,
    output_file,
    read_data,
    warn_unknown_buildings,
)


def add_parser(sub: Any) -> None:
    """Register the ``rebalance`` subcommand."""
    p = sub.add_parser(
        "rebalance", help="fix existing grids with as few households moved as possible"
    )
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder of GeoJSON layers")
    p.add_argument("--plan", type=Path, default=None, help="current plan GeoPackage")
    add_grid_options(p)
    p.add_argument("--max-moved", type=int, default=None, help="most households to move")
    p.add_argument("--out", type=output_file(".gpkg"), required=True, help="new plan GeoPackage")
    p.add_argument(
        "--crosswalk",
        type=output_file(".csv"),
        default=None,
        help="CSV: building, old and new code",
    )
    p.add_argument(
        "--summary",
        type=output_file(".json"),
        default=None,
        help="JSON summary (audit before/after)",
    )
    add_scheduler_option(p)
    add_code_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Rebalance the plan or grid layer and write the new plan (and crosswalk)."""
    from gridgen.errors import ParameterError
    from gridgen.io.csvsafe import write_csv
    from gridgen.io.plan import read_plan, write_plan
    from gridgen.partition.codes import CodeBook
    from gridgen.partition.plan import default_band, parse_band
    from gridgen.partition.rebalance import rebalance
    from gridgen.partition.tiling import require_tiling
    from gridgen_cli.progress import progress_task

    if (args.plan is None) == (args.grids is None):
        msg = "give exactly one of --plan PLAN.gpkg and --grids GRIDS"
        raise ParameterError(msg)
    if args.max_moved is not None and args.max_moved < 0:
        msg = f"--max-moved {args.max_moved}: give a number of households ≥ 0"
        raise ParameterError(msg)
    on = valid_from(args)
    executor = executor_from(args)  # a bad --workers or --scheduler fails before the work
    ds = read_data(args.data, crs=args.crs)
    scheme = code_scheme(args, ds)
    book = None if scheme is None else CodeBook(scheme)
    assignment = None
    cut_edges = None
    target = args.target
    band_text = parse_band(args.band)
    if args.plan is not None:
        plan = read_plan(args.plan)
        warn_unknown_buildings(plan, ds, args.plan)
        grids, assignment = plan.grids, plan.assignment
        if scheme is not None and scheme != plan.codes.scheme:
            msg = (
                f"--code-scheme {scheme.name}: the plan's codes follow {plan.codes.scheme.name}; "
                "a rebalance keeps the plan's scheme (leave --code-scheme out)"
            )
            raise ParameterError(msg)
        book = plan.codes
        cut_edges = plan.metrics.cut_edges if plan.metrics.n_grids else None
        if band_text is None and args.target == 300:
            target, band_text = plan.target, plan.band
    else:
        grids = load_grids(args, ds, args.grids)
    band = default_band(target, band_text)
    with progress_task("rebalance") as progress:
        result = rebalance(
            ds,
            grids,
            assignment=assignment,
            target=target,
            band=band,
            max_moved=args.max_moved,
            progress=progress,
            codes=book,
            on=on,
            cut_edges=cut_edges,
            executor=executor,
            source=str(args.plan if args.plan is not None else args.grids),
        )
    require_tiling(ds, result.plan.grids)  # exit 1 naming the communities, nothing written
    write_plan(result.plan, args.out)
    if args.crosswalk is not None:
        write_csv(result.crosswalk, args.crosswalk)
    s = result.summary
    if args.summary is not None:
        args.summary.write_text(json.dumps(s, ensure_ascii=False, indent=2), encoding="utf-8")
    b, a = s["audit_before"], s["audit_after"]
    print(
        f"{s['households_moved']} households moved ({s['buildings_moved']} buildings; at "
        f"least {s['lower_bound']} had to, for the old grids to reach the band), "
        f"{s['households_filled']} placed from gaps; grids {s['grids_before']} -> "
        f"{s['grids_after']}: {s['grids_changed']} changed, codes kept {s['codes_kept']}, "
        f"new {s['codes_new']}, retired {s['codes_retired']}"
    )
    print(
        f"out of band {b['out_of_band']} -> {a['out_of_band']}, split compounds "
        f"{b['split_compound']} -> {a['split_compound']}, gaps {b['gap_m2']:.0f} -> "
        f"{a['gap_m2']:.0f} m², overlaps {b['overlap_m2']:.0f} -> {a['overlap_m2']:.0f} m²"
    )
    for line in [*s["unfixable"], *s["not_fixed"]]:
        print(f"  {line}")
    if s["retired_codes"]:
        print(f"retired codes: {', '.join(s['retired_codes'])}")
    print(f"plan written to {args.out}")
    return 0
