"""Run the ``gridgen`` command line in the test process (no subprocess), as a user would.

A subprocess is kept only where the test needs a fresh interpreter (what gets imported) or
isolation from the test process (a Dask client that tries to connect).
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from gridgen_cli.main import main


@dataclass(frozen=True)
class CliRun:
    """The exit status and the output of one command."""

    returncode: int
    stdout: str
    stderr: str


def run_main(*args: str) -> CliRun:
    """Return the result of ``gridgen ARGS`` run in process (argparse's exits included)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliRun(code, out.getvalue(), err.getvalue())
