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
