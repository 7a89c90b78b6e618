"""Plan GeoPackage round trips and the ``gridgen partition`` command."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from partition_helpers import row_of_compounds

from gridgen.errors import SchemaError, UnknownLayerError
from gridgen.io.plan import read_plan, write_plan
from gridgen.partition.community import partition_community
from gridgen_cli.main import main


def test_plan_round_trip(tmp_path: Path) -> None:
    ds = row_of_compounds([150] * 6)
    plan = partition_community(ds, "C1", seed=3)
    path = write_plan(plan, tmp_path / "plan.gpkg")
    back = read_plan(path)
    assert list(back.grids["grid_id"]) == list(plan.grids["grid_id"])
    assert list(back.grids["households"]) == [300, 300, 300]
    assert back.assignment.equals(plan.assignment)
    assert back.metrics == plan.metrics
    assert (back.target, back.band, back.seed) == (300, (240, 360), 3)
    assert all(
        shapely.equals_exact(back.grids.geometry.to_numpy(), plan.grids.geometry.to_numpy(), 1e-9)
    )


def test_plan_round_trip_gcj02(tmp_path: Path) -> None:
    plan = partition_community(row_of_compounds([150] * 4), "C1")
    back = read_plan(write_plan(plan, tmp_path / "plan.gpkg", crs="gcj02"))
    a = plan.grids.to_crs(32649).geometry.to_numpy()
    b = back.grids.to_crs(32649).geometry.to_numpy()
    assert max(shapely.hausdorff_distance(a, b)) < 0.01  # metres


def test_read_plan_names_missing_layer_and_column(tmp_path: Path) -> None:
    plan = partition_community(row_of_compounds([150] * 2), "C1")
    only = tmp_path / "only_grids.gpkg"
    plan.grids.to_file(only, layer="grids")
    with pytest.raises(UnknownLayerError, match="assignment"):
        read_plan(only)
    bad = tmp_path / "bad.gpkg"
    write_plan(plan, bad)
    grids = gpd.read_file(bad, layer="grids").drop(columns=["households"])
    grids.to_file(bad, layer="grids", mode="w")
    with pytest.raises(SchemaError, match=r"grids.*households"):
        read_plan(bad)


def test_cli_partition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from partition_helpers import block_community

    from gridgen.io.write import write_frames

    ds = block_community(np.full((2, 3), 150))
    data = tmp_path / "data.gpkg"
    write_frames(dict(ds.layers), data)
    out = tmp_path / "plan.gpkg"
    assert main(["partition", str(data), "--target", "300", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 grids for 900 households" in text
    assert read_plan(out).metrics.n_grids == 3
    assert main(["partition", str(data), "--band", "400,300", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "band" in err
