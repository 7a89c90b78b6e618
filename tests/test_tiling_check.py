"""The tiling check (``tiling.tiling_errors``): a matching coverage, an overlap and a gap."""

from __future__ import annotations

import geopandas as gpd
import pytest
from partition_helpers import at, make_dataset
from shapely.geometry import box

from gridgen.partition.tiling import tiling_errors


@pytest.mark.parametrize(
    ("west", "east", "error", "overlap"),
    [
        (box(0, 0, 100, 100), box(100, 0, 200, 100), 0.0, 0.0),  # a coverage
        (box(0, 0, 110, 100), box(100, 0, 200, 100), 0.0, 1000.0),  # 10 m overlap
        (box(0, 0, 90, 100), box(100, 0, 200, 100), 0.05, 0.0),  # 10 m gap: 1000 of 20000
        (box(0, 0, 100, 100), box(100, 0, 200, 90), 0.05, 0.0),  # edges that do not match
    ],
)
def test_tiling_errors(west: object, east: object, error: float, overlap: float) -> None:
    ds = make_dataset(
        [("C1", box(0, 0, 200, 100))], [], [("B1", None, 10, box(40, 40, 50, 50), "C1")]
    )
    grids = gpd.GeoDataFrame(
        {"grid_id": ["W", "E"], "community_id": ["C1", "C1"]},
        geometry=[at(west), at(east)],  # type: ignore[arg-type]
        crs=ds.metric_crs,
    ).to_crs(4326)
    err, ov = tiling_errors(ds, grids)["C1"]
    assert err == pytest.approx(error, abs=1e-6)
    assert ov == pytest.approx(overlap, rel=1e-3, abs=1e-3)
