"""GCJ-02 and BD-09 declared honestly in the files we write.

GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are WGS84 coordinates moved by a non-linear
obfuscation of 300-1500 m; they have no EPSG code. A file labelled EPSG:4326 that holds them
is overlaid 500 m off by QGIS and PostGIS without a warning. We write them with:

- a CRS of their own (a geographic CRS named ``GCJ-02``/``BD-09`` on a datum that says what
  it is, :func:`chinese_crs`); GDAL gives it a ``gpkg_spatial_ref_sys`` row with its own
  ``srs_id`` (100000 and up), and :func:`describe_chinese_srs` writes its description;
- in GeoJSON (which has no CRS member in RFC 7946), a top-level member
  ``"coordinate_system"`` naming the system (:func:`mark_geojson`).

Readers recognise both (:func:`chinese_system_of`, :func:`geojson_chinese_system`) and
convert to WGS84 instead of taking the coordinates at face value.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pyproj

_NAMES = {"gcj02": "GCJ-02", "bd09": "BD-09"}
_DATUMS = {
    "gcj02": "GCJ-02 (WGS 84 moved by the Chinese GCJ-02 obfuscation; not EPSG:4326)",
    "bd09": "BD-09 (GCJ-02 moved again by Baidu's BD-09 offset; not EPSG:4326)",
}
DESCRIPTIONS = {
    "gcj02": (
        "GCJ-02 (国测局坐标系, 'Mars coordinates', used by Amap and Tencent maps): longitude/"
        "latitude in degrees on WGS 84, moved 300-700 m in China by a non-linear offset. NOT "
        "EPSG:4326: convert to WGS 84 (for example with gridgen) before overlaying WGS 84 data."
    ),
    "bd09": (
        "BD-09 (百度坐标系, used by Baidu maps): GCJ-02 moved again, 1-1.5 km from WGS 84 in "
        "China. NOT EPSG:4326: convert to WGS 84 (for example with gridgen) before overlaying "
        "WGS 84 data."
    ),
}
GEOJSON_MEMBER = "coordinate_system"
"""Top-level GeoJSON member naming GCJ-02/BD-09 coordinates."""


def _wkt(key: str) -> str:
    deg = 'ANGLEUNIT["degree",0.0174532925199433]'
    return (
        f'GEOGCRS["{_NAMES[key]}",DATUM["{_DATUMS[key]}",'
        'ELLIPSOID["WGS 84",6378137,298.257223563,LENGTHUNIT["metre",1]]],'
        f'PRIMEM["Greenwich",0,{deg}],CS[ellipsoidal,2],'
        f'AXIS["geodetic longitude (Lon)",east,ORDER[1],{deg}],'
        f'AXIS["geodetic latitude (Lat)",north,ORDER[2],{deg}]]'
    )


def chinese_crs(key: str) -> pyproj.CRS:
    """Return the CRS that labels ``gcj02``/``bd09`` coordinates in our files."""
    return pyproj.CRS.from_wkt(_wkt(key))


def chinese_system_of(crs: pyproj.CRS | None) -> str | None:
    """Return ``gcj02``/``bd09`` when ``crs`` is one of our labels, else None."""
    if crs is None:
        return None
    for key, name in _NAMES.items():
        if crs.name == name and crs.to_epsg() is None:
            return key
    return None


def describe_chinese_srs(path: str | Path) -> None:
    """Write the description of the GCJ-02/BD-09 rows of a GeoPackage's SRS table.

    For a GeoPackage being written under :func:`gridgen.io.atomic.atomic_path` (which
    syncs the finished file once): the change is not synced to disk by itself.
    """
    with sqlite3.connect(str(path)) as con:
        con.execute("PRAGMA synchronous = OFF")
        for key, name in _NAMES.items():
            con.execute(
                "UPDATE gpkg_spatial_ref_sys SET description = ? WHERE srs_name = ?",
                (DESCRIPTIONS[key], name),
            )
    con.close()


def geojson_member(key: str) -> dict[str, Any]:
    """Return the value of the top-level member that declares ``key`` coordinates."""
    return {"name": _NAMES[key], "id": key, "description": DESCRIPTIONS[key]}


def mark_geojson(path: str | Path, key: str) -> None:
    """Declare GCJ-02/BD-09 in a GeoJSON file (and drop a ``crs`` member that says 4326)."""
    file = Path(path)
    doc = json.loads(file.read_text(encoding="utf-8"))
    doc.pop("crs", None)
    out = {"type": doc.pop("type"), GEOJSON_MEMBER: geojson_member(key), **doc}
    file.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


def geojson_chinese_system(path: str | Path) -> str | None:
    """Return ``gcj02``/``bd09`` when a GeoJSON file declares them (first 8 KiB read)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.read(8192)
    if f'"{GEOJSON_MEMBER}"' not in head:
        return None
    for key in _NAMES:
        if f'"id": "{key}"' in head or f'"id":"{key}"' in head:
            return key
    return None
