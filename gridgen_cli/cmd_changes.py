"""``gridgen changes DATA --old OLD --new NEW --out CHANGES.json|.xlsx|.pdf``: the change order
(变更单) between two plans; the workbook and the PDF are the handover sheets (交接单)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridgen.errors import UnsupportedFormatError
from gridgen.rules import RuleKind
from gridgen_cli.code_options import valid_from
from gridgen_cli.options import read_data, warn_unknown_buildings

if TYPE_CHECKING:
    from gridgen.dataset import Dataset
    from gridgen.partition.plan import Plan

FORMATS = (".json", ".xlsx", ".pdf")


def add_parser(sub: Any) -> None:
    """Register the ``changes`` subcommand."""
    p = sub.add_parser("changes", help="change order between two plans (handover sheets)")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder of GeoJSON layers")
    p.add_argument("--old", type=Path, required=True, help="plan (or grid layer) before")
    p.add_argument("--new", type=Path, required=True, help="plan (or grid layer) after")
    p.add_argument("--out", type=Path, required=True, help="CHANGES.json, .xlsx or .pdf")
    p.add_argument("--crs", default=None, help="declared CRS of DATA: EPSG code, gcj02 or bd09")
    p.add_argument(
        "--id-column",
        default=None,
        help="code column of a grid layer (default: first of grid_id, code, 网格编码, 网格编号)",
    )
    p.add_argument(
        "--effective",
        dest="valid_from",
        default=None,
        help="effective date YYYY-MM-DD (default: the date the new plan's codes start)",
    )
    p.add_argument(
        "--restricted", action="store_true", help="show grid workers' names (restricted)"
    )
    p.set_defaults(run=run)


def read_plan_or_layer(ds: Dataset, path: Path, *, id_column: str | None = None) -> Plan:
    """Return the plan at ``path``, or a grid layer without assignment (its codes in
    ``id_column``) taken as a plan."""
    import pyogrio
    from pyogrio.errors import DataSourceError

    from gridgen.io.plan import read_plan

    if path.exists() and path.suffix.lower() == ".gpkg":
        try:
            layers = {name for name, _ in pyogrio.list_layers(path)}
        except DataSourceError:  # not a GeoPackage: read_grid_layer says so, naming the file
            layers = set()
        if {"grids", "assignment"} <= layers:
            plan = read_plan(path)
            warn_unknown_buildings(plan, ds, path)
            return plan
    from gridgen.io.grids import read_grid_layer
    from gridgen.partition.existing import import_grids

    return import_grids(ds, read_grid_layer(path, id_column=id_column), source=str(path))


def run(args: argparse.Namespace) -> int:
    """Compute the change order and write it atomically; print its summary."""
    from gridgen.io.records_xlsx import changes_workbook
    from gridgen.io.report_xlsx import write_atomic
    from gridgen.records.changes import change_order

    suffix = args.out.suffix.lower()
    if suffix not in FORMATS:
        msg = f"cannot write {args.out.name}: give --out ending in {', '.join(FORMATS)}"
        raise UnsupportedFormatError(msg)
    effective = valid_from(args, flag="--effective") if args.valid_from is not None else None
    ds = read_data(args.data, crs=args.crs)
    old = read_plan_or_layer(ds, args.old, id_column=args.id_column)
    new = read_plan_or_layer(ds, args.new, id_column=args.id_column)
    for path, plan in ((args.old, old), (args.new, new)):
        for p in plan.problems:
            if p.kind == RuleKind.DUPLICATE_CODE:
                print(f"warning: {path.name}: {p.reason}", file=sys.stderr)
    order = change_order(
        ds,
        old,
        new,
        effective=effective,
        restricted=args.restricted,
        labels=(args.old.name, args.new.name),
    ).to_dict()
    if suffix == ".json":
        data = json.dumps(order, ensure_ascii=False, indent=2).encode("utf-8")
    elif suffix == ".xlsx":
        data = changes_workbook(order)
    else:
        from maps.handover import handover_pdf

        data = handover_pdf(order)
    write_atomic(args.out, data)
    s = order["summary"]
    print(
        f"changes {args.old.name} -> {args.new.name} (effective {order['effective_date']}): "
        f"{s['households_moved']} households moved ({s['buildings_moved']} buildings); grids "
        f"kept {s['grids_kept']}, changed {s['grids_changed']}, new {s['grids_new']}, "
        f"retired {s['grids_retired']}; written to {args.out}"
    )
    return 0
