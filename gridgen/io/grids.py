"""Reading an existing grid layer (polygons with a code, no assignment) and writing audits.

A city's grids come as a GeoPackage, a GeoJSON file or a zipped Shapefile, in WGS84, a
projected CRS, or GCJ-02/BD-09 (Amap/Baidu tracings, labelled WGS84 by the tools that
wrote them). :func:`read_grid_layer` returns them in WGS84 with a ``grid_id`` column; the
code column is ``id_column`` or the first of :data:`ID_COLUMNS` present.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from gridgen.errors import (
    DataFileNotFoundError,
    SchemaError,
    UnknownCRSError,
    UnknownLayerError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from gridgen.io.atomic import atomic_path, unsynced_sqlite, write_text_atomic
from gridgen.io.crs import WGS84, frame_to_wgs84, parse_crs
from gridgen.io.qgis_style import AUDIT_STYLES, write_layer_styles
from gridgen.records.attributes import attribute_frame

if TYPE_CHECKING:
    from gridgen.partition.audit import Audit

ID_COLUMNS: tuple[str, ...] = ("grid_id", "code", "网格编码", "网格编号")
"""Code columns looked for, in this order, when no ``id_column`` is given."""
COMMUNITY_COLUMNS: tuple[str, ...] = ("community_id", "社区编码", "社区编号")
"""Columns naming the grid's community (optional)."""


def _source(path: Path, layer: str | None) -> tuple[str, str | None]:
    """Return the OGR path and layer name of the grid layer at ``path``."""
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        names = [str(e[0]) for e in pyogrio.list_layers(path)]
        if layer is not None:
            if layer not in names:
                msg = f"{path}: no layer {layer!r}; it holds {', '.join(names) or 'none'}"
                raise UnknownLayerError(msg)
            return str(path), layer
        return str(path), "grids" if "grids" in names else (names[0] if names else None)
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            shps = sorted(m for m in archive.namelist() if m.lower().endswith(".shp"))
        if not shps:
            msg = f"{path}: the zip holds no .shp file; zip the .shp, .shx, .dbf and .prj"
            raise UnknownLayerError(msg)
        pick = next((m for m in shps if layer is not None and Path(m).stem == layer), shps[0])
        return f"/vsizip/{path.resolve()}/{pick}", None
    if suffix in (".geojson", ".json", ".shp"):
        return str(path), None
    msg = (
        f"{path}: unsupported grid layer format {path.suffix or '(no extension)'!r}; give a "
        ".gpkg, a .geojson or a .zip holding a Shapefile"
    )
    raise UnsupportedFormatError(msg)


def _code_column(columns: list[str], id_column: str | None, source: str) -> str:
    if id_column is not None:
        if id_column not in columns:
            msg = (
                f"{source}: no column {id_column!r} for --id-column (API: id_column); columns "
                f"present: {', '.join(columns)}"
            )
            raise SchemaError(msg)
        return id_column
    lower = {c.lower(): c for c in columns}
    for name in ID_COLUMNS:
        if name.lower() in lower:
            return lower[name.lower()]
    msg = (
        f"{source}: no grid code column ({', '.join(ID_COLUMNS)}); columns present: "
        f"{', '.join(columns) or 'none'}; name the code column with --id-column (API: id_column)"
    )
    raise SchemaError(msg)


