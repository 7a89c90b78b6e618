"""Coordinate systems: parsing declared systems, GCJ-02 / BD-09, and the metric CRS.

GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are obfuscations, not datums, so pyproj cannot
do them. The forward WGS84 → GCJ-02 transform is the published closed formula; the
inverse is solved by fixed-point iteration on the forward formula, which converges to
well under a millimetre in a few steps. Everything is vectorised with numpy (one call per
layer, not per point). Points outside China are left unchanged, as every reference
implementation does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from gridgen.errors import UnknownCRSError

WGS84 = pyproj.CRS.from_epsg(4326)
_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

FloatArray = NDArray[np.float64]

CHINESE_SYSTEMS = ("gcj02", "bd09")


@dataclass(frozen=True)
class DeclaredCRS:
    """A coordinate system as the user declared it.

    Exactly one of ``chinese`` (``"gcj02"`` or ``"bd09"``) and ``crs`` is set.
    """

    crs: pyproj.CRS | None = None
    chinese: str | None = None

    @property
    def label(self) -> str:
        """Return a short human label (``gcj02``, ``bd09`` or ``EPSG:xxxx``)."""
        if self.chinese:
            return self.chinese
        assert self.crs is not None
        epsg = self.crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else self.crs.name


def parse_crs(text: str | int | pyproj.CRS | None) -> DeclaredCRS:
    """Return the declared CRS for ``text``.

    Parameters
    ----------
    text
        An EPSG code (``4326``, ``"EPSG:4490"``), ``"gcj02"``/``"bd09"`` (any case, with or
        without dash), a WKT/PROJ string, or a :class:`pyproj.CRS`. ``None`` means WGS84.

    Raises
    ------
    UnknownCRSError
        When the text is none of these.
    """
    if text is None:
        return DeclaredCRS(crs=WGS84)
    if isinstance(text, pyproj.CRS):
        return DeclaredCRS(crs=text)
    key = str(text).strip().lower().replace("-", "").replace("_", "")
    if key in CHINESE_SYSTEMS:
        return DeclaredCRS(chinese=key)
    candidate: str | int = text
    if isinstance(text, str) and text.strip().isdigit():
        candidate = int(text.strip())
    try:
        return DeclaredCRS(crs=pyproj.CRS.from_user_input(candidate))
    except pyproj.exceptions.CRSError as exc:
        msg = (
            f"unknown CRS {text!r}: give an EPSG code such as EPSG:4326 or 4490, "
            "or 'gcj02' (Amap/Tencent) or 'bd09' (Baidu)"
        )
        raise UnknownCRSError(msg) from exc


def outside_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return a mask of points outside the rough China box where GCJ-02 applies."""
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    return (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)


