"""Warn when point-like layers declared WGS84 sit where GCJ-02 data would (class 4).

Data copied from Amap or Tencent maps is in GCJ-02 but usually labelled WGS84; in China
the difference is 300-700 m, enough to put every station off its road and every building
outside its compound. The check compares two readings of the stations and buildings: as
declared, and with a GCJ-02 offset undone. When the second fits the roads and compounds
(which were drawn in WGS84) much better, a ``gcj02_offset_suspected`` finding gives the
estimated offset and the fix (declare the layer GCJ-02).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridgen.io.crs import DeclaredCRS, gcj02_to_wgs84, outside_china
from gridgen.validate.report import Finding

MIN_ROWS = 5
OFFSET_RANGE_M = (300.0, 700.0)
SAMPLE_ROWS = 2000
"""Rows of a layer the check reads at most (every k-th row): a median or a share over 2,000
rows decides as the whole layer's would, at a fraction of the cost on a district."""


def _sample(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return at most :data:`SAMPLE_ROWS` rows of ``frame``, evenly spread over it."""
    step = -(-len(frame) // SAMPLE_ROWS)
    return frame.iloc[::step] if step > 1 else frame


def _undo_gcj02(points: gpd.GeoSeries) -> gpd.GeoSeries:
    lon, lat = gcj02_to_wgs84(points.x.to_numpy(), points.y.to_numpy())
    return gpd.GeoSeries(shapely.points(lon, lat), index=points.index, crs=points.crs)


def _offset(points: gpd.GeoSeries, corrected: gpd.GeoSeries, metric: Any) -> tuple[float, str]:
    a, b = points.to_crs(metric), corrected.to_crs(metric)
    dx, dy = float(np.median(b.x - a.x)), float(np.median(b.y - a.y))
    towards = ("north" if dy > 0 else "south") + ("-east" if dx > 0 else "-west")
    return float(np.hypot(dx, dy)), towards


def _finding(layer: str, message: str) -> Finding:
    return Finding("gcj02_offset_suspected", layer, None, None, "geometry", "flagged", message)


def _median_distance(tree: shapely.STRtree, points: gpd.GeoSeries) -> float:
    """Return the median distance from ``points`` to the nearest geometry of ``tree``."""
    _, dist = tree.query_nearest(points.to_numpy(), return_distance=True, all_matches=False)
    return float(np.median(dist))


def _stations(layers: dict[str, gpd.GeoDataFrame], metric: Any) -> Finding | None:
    stations, roads = layers["stations"], layers["roads"]
    if len(stations) < MIN_ROWS or roads.empty:
        return None
    pts = _sample(stations).geometry
    fixed = _undo_gcj02(pts)
    net = shapely.STRtree(roads.to_crs(metric).geometry.to_numpy())
    before = _median_distance(net, pts.to_crs(metric))
    after = _median_distance(net, fixed.to_crs(metric))
    if not (before >= 20 and after < 0.6 * before):
        return None
    size, towards = _offset(pts, fixed, metric)
    msg = (
        f"stations lie a median {before:.0f} m from the nearest road but {after:.0f} m after "
        f"undoing a GCJ-02 offset of about {size:.0f} m ({towards}): the layer is likely "
        "GCJ-02 (Amap/Tencent) labelled WGS84; declare it GCJ-02 (--crs gcj02)"
    )
    return _finding("stations", msg)


def _buildings(layers: dict[str, gpd.GeoDataFrame], metric: Any) -> Finding | None:
    b, compounds = layers["buildings"], layers["compounds"]
    if "compound_id" not in b or compounds.empty:
        return None
    b = _sample(b[b["compound_id"].notna()])
    if len(b) < MIN_ROWS:
        return None
    shape = dict(zip(compounds["compound_id"].astype(str), compounds.geometry, strict=True))
    own = gpd.GeoSeries([shape.get(str(c)) for c in b["compound_id"]], index=b.index, crs=b.crs)
    pts = b.geometry.representative_point()
    fixed = _undo_gcj02(pts)
    known = own.notna()
    before = float(pts[known].within(own[known]).mean())
    after = float(fixed[known].within(own[known]).mean())
    if not (before < 0.5 and after >= 0.8):
        return None
    size, towards = _offset(pts, fixed, metric)
    msg = (
        f"{before:.0%} of buildings lie in their compound as declared but {after:.0%} after "
        f"undoing a GCJ-02 offset of about {size:.0f} m ({towards}): the buildings are likely "
        "GCJ-02 (Amap/Tencent) labelled WGS84; declare them GCJ-02 (--crs gcj02)"
    )
    return _finding("buildings", msg)


def gcj02_offset_findings(
    layers: dict[str, gpd.GeoDataFrame], declared: DeclaredCRS, metric: Any
) -> list[Finding]:
    """Return findings for stations/buildings that look like GCJ-02 declared as WGS84.

    ``layers`` are the validated layers in WGS84; nothing is reported for data declared
    GCJ-02/BD-09 or lying outside China (where GCJ-02 does not apply).
    """
    if declared.chinese:
        return []
    sample = layers["buildings"] if not layers["buildings"].empty else layers["stations"]
    if sample.empty:
        return []
    c = sample.geometry.representative_point()
    if bool(outside_china(c.x.to_numpy(), c.y.to_numpy()).all()):
        return []
    out = [f for f in (_stations(layers, metric), _buildings(layers, metric)) if f is not None]
    return out