def read_grid_layer(
    path: str | Path,
    *,
    id_column: str | None = None,
    crs: str | int | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Return an existing grid layer in WGS84 with columns ``grid_id`` (and ``community_id``),
    and the grid attributes it carries under their canonical names
    (:data:`gridgen.records.attributes.HEADERS`: valid_from, 责任主体, 网格员...).

    Parameters
    ----------
    path
        A GeoPackage (layer ``layer``, else ``grids``, else the first), a GeoJSON file, or a
        ``.zip`` holding a Shapefile.
    id_column
        The code column (default: the first of :data:`ID_COLUMNS` present).
    crs
        Declared CRS when the file carries none or the WGS84 default (EPSG code, ``gcj02``,
        ``bd09``); GCJ-02/BD-09 always override the file's WGS84 label.
    layer
        Layer name inside a GeoPackage (or Shapefile stem inside a zip).

    Raises
    ------
    DataFileNotFoundError, UnsupportedFormatError, UnreadableFileError, SchemaError,
    UnknownCRSError
        With a message naming the fix.
    """
    p = Path(path)
    if not p.exists():
        msg = f"{p}: no such grid layer; give a .gpkg, .geojson or zipped Shapefile"
        raise DataFileNotFoundError(msg)
    try:
        ogr_path, ogr_layer = _source(p, layer)
        try:
            frame = pyogrio.read_dataframe(ogr_path, layer=ogr_layer)
        except UnicodeDecodeError:
            # Chinese Shapefiles without a .cpg are usually GBK
            frame = pyogrio.read_dataframe(ogr_path, layer=ogr_layer, encoding="gb18030")
    except UnicodeDecodeError as e:
        msg = f"{p}: text is neither UTF-8 nor GBK; save the layer as UTF-8"
        raise UnreadableFileError(msg) from e
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, zipfile.BadZipFile) as e:
        msg = f"{p}: cannot be read ({str(e).split(';')[0]}); give a valid grid layer"
        raise UnreadableFileError(msg) from e
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        msg = f"{p}: the layer has no geometry; grids are polygons with a code column"
        raise SchemaError(msg)
    names = [str(c) for c in frame.columns if c != frame.geometry.name]
    code = _code_column(names, id_column, str(p))
    if not (frame.geometry.notna() & ~frame.geometry.is_empty).any():
        msg = (
            f"{p}: the layer holds no grid polygons ({len(frame)} rows, none with a shape); "
            "export the layer with its polygons (check a filter or the layer name)"
        )
        raise SchemaError(msg)
    codes = frame[code]
    missing = codes.isna() | (codes.astype(str).str.strip() == "")
    if missing.any():
        rows = ", ".join(str(int(i) + 1) for i in missing.to_numpy().nonzero()[0][:5])
        msg = f"{p}: column {code!r} is empty in row(s) {rows}; give every grid a code"
        raise SchemaError(msg)
    types = set(frame.geometry.dropna().geom_type)
    if types - {"Polygon", "MultiPolygon"}:
        msg = (
            f"{p}: grids must be polygons, found {', '.join(sorted(types))}; "
            "give the grid polygons, not their centres or outlines"
        )
        raise SchemaError(msg)
    out = gpd.GeoDataFrame(
        {"grid_id": codes.astype(str).str.strip().to_numpy()},
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    comm = next((c for c in COMMUNITY_COLUMNS if c in frame.columns and c != code), None)
    if comm is not None:
        out["community_id"] = frame[comm].astype(str).to_numpy()
    # the grid attributes the standards and the offices keep (dates, 责任主体, 网格员...)
    for col, values in attribute_frame(frame.drop(columns=[code])).items():
        out[str(col)] = values.to_numpy()
    # grids are flat: Z/M coordinates (CAD or GPS exports) are dropped, not written back
    out["geometry"] = shapely.force_2d(
        np.asarray([shapely.Polygon() if g is None else g for g in out.geometry], dtype=object)
    )
    return _to_wgs84(out, crs, str(p))


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | int | None, source: str) -> gpd.GeoDataFrame:
    declared = parse_crs(crs)
    file_crs = frame.crs
    if crs is not None and (file_crs is None or file_crs.equals(WGS84)):
        if declared.chinese:
            return frame_to_wgs84(frame.set_crs(WGS84, allow_override=True), declared)
        return frame.set_crs(declared.crs, allow_override=True).to_crs(WGS84)
    if declared.chinese and file_crs is not None and not file_crs.is_geographic:
        msg = (
            f"{source} is in the projected CRS {file_crs.name!r} but {declared.chinese} was "
            "declared; GCJ-02/BD-09 are lon/lat systems: drop the CRS option"
        )
        raise UnknownCRSError(msg)
    if file_crs is None:
        return frame.set_crs(WGS84)
    return frame.to_crs(WGS84)


def write_audit(audit: Audit, path: str | Path) -> Path:
    """Write an audit as JSON (``.json``) or a GeoPackage (``.gpkg``); atomically.

    The GeoPackage has layers ``grids`` (the per-grid table), ``gaps``, ``overlaps`` and
    ``split_compounds`` (WGS84) and a table ``summary`` (one row, the JSON summary); QGIS
    opens the layers styled (:data:`gridgen.io.qgis_style.AUDIT_STYLES`).
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".json", ".gpkg"):
        msg = f"{out}: an audit is written as .json or .gpkg"
        raise UnsupportedFormatError(msg)
    if suffix == ".json":
        write_text_atomic(out, json.dumps(audit.to_dict(), ensure_ascii=False, indent=2))
        return out
    layers: dict[str, gpd.GeoDataFrame] = {
        "grids": audit.grids,
        "gaps": audit.gaps,
        "overlaps": audit.overlaps,
        "split_compounds": audit.split_compounds,
    }
    with atomic_path(out) as tmp, unsynced_sqlite():
        for name, frame in layers.items():
            # one declared type, even for an empty layer or Polygons mixed with
            # MultiPolygons (a GEOMETRY layer opens in QGIS without a renderer)
            frame.to_crs(WGS84).to_file(
                tmp,
                layer=name,
                driver="GPKG",
                engine="pyogrio",
                geometry_type="MultiPolygon",
                promote_to_multi=True,
            )
        summary = pd.DataFrame([dict(audit.summary)])
        pyogrio.write_dataframe(summary, tmp, layer="summary", driver="GPKG", append=True)
        write_layer_styles(tmp, styles=AUDIT_STYLES)
    return out
