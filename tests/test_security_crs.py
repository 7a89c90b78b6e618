"""Silent wrong coordinates (issue 11, class 4).

Lon/lat data declared in a projected CRS is refused with a message naming EPSG:4326; data
landing outside the declared CRS's area of use is refused; stations and buildings in
GCJ-02 but labelled WGS84 get a finding with the estimated offset (300-700 m).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gridgen.errors import UnknownCRSError
from gridgen.io.crs import wgs84_to_gcj02
from gridgen.io.read import load_sample, read_dataset
from gridgen.sample.district import sample_path
from gridgen.validate import offset

SAMPLE = sample_path() / "district.gpkg"


def _copy(out: Path, change: dict[str, object]) -> Path:
    for layer, _ in pyogrio.list_layers(SAMPLE):
        frame = gpd.read_file(SAMPLE, layer=layer)
        if layer in change:
            frame = change[layer](frame)  # type: ignore[operator]
        if isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame:
            frame.to_file(out, layer=layer, driver="GPKG")
        else:
            pyogrio.write_dataframe(pd.DataFrame(frame), out, layer=layer, driver="GPKG")
    return out


@pytest.mark.parametrize("crs", ["3857", "32649", "EPSG:4547"])
def test_lonlat_declared_projected_is_refused(crs: str) -> None:
    with pytest.raises(UnknownCRSError, match="EPSG:4326"):
        read_dataset(SAMPLE, crs=crs)


def test_lonlat_labelled_web_mercator_in_the_file_is_refused(tmp_path: Path) -> None:
    relabel = {
        name: (lambda f: f.set_crs(3857, allow_override=True))
        for name in ("streets", "communities", "compounds", "buildings", "stations", "roads")
    }
    with pytest.raises(UnknownCRSError, match="longitude/latitude"):
        read_dataset(_copy(tmp_path / "m.gpkg", relabel))


def test_projected_data_outside_the_crs_area_of_use_is_refused(tmp_path: Path) -> None:
    ds = load_sample()
    utm = {
        name: (lambda f: f.to_crs(32649).set_crs(2154, allow_override=True))
        for name in ("streets", "communities", "compounds", "buildings", "stations", "roads")
    }
    with pytest.raises(UnknownCRSError, match=r"EPSG:2154.*EPSG:326") as err:
        read_dataset(_copy(tmp_path / "u.gpkg", utm))
    assert "outside where that system is used" in str(err.value)
    assert len(ds.buildings) == 1151  # the real sample still reads


def _to_gcj02(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    def fwd(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    out = frame.copy()
    out["geometry"] = shapely.transform(frame.geometry.to_numpy(), fwd)
    return out


@pytest.mark.parametrize("sample_rows", [2000, 40])
def test_gcj02_labelled_wgs84_gets_a_finding_with_the_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_rows: int
) -> None:
    """The check reads at most ``SAMPLE_ROWS`` rows a layer: a sample of 40 decides alike."""
    monkeypatch.setattr(offset, "SAMPLE_ROWS", sample_rows)
    clean = load_sample()
    assert not [f for f in clean.report.findings if f.rule == "gcj02_offset_suspected"]
    path = _copy(tmp_path / "g.gpkg", {"stations": _to_gcj02, "buildings": _to_gcj02})
    found = {
        f.layer: f.message
        for f in read_dataset(path).report.findings
        if f.rule == "gcj02_offset_suspected"
    }
    assert set(found) == {"stations", "buildings"}, found
    for message in found.values():
        metres = int(re.search(r"offset of about (\d+) m", message).group(1))  # type: ignore[union-attr]
        assert 300 <= metres <= 700, message
        assert "gcj02" in message
    # the check is for data declared WGS84: declared GCJ-02, no such finding
    fixed = read_dataset(path, crs="gcj02")
    assert not [f for f in fixed.report.findings if f.rule == "gcj02_offset_suspected"]
