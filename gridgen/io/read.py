"""Readers: GeoPackage, GeoJSON folder, zipped Shapefile and CSV into raw layers or a Dataset.

The input CRS comes from the file; a declared CRS (``crs=``: an EPSG code, ``gcj02`` or
``bd09``) applies when the file carries none or only the WGS84 default that GeoJSON and
CSV imply. GCJ-02/BD-09 input is converted to WGS84 on the way in. The rules of
:mod:`gridgen.validate.layers` then turn raw layers into a :class:`~gridgen.dataset.Dataset`.
"""

from __future__ import annotations

import functools
import warnings
import zipfile
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from gridgen.dataset import Dataset
from gridgen.errors import (
    DataFileNotFoundError,
    MissingCoordinatesError,
    SchemaError,
    TooManyRowsError,
    UnknownCRSError,
    UnknownLayerError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from gridgen.io.chinese_crs import chinese_crs, chinese_system_of, geojson_chinese_system
from gridgen.io.crs import WGS84, DeclaredCRS, frame_to_wgs84, parse_crs
from gridgen.io.polygons import point_layer_name
from gridgen.schema import DATASET_LAYERS, DERIVED_COLUMNS, LAYERS

SPATIAL_SUFFIXES = (".geojson", ".json")
CSV_SUFFIXES = (".csv",)
LON_NAMES = ("lon", "lng", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
WKT_NAMES = ("wkt", "geometry")

_KNOWN = ", ".join(DATASET_LAYERS)


def _check_layer_names(requested: Iterable[str] | None) -> set[str] | None:
    """Return the requested layer names, raising on names gridgen does not know."""
    if requested is None:
        return None
    names = set(requested)
    for name in names:
        if name not in DATASET_LAYERS:
            msg = f"unknown layer {name!r}: gridgen knows the layers {_KNOWN}"
            raise UnknownLayerError(msg)
    return names


def _shapefile_renames(columns: Iterable[str], layer: str) -> dict[str, str]:
    """Return renames from 10-character Shapefile column names back to schema names."""
    full = [*LAYERS[layer].column_names, *DERIVED_COLUMNS.get(layer, ())]
    short: dict[str, str] = {}
    for name in full:
        if len(name) > 10 and name[:10] not in full:
            short[name[:10].lower()] = name
    return {c: short[c.lower()] for c in columns if c.lower() in short and c not in full}


_ROW_CAP: ContextVar[int | None] = ContextVar("gridgen_row_cap", default=None)
"""Most rows a layer may hold while :func:`read_layers` runs (None: no cap)."""

CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")
"""Encodings tried in turn for CSV files: UTF-8 (with or without BOM), then GB18030, the
superset of GBK that Chinese Excel writes ("CSV (逗号分隔)")."""


def _check_rows(n: int, source: str, layer: str | None) -> None:
    cap = _ROW_CAP.get()
    if cap is not None and n > cap:
        where = f"{source} layer {layer!r}" if layer else source
        msg = (
            f"{where}: holds more than {cap} rows, the most a layer may hold here; split the "
            "dataset (per street or community) or raise the row cap"
        )
        raise TooManyRowsError(msg)


def _read_csv_table(path: Path, source: str) -> pd.DataFrame:
    """Return the CSV at ``path`` as strings, in UTF-8 or GB18030/GBK; one-line errors."""
    cap = _ROW_CAP.get()
    nrows = None if cap is None else cap + 1
    for encoding in CSV_ENCODINGS:
        try:
            return pd.read_csv(
                path, dtype=str, keep_default_na=True, encoding=encoding, nrows=nrows
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            msg = f"{source}: the CSV file is empty; give a header row and one row per feature"
            raise SchemaError(msg) from None
        except pd.errors.ParserError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
            msg = f"{source}: not a valid CSV ({reason}); save it again as CSV (UTF-8 or GBK)"
            raise UnreadableFileError(msg) from None
    msg = f"{source}: the CSV is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8"
    raise UnreadableFileError(msg)


def _csv_frame(path: Path, layer: str, source: str) -> gpd.GeoDataFrame:
    """Return one layer read from a CSV with lon/lat or WKT columns (no CRS set)."""
    table = _read_csv_table(path, source)
    _check_rows(len(table), source, layer)
    lower = {str(c).strip().lower(): c for c in table.columns}
    wkt = next((lower[n] for n in WKT_NAMES if n in lower), None)
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    if wkt is not None:
        geometry = shapely.from_wkt(table[wkt].fillna("").to_numpy(), on_invalid="ignore")
        geometry[table[wkt].isna().to_numpy()] = None
        table = table.drop(columns=[wkt])
    elif lon is not None and lat is not None:
        x = pd.to_numeric(table[lon], errors="coerce").to_numpy()
        y = pd.to_numeric(table[lat], errors="coerce").to_numpy()
        geometry = np.asarray(shapely.points(x, y), dtype=object)
        geometry[pd.isna(x) | pd.isna(y)] = None
        table = table.drop(columns=[lon, lat])
    elif LAYERS[layer].spatial:
        msg = (
            f"{source}: CSV layer {layer!r} has no coordinates; columns present: "
            f"{', '.join(map(str, table.columns))}. Add lon and lat columns (or lng/longitude/x "
            "and latitude/y) or a wkt column"
        )
        raise MissingCoordinatesError(msg)
    else:
        return gpd.GeoDataFrame(table)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry), crs=None)


def _ogr_frame(path: str, layer: str | None = None) -> gpd.GeoDataFrame:
    """Return one layer read with pyogrio (attribute tables as geometry-less frames)."""
    cap = _ROW_CAP.get()
    try:
        with warnings.catch_warnings():  # GDAL warnings become findings or errors below
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = pyogrio.read_dataframe(
                path, layer=layer, max_features=None if cap is None else cap + 1
            )
    except shapely.errors.GEOSException as exc:
        raise _geometry_error(path, layer, exc) from None
    _check_rows(len(frame), path, layer)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame)
    return frame


