"""Options shared by several subcommands."""

from __future__ import annotations

import argparse


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler ADDRESS`` (a Dask scheduler; default in process)."""
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: $GRIDGEN_DASK_SCHEDULER; "
        "neither: in this process)",
    )


def add_out_crs_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--out-crs CRS`` (the system of the written geometry; default WGS84)."""
    parser.add_argument(
        "--out-crs",
        default=None,
        metavar="CRS",
        help="coordinate system of the written geometry: an EPSG code (default 4326), gcj02 "
        "(Amap/Tencent) or bd09 (Baidu); GCJ-02/BD-09 are declared as such in the file",
    )