def _delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS84 points."""
    x = lon - 105.0
    y = lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return GCJ-02 coordinates of WGS84 points (closed formula; outside China unchanged)."""
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon_a, lat_a)
    out = outside_china(lon_a, lat_a)
    return np.where(out, lon_a, lon_a + dlon), np.where(out, lat_a, lat_a + dlat)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tolerance_deg: float = 1e-9, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Return WGS84 coordinates of GCJ-02 points, inverting the forward formula.

    Fixed-point iteration ``w ← w − (f(w) − g)`` converges because the offset varies
    slowly; ``tolerance_deg`` 1e-9° is about 0.1 mm.
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if np.all(np.abs(e_lon) < tolerance_deg) and np.all(np.abs(e_lat) < tolerance_deg):
            break
    out = outside_china(g_lon, g_lat)
    return np.where(out, g_lon, w_lon), np.where(out, g_lat, w_lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return BD-09 coordinates of GCJ-02 points (Baidu's published formula)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tolerance_deg: float = 1e-10, max_iter: int = 10
) -> tuple[FloatArray, FloatArray]:
    """Return GCJ-02 coordinates of BD-09 points.

    Baidu's published inverse alone is off by up to ~0.1 m (it is not the exact inverse of
    the forward formula); a few fixed-point steps on :func:`gcj02_to_bd09` bring the round
    trip below a millimetre.
    """
    b_lon = np.asarray(lon, dtype=float)
    b_lat = np.asarray(lat, dtype=float)
    x = b_lon - 0.0065
    y = b_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    g_lon, g_lat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        f_lon, f_lat = gcj02_to_bd09(g_lon, g_lat)
        e_lon, e_lat = f_lon - b_lon, f_lat - b_lat
        g_lon, g_lat = g_lon - e_lon, g_lat - e_lat
        if np.all(np.abs(e_lon) < tolerance_deg) and np.all(np.abs(e_lat) < tolerance_deg):
            break
    return g_lon, g_lat


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return WGS84 coordinates of BD-09 points (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return BD-09 coordinates of WGS84 points (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _transform_geoseries(geoms: gpd.GeoSeries, func: object) -> gpd.GeoSeries:
    """Return ``geoms`` with every coordinate passed through ``func(lon, lat)``."""

    def apply(coords: FloatArray) -> FloatArray:
        lon, lat = func(coords[:, 0], coords[:, 1])  # type: ignore[operator]
        return np.column_stack([lon, lat])

    out = shapely.transform(geoms.values, apply)
    return gpd.GeoSeries(out, index=geoms.index, crs=WGS84)


def frame_to_wgs84(frame: gpd.GeoDataFrame, declared: DeclaredCRS) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:4326, converting from the declared system.

    A frame whose file carries a CRS keeps it unless the user declared GCJ-02/BD-09 (those
    files are labelled WGS84 by the tools that write them).
    """
    if declared.chinese:
        out = frame.copy()
        out = out.set_geometry(_transform_geoseries(frame.geometry, _TO_WGS84[declared.chinese]))
        return out.set_crs(WGS84, allow_override=True)
    from gridgen.io.crs_check import check_area_of_use, check_projected_numbers

    source = frame.crs if frame.crs is not None else declared.crs
    out = frame.set_crs(source, allow_override=True) if frame.crs is None else frame
    geo = out.geometry.notna() & ~out.geometry.is_empty
    if out.crs is not None and bool(geo.any()):
        check_projected_numbers(tuple(out.geometry[geo].total_bounds), out.crs)
        wgs = out.to_crs(WGS84)
        check_area_of_use(tuple(wgs.geometry[geo].total_bounds), out.crs)
        return wgs
    return out.to_crs(WGS84)


def frame_from_wgs84(frame: gpd.GeoDataFrame, target: DeclaredCRS) -> gpd.GeoDataFrame:
    """Return a WGS84 ``frame`` in the target system (GCJ-02/BD-09 stay labelled 4326).

    Geometries are made valid after the conversion (a layer of Polygons stays one valid
    Polygon per row, see :mod:`gridgen.io.polygons`).
    """
    from gridgen.io.polygons import frame_valid_polygons

    if target.chinese:
        out = frame.copy()
        out = out.set_geometry(
            _transform_geoseries(frame.to_crs(WGS84).geometry, _FROM_WGS84[target.chinese])
        )
        return frame_valid_polygons(out)
    assert target.crs is not None
    return frame_valid_polygons(frame.to_crs(target.crs))


def utm_epsg(lon: float, lat: float) -> int:
    """Return the EPSG code of the WGS84 UTM zone holding ``(lon, lat)`` (degrees).

    The zone geopandas' ``estimate_utm_crs`` picks (pyproj's database query: the first UTM
    zone whose area of use holds the point; a point on a zone border goes to the western
    zone), from the zone formula instead of the query: the query costs ~0.1 s per call,
    a tenth of reading a 273k-household district (the test compares both on many points).
    """
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        msg = (
            f"no UTM zone holds lon {lon:.4f}, lat {lat:.4f}: give layers in degrees "
            "(EPSG:4326) or declare their CRS (--crs EPSG:...)"
        )
        raise UnknownCRSError(msg)
    zone = min(60, max(1, math.ceil((lon + 180.0) / 6.0)))
    return (32600 if lat >= 0 else 32700) + zone


def metric_crs_for(frame: gpd.GeoDataFrame) -> pyproj.CRS:
    """Return the local UTM CRS (WGS84 datum) for the extent of ``frame`` (the zone of the
    centre of its bounds in degrees, as ``GeoDataFrame.estimate_utm_crs``)."""
    if frame.empty:
        msg = "cannot choose a metric CRS for an empty layer: give communities with geometry"
        raise UnknownCRSError(msg)
    minx, miny, maxx, maxy = frame.to_crs(WGS84).total_bounds
    return pyproj.CRS.from_epsg(utm_epsg((minx + maxx) / 2.0, (miny + maxy) / 2.0))
