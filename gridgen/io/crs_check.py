"""Is the declared coordinate system plausible for the data? (issue 11, class 4)

Two checks run before a frame is transformed to WGS84:

- longitude/latitude numbers declared in a projected CRS (Web Mercator, UTM, Gauss-Krüger)
  would land within metres of (0, 0): refused, naming EPSG:4326 (or GCJ-02) as the likely
  system;
- after the transform, the data must lie inside the CRS's area of use (with a margin):
  a projected CRS of another region (Lambert-93 for a Chinese city) is refused with a hint
  to the UTM zone of the data's region.
"""

from __future__ import annotations

import numpy as np
import pyproj

from gridgen.errors import UnknownCRSError

MARGIN_DEG = 2.0
"""Degrees the data may lie outside a CRS's published area of use."""


def _label(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def check_projected_numbers(bounds: tuple[float, float, float, float], crs: pyproj.CRS) -> None:
    """Raise UnknownCRSError when lon/lat-sized numbers are declared in a projected ``crs``.

    ``bounds`` are (minx, miny, maxx, maxy) of the raw coordinates in ``crs`` units.
    """
    if not crs.is_projected or not np.all(np.isfinite(bounds)):
        return
    x0, y0, x1, y1 = bounds
    lonlat = -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
    if lonlat and max(x1 - x0, y1 - y0) < 5:  # a city spans ≥ 5 m in any metric CRS
        msg = (
            f"coordinates ({x0:.5f}, {y0:.5f}) … ({x1:.5f}, {y1:.5f}) are longitude/latitude "
            f"but the data is declared in the projected {_label(crs)} ({crs.name}), which "
            "would put it a few metres from (0, 0); the likely system is EPSG:4326 (WGS84) "
            "or gcj02 (Amap/Tencent): declare that instead (--crs 4326 / --crs gcj02)"
        )
        raise UnknownCRSError(msg)


def check_area_of_use(bounds_wgs84: tuple[float, float, float, float], crs: pyproj.CRS) -> None:
    """Raise UnknownCRSError when data transformed from ``crs`` lies outside its area of use."""
    area = crs.area_of_use
    if area is None or not np.all(np.isfinite(bounds_wgs84)):
        return
    x0, y0, x1, y1 = bounds_wgs84
    inside = (
        x0 >= area.west - MARGIN_DEG
        and x1 <= area.east + MARGIN_DEG
        and y0 >= area.south - MARGIN_DEG
        and y1 <= area.north + MARGIN_DEG
    )
    if inside:
        return
    lon = (x0 + x1) / 2
    zone = int((lon + 180) // 6) + 1 if -180 <= lon <= 180 else None
    hint = (
        f"; if the numbers are UTM metres, give the zone of the city (for example "
        f"EPSG:326{zone:02d} for {zone * 6 - 186}°E-{zone * 6 - 180}°E)"
        if zone and 1 <= zone <= 60
        else ""
    )
    msg = (
        f"data declared in {_label(crs)} ({crs.name}) lands at lon {x0:.3f}…{x1:.3f}, lat "
        f"{y0:.3f}…{y1:.3f}, outside where that system is used ({area.name}: lon "
        f"{area.west:.1f}…{area.east:.1f}, lat {area.south:.1f}…{area.north:.1f}): the "
        f"declared system is wrong; check the file's CRS or --crs{hint}"
    )
    raise UnknownCRSError(msg)
