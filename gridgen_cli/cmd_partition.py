"""``gridgen partition DATA --target N [--band MIN,MAX] [--seed S] [--out-crs CRS] --out PLAN``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gridgen_cli.code_options import add_code_options, code_scheme, valid_from
from gridgen_cli.options import (
    add_out_crs_option,
    add_scheduler_option,
    executor_from,
    output_file,
    read_data,
)


def add_parser(sub: Any) -> None:
    """Register the ``partition`` subcommand."""
    p = sub.add_parser("partition", help="draw balanced grids for every community")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder of GeoJSON layers")
    p.add_argument("--target", type=int, default=300, help="households per grid (default 300)")
    p.add_argument("--band", default=None, help="MIN,MAX households per grid (default ±20%%)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same plan)")
    p.add_argument("--crs", default=None, help="declared CRS of DATA: EPSG code, gcj02 or bd09")
    p.add_argument(
        "--out", type=output_file(".gpkg"), required=True, help="plan GeoPackage to write"
    )
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_scheduler_option(p)
    add_out_crs_option(p)
    add_code_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Partition ``args.data`` and write the plan (problems are printed).

    Exit status 0 only when the grids tile every community; otherwise a
    :class:`gridgen.errors.TilingError` names the communities (exit 1) and nothing is written.
    """
    from gridgen.io.crs import parse_crs
    from gridgen.io.plan import write_plan
    from gridgen.partition.community import partition_dataset
    from gridgen.partition.plan import default_band, parse_band
    from gridgen.partition.tiling import require_tiling
    from gridgen_cli.progress import progress_task

    band = default_band(args.target, parse_band(args.band))
    executor = executor_from(args)
    if args.out_crs is not None:
        parse_crs(args.out_crs)  # a bad --out-crs fails before the work
    on = valid_from(args)
    ds = read_data(args.data, crs=args.crs)
    scheme = code_scheme(args, ds)
    with progress_task("partition") as progress:
        plan = partition_dataset(
            ds,
            target=args.target,
            band=band,
            seed=args.seed,
            executor=executor,
            progress=progress,
            scheme=scheme,
            on=on,
        )
    require_tiling(ds, plan.grids)  # exit 1 naming the communities, nothing written
    write_plan(plan, args.out, crs=args.out_crs)
    m = plan.metrics
    if args.json:
        print(json.dumps(m.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(
            f"{m.n_grids} grids for {m.households} households (target {plan.target}, band "
            f"{band[0]}-{band[1]}): in band {m.band_compliance:.1%}, max deviation "
            f"{m.max_abs_deviation:.1%}, mean Polsby-Popper {m.mean_polsby_popper:.3f}, "
            f"cut edges {m.cut_edges}, grids crossed by a main road {m.main_road_crossings}, "
            f"contiguous {m.contiguous_share:.1%}, tiling {'ok' if m.tiling_ok else 'FAILED'}"
        )
        for p in plan.problems:
            print(f"  {p.kind}: {p.reason}")
    print(f"plan written to {args.out}")
    return 0
