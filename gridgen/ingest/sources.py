"""Reading the spatial inputs of ``gridgen ingest`` into WGS84 frames (GDAL through pyogrio).

Formats: Shapefile (``.shp`` with its sidecar files, or a ``.zip`` holding one), GeoPackage,
GeoJSON, CSV (WKT or lon/lat columns, through :mod:`gridgen.io.read`) and OpenStreetMap
``.osm.pbf`` (GDAL's OSM driver: footprints are the ``multipolygons`` with a ``building``
tag, compounds those with ``landuse=residential``, roads the ``lines`` with ``highway``).

- **DBF text encoding**: a ``.cpg`` names it; otherwise (and when the ``.cpg`` is wrong)
  the character fields are tried as UTF-8, then GB18030 (the superset of GBK that Chinese
  GIS software writes); text that is neither is refused, naming the ``.cpg`` fix.
- **Coordinate systems**: the file's own (``.prj``, GeoPackage SRS: CGCS2000 EPSG:4490 and
  its Gauss-Krüger zones EPSG:4491-4554 included), or the one declared for the layer
  (``--crs footprints=gcj02``). GCJ-02/BD-09 are converted with :mod:`gridgen.io.crs`. A
  Shapefile without ``.prj`` whose x coordinates carry a Gauss-Krüger zone number (38xxxxxx
  m) is read in that zone, and the summary says so; without a zone number it is refused,
  naming the option.
- Rows whose geometry GDAL cannot build are left out and listed (never silently).
"""

from __future__ import annotations

