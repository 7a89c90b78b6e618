"""What can travel to and from Dask workers: pickled values and where a value cannot be.

Dask sends a task's input and its result by pickle (cloudpickle where plain pickle fails).
An input that cannot be pickled fails when it is sent, with a message that repeats the whole
object; a result that cannot be pickled stays on its worker while the client waits for it
forever. :func:`pickled` turns a task's result into bytes on the worker, so a failure is
an error there and then, and :func:`unpicklable_part` names the attribute, key or item that
stopped it (``the input._derived_cache['memo'].lock (a _thread.lock)``), which is what the
user needs to fix.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cloudpickle

__all__ = ["Pickled", "pickled", "unpicklable_part"]

MAX_DEPTH = 12
"""Levels :func:`unpicklable_part` descends before it names the object it is in."""
MAX_CHILDREN = 2_000
"""Items of one container it looks at (a large list is named as a whole beyond that)."""


@dataclass(frozen=True)
class Pickled:
    """A task's result, pickled on the worker (Dask sends the bytes as they are)."""

    data: bytes

    def value(self) -> Any:
        """Return the result it holds."""
        return pickle.loads(self.data)


def pickled(value: object) -> Pickled:
    """Return ``value`` pickled (cloudpickle, as Dask does), or raise what pickling raised."""
    return Pickled(cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _pickle_error(value: object) -> str | None:
    """Return why ``value`` cannot be pickled, or ``None`` when it can."""
    try:
        cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # any failure (TypeError, PicklingError, ...) means "cannot be sent"
        return " ".join(str(exc).split())[:200] or type(exc).__name__
    return None


def _children(value: object) -> Iterator[tuple[str, object]]:
    """Yield ``(path suffix, child)`` for the parts pickle would send of ``value``."""
    pandas = sys.modules.get("pandas")  # a value can only be a frame if pandas is imported
    if pandas is not None and isinstance(value, pandas.DataFrame | pandas.Series):
        # a frame by column, a column by row label (what a user can find and fix)
        for n, (key, item) in enumerate(value.items()):
            if n >= MAX_CHILDREN:
                return
            yield f"[{key!r}]", item
    elif isinstance(value, dict):
        for n, (key, item) in enumerate(value.items()):
            if n >= MAX_CHILDREN:
                return
            yield f"[{key!r}]", item
            yield f" (key {key!r})", key
    elif isinstance(value, list | tuple | set | frozenset):
        for n, item in enumerate(value):
            if n >= MAX_CHILDREN:
                return
            yield f"[{n}]", item
    else:
        yield from ((f".{k}", item) for k, item in getattr(value, "__dict__", {}).items())
        for slot in getattr(type(value), "__slots__", ()):
            if hasattr(value, slot):
                yield f".{slot}", getattr(value, slot)


def unpicklable_part(value: object, *, name: str) -> str | None:
    """Return where in ``value`` (called ``name``) sits an object that cannot be pickled.

    Returns
    -------
    str or None
        ``None`` when ``value`` pickles; else the path of the innermost attribute, key or
        item that does not, with its type and the reason (``the input.layers['x'].lock (a
        _thread.lock: cannot pickle '_thread.lock' object)``).
    """
    reason = _pickle_error(value)
    if reason is None:
        return None
    path, current = name, value
    for _ in range(MAX_DEPTH):
        found = None
        for suffix, child in _children(current):
            why = _pickle_error(child)
            if why is not None:
                found = (suffix, child, why)
                break
        if found is None:
            break
        path, current, reason = path + found[0], found[1], found[2]
    kind = type(current)
    return f"{path} (a {kind.__module__}.{kind.__qualname__}: {reason})"
