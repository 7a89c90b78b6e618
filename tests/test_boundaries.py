"""Where interior grid boundaries run: on the ground, or off it and why (hand-checkable)."""

from __future__ import annotations

import itertools

import pytest
from partition_helpers import at, make_dataset, wgs
from shapely.geometry import LineString, box
from shapely.geometry.base import BaseGeometry

from gridgen.partition.boundaries import boundary_on_ground, off_ground


def test_off_ground_boundary_is_split_by_where_it_runs() -> None:
    # one community 400 x 100 m; a road at x=100; a small compound (x 0-90) and a compound
    # above the band maximum (x 110-250, 400 households); a building without a compound
    # at x 300-320, y 40-60; strips cut at x = 45, 100, 180, 310, 360 (five 100 m cuts,
    # pieces of 4.95 m)
    ds = make_dataset(
        [("C1", box(0, 0, 400, 100))],
        [("K0", "C1", box(0, 0, 90, 100)), ("K1", "C1", box(110, 0, 250, 100))],
        [
            ("B0", "K0", 100, box(10, 10, 30, 30), "C1"),
            ("B1", "K1", 200, box(120, 10, 140, 30), "C1"),
            ("B2", "K1", 200, box(220, 10, 240, 30), "C1"),
            ("L", None, 50, box(300, 40, 320, 60), "C1"),
        ],
        [("R1", "minor", LineString([(100, 0), (100, 100)]))],
    )
    cuts = [0, 45, 100, 180, 310, 360, 400]
    grids = wgs(
        [
            {"grid_id": f"G{i}", "community_id": "C1", "geometry": at_box(a, b)}
            for i, (a, b) in enumerate(itertools.pairwise(cuts))
        ],
        ["grid_id", "community_id"],
    )
    share = boundary_on_ground(ds, grids, within=1.0)
    assert share.length_m == pytest.approx(5 * 99.0, abs=0.1)  # 0.5 m off each outline
    assert share.ground == pytest.approx(100 / 500, abs=1e-3)  # the cut on the road
    off = off_ground(ds, grids, band_max=360, within=1.0)
    assert off.big_compounds == pytest.approx(100 / 500, abs=1e-3)  # x=180, inside K1
    assert off.big_roadless == pytest.approx(100 / 500, abs=1e-3)  # K1 has no road inside
    assert off.compounds == pytest.approx(100 / 500, abs=1e-3)  # x=45, inside K0
    assert off.buildings == pytest.approx(20 / 500, abs=1e-3)  # x=310 through L (4 pieces)
    assert off.open_land == pytest.approx(180 / 500, abs=1e-3)  # x=310 elsewhere, x=360
    assert off.ground_without_big(share.ground) == pytest.approx(0.25, abs=1e-3)


def at_box(a: float, b: float) -> BaseGeometry:
    """Return the strip ``a <= x <= b`` of the community in UTM metres."""
    return at(box(a, 0, b, 100))


def test_off_ground_inside_a_big_compound_with_an_internal_road() -> None:
    # a compound of 400 households (x 0-200) with a lane inside it at x = 50; grids cut at
    # x = 50 (on the lane) and x = 150 (between buildings, off the ground)
    ds = make_dataset(
        [("C1", box(0, 0, 200, 100))],
        [("K1", "C1", box(0, 0, 200, 100))],
        [
            ("B1", "K1", 200, box(20, 40, 40, 60), "C1"),
            ("B2", "K1", 200, box(160, 40, 180, 60), "C1"),
        ],
        [("L1", "path", LineString([(50, 0), (50, 100)]))],
    )
    grids = wgs(
        [
            {"grid_id": f"G{i}", "community_id": "C1", "geometry": at(box(a, 0, b, 100))}
            for i, (a, b) in enumerate(itertools.pairwise([0, 50, 150, 200]))
        ],
        ["grid_id", "community_id"],
    )
    share = boundary_on_ground(ds, grids, within=1.0)
    assert share.ground == pytest.approx(0.5, abs=1e-3)
    off = off_ground(ds, grids, band_max=360, within=1.0)
    assert off.big_compounds == pytest.approx(0.5, abs=1e-3)
    assert off.big_roadless == 0.0
