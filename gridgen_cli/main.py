"""The ``gridgen`` console script (docs/cli.md).

Each subcommand lives in its own module ``gridgen_cli.cmd_<name>`` exposing
``add_parser(subparsers)`` and ``run(args) -> int``. This package sits above ``gridgen``,
``maps`` and ``api`` so that the pure ``gridgen`` package never imports the other two.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from gridgen.errors import GridgenError, InputError, NotFoundError

BAD_INPUT: tuple[type[GridgenError], ...] = (InputError, NotFoundError)
"""Errors meaning the input or the options are wrong: exit status 2. Every other gridgen
error (an unreachable cluster, an infeasible plan, a missing font) is a failure: 1."""

SUBCOMMANDS: tuple[str, ...] = (
    "demo",
    "validate",
    "partition",
    "coverage",
    "site",
    "sheet",
    "atlas",
    "serve",
    "report",
    "update",
    "ingest",
    "audit",
    "rebalance",
    "merge-grids",
    "changes",
    "nesting",
    "qgis-plugin",
)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``gridgen: error: ...``."""

    def error(self, message: str) -> NoReturn:
        """Print the error on one line and exit with status 2."""
        option = re.fullmatch(r"argument (--[\w-]+)(?:/[^:]*)?: expected one argument", message)
        if option is not None:  # ``--band -1,5``: argparse took the value for an option
            message += f"; a value starting with '-' is written {option[1]}=VALUE"
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available subcommand."""
    parser = OneLineParser(
        prog="gridgen",
        description="Community grid governance (网格化治理): grids, coverage, maps, service.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"gridgen_cli.cmd_{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gridgen_cli.cmd_{name.replace('-', '_')}":
                raise
            _add_unavailable(sub, name)
            continue
        module.add_parser(sub)
    return parser


def _add_unavailable(sub: Any, name: str) -> None:
    """Register ``name`` as a subcommand that says plainly it is not available yet."""

    def unavailable(args: argparse.Namespace) -> int:
        print(f"gridgen {name}: not available yet in this version", file=sys.stderr)
        return 2

    p = sub.add_parser(name, help="(not available yet)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(run=unavailable)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failure, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except GridgenError as exc:
        print(f"gridgen {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, BAD_INPUT) else 1
    except KeyboardInterrupt:
        print(f"gridgen {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permission denied, ...: a failure, not bad input
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        reason = exc.strerror or _one_line(exc)
        print(f"gridgen {args.command}: error: {where}{reason}", file=sys.stderr)
        return 1
    except Exception as exc:
        if os.environ.get("GRIDGEN_DEBUG"):
            raise
        msg = f"internal error ({type(exc).__name__}: {_one_line(exc)}); GRIDGEN_DEBUG=1 shows more"
        print(f"gridgen {args.command}: error: {msg}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    """Return the message of ``exc`` on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
