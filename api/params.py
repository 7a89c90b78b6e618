"""Edge validation shared by every route: NUL bytes, integers beyond 64 bits, huge values.

:func:`check_parameters` runs (as an application dependency) before any route's own
dependencies and before the store is asked: a path or query parameter holding a NUL byte,
more than :data:`MAX_PARAMETER_CHARS` characters, or an integer beyond the signed 64-bit
range (which SQLite and PostgreSQL cannot bind) is answered 400 with the parameter's name.
"""

from __future__ import annotations

import re

from fastapi import Request

from api.errors import BadParameterError

INT64_MAX = 2**63 - 1
MAX_PARAMETER_CHARS = 2000
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")


def check_value(name: str, value: str) -> None:
    """Raise BadParameterError naming ``name`` when ``value`` cannot be a sane parameter."""
    if "\x00" in value:
        raise BadParameterError(f"{name}: contains a NUL byte; remove it")
    if len(value) > MAX_PARAMETER_CHARS:
        msg = f"{name}: {len(value)} characters, more than the {MAX_PARAMETER_CHARS} allowed"
        raise BadParameterError(msg)
    if _INTEGER.match(value) and abs(int(value)) > INT64_MAX:
        msg = f"{name}: {value.strip()[:24]}… is out of range; give a number below 2^63"
        raise BadParameterError(msg)


async def check_parameters(request: Request) -> None:
    """Check every path and query parameter of the request with :func:`check_value`."""
    for name, value in request.path_params.items():
        check_value(str(name), str(value))
    for name, value in request.query_params.multi_items():
        check_value(name, value)