import codecs
import struct
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from gridgen.errors import (
    DataFileNotFoundError,
    SchemaError,
    UnknownCRSError,
    UnknownLayerError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from gridgen.io.chinese_crs import chinese_system_of
from gridgen.io.crs import WGS84, DeclaredCRS, frame_to_wgs84, parse_crs
from gridgen.io.polygons import valid_geometries

SUFFIXES = (".shp", ".zip", ".gpkg", ".geojson", ".json", ".csv", ".pbf")
OSM_FILTERS: dict[str, tuple[str, str]] = {
    "buildings": ("multipolygons", "building IS NOT NULL"),
    "compounds": ("multipolygons", "landuse = 'residential'"),
    "communities": ("multipolygons", "boundary = 'administrative'"),
    "roads": ("lines", "highway IS NOT NULL"),
    "barriers": ("lines", "railway IS NOT NULL OR waterway IS NOT NULL OR barrier = 'wall'"),
    "stations": ("points", "amenity = 'community_centre'"),
}
"""What each input is in an ``.osm.pbf``: GDAL OSM layer and attribute filter."""

CPG_ALIASES = {"ansi936": "gb18030", "936": "gb18030", "cp936": "gb18030", "gbk": "gb18030"}
CPG_ALIASES |= {"65001": "utf-8", "utf8": "utf-8", "ansi1252": "cp1252", "1252": "cp1252"}
GK3_FIRST_ZONE, GK3_FIRST_EPSG, GK3_LAST_ZONE = 25, 4513, 45
GK6_FIRST_ZONE, GK6_FIRST_EPSG, GK6_LAST_ZONE = 13, 4491, 23


@dataclass(frozen=True)
class Source:
    """One spatial input read into WGS84.

    Attributes
    ----------
    frame
        The rows with a geometry, in EPSG:4326, with the file's columns; ``source_row``
        is each row's 1-based number in the file.
    path
        The file read.
    crs
        The coordinate system the geometry was read in (``EPSG:4526``, ``gcj02`` ...).
    encoding
        The DBF text encoding used (None for other formats).
    notes
        What was decided while reading (encoding or zone guessed, rows left out).
    """

    frame: gpd.GeoDataFrame
    path: Path
    crs: str
    encoding: str | None = None
    notes: tuple[str, ...] = field(default=())


def _dbf_bytes(path: Path) -> tuple[bytes | None, str | None]:
    """Return the DBF bytes and the ``.cpg`` text of a Shapefile or a zipped one."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            dbf = next((n for n in names if n.lower().endswith(".dbf")), None)
            cpg = next((n for n in names if n.lower().endswith(".cpg")), None)
            return (
                archive.read(dbf) if dbf else None,
                archive.read(cpg).decode("ascii", "replace") if cpg else None,
            )
    dbf_path = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    cpg_path = next(
        (p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None
    )
    return (
        dbf_path.read_bytes() if dbf_path else None,
        cpg_path.read_text("ascii", "replace") if cpg_path else None,
    )


def dbf_text(dbf: bytes, *, max_records: int = 5000) -> bytes:
    """Return the bytes of the DBF's field names and character fields (first records)."""
    if len(dbf) < 32:
        return b""
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    names: list[bytes] = []
    fields: list[tuple[int, int]] = []
    offset = 1  # the deletion flag
    for pos in range(32, min(header_len, len(dbf)) - 31, 32):
        if dbf[pos] == 0x0D:
            break
        desc = dbf[pos : pos + 32]
        names.append(desc[:11].split(b"\x00")[0])
        length = desc[16]
        if desc[11:12] == b"C":
            fields.append((offset, length))
        offset += length
    parts = [b"\n".join(names)]
    for r in range(min(n_records, max_records)):
        start = header_len + r * record_len
        record = dbf[start : start + record_len]
        parts.extend(record[a : a + n].rstrip(b" \x00") for a, n in fields)
    return b"\n".join(parts)


def dbf_encoding(path: Path, source: str) -> tuple[str | None, str | None]:
    """Return the encoding to read a Shapefile's DBF with, and a note when it was guessed.

    Raises
    ------
    UnreadableFileError
        The text is neither what the ``.cpg`` says nor UTF-8 nor GB18030/GBK.
    """
    dbf, cpg = _dbf_bytes(path)
    if dbf is None:
        return None, None
    text = dbf_text(dbf)
    declared = None
    if cpg and cpg.strip():
        key = cpg.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
        declared = CPG_ALIASES.get(key, cpg.strip())
        try:
            codecs.lookup(declared)
        except LookupError:
            declared = None
    tried = [e for e in (declared, "utf-8", "gb18030") if e]
    for encoding in tried:
        try:
            text.decode(encoding)
        except UnicodeDecodeError:
            continue
        if declared and encoding != declared:
            return encoding, f"{source}: the .cpg says {declared} but the text is {encoding}"
        note = None if declared or text.isascii() else f"{source}: no .cpg; text read as {encoding}"
        return encoding, note
    msg = (
        f"{source}: the attribute text is neither UTF-8 nor GBK/GB18030"
        + (f" nor {cpg.strip()} as the .cpg says" if cpg else "")
        + "; put a .cpg file beside the .shp naming its encoding (for example GBK or UTF-8)"
    )
    raise UnreadableFileError(msg)


def _osm_frame(path: Path, kind: str) -> gpd.GeoDataFrame:
    layer, where = OSM_FILTERS[kind]
    frame = pyogrio.read_dataframe(path, layer=layer, where=where, on_invalid="ignore")
    if "other_tags" in frame.columns:  # building:levels lives in the hstore text
        levels = frame["other_tags"].astype(object).str.extract(r'"building:levels"=>"(\d+)"')
        frame["building:levels"] = levels[0]
    if kind == "buildings" and "osm_way_id" in frame.columns:
        way = frame["osm_way_id"].astype(object)
        rel = frame["osm_id"].astype(object) if "osm_id" in frame.columns else way
        frame["osm_id"] = [
            f"w{w}" if pd.notna(w) else f"r{r}" for w, r in zip(way, rel, strict=True)
        ]
    return frame


def _read_raw(path: Path, kind: str, encoding: str | None) -> gpd.GeoDataFrame:
    """Return the file's rows (geometry None where GDAL cannot build it)."""
    name = path.name.lower()
    if name.endswith(".pbf"):
        return _osm_frame(path, kind)
    if path.suffix.lower() == ".csv":
        from gridgen.io.read import read_layers

        frames, _ = read_layers(path, layers=[kind])
        return next(iter(frames.values()))
    target = str(path)
    layer: str | None = None
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            shps = [n for n in archive.namelist() if n.lower().endswith(".shp")]
        if len(shps) != 1:
            found = ", ".join(shps) or "none"
            msg = f"{path}: holds {len(shps)} Shapefiles ({found}); zip exactly one"
            raise UnreadableFileError(msg)
        target = f"/vsizip/{path.resolve()}/{shps[0]}"
    elif path.suffix.lower() == ".gpkg":
        layers = [str(entry[0]) for entry in pyogrio.list_layers(path)]
        layer = kind if kind in layers else (layers[0] if len(layers) == 1 else None)
        if layer is None:
            msg = (
                f"{path}: holds the layers {', '.join(layers)}; name the layer {kind!r} or keep one"
            )
            raise UnknownLayerError(msg)
    return pyogrio.read_dataframe(target, layer=layer, encoding=encoding, on_invalid="ignore")


def _gk_zone_crs(frame: gpd.GeoDataFrame) -> pyproj.CRS | None:
    """Return the CGCS2000 Gauss-Krüger CRS named by the zone number in x (38xxxxxx m)."""
    geo = frame.geometry[frame.geometry.notna()]
    if geo.empty:
        return None
    x0, _, x1, _ = geo.total_bounds
    zone = int(x0 // 1_000_000)
    if zone != int(x1 // 1_000_000):
        return None
    if GK3_FIRST_ZONE <= zone <= GK3_LAST_ZONE:
        return pyproj.CRS.from_epsg(GK3_FIRST_EPSG + zone - GK3_FIRST_ZONE)
    if GK6_FIRST_ZONE <= zone <= GK6_LAST_ZONE:
        return pyproj.CRS.from_epsg(GK6_FIRST_EPSG + zone - GK6_FIRST_ZONE)
    return None


def _label(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _in_wgs84(
    frame: gpd.GeoDataFrame, declared: DeclaredCRS | None, source: str, notes: list[str]
) -> tuple[gpd.GeoDataFrame, str]:
    """Return ``frame`` in WGS84 and the label of the system it was read in."""
    chinese = chinese_system_of(frame.crs)
    if chinese is not None or (declared is not None and declared.chinese):
        key = chinese or (declared.chinese if declared else None)
        assert key is not None
        return frame_to_wgs84(
            frame.set_crs(WGS84, allow_override=True), DeclaredCRS(chinese=key)
        ), key
    crs = frame.crs
    if declared is not None and (crs is None or crs.equals(WGS84)):
        crs = declared.crs
    if crs is None:
        geo = frame.geometry[frame.geometry.notna()]
        x0, y0, x1, y1 = geo.total_bounds if not geo.empty else (0.0, 0.0, 0.0, 0.0)
        if -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90:
            crs = WGS84
            notes.append(f"{source}: no coordinate system in the file; read as longitude/latitude")
        else:
            crs = _gk_zone_crs(frame)
            if crs is None:
                msg = (
                    f"{source}: no coordinate system in the file (no .prj) and the coordinates "
                    f"({x0:.0f}, {y0:.0f}) are metres of an unknown zone; declare it, e.g. "
                    f"--crs {_kind_of(source)}=EPSG:4547 (CGCS2000 3-degree Gauss-Krüger CM 114E)"
                )
                raise UnknownCRSError(msg)
            notes.append(f"{source}: no .prj; {_label(crs)} from the zone number in x")
    out = frame_to_wgs84(frame.set_crs(crs, allow_override=True), DeclaredCRS(crs=crs))
    return out, _label(crs)


GEOMETRY_TYPES: dict[str, tuple[str, ...]] = {
    "communities": ("Polygon", "MultiPolygon"),
    "compounds": ("Polygon", "MultiPolygon"),
    "buildings": ("Polygon", "MultiPolygon", "Point"),
}
"""Geometry types an input of each kind may hold (the others are not checked)."""


def _check_types(frame: gpd.GeoDataFrame, kind: str, source: str) -> None:
    """Refuse rows whose geometry type the input ``kind`` cannot hold (SchemaError naming the
    rows): outlines given as lines would otherwise become no building at all."""
    allowed = GEOMETRY_TYPES.get(kind)
    if allowed is None:
        return
    bad = ~frame.geometry.geom_type.isin(allowed)
    if not bad.any():
        return
    rows = frame.loc[bad, "source_row"].tolist()
    found = ", ".join(sorted(set(frame.geometry.geom_type[bad])))
    listed = ", ".join(map(str, rows[:10])) + (
        f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    )
    msg = (
        f"{source}: {len(rows)} rows are {found} (rows {listed}); {_kind_of(source)} must be "
        f"{' or '.join(allowed)}: give the polygons, not their outlines (QGIS: Lines to Polygons)"
    )
    raise SchemaError(msg)


def _kind_of(source: str) -> str:
    return source.split(" ", 1)[0]


def read_source(path: str | Path, kind: str, *, crs: str | int | None = None) -> Source:
    """Return the input ``kind`` (communities, buildings, compounds, roads, stations) in WGS84.

    Raises
    ------
    DataFileNotFoundError, UnsupportedFormatError, UnreadableFileError, UnknownCRSError,
    UnknownLayerError
        One line naming the file and the fix.
    """
    p = Path(path)
    source = f"{'footprints' if kind == 'buildings' else kind} {p.name}"
    if not p.exists():
        raise DataFileNotFoundError(f"{source}: no such file; give its path")
    if not p.name.lower().endswith(SUFFIXES):
        msg = (
            f"{source}: unsupported format; give a Shapefile (.shp or .zip), GeoPackage, "
            "GeoJSON, CSV or .osm.pbf"
        )
        raise UnsupportedFormatError(msg)
    notes: list[str] = []
    encoding = None
    if p.suffix.lower() in (".shp", ".zip"):
        encoding, note = dbf_encoding(p, source)
        notes += [note] if note else []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = _read_raw(p, kind, encoding)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        zipfile.BadZipFile,
    ) as exc:
        reason = str(exc).split(";")[0].strip() or type(exc).__name__
        raise UnreadableFileError(f"{source}: cannot be read ({reason})") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name not in frame:
        raise UnreadableFileError(f"{source}: has no geometry; give a spatial file")
    frame = frame.reset_index(drop=True)
    frame["source_row"] = np.arange(1, len(frame) + 1)
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.any():
        rows = frame.loc[missing, "source_row"].tolist()
        listed = ", ".join(map(str, rows[:10])) + (
            f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        )
        notes.append(
            f"{source}: {len(rows)} rows without a readable geometry left out (rows {listed})"
        )
        frame = frame.loc[~missing].reset_index(drop=True)
    if frame.empty:
        raise UnreadableFileError(f"{source}: holds no feature with a geometry")
    _check_types(frame, kind, source)
    # inputs are flat: Z/M coordinates (CAD, GPS exports) are dropped, not carried into the dataset
    frame = frame.set_geometry(shapely.force_2d(frame.geometry.to_numpy()), crs=frame.crs)
    declared = parse_crs(crs) if crs is not None else None
    out, label = _in_wgs84(frame, declared, source, notes)
    out = valid_geometries(out)
    return Source(frame=out, path=p, crs=label, encoding=encoding, notes=tuple(notes))
