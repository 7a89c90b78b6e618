"""Writers: frames to a GeoPackage or a folder of GeoJSON, and the validation report to JSON.

Output is WGS84 unless a CRS is requested (an EPSG code, or ``gcj02``/``bd09`` for Chinese
basemaps). GCJ-02/BD-09 are declared as what they are, never as EPSG:4326: a
``gpkg_spatial_ref_sys`` row of their own in a GeoPackage, a top-level ``coordinate_system``
member in GeoJSON (see :mod:`gridgen.io.chinese_crs`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridgen.dataset import Dataset
from gridgen.io.atomic import atomic_path, unsynced_sqlite, write_text_atomic
from gridgen.io.chinese_crs import chinese_crs, describe_chinese_srs, mark_geojson
from gridgen.io.crs import WGS84, frame_from_wgs84, parse_crs
from gridgen.io.polygons import split_by_geometry_type
from gridgen.io.qgis_style import write_layer_styles
from gridgen.schema import LAYERS
from gridgen.validate.report import ValidationReport

GPKG_DATASET_OPTIONS = {"VERSION": "1.2"}
"""GeoPackage version we write: GDAL 3.6 and QGIS 3.22 (Debian 12) warn on 1.4, the default
of the GDAL inside pyogrio's wheels."""


def _is_spatial(frame: pd.DataFrame) -> bool:
    """Return whether ``frame`` has an active geometry column."""
    return isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns


def _prepared(frame: pd.DataFrame, crs: str | int | None) -> pd.DataFrame:
    """Return ``frame`` ready to write: target CRS, plain index, writable dtypes."""
    out = frame.reset_index(drop=True)
    if _is_spatial(out):
        gdf = gpd.GeoDataFrame(out)
        if gdf.crs is None:
            gdf = gdf.set_crs(WGS84)
        out = gdf.to_crs(WGS84) if crs is None else labelled_output(gdf, crs)
    else:
        out = pd.DataFrame(out.drop(columns="geometry", errors="ignore"))
    for col in out.columns:
        if out[col].dtype == object and col != getattr(out, "_geometry_column_name", None):
            out[col] = out[col].astype("str")
    return out


def labelled_output(frame: gpd.GeoDataFrame, crs: str | int) -> gpd.GeoDataFrame:
    """Return ``frame`` (any CRS) in ``crs``, valid, labelled with its true CRS."""
    target = parse_crs(crs)
    out = frame_from_wgs84(frame.to_crs(WGS84), target)
    if target.chinese:
        out = out.set_crs(chinese_crs(target.chinese), allow_override=True)
    return out


def one_type_per_layer(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Return ``frames`` with mixed-geometry layers split (see ``split_by_geometry_type``)."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        if _is_spatial(frame):
            out.update(split_by_geometry_type(name, gpd.GeoDataFrame(frame)))
        else:
            out[name] = frame
    return out


def _empty_layer_type(name: str, frame: pd.DataFrame) -> str | None:
    """Return the geometry type to declare for an empty layer of the data model (its first
    allowed type: GDAL and QGIS read an empty layer of unknown type as one without
    geometry), or None to let the writer take the type of the rows."""
    schema = LAYERS.get(name)
    if len(frame) or schema is None or not schema.spatial or not _is_spatial(frame):
        return None
    return schema.geometry_types[0]


def write_frames(
    frames: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    crs: str | int | None = None,
) -> Path:
    """Write named frames to a GeoPackage (``.gpkg``) or a folder of GeoJSON files.

    Parameters
    ----------
    frames
        Layer name → GeoDataFrame (any CRS) or DataFrame (an attribute table).
    path
        A ``.gpkg`` file (one layer per frame) or a folder (any other path; one
        ``<name>.geojson`` per frame, attribute tables with null geometries). An existing
        file or the same-named files in the folder are replaced.
    crs
        Output coordinate system: ``None`` (WGS84), an EPSG code, ``gcj02`` or ``bd09``.

    Returns
    -------
    Path
        The path written.
    """
    if crs is not None:
        parse_crs(crs)  # fail before writing anything
    frames = one_type_per_layer(frames)
    target = Path(path)
    if target.suffix.lower() == ".gpkg":
        # a crash leaves the old file or the new one
        with atomic_path(target) as tmp, unsynced_sqlite():
            for i, (name, frame) in enumerate(frames.items()):
                pyogrio.write_dataframe(
                    _prepared(frame, crs),
                    tmp,
                    layer=name,
                    driver="GPKG",
                    append=i > 0,
                    dataset_options=None if i else GPKG_DATASET_OPTIONS,
                    geometry_type=_empty_layer_type(name, frame),
                )
            describe_chinese_srs(tmp)
            write_layer_styles(tmp)
        return target
    if target.exists() and not target.is_dir():
        target.unlink()
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        out = _prepared(frame, crs)
        if not _is_spatial(out):
            out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries([None] * len(out)), crs=WGS84)
        with atomic_path(target / f"{name}.geojson") as tmp:
            pyogrio.write_dataframe(out, tmp, driver="GeoJSON")
            if crs is not None and (chinese := parse_crs(crs).chinese):
                mark_geojson(tmp, chinese)
    return target


def write_dataset(ds: Dataset, path: str | Path, *, crs: str | int | None = None) -> Path:
    """Write every layer of ``ds`` (see :func:`write_frames`); returns the path written."""
    return write_frames(ds.layers, path, crs=crs)


def write_report(report: ValidationReport, path: str | Path) -> Path:
    """Write the validation report as UTF-8 JSON; returns the path written."""
    return write_text_atomic(path, report.to_json())


def remove_output(path: str | Path) -> None:
    """Remove a file or folder written by :func:`write_frames` (missing is fine)."""
    target = Path(path)
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
