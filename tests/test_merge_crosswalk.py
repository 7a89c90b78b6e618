"""多网合一 crosswalk: every input grid of every layer appears, buildings or not."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pytest
import shapely
from partition_helpers import UTM49, at, block_community
from shapely.geometry import box

from gridgen.dataset import Dataset
from gridgen.partition.merge import merge_layers

BAND = (240, 360)
COMMUNITY = "110105001001"
DAY = date(2025, 6, 1)
# block_community: 3 x 4 compounds of 100 households, 100 m wide with 20 m gaps, in a
# 500 x 380 m community; every building lies at least 30 m inside the community's edge


def layer(codes: list[str], geoms: list[shapely.Geometry]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"grid_id": codes}, geometry=[at(g) for g in geoms], crs=UTM49)
    return frame.to_crs(4326)


def first_layer() -> gpd.GeoDataFrame:
    """Four columns; the west one's outer 15 m strip (no building) is a grid of its own."""
    xs = (15, 130, 250, 370, 500)
    return layer(
        ["A0", "A1", "A2", "A3", "A4"],
        [box(0, 0, 15, 380), *(box(xs[i], 0, xs[i + 1], 380) for i in range(4))],
    )


def second_layer() -> gpd.GeoDataFrame:
    """Three rows; the south 12 m strip (no building) is a grid coded as the scheme's 007."""
    ys = (12, 130, 250, 380)
    return layer(
        [f"{COMMUNITY}007", "R1", "R2", "R3"],
        [box(0, 0, 500, 12), *(box(0, ys[j], 500, ys[j + 1]) for j in range(3))],
    )


@pytest.fixture(scope="module")
def block() -> Dataset:
    return block_community(np.full((3, 4), 100), community_id=COMMUNITY)


@pytest.mark.parametrize("recode", [False, True])
def test_every_input_grid_is_in_the_crosswalk_and_an_empty_one_maps_by_area(
    block: Dataset, recode: bool
) -> None:
    r = merge_layers(
        block,
        [first_layer(), second_layer()],
        names=["城管", "综治"],
        band=BAND,
        on=DAY,
        recode=recode,
    )
    cw = r.crosswalk
    listed = set(zip(cw["layer"], cw["input_grid"], strict=True))
    assert listed == {("城管", c) for c in ("A0", "A1", "A2", "A3", "A4")} | {
        ("综治", c) for c in (f"{COMMUNITY}007", "R1", "R2", "R3")
    }
    sums = cw.groupby(["layer", "input_grid"])["share"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    assert set(cw["new_grid"]) == set(r.plan.grids["grid_id"])
    assert (cw.groupby("layer")["households"].sum() == 1200).all()
    assert set(cw.loc[cw["input_grid"].isin(["A0", f"{COMMUNITY}007"]), "by"]) == {"area"}
    assert set(cw.loc[~cw["input_grid"].isin(["A0", f"{COMMUNITY}007"]), "by"]) == {"households"}
    # the west strip lies in the grid of the west column, whole
    west = r.plan.assignment.set_index("building_id").loc["B000a", "grid_id"]
    a0 = cw[cw["input_grid"] == "A0"]
    assert a0[["new_grid", "households", "share"]].values.tolist() == [[west, 0, 1.0]]
    # the south strip runs under the four columns' grids: shares by the width each takes
    south = cw[cw["input_grid"] == f"{COMMUNITY}007"].set_index("new_grid")["share"]
    grids = r.plan.grids.set_index("grid_id").to_crs(block.metric_crs)
    strip = at(box(0, 0, 500, 12))
    expected = {
        g: shapely.area(shapely.intersection(grids.geometry[g], strip)) / strip.area
        for g in grids.index
    }
    expected = {g: s for g, s in expected.items() if s > 0}
    assert len(expected) == len(r.plan.grids) == 4
    assert south.to_dict() == pytest.approx(expected, abs=1e-6)
    assert south.to_dict() == pytest.approx(
        dict(
            zip(
                sorted(expected, key=lambda g: grids.geometry[g].centroid.x),
                [130 / 500, 120 / 500, 120 / 500, 130 / 500],
                strict=True,
            )
        ),
        abs=0.02,
    )
    retired = {c.code for c in r.plan.codes.retired}
    if recode:  # every department code is retired, the building-less ones included
        assert retired == {"A0", "A1", "A2", "A3", "A4", f"{COMMUNITY}007"}
        assert f"{COMMUNITY}007" not in set(r.plan.grids["grid_id"])
    else:  # the first layer's codes are kept, the strip's is retired
        assert sorted(r.plan.grids["grid_id"]) == ["A1", "A2", "A3", "A4"]
        assert retired == {"A0"}


def test_an_input_grid_off_every_merged_grid_is_listed_with_none(block: Dataset) -> None:
    # a grid of the second layer beyond the community (the layer still fits the dataset)
    second = layer(["R1", "R9"], [box(0, 0, 500, 380), box(520, 0, 560, 40)])
    r = merge_layers(block, [first_layer(), second], band=BAND, on=DAY, recode=True)
    row = r.crosswalk[r.crosswalk["input_grid"] == "R9"]
    assert row[["layer", "new_grid", "households", "share", "by"]].values.tolist() == [
        ["layer2", "", 0, 0.0, "none"]
    ]
