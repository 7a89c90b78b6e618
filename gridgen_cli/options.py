"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler ADDRESS`` (a Dask scheduler; default in process)."""
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: $GRIDGEN_DASK_SCHEDULER; "
        "neither: in this process)",
    )


def output_file(*suffixes: str) -> Callable[[str], Path]:
    """Return an argparse ``type`` for an output file ending in one of ``suffixes``.

    The check runs while the options are parsed (before any work): a folder or a file
    with another suffix is a usage error (one line naming the option, exit status 2).
    """

    def check(text: str) -> Path:
        path = Path(text)
        if path.is_dir():
            msg = f"{text} is a folder; give a file name ending in {' or '.join(suffixes)}"
            raise argparse.ArgumentTypeError(msg)
        if path.suffix.lower() not in suffixes:
            msg = (
                f"{path.name!r}: unsupported output format; give a file ending in "
                f"{' or '.join(suffixes)}"
            )
            raise argparse.ArgumentTypeError(msg)
        return path

    return check
