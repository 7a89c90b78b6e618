"""Naming the part of a value that cannot be sent to Dask workers (no cluster needed)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pandas as pd
import pytest

from gridgen.distributed.sendable import pickled, unpicklable_part


@dataclass
class Holder:
    name: str
    parts: dict[str, object] = field(default_factory=dict)


def test_a_picklable_value_has_no_unpicklable_part() -> None:
    value = Holder("a", {"x": [1, 2, (3, "4")], "frame": pd.DataFrame({"a": [1, 2]})})
    assert unpicklable_part(value, name="the input") is None
    back = pickled(value).value()
    assert back.parts["x"] == [1, 2, (3, "4")]
    pd.testing.assert_frame_equal(back.parts["frame"], value.parts["frame"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (Holder("a", {"x": [1, threading.Lock()]}), "the input.parts['x'][1]"),
        ({"k": (0, Holder("b", {"lock": threading.RLock()}))}, "the input['k'][1].parts['lock']"),
        (pd.DataFrame({"a": [1, 2], "b": [None, threading.Lock()]}), "the input['b'][1]"),
    ],
)
def test_the_innermost_unpicklable_part_is_named_with_its_type(value: object, where: str) -> None:
    found = unpicklable_part(value, name="the input")
    assert found is not None
    assert found.startswith(where + " (a _thread.")
    assert "cannot pickle" in found
    with pytest.raises(TypeError):
        pickled(value)


def _locked_for_b(payload: str, cid: str) -> object:
    """Return a value holding a lock for community "b" (a pool task)."""
    return Holder(cid, {"guard": threading.Lock()}) if cid == "b" else f"{payload}:{cid}"


def test_local_processes_name_a_result_that_cannot_come_back() -> None:
    from gridgen.distributed.executor import Executor
    from gridgen.errors import ClusterError

    assert Executor(workers=2).map(_locked_for_b, "p", ["a", "c"]) == ["p:a", "p:c"]
    with pytest.raises(ClusterError) as caught:
        Executor(workers=2).map(_locked_for_b, "p", ["a", "b", "c"])
    message = str(caught.value)
    assert "the result.parts['guard'] (a _thread.lock" in message
    assert "community 'b'" in message and "worker process" in message
