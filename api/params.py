"""Edge validation shared by every route: NUL bytes, integers beyond 64 bits, huge values.

:func:`check_parameters` runs (as an application dependency) before any route's own
dependencies and before the store is asked: a path or query parameter holding a NUL byte,
more than :data:`MAX_PARAMETER_CHARS` characters, or an integer beyond the signed 64-bit
range (which SQLite and PostgreSQL cannot bind) is answered 400 with the parameter's name.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from pydantic import AfterValidator

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


def nul_free(value: Any) -> Any:
    """Return ``value`` (text, or text in lists and mappings) unless it holds a NUL byte.

    PostgreSQL cannot store one (the save failed with a 500); the ValueError becomes a 422
    naming the field. Every request body (:class:`api.models.RequestBody`) and form field
    (:data:`NoNul`) is checked.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL byte; remove it")
    elif isinstance(value, dict):
        for key, item in value.items():
            nul_free(key)
            nul_free(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            nul_free(item)
    return value


NoNul = AfterValidator(nul_free)
"""Metadata of a form field: ``Annotated[str, Form(...), NoNul]`` refuses NUL bytes (422)."""
