"""Small folium building blocks shared by the overview map and the HTML sheet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pyproj
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from maps.escape import escape_properties, html_text

WEB_FONT = (
    '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", '
    "sans-serif"
)


def blank_map(
    bounds: Sequence[float], *, basemap: str | None = None, attribution: str | None = None
) -> folium.Map:
    """Return a canvas-rendered map fitted to ``bounds`` (lon0, lat0, lon1, lat1).

    Parameters
    ----------
    bounds
        Extent in WGS84.
    basemap
        Optional XYZ tile URL template (``https://.../{z}/{x}/{y}.png``); ``None`` gives a
        blank background, so the page needs no network at all. A GCJ-02 basemap (Amap,
        Tencent) only lines up with data exported in GCJ-02: pass frames through
        :func:`gridgen.io.crs.frame_from_wgs84` first.
    attribution
        Attribution text shown for the basemap (required by most tile providers).
    """
    lon0, lat0, lon1, lat1 = (float(v) for v in bounds)
    m = folium.Map(
        location=[(lat0 + lat1) / 2, (lon0 + lon1) / 2],
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        zoom_start=15,
    )
    if not basemap:
        m.get_root().header.add_child(  # type: ignore[attr-defined]
            Element("<style>.leaflet-container{background:#f6f6f2}</style>"), name="gridgen_bg"
        )
    else:
        folium.TileLayer(
            tiles=basemap, attr=attribution or "basemap", name="底图", overlay=False
        ).add_to(m)
    m.fit_bounds([[lat0, lon0], [lat1, lon1]])
    return m


def to_wgs84(geoms: Sequence[BaseGeometry], crs: pyproj.CRS) -> list[BaseGeometry]:
    """Return ``geoms`` (in ``crs``) transformed to WGS84, rounded to ~1 cm."""
    if not geoms:
        return []
    series = gpd.GeoSeries(list(geoms), crs=crs).to_crs(4326)
    return list(shapely.set_precision(series.to_numpy(), 1e-7))


def to_wgs84_points(points: Sequence[BaseGeometry], crs: pyproj.CRS) -> list[Point]:
    """Return ``points`` (in ``crs``) as WGS84 points."""
    return [Point(g.coords[0]) for g in to_wgs84(points, crs)]


def feature_collection(
    geoms: Sequence[BaseGeometry], props: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of WGS84 ``geoms`` with ``props``."""
    feats = [
        {
            "type": "Feature",
            "properties": escape_properties(p),
            "geometry": shapely.geometry.mapping(g),
        }
        for g, p in zip(geoms, props, strict=True)
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": feats}


def frame_bounds(frames: Sequence[gpd.GeoDataFrame]) -> tuple[float, float, float, float]:
    """Return the WGS84 bounds of the non-empty ``frames`` (a default box when all are empty)."""
    boxes = [f.to_crs(4326).total_bounds for f in frames if not f.empty]
    if not boxes:
        return (116.39, 39.90, 116.41, 39.92)
    b = np.vstack(boxes)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


class HtmlControl(MacroElement):
    """A fixed HTML box over the map (legend, title); needs only Leaflet."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        #{{ this.get_name() }} {
            position: absolute; z-index: 1000; {{ this.position_css }}
            background: rgba(255,255,255,0.93); border-radius: 4px;
            box-shadow: 0 1px 4px rgba(0,0,0,0.3); padding: 8px 10px;
            font: 12px/1.45 {{ this.font }}; color: #222; max-width: 320px;
        }
        #{{ this.get_name() }} .sw { display: inline-block; width: 14px; height: 10px;
            margin-right: 6px; border: 1px solid #555; vertical-align: middle; }
        #{{ this.get_name() }} h4 { margin: 0 0 4px 0; font-size: 13px; }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}">{{ this.body }}</div>
        {% endmacro %}
        """
    )

    def __init__(self, body: str, *, css: str = "bottom: 24px; right: 10px;") -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.body = body
        self.font = WEB_FONT
        self.position_css = css


def legend_html(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """Return legend HTML: a title and (colour, label) swatches."""
    items = "".join(
        f'<div><span class="sw" style="background:{html_text(c)}"></span>{html_text(lab)}</div>'
        for c, lab in rows
    )
    return f"<h4>{html_text(title)}</h4>{items}"
