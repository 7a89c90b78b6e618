"""``gridgen sheet DATA --compound ID --out FILE.png|FILE.pdf|FILE.html``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from gridgen_cli.cmd_atlas import add_context_options, load_context


def add_parser(sub: Any) -> None:
    """Register the ``sheet`` subcommand."""
    p = sub.add_parser("sheet", help="one compound sheet (一小区一图示) as PNG, PDF or HTML")
    p.add_argument("data", type=Path, help="dataset: GeoPackage or folder")
    p.add_argument("--compound", required=True, help="compound id")
    p.add_argument("--out", type=Path, required=True, help="FILE.png, FILE.pdf or FILE.html")
    p.add_argument("--paper", choices=("A4", "A3"), default="A4")
    p.add_argument("--landscape", action="store_true", help="landscape instead of portrait")
    p.add_argument("--dpi", type=float, default=150, help="PNG resolution (default 150)")
    add_context_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the sheet; exit 0."""
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.formats import SheetOptions, sheet_format, write_sheet

    sheet_format(args.out.suffix)  # refuse an unknown format before reading anything
    ds, plan, coverage = load_context(args)
    data = compound_sheet_data(
        ds,
        args.compound,
        plan=plan,
        coverage=coverage,
        radius=args.radius,
        restricted=args.restricted,
    )
    orientation: Literal["portrait", "landscape"] = "landscape" if args.landscape else "portrait"
    options = SheetOptions(paper=args.paper, orientation=orientation, dpi=args.dpi)
    write_sheet(data, args.out, options)
    print(f"sheet of {data.compound_name} ({data.compound_id}) written to {args.out}")
    return 0
