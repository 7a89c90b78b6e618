"""``gridgen merge-grids DATA --grids A --grids B [...] --out PLAN.gpkg --crosswalk X.csv``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gridgen_cli.code_options import add_code_options, code_scheme, valid_from
from gridgen_cli.grid_options import add_grid_options, load_grids
from gridgen_cli.options import output_file, read_data


def add_parser(sub: Any) -> None:
    """Register the ``merge-grids`` subcommand."""
    p = sub.add_parser("merge-grids", help="merge departments' grid layers into one (多网合一)")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder of GeoJSON layers")
    add_grid_options(p, many=True)
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--out", type=output_file(".gpkg"), required=True, help="merged plan GeoPackage")
    p.add_argument(
        "--crosswalk", type=output_file(".csv"), required=True, help="CSV: new grid per input grid"
    )
    p.add_argument(
        "--summary", type=output_file(".json"), default=None, help="JSON summary with the audit"
    )
    add_code_options(p)
    p.add_argument(
        "--recode",
        action="store_true",
        help="give every merged grid a new code of --code-scheme, numbered west to east, "
        "north to south per community and valid from --valid-from (an official layer); "
        "without it a grid keeps the first layer's code it holds most households of. The "
        "department codes are retired in the plan's code register and the crosswalk maps "
        "each of them to the new grids",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Merge the layers and write the plan and crosswalk."""
    from gridgen.errors import ParameterError
    from gridgen.io.csvsafe import write_csv
    from gridgen.io.plan import write_plan
    from gridgen.partition.merge import merge_layers
    from gridgen.partition.plan import default_band, parse_band
    from gridgen.partition.tiling import require_tiling
    from gridgen_cli.progress import progress_task

    if len(args.grids) < 2:
        msg = "merge-grids needs at least two --grids layers"
        raise ParameterError(msg)
    names = [p.name for p in args.grids]
    if len(set(names)) < len(names):
        names = [str(p) for p in args.grids]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        msg = f"--grids {twice} is given twice; give each department's layer once"
        raise ParameterError(msg)
    band = default_band(args.target, parse_band(args.band))
    on = valid_from(args)
    ds = read_data(args.data, crs=args.crs)
    scheme = code_scheme(args, ds)
    layers = [load_grids(args, ds, p) for p in args.grids]
    with progress_task("merge") as progress:
        result = merge_layers(
            ds,
            layers,
            names=names,
            target=args.target,
            band=band,
            seed=args.seed,
            progress=progress,
            scheme=scheme,
            on=on,
            recode=args.recode,
        )
    require_tiling(ds, result.plan.grids)  # exit 1 naming the communities, nothing written
    write_plan(result.plan, args.out)
    write_csv(result.crosswalk, args.crosswalk)
    s = result.summary
    if args.summary is not None:
        args.summary.write_text(json.dumps(s, ensure_ascii=False, indent=2), encoding="utf-8")
    a = s["audit"]
    print(
        f"{' + '.join(str(n) for n in s['grids_in'])} input grids -> {s['grids']} grids: "
        f"{a['out_of_band']} out of band, {a['split_compound']} split compounds, "
        f"{a['multipart']} multipart, gaps {a['gap_m2']:.0f} m²"
    )
    print(_codes_line(s["codes"]))
    for line in [*s["unfixable"], *s["not_fixed"]]:
        print(f"  {line}")
    print(f"plan written to {args.out}, crosswalk to {args.crosswalk}")
    return 0


def _codes_line(codes: dict[str, Any]) -> str:
    """Return the summary line of the codes: kept, new (valid from), retired, renumbered."""
    line = (
        f"codes ({codes['scheme']}): {codes['kept']} kept from the first layer, {codes['new']} "
        f"new valid from {codes['valid_from']}, {codes['retired']} retired"
    )
    if codes["recode"]:
        line += (
            f"; recoded: {codes['renumbered']} new codes take over a first-layer grid "
            "(its attributes; the crosswalk maps every input grid)"
        )
    return line
