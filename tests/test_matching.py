"""Grids of two plans matched by shared households, not by code (hand-checkable)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd

from gridgen.partition.matching import GridMatch, matched_grids, successors

HH = pd.Series({"b1": 100, "b2": 100, "b3": 150, "b4": 0})


def _plan(grid_of: dict[str, str], community: str = "C") -> Any:
    grids = sorted(set(grid_of.values()))
    return SimpleNamespace(
        grids=pd.DataFrame({"grid_id": grids, "community_id": community}),
        assignment=pd.DataFrame({"building_id": list(grid_of), "grid_id": list(grid_of.values())}),
    )


def test_a_grid_renamed_after_losing_households_is_matched_to_its_remainder() -> None:
    # A (b1, b2) loses b2 to B; what is left of A is now called A2; B keeps its code
    a = _plan({"b1": "A", "b2": "A", "b3": "B", "b4": "B"})
    b = _plan({"b1": "A2", "b2": "B", "b3": "B", "b4": "B"})
    got = matched_grids(a, b, HH, community_id="C")
    assert got == [GridMatch("A", "A2", 100), GridMatch("B", "B", 150)]
    assert successors(a, b, HH) == {"A": "A2", "B": "B"}


def test_grids_without_a_partner_and_zero_household_grids() -> None:
    a = _plan({"b1": "A", "b2": "A", "b4": "Z"})
    b = _plan({"b1": "A", "b2": "N", "b4": "Y"})
    got = matched_grids(a, b, HH)
    # Z (no households) still matches Y by its building; N is new
    assert got == [GridMatch("A", "A", 100), GridMatch("Z", "Y", 0), GridMatch(None, "N", 0)]


def test_a_big_unit_moving_keeps_both_grids_by_their_codes() -> None:
    # b3 (150 households) moves from B to A: B's code stays with what is left of B (b4),
    # A's with A; the households alone would pair old B with new A
    hh = pd.Series({"b1": 100, "b3": 150, "b4": 10})
    a = _plan({"b1": "A", "b3": "B", "b4": "B"})
    b = _plan({"b1": "A", "b3": "A", "b4": "B"})
    assert matched_grids(a, b, hh) == [GridMatch("A", "A", 100), GridMatch("B", "B", 10)]
    assert successors(a, b, hh) == {"A": "A", "B": "B"}
