"""``gridgen update DATA --layer buildings --from LEDGER.xlsx|.csv [--key ID] --out NEW.gpkg``
and ``gridgen update DATA --layer grids --plan PLAN --from GRIDS.xlsx|.csv --out NEW.gpkg``
(grid workers, party organisations and 责任主体 from an office's sheet, by grid code)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from gridgen.errors import UnsupportedFormatError


def add_parser(sub: Any) -> None:
    """Register the ``update`` subcommand."""
    p = sub.add_parser(
        "update", help="refresh a layer's attributes from a ledger spreadsheet (楼栋台账)"
    )
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder")
    p.add_argument("--layer", default="buildings", help="layer to refresh (default buildings)")
    p.add_argument(
        "--from", dest="ledger", type=Path, required=True, help="LEDGER.xlsx or LEDGER.csv"
    )
    p.add_argument("--key", default=None, help="id column (default the layer's, building_id)")
    p.add_argument("--plan", type=Path, default=None, help="plan GeoPackage (--layer grids)")
    p.add_argument("--crs", default=None, help="declared CRS of DATA: EPSG code, gcj02 or bd09")
    p.add_argument(
        "--out", type=Path, required=True, help="NEW.gpkg (the refreshed dataset, or plan)"
    )
    p.set_defaults(run=run)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def run(args: argparse.Namespace) -> int:
    """Apply the ledger, validate, write the new dataset atomically, print the counts."""
    from gridgen.io.ledger import read_ledger
    from gridgen.io.read import read_dataset
    from gridgen.io.write import write_dataset
    from gridgen.validate.ledger import update_dataset

    out: Path = args.out
    if out.suffix.lower() != ".gpkg":
        raise UnsupportedFormatError(f"cannot write {out.name}: give --out ending in .gpkg")
    if args.layer == "grids" or args.plan is not None:
        return _grids(args)
    ledger = read_ledger(args.ledger)
    ds = read_dataset(args.data, crs=args.crs)
    new, result = update_dataset(ds, ledger, layer=args.layer, key=args.key, name=out.stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".gpkg", dir=out.parent)
    os.close(fd)
    try:
        write_dataset(new, tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    ignored = f"; ignored columns: {', '.join(result.ignored)}" if result.ignored else ""
    print(
        f"ledger {args.ledger.name}: {result.matched} row{_s(result.matched)} matched, "
        f"{result.changed} {args.layer} changed ({result.cells_changed} "
        f"value{_s(result.cells_changed)} in "
        f"{', '.join(result.columns) or 'no columns'}), {result.unmatched_layer} {args.layer} "
        f"not in the ledger (unchanged), {result.unmatched_ledger} ledger rows unmatched"
        f"{ignored}; validation: {len(new.report.findings)} findings; written to {out}"
    )
    return 0


def _grids(args: argparse.Namespace) -> int:
    """Apply an office's grid sheet to the plan, write the new plan atomically."""
    from gridgen.errors import ParameterError
    from gridgen.io.ledger import read_ledger
    from gridgen.io.plan import read_plan, write_plan
    from gridgen.io.read import read_dataset
    from gridgen.records.attributes import grid_sheet_updated

    if args.layer != "grids" or args.plan is None:
        msg = "grid attributes go with --layer grids --plan PLAN.gpkg (give both)"
        raise ParameterError(msg)
    sheet = read_ledger(args.ledger)
    plan = read_plan(args.plan)
    ds = read_dataset(args.data, crs=args.crs)
    unknown = sorted(set(plan.community_ids()) - set(ds.communities["community_id"].astype(str)))
    if unknown:
        msg = f"plan {args.plan.name} has communities not in DATA ({', '.join(unknown[:5])})"
        raise ParameterError(msg)
    new, result = grid_sheet_updated(plan, sheet)
    write_plan(new, args.out)
    ignored = f"; ignored columns: {', '.join(result.ignored)}" if result.ignored else ""
    print(
        f"grid sheet {args.ledger.name}: {result.matched} grid{_s(result.matched)} matched, "
        f"{result.changed} changed ({result.cells_changed} value{_s(result.cells_changed)} in "
        f"{', '.join(result.columns) or 'no columns'}), {result.unmatched_layer} grids not in "
        f"the sheet (unchanged){ignored}; written to {args.out}"
    )
    return 0
