"""The :class:`Dataset` value: one validated GeoDataFrame per layer plus its metric CRS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import pyproj

from gridgen.errors import UnknownLayerError
from gridgen.io.crs import WGS84
from gridgen.schema import DATASET_LAYERS, LAYERS
from gridgen.validate.report import ValidationReport

T = TypeVar("T")


def empty_layer(name: str) -> gpd.GeoDataFrame:
    """Return an empty frame with the schema columns of layer ``name`` (EPSG:4326)."""
    schema = LAYERS[name]
    cols = {c: pd.Series([], dtype=object) for c in schema.column_names}
    if not schema.spatial:
        return gpd.GeoDataFrame(cols)
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


@dataclass(frozen=True)
class Dataset:
    """A validated dataset (docs/data-model.md).

    Attributes
    ----------
    layers
        One frame per layer of :data:`gridgen.schema.DATASET_LAYERS`, every spatial one in
        EPSG:4326 with a default RangeIndex and the schema's id column. Absent layers are
        empty frames with the schema columns. ``property_companies`` has no geometry.
        Validation adds ``community_id`` and ``households_estimated`` to buildings and
        ``community_id`` to stations and compounds.
    metric_crs
        Projected CRS (metres) for areas and distances: the local UTM zone by default.
    report
        The validation report.
    name
        A label (file stem) used in outputs.
    """

    layers: dict[str, gpd.GeoDataFrame]
    metric_crs: pyproj.CRS
    report: ValidationReport = field(default_factory=ValidationReport)
    name: str = "dataset"
    _metric_cache: dict[str, gpd.GeoDataFrame] = field(
        default_factory=dict, compare=False, repr=False
    )
    _derived_cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def derived(self, key: str, build: Callable[[Dataset], T]) -> T:
        """Return ``build(self)``, computed once per dataset and ``key`` (do not modify it).

        For look-up tables that callers derive from the (immutable) layers, such as the
        per-compound indexes of the sheets.
        """
        if key not in self._derived_cache:
            self._derived_cache[key] = build(self)
        return self._derived_cache[key]  # type: ignore[no-any-return]

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Return layer ``name`` in EPSG:4326 (do not modify it in place).

        A layer of the data model the dataset does not hold (one stored before the layer
        existed, such as ``barriers``) is an empty frame with the schema columns.
        """
        if name in self.layers:
            return self.layers[name]
        if name not in DATASET_LAYERS:
            msg = f"unknown layer {name!r}: a dataset has layers {', '.join(DATASET_LAYERS)}"
            raise UnknownLayerError(msg)
        return self.derived(f"empty layer {name}", lambda _: empty_layer(name))

    def metric(self, name: str) -> gpd.GeoDataFrame:
        """Return layer ``name`` projected to :attr:`metric_crs` (cached; do not modify)."""
        if name not in self._metric_cache:
            frame = self.layer(name)
            if not LAYERS[name].spatial:
                return frame
            self._metric_cache[name] = frame.to_crs(self.metric_crs)
        return self._metric_cache[name]

    @property
    def streets(self) -> gpd.GeoDataFrame:
        """Return the streets layer (EPSG:4326)."""
        return self.layer("streets")

    @property
    def communities(self) -> gpd.GeoDataFrame:
        """Return the communities layer (EPSG:4326)."""
        return self.layer("communities")

    @property
    def compounds(self) -> gpd.GeoDataFrame:
        """Return the compounds layer (EPSG:4326)."""
        return self.layer("compounds")

    @property
    def buildings(self) -> gpd.GeoDataFrame:
        """Return the buildings layer (EPSG:4326)."""
        return self.layer("buildings")

    @property
    def stations(self) -> gpd.GeoDataFrame:
        """Return the stations layer (EPSG:4326)."""
        return self.layer("stations")

    @property
    def roads(self) -> gpd.GeoDataFrame:
        """Return the roads layer (EPSG:4326)."""
        return self.layer("roads")

    @property
    def property_companies(self) -> pd.DataFrame:
        """Return the property companies table (no geometry)."""
        frame: pd.DataFrame = self.layer("property_companies")
        return frame

    def total_households(self) -> int:
        """Return the households of all buildings."""
        return int(self.buildings["households"].sum())
