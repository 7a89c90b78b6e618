"""``gridgen nesting DATA --base PLAN --layer DEPT [--layer DEPT2 ...] --out NEST.json|.xlsx``:
多网合一 as nesting, which departments' zones are not unions of the base grids and the
smallest change that nests them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gridgen.errors import ParameterError, UnsupportedFormatError
from gridgen_cli.options import read_data, warn_unknown_buildings

FORMATS = (".json", ".xlsx")


def add_parser(sub: Any) -> None:
    """Register the ``nesting`` subcommand."""
    p = sub.add_parser("nesting", help="departments' zones as unions of the base grids (多网合一)")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder of GeoJSON layers")
    p.add_argument("--base", type=Path, required=True, help="base plan GeoPackage")
    p.add_argument(
        "--layer",
        type=Path,
        action="append",
        required=True,
        help="a department's zone layer: GeoPackage, GeoJSON or zipped Shapefile (repeat)",
    )
    p.add_argument(
        "--id-column",
        default=None,
        help="zone code column (default: first of grid_id, code, 网格编码, 网格编号)",
    )
    p.add_argument(
        "--layer-crs", default=None, help="declared CRS of the layers: EPSG, gcj02, bd09"
    )
    p.add_argument("--crs", default=None, help="declared CRS of DATA")
    p.add_argument("--out", type=Path, required=True, help="NEST.json or NEST.xlsx")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compute the nesting of every layer and write the report atomically."""
    from gridgen.io.grids import read_grid_layer
    from gridgen.io.plan import read_plan
    from gridgen.io.records_xlsx import nesting_workbook
    from gridgen.io.report_xlsx import write_atomic
    from gridgen.partition.existing import check_grid_extent
    from gridgen.records.nesting import nesting_report

    suffix = args.out.suffix.lower()
    if suffix not in FORMATS:
        msg = f"cannot write {args.out.name}: give --out ending in {', '.join(FORMATS)}"
        raise UnsupportedFormatError(msg)
    names = [p.name for p in args.layer]
    if len(set(names)) < len(names):
        names = [str(p) for p in args.layer]
    if len(set(names)) < len(names):
        raise ParameterError("--layer: the same layer is named twice; give each once")
    ds = read_data(args.data, crs=args.crs)
    base = read_plan(args.base)
    warn_unknown_buildings(base, ds, args.base)
    layers = []
    for name, path in zip(names, args.layer, strict=True):
        frame = read_grid_layer(path, id_column=args.id_column, crs=args.layer_crs)
        check_grid_extent(ds, frame, source=str(path))
        layers.append((name, frame))
    doc = {"base": args.base.name, **nesting_report(ds, base, layers)}
    data = (
        json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
        if suffix == ".json"
        else nesting_workbook(doc)
    )
    write_atomic(args.out, data)
    for r in doc["layers"]:
        state = "nested" if r["nested"] else (
            f"{r['zones_not_unions']} of {r['zones']} zones are not unions of base grids "
            f"({len(r['cut_grids'])} grids cut; proposal: "
            f"{r['proposal']['households_rezoned']} households change zone)"
        )  # fmt: skip
        print(f"{r['layer']}: {state}")
    print(f"nesting written to {args.out}")
    return 0
