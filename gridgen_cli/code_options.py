"""Options of the commands that give out grid codes: scheme and the date codes start."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING

from gridgen.errors import ParameterError

if TYPE_CHECKING:
    from gridgen.dataset import Dataset
    from gridgen.partition.codes import CodeScheme


def add_code_options(parser: argparse.ArgumentParser, *, scheme: bool = True) -> None:
    """Add ``--valid-from`` and, with ``scheme``, ``--code-scheme`` and ``--object-code``."""
    if scheme:
        parser.add_argument(
            "--code-scheme",
            choices=("db11", "cjt349", "plain"),
            default=None,
            help="grid codes: db11 (DB11/T 2157, 15 digits), cjt349 (CJ/T 349, 20 digits) or "
            "plain (community id + 3 digits); default db11 when every community has a "
            "12-digit code, else plain",
        )
        parser.add_argument(
            "--object-code",
            default=None,
            help="CJ/T 349's 6-digit object code (default 000000; implies --code-scheme cjt349)",
        )
    parser.add_argument(
        "--valid-from",
        default=None,
        help="date new grid codes are valid from, YYYY-MM-DD (default today)",
    )


def valid_from(args: argparse.Namespace, *, flag: str = "--valid-from") -> date:
    """Return ``--valid-from`` (or the option ``flag`` names in messages) as a date (today
    when not given)."""
    text = getattr(args, "valid_from", None)
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        msg = f"{flag} {text!r}: give a date as YYYY-MM-DD, e.g. {flag} 2025-01-01"
        raise ParameterError(msg) from None


def code_scheme(args: argparse.Namespace, ds: Dataset) -> CodeScheme | None:
    """Return the scheme ``--code-scheme``/``--object-code`` ask for, checked against ``ds``
    (None when neither is given: the producer's default)."""
    from gridgen.partition.codes import scheme_for

    name, obj = getattr(args, "code_scheme", None), getattr(args, "object_code", None)
    if name is None and obj is None:
        return None
    if obj is not None and name not in (None, "cjt349"):
        msg = f"--object-code goes with --code-scheme cjt349, not {name}"
        raise ParameterError(msg)
    return scheme_for(ds.communities, name, object_code=obj)
