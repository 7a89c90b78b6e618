"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from gridgen.distributed.executor import Executor
from gridgen.errors import ParameterError


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
    """Return the executor of a command: its options over the ``GRIDGEN_*`` settings."""
    from pydantic import ValidationError

    from api.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"GRIDGEN_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        msg = f"bad setting: {problems}"
        raise ParameterError(msg) from exc
    return settings.executor(
        scheduler=getattr(args, "scheduler", None), workers=getattr(args, "workers", None)
    )
