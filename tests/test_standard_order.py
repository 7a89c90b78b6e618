"""``audit --standard``: codes issued against the standard's order (west→east, north→south)
are found, whatever the group's size when it was numbered; the standard's own order is not."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from partition_helpers import UTM49, at, block_community
from shapely.geometry import box

from gridgen.dataset import Dataset
from gridgen.partition.audit import audit_grids
from gridgen.partition.codes import standard_order
from gridgen.records.standard import standard_named, standard_section

COMMUNITY = "110105001001"
XS = (0, 130, 250, 370, 500)  # four columns over the 500 x 380 m community
YS = (380, 250, 130, 0)  # three rows, north to south


def code(seq: int) -> str:
    return f"{COMMUNITY}{seq:03d}"


def layer(codes: list[str], geoms: list[shapely.Geometry], **columns: Any) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"grid_id": codes, **columns}, geometry=[at(g) for g in geoms], crs=UTM49
    )
    return frame.to_crs(4326)


def columns(seqs: list[int], **extra: Any) -> gpd.GeoDataFrame:
    """Four columns, west to east, with these sequences."""
    return layer(
        [code(s) for s in seqs], [box(XS[i], 0, XS[i + 1], 380) for i in range(4)], **extra
    )


def rows(seqs: list[int]) -> gpd.GeoDataFrame:
    """Three rows, north to south, with these sequences."""
    return layer([code(s) for s in seqs], [box(0, YS[j + 1], 500, YS[j]) for j in range(3)])


@pytest.fixture(scope="module")
def block() -> Dataset:
    return block_community(np.full((3, 4), 100), community_id=COMMUNITY)


def order_findings(ds: Dataset, grids: gpd.GeoDataFrame) -> list[tuple[str, str]]:
    """Return (code, problem) of the order findings of ``audit --standard DB11/T2157``."""
    section = standard_section(
        ds, grids, audit_grids(ds, grids), standard=standard_named("DB11/T2157")
    )
    items = section["checks"]["bad_codes"]["items"]
    return [(i["code"], i["problem"]) for i in items if "之后" in i["problem"]]


def after(first: int) -> str:
    return f"顺序码在 {code(first)} 之后，位置却在其西侧或北侧"


def test_the_standards_order_is_not_flagged(block: Dataset) -> None:
    grids = columns([1, 2, 3, 4])
    metric = grids.to_crs(block.metric_crs).geometry.to_numpy()
    area = block.metric("communities").geometry.iloc[0]
    assert grids["grid_id"].to_numpy()[standard_order(metric, area)].tolist() == sorted(
        grids["grid_id"]
    )
    assert order_findings(block, grids) == []
    assert order_findings(block, rows([1, 2, 3])) == []  # north to south


def test_two_reversed_codes_are_flagged_naming_both(block: Dataset) -> None:
    assert order_findings(block, columns([2, 1, 3, 4])) == [(code(2), after(1))]
    assert order_findings(block, columns([1, 2, 4, 3])) == [(code(4), after(3))]


def test_a_department_numbering_east_to_west_is_flagged(block: Dataset) -> None:
    # every grid lies west of the one numbered before it (each 120 m away)
    assert order_findings(block, columns([4, 3, 2, 1])) == [
        (code(2), after(1)),
        (code(3), after(2)),
        (code(4), after(3)),
    ]


def test_a_department_numbering_south_to_north_is_flagged(block: Dataset) -> None:
    found = order_findings(block, rows([3, 2, 1]))
    assert (code(2), after(1)) in found
    assert {c for c, _ in found} <= {code(2), code(3)}


def test_grids_numbered_on_different_dates_are_not_compared(block: Dataset) -> None:
    # the west column was added a year later: it took the next code, as codes are never
    # renumbered in use; the three numbered together are in order
    dates = ["2025-06-01", "2024-01-01", "2024-01-01", "2024-01-01"]
    assert order_findings(block, columns([4, 1, 2, 3], valid_from=dates)) == []
    same_day = ["2024-01-01"] * 4
    assert order_findings(block, columns([4, 1, 2, 3], valid_from=same_day)) == [
        (code(4), after(3))
    ]
