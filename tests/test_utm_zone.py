"""The metric CRS: the UTM zone formula picks the zone geopandas' database query picks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridgen.errors import UnknownCRSError
from gridgen.io.crs import metric_crs_for, utm_epsg


def _queried(lon: float, lat: float) -> int:
    crs = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).estimate_utm_crs()
    return int(crs.to_epsg())


BORDERS = [(114.0, 22.5), (120.0, 30.0), (-6.0, 50.0), (0.0, 1.0), (-180.0, 10.0), (180.0, 5.0)]
"""Points on zone borders (the query gives the western zone) and on the antimeridian."""


@pytest.mark.parametrize(("lon", "lat"), BORDERS)
def test_zone_on_borders_is_the_queried_one(lon: float, lat: float) -> None:
    assert utm_epsg(lon, lat) == _queried(lon, lat)


def test_zone_of_random_points_is_the_queried_one() -> None:
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(-180, 180, 60), rng.uniform(-79.9, 83.9, 60)])
    china = np.column_stack([rng.uniform(73, 135, 30), rng.uniform(18, 53, 30)])
    for lon, lat in np.vstack([points, china]):
        assert utm_epsg(float(lon), float(lat)) == _queried(float(lon), float(lat)), (lon, lat)


def test_metric_crs_of_a_frame_is_its_centres_zone() -> None:
    frame = gpd.GeoDataFrame(
        geometry=[shapely.box(116.30, 39.85, 116.45, 39.95), shapely.box(119.9, 30.0, 120.3, 30.1)],
        crs=4326,
    )
    assert metric_crs_for(frame.iloc[:1]).to_epsg() == 32650
    assert metric_crs_for(frame).to_epsg() == frame.estimate_utm_crs().to_epsg()
    assert metric_crs_for(frame.to_crs(3857)).to_epsg() == 32650


@pytest.mark.parametrize(("lon", "lat"), [(116.0, 86.0), (116.0, -85.0), (400000.0, 3e6)])
def test_no_zone_outside_utm_names_the_point(lon: float, lat: float) -> None:
    with pytest.raises(UnknownCRSError, match="no UTM zone holds lon"):
        utm_epsg(lon, lat)
