"""多网合一: merging departments' grid layers into one plan, with a crosswalk."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from partition_helpers import UTM49, at, block_community
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.partition.merge import merge_layers

BAND = (240, 360)


def layer(*grids: tuple[str, BaseGeometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"grid_id": [c for c, _ in grids]}, geometry=[at(g) for _, g in grids], crs=UTM49
    ).to_crs(4326)


@pytest.fixture(scope="module")
def block() -> Dataset:
    """3 rows x 4 columns of 100-household compounds (community 500 x 380 m)."""
    return block_community(np.full((3, 4), 100))


def columns(prefix: str) -> gpd.GeoDataFrame:
    xs = [0, 130, 250, 370, 500]
    return layer(*[(f"{prefix}{i + 1}", box(xs[i], 0, xs[i + 1], 380)) for i in range(4)])


def groups(assignment: dict[str, str]) -> set[frozenset[str]]:
    out: dict[str, set[str]] = {}
    for b, g in assignment.items():
        out.setdefault(g, set()).add(b)
    return {frozenset(v) for v in out.values()}


def test_agreeing_layers_give_that_layer(block: Dataset) -> None:
    a, b = columns("A"), columns("B")  # the same grids under other codes
    r = merge_layers(block, [a, b], band=BAND)
    plan = r.plan
    assert sorted(plan.grids["grid_id"]) == ["A1", "A2", "A3", "A4"]
    got = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    # column i holds compounds K0i, K1i, K2i
    for i in range(4):
        for r_ in range(3):
            assert got[f"B{r_}{i:02d}a"] == f"A{i + 1}"
    cw = r.crosswalk
    assert (cw["share"] == 1.0).all() and len(cw) == 8


def test_disagreeing_layers_give_a_valid_plan(block: Dataset) -> None:
    a = columns("A")
    rows = layer(
        *[
            (f"R{j + 1}", box(0, [0, 130, 250, 380][j], 500, [0, 130, 250, 380][j + 1]))
            for j in range(3)
        ]
    )
    r = merge_layers(block, [a, rows], names=["城管", "综治"], band=BAND)
    s = r.summary["audit"]
    for key in ("out_of_band", "split_compound", "unassigned_building", "multipart"):
        assert s[key] == 0, key
    assert s["gap_m2"] < 1.0 and s["overlap_m2"] < 1.0
    cw = r.crosswalk
    assert set(cw["layer"]) == {"城管", "综治"}
    sums = cw.groupby(["layer", "input_grid"])["share"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    assert len(sums) == 7
    # households in the crosswalk add up to the city's for each layer
    assert (cw.groupby("layer")["households"].sum() == 1200).all()
    hh = r.plan.grids["households"].to_numpy()
    assert hh.sum() == 1200 and len(hh) in (4, 5)
    # every new grid is a union of whole compounds (both buildings of each compound)
    got = dict(zip(r.plan.assignment["building_id"], r.plan.assignment["grid_id"], strict=True))
    assert all(len({b[1:4] for b in grp}) * 2 == len(grp) for grp in groups(got))


def test_cli_merge_grids(block: Dataset, tmp_path: Path) -> None:
    from gridgen.io.plan import read_plan
    from gridgen.io.write import write_dataset
    from gridgen_cli.main import main

    data = write_dataset(block, tmp_path / "d.gpkg")
    columns("A").to_file(tmp_path / "a.geojson", driver="GeoJSON")
    columns("B").to_file(tmp_path / "b.gpkg", layer="grids")
    out, cw = tmp_path / "m.gpkg", tmp_path / "x.csv"
    args = ["merge-grids", str(data), "--grids", str(tmp_path / "a.geojson")]
    assert (
        main(
            [*args, "--grids", str(tmp_path / "b.gpkg"), "--out", str(out), "--crosswalk", str(cw)]
        )
        == 0
    )
    assert sorted(read_plan(out).grids["grid_id"]) == [
        "A1",
        "A2",
        "A3",
        "A4",
    ]
    table = pd.read_csv(cw, encoding="utf-8-sig")
    assert set(table["layer"]) == {"a.geojson", "b.gpkg"}
    assert main([*args, "--out", str(out), "--crosswalk", str(cw)]) == 2
