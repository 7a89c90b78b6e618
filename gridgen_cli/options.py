"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gridgen.distributed.executor import Executor
from gridgen.distributed.settings import executor_settings

if TYPE_CHECKING:
    from gridgen.dataset import Dataset
    from gridgen.partition.plan import Plan


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler ADDRESS`` (a Dask scheduler) and ``--workers N`` (local processes)."""
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: $GRIDGEN_DASK_SCHEDULER; "
        "neither: on this machine)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes when no scheduler is given (default: $GRIDGEN_WORKERS "
        "or 1, in this process)",
    )


def executor_from(args: argparse.Namespace) -> Executor:
    """Return the executor of a command: its options over the ``GRIDGEN_*`` executor settings.

    Only the executor settings are read (:mod:`gridgen.distributed.settings`): the web
    service's settings (``GRIDGEN_UPLOAD_LIMIT_BYTES`` ...) are no concern of the CLI.
    """
    return executor_settings().executor(
        scheduler=getattr(args, "scheduler", None), workers=getattr(args, "workers", None)
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


def add_out_crs_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--out-crs CRS`` (the system of the written geometry; default WGS84)."""
    parser.add_argument(
        "--out-crs",
        default=None,
        metavar="CRS",
        help="coordinate system of the written geometry: an EPSG code (default 4326), gcj02 "
        "(Amap/Tencent) or bd09 (Baidu); GCJ-02/BD-09 are declared as such in the file",
    )


def read_data(path: Path, *, crs: str | None = None) -> Dataset:
    """Return the validated dataset at ``path``, warning on stderr of every row validation
    left out or whose households it estimated (naming the first rows), so that no building
    is dropped or changed without a word; ``gridgen validate`` lists them all."""
    from gridgen.io.read import read_dataset

    ds = read_dataset(path, crs=crs)
    for action, what in (("rejected", "left out"), ("estimated", "households estimated")):
        found = [f for f in ds.report.findings if f.action == action]
        if not found:
            continue
        first = "; ".join(f.message for f in found[:3])
        more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
        print(
            f"warning: {path}: {len(found)} row(s) {what} by validation: {first}{more} "
            f"(gridgen validate {path} lists them)",
            file=sys.stderr,
        )
    return ds


def warn_unknown_buildings(plan: Plan, ds: Dataset, path: Path) -> None:
    """Warn on stderr when the plan at ``path`` assigns buildings ``ds`` does not hold (a plan
    of another dataset, or buildings validation left out): they are left out of the work."""
    known = set(ds.buildings["building_id"].astype(str))
    unknown = [b for b in plan.assignment["building_id"].astype(str) if b not in known]
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        print(
            f"warning: {path}: {len(unknown)} building(s) of the plan are not in the dataset "
            f"({', '.join(unknown[:5])}{more}) and are left out; check the plan belongs to "
            "this dataset",
            file=sys.stderr,
        )
