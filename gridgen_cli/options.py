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