def _geometry_error(path: str, layer: str | None, exc: Exception) -> UnreadableFileError:
    """Return an error naming the first rows whose geometry GEOS cannot build."""
    import pyogrio.raw

    with warnings.catch_warnings():  # GDAL's "Non closed ring detected": said below
        warnings.simplefilter("ignore", RuntimeWarning)
        _, _, wkb, _ = pyogrio.raw.read(path, layer=layer)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    bad = [
        i for i, (w, g) in enumerate(zip(wkb, geoms, strict=True)) if w is not None and g is None
    ]
    where = f"{path}" + (f" layer {layer!r}" if layer else "")
    rows = ", ".join(map(str, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    reason = str(exc).split(":", 1)[-1].strip()
    msg = (
        f"{where}: row {rows}: geometry cannot be read ({reason}); fix it in the source "
        "(a polygon ring must end on its first point)"
    )
    return UnreadableFileError(msg)


def _layer_name(stem: str, *, source: str, strict: bool, only: str | None = None) -> str | None:
    """Return the layer a file stem names.

    In strict mode (a single file) the stem may also be ``<layer>_<anything>``
    (``stations_gcj02.geojson``) or anything when exactly one layer was requested (``only``).
    Otherwise return None for stems that are not layer names.
    """
    name = stem.strip().lower()
    if name in DATASET_LAYERS:
        return name
    if not strict:
        return None
    prefixed = [layer for layer in DATASET_LAYERS if name.startswith(f"{layer}_")]
    if prefixed:
        return max(prefixed, key=len)
    if only is not None:
        return only
    msg = (
        f"{source}: {stem!r} is not a layer name; name the file after one of the layers "
        f"{_KNOWN} (or pass layers=[...] with one layer)"
    )
    raise UnknownLayerError(msg)


_PART_LAYERS = {
    **{point_layer_name(name): name for name in DATASET_LAYERS},
    **{f"{name}_lines": name for name in DATASET_LAYERS},
}
"""Layers holding the rows of another geometry family of a split layer: the Point rows of a
layer of footprints (``building_points``), the lines of a layer of lines and water areas
(``barriers_lines``; :func:`gridgen.io.polygons.split_by_geometry_type`)."""


def _add_part(
    frames: dict[str, gpd.GeoDataFrame],
    name: str,
    part: gpd.GeoDataFrame,
    wanted: set[str] | None,
) -> None:
    """Add the rows of ``part`` (the points of a split layer) to layer ``name``."""
    if wanted is not None and name not in wanted:
        return
    if name not in frames:
        frames[name] = part
        return
    main = frames[name]
    if main.crs is not None and part.crs is not None and not part.crs.equals(main.crs):
        part = part.to_crs(main.crs)
    frames[name] = gpd.GeoDataFrame(
        pd.concat([main, part], ignore_index=True), geometry=main.geometry.name, crs=main.crs
    )


def _read_sources(path: Path, wanted: set[str] | None) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw frames of every known layer found at ``path`` (file CRS kept)."""
    source = str(path)
    suffix = path.suffix.lower()
    frames: dict[str, gpd.GeoDataFrame] = {}
    if path.is_dir():
        files = sorted(
            (
                p
                for p in path.iterdir()
                if p.suffix.lower() in (*SPATIAL_SUFFIXES, *CSV_SUFFIXES, ".shp")
            ),
            key=lambda p: (p.stem.lower() in _PART_LAYERS, p.name),  # parts of split layers last
        )
        for file in files:
            if (base := _PART_LAYERS.get(file.stem.lower())) is not None:
                _add_part(frames, base, _read_file(file, base), wanted)
                continue
            name = _layer_name(file.stem, source=source, strict=False)
            if name is None or name in frames or (wanted is not None and name not in wanted):
                continue
            frames[name] = _read_file(file, name)
    elif suffix == ".gpkg":
        for entry in pyogrio.list_layers(path):
            if (base := _PART_LAYERS.get(str(entry[0]).lower())) is not None:
                _add_part(frames, base, _ogr_frame(str(path), str(entry[0])), wanted)
                continue
            name = _layer_name(str(entry[0]), source=source, strict=False)
            if name is not None and (wanted is None or name in wanted):
                frames[name] = _ogr_frame(str(path), str(entry[0]))
    elif suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        shp = {str(Path(m).with_suffix("")).lower() for m in names if m.lower().endswith(".shp")}
        # a Shapefile is one .shp per layer; a lone .dbf is an attribute table
        members = [
            m
            for m in names
            if m.lower().endswith(".shp")
            or (m.lower().endswith(".dbf") and str(Path(m).with_suffix("")).lower() not in shp)
        ]
        for member in members:
            name = _layer_name(Path(member).stem, source=source, strict=False)
            if name is None or (wanted is not None and name not in wanted):
                continue
            frame = _ogr_frame(f"/vsizip/{path.resolve()}/{member}")
            frames[name] = frame.rename(columns=_shapefile_renames(frame.columns, name))
    elif suffix in (*SPATIAL_SUFFIXES, *CSV_SUFFIXES, ".shp"):
        only = next(iter(wanted)) if wanted is not None and len(wanted) == 1 else None
        name = _layer_name(path.stem, source=source, strict=True, only=only)
        assert name is not None
        if wanted is None or name in wanted:
            frames[name] = _read_file(path, name)
    else:
        msg = (
            f"{source}: unsupported format {path.suffix or '(no extension)'!r}; give a .gpkg, "
            "a folder of .geojson/.csv files, a .zip of Shapefiles, a .geojson or a .csv"
        )
        raise UnsupportedFormatError(msg)
    return frames


_UNREADABLE = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, zipfile.BadZipFile)


def _entry_names(path: Path) -> list[str]:
    """Return the layer or file names found at ``path`` (for error messages)."""
    if path.is_dir():
        return sorted(p.stem for p in path.iterdir() if p.is_file())
    if path.suffix.lower() == ".gpkg":
        return [str(entry[0]) for entry in pyogrio.list_layers(path)]
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            return sorted({Path(m).stem for m in archive.namelist()})
    return [path.stem]


def _read_file(path: Path, layer: str) -> gpd.GeoDataFrame:
    """Return one layer from a single GeoJSON, CSV or Shapefile."""
    if path.suffix.lower() in CSV_SUFFIXES:
        return _csv_frame(path, layer, str(path))
    frame = _ogr_frame(str(path))
    if path.suffix.lower() in (".geojson", ".json") and (chinese := geojson_chinese_system(path)):
        frame = frame.set_crs(chinese_crs(chinese), allow_override=True)
    if path.suffix.lower() == ".shp":
        frame = frame.rename(columns=_shapefile_renames(frame.columns, layer))
    return frame


def _to_wgs84(frame: gpd.GeoDataFrame, declared: DeclaredCRS, explicit: bool) -> gpd.GeoDataFrame:
    """Return ``frame`` in WGS84: the file CRS wins unless it is absent or the WGS84 default."""
    if frame._geometry_column_name not in frame.columns:
        return frame
    file_crs = frame.crs
    if chinese := chinese_system_of(file_crs):  # our own GCJ-02/BD-09 label
        return frame_to_wgs84(
            frame.set_crs(WGS84, allow_override=True), DeclaredCRS(chinese=chinese)
        )
    if explicit and (file_crs is None or file_crs.equals(WGS84)):
        if declared.chinese:
            return frame_to_wgs84(frame.set_crs(WGS84, allow_override=True), declared)
        return frame_to_wgs84(frame.set_crs(declared.crs, allow_override=True), declared)
    if file_crs is None:
        return frame.set_crs(WGS84)
    if declared.chinese and not file_crs.is_geographic:
        msg = (
            f"the file is in the projected CRS {file_crs.name!r} but {declared.chinese} was "
            "declared; GCJ-02/BD-09 are lon/lat systems: drop --crs or give the lon/lat file"
        )
        raise UnknownCRSError(msg)
    return frame_to_wgs84(frame, declared if declared.chinese else DeclaredCRS(crs=file_crs))


def read_layers(
    path: str | Path,
    *,
    crs: str | int | None = None,
    layers: Iterable[str] | None = None,
    max_rows: int | None = None,
) -> tuple[dict[str, gpd.GeoDataFrame], DeclaredCRS]:
    """Return the raw layers at ``path`` in WGS84 and the declared coordinate system.

    Parameters
    ----------
    path
        A GeoPackage (layers named after the dataset layers), a folder of GeoJSON (``.geojson``
        or ``.json``) or CSV files named after layers, a ``.zip`` holding one Shapefile per
        layer, or a single ``.geojson``/``.csv``/``.shp`` named after its layer. CSVs carry
        lon/lat columns (lon, lng, longitude or x; lat, latitude or y; any case) or a WKT
        column (``wkt`` or ``geometry``). Files and layers with other names are ignored.
    crs
        The coordinate system of the input when the file does not say (an EPSG code,
        ``gcj02`` or ``bd09``). GCJ-02/BD-09 always override the file's label, since tools
        label such files WGS84.
    layers
        Read only these layers.
    max_rows
        Most rows a layer may hold (None: no cap); the reader stops one row beyond it, so a
        small file that expands (a GeoPackage view) costs no more than the cap.

    Returns
    -------
    tuple
        Layer name → frame (spatial frames in EPSG:4326), and the declared CRS (the
        file's CRS when none was declared).

    Raises
    ------
    DataFileNotFoundError, UnsupportedFormatError, UnknownLayerError, UnknownCRSError,
    MissingCoordinatesError
        See :mod:`gridgen.errors`; every message names the file, layer or column.
    """
    declared = parse_crs(crs)
    wanted = _check_layer_names(layers)
    p = Path(path)
    if not p.exists():
        msg = f"{p}: no such file or folder; give the path of a .gpkg, a folder, a .zip or a .csv"
        raise DataFileNotFoundError(msg)
    token = _ROW_CAP.set(max_rows)
    try:
        frames = _read_sources(p, wanted)
    except _UNREADABLE as exc:
        reason = str(exc).split(";")[0].strip() or type(exc).__name__
        msg = (
            f"{p}: cannot be read ({reason}); give a valid GeoPackage, GeoJSON, "
            "zipped Shapefile or CSV"
        )
        raise UnreadableFileError(msg) from exc
    finally:
        _ROW_CAP.reset(token)
    if wanted is not None and (absent := sorted(wanted - set(frames))):
        msg = (
            f"{p}: no layer {', '.join(map(repr, absent))}; it holds {', '.join(frames) or 'none'}"
        )
        raise UnknownLayerError(msg)
    if not frames:
        found = ", ".join(_entry_names(p)) or "nothing readable"
        msg = (
            f"{p}: holds no known layer (found {found}); "
            f"name layers (or files) after the layers {_KNOWN}"
        )
        raise UnknownLayerError(msg)
    explicit = crs is not None
    out = {name: _to_wgs84(frame, declared, explicit) for name, frame in frames.items()}
    if not explicit:
        file_crs = next(
            (f.crs for f in frames.values() if f._geometry_column_name in f.columns and f.crs),
            None,
        )
        declared = DeclaredCRS(crs=file_crs or WGS84)
    return {name: out[name] for name in DATASET_LAYERS if name in out}, declared


def read_dataset(
    path: str | Path,
    *,
    crs: str | int | None = None,
    layers: Iterable[str] | None = None,
    max_rows: int | None = None,
) -> Dataset:
    """Return the validated dataset at ``path`` (see :func:`read_layers` for the formats).

    Raises
    ------
    InputError
        Any reader error, or a SchemaError/ValidationFailedError from validation.
    """
    from gridgen.validate.layers import validate_layers

    raw, declared = read_layers(path, crs=crs, layers=layers, max_rows=max_rows)
    return validate_layers(raw, declared_crs=declared, source=str(path))


@functools.lru_cache(maxsize=1)
def load_sample() -> Dataset:
    """Return the validated sample district (read once, then the same object)."""
    from gridgen.sample.district import sample_path

    return read_dataset(sample_path() / "district.gpkg")
