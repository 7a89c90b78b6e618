"""Checks every generated test city must pass (walled, filled): same seed, same city; the
schema of every layer; a dataset that validates without findings."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gridgen.schema import DATASET_LAYERS, LAYERS, ROAD_KINDS
from gridgen.validate.layers import validate_layers


def assert_same_city(a: dict[str, gpd.GeoDataFrame], b: dict[str, gpd.GeoDataFrame]) -> None:
    """Assert two generated cities are equal in every dataset layer, attributes and shapes."""
    for name in DATASET_LAYERS:
        cols = [c for c in a[name].columns if c != "geometry"]
        pd.testing.assert_frame_equal(pd.DataFrame(a[name][cols]), pd.DataFrame(b[name][cols]))
        if "geometry" in a[name].columns:
            assert a[name].geometry.geom_equals_exact(b[name].geometry, 0.0).all()


def assert_schema_and_valid(city: dict[str, gpd.GeoDataFrame], *, source: str) -> None:
    """Assert every layer has the schema's columns and unique ids, the dataset validates
    without findings and the roads hold every road kind."""
    for name, frame in city.items():
        schema = LAYERS[name]
        assert list(frame.columns) == [
            *schema.column_names,
            *(["geometry"] if schema.spatial else []),
        ]
        assert frame[schema.id_column].is_unique
    ds = validate_layers(city, source=source)
    assert not ds.report.findings
    assert set(city["roads"]["kind"]) == set(ROAD_KINDS)
