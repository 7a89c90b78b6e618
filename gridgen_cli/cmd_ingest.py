"""``gridgen ingest``: a district's own files to a validated dataset and a match report.

::

    gridgen ingest --communities F --footprints F --ledger F [--ledger-crs gcj02|bd09|EPSG]
        [--compounds F] [--roads F] [--stations F] [--barriers F] [--map LAYER.FIELD=COLUMN ...]
        [--crs INPUT=CRS ...] [--road-class CLASS=KIND[,walkable|,nowalk] ...]
        [--max-rows N] --out DATASET.gpkg --match-report REPORT.json|REPORT.xlsx

Progress goes to stderr, one line per stage (``ingest: ...``); the summary to stdout. The
options and the one-line error messages are a contract (the QGIS plugin runs this command).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gridgen.errors import ParameterError
from gridgen_cli.options import output_file


def add_parser(sub: Any) -> None:
    """Register the ``ingest`` subcommand."""
    p = sub.add_parser(
        "ingest",
        help="make a dataset from a district's files (boundaries, footprints, AOIs, roads, "
        "一标三实 ledger)",
    )
    p.add_argument("--communities", type=Path, required=True, help="community boundaries")
    p.add_argument("--footprints", type=Path, required=True, help="building footprints")
    p.add_argument("--ledger", type=Path, required=True, help="ledger: .xlsx or .csv")
    p.add_argument(
        "--ledger-crs",
        default="gcj02",
        help="system of the ledger's coordinates: gcj02 (default), bd09 or an EPSG code",
    )
    p.add_argument("--compounds", type=Path, default=None, help="compound outlines (小区 AOIs)")
    p.add_argument("--roads", type=Path, default=None, help="roads (OSM Shapefile or .osm.pbf)")
    p.add_argument("--stations", type=Path, default=None, help="stations (points)")
    p.add_argument(
        "--barriers",
        type=Path,
        default=None,
        help="rivers, railways, walls (OSM railways/waterways Shapefile, .osm.pbf, or a file "
        "with a kind column: river, railway, wall, 河流, 铁路, 围墙)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="LAYER.FIELD=COLUMN",
        help="use COLUMN for a field, e.g. --map buildings.building_id=BLDG_ID (repeatable)",
    )
    p.add_argument(
        "--crs",
        action="append",
        default=[],
        metavar="INPUT=CRS",
        help="system of an input without one, e.g. --crs footprints=gcj02 (repeatable)",
    )
    p.add_argument(
        "--road-class",
        action="append",
        default=[],
        metavar="CLASS=KIND",
        help="map an OSM road class: KIND main, minor, path or drop, e.g. tertiary=main",
    )
    p.add_argument(
        "--max-rows", type=int, default=None, help="most ledger rows read (default 500000)"
    )
    p.add_argument("--out", type=output_file(".gpkg"), required=True, help="DATASET.gpkg")
    p.add_argument(
        "--match-report",
        type=output_file(".json", ".xlsx"),
        required=True,
        help="what became of every ledger row: REPORT.json or REPORT.xlsx",
    )
    p.set_defaults(run=run)


def _say(message: str) -> None:
    print(f"ingest: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Ingest, write the dataset and the report atomically, print the summary."""
    from gridgen.ingest.build import IngestPaths, ingest_files, ingest_options
    from gridgen.ingest.report import write_match_report
    from gridgen.io.spreadsheet import TableLimits
    from gridgen.io.write import write_dataset

    if args.max_rows is not None and args.max_rows < 1:
        raise ParameterError(f"--max-rows {args.max_rows}: give a positive number of rows")
    limits = TableLimits() if args.max_rows is None else TableLimits(max_rows=args.max_rows)
    options = ingest_options(
        ledger_crs=args.ledger_crs,
        crs=args.crs,
        mapping=args.map,
        road_classes=args.road_class,
        limits=limits,
    )
    paths = IngestPaths(
        communities=args.communities,
        footprints=args.footprints,
        ledger=args.ledger,
        compounds=args.compounds,
        roads=args.roads,
        stations=args.stations,
        barriers=args.barriers,
    )
    result = ingest_files(paths, options=options, progress=_say, name=args.out.stem)
    write_dataset(result.dataset, args.out)
    write_match_report(result.report, args.match_report)
    _say(f"wrote {args.out} and {args.match_report}")
    for note in result.report.notes:
        _say(f"note: {note}")
    t = result.report.totals
    print(
        f"ledger {args.ledger.name}: {t['rows']} rows: {t['matched']} matched ({t['both']} by "
        f"coordinates and address, {t['coordinate']} by coordinates, {t['address']} by "
        f"address), {t['duplicates']} duplicates, {t['unmatched']} unmatched; "
        f"{t['footprints_with_households']} of {t['footprints']} buildings with households "
        f"({t['households']} households, {t['residents']} residents); dataset {args.out}, "
        f"match report {args.match_report}"
    )
    return 0
