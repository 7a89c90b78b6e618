"""The overview web map: communities, grids, compounds, stations and uncovered buildings.

The map works offline: Leaflet is inlined (files) or served by gridgen (pages), there is
no basemap unless one is configured, and no folium plugin that needs a CDN is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.dataset import Dataset
from gridgen.io.atomic import write_text_atomic
from gridgen.palette import (
    COMMUNITY_EDGE,
    PROPERTY_MODE_COLORS,
    REACH_COLOR,
    STATION_KIND_COLORS,
    UNCOVERED_COLOR,
)
from gridgen.partition.plan import Plan
from gridgen.schema import PROPERTY_MODE_LABELS
from maps.assets import AssetMode, render_offline_html
from maps.escape import escape_properties, html_text
from maps.style import (
    DEVIATION_LEGEND,
    deviation_color,
    property_mode_color,
    property_mode_label,
    station_kind_label,
    text_or_dash,
    yes_no,
)
from maps.web import HtmlControl, blank_map, frame_bounds, legend_html


def _text(value: Any) -> str:
    return text_or_dash(value)


def _geojson(frame: gpd.GeoDataFrame, props: pd.DataFrame) -> dict[str, Any]:
    """Return a GeoJSON dict of ``frame`` (WGS84) with string properties ``props``."""
    geoms = frame.to_crs(4326).geometry.set_precision(1e-7)
    feats = []
    for geom, (_, row) in zip(geoms, props.iterrows(), strict=True):
        if geom is None or geom.is_empty:
            continue
        feats.append(
            {
                "type": "Feature",
                "properties": escape_properties(
                    {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
                ),
                "geometry": geom.__geo_interface__,
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def _grid_deviation(grids: gpd.GeoDataFrame) -> pd.Series:
    """Return each grid's household deviation (plan column, else against the median)."""
    if "deviation" in grids:
        return pd.to_numeric(grids["deviation"], errors="coerce")
    hh = pd.to_numeric(grids["households"], errors="coerce")
    target = float(hh.median()) if hh.notna().any() else 0.0
    return hh / target - 1.0 if target > 0 else hh * float("nan")


def overview_map(
    dataset: Dataset,
    *,
    plan: Plan | None = None,
    coverage: pd.DataFrame | None = None,
    radius: float = DEFAULT_RADIUS_M,
    basemap: str | None = None,
    attribution: str | None = None,
) -> folium.Map:
    """Return the overview map of a dataset (a :class:`folium.Map`, not yet made offline).

    Parameters
    ----------
    dataset
        A validated dataset.
    plan
        A grid plan: its grids are drawn coloured by household deviation.
    coverage
        Per-building coverage from :func:`gridgen.coverage.stations.station_coverage`: buildings
        with ``covered`` false are drawn as red dots.
    radius
        Station reach drawn as circles, in metres (the radius of the coverage run).
    basemap
        XYZ tile URL template; ``None`` (default) draws on a blank background so the page
        needs no network. Basemaps in GCJ-02 (Amap ``webrd0{s}.is.autonavi.com``, Tencent)
        are offset by hundreds of metres from WGS84 data: export the data in GCJ-02 with
        :func:`gridgen.io.crs.frame_from_wgs84` before drawing it over such tiles.
    attribution
        Attribution for the basemap.

    Notes
    -----
    Write it with :func:`write_overview` (inlined assets) or serve it with
    :func:`overview_html` (``mode="served"``); both remove every CDN link.
    """
    communities = dataset.communities
    compounds = dataset.compounds
    stations = dataset.stations
    frames = [communities, compounds]
    if plan is not None:
        frames.append(plan.grids)
    m = blank_map(frame_bounds(frames), basemap=basemap, attribution=attribution)
    if not communities.empty:
        _community_layer(communities).add_to(m)
    if plan is not None and not plan.grids.empty:
        _grid_layer(plan.grids).add_to(m)
    if not compounds.empty:
        _compound_layer(compounds).add_to(m)
    if not stations.empty:
        _station_reach_layer(stations, radius).add_to(m)
        _station_layer(stations).add_to(m)
    if coverage is not None and "covered" in coverage and not dataset.buildings.empty:
        uncovered = _uncovered_layer(dataset.buildings, coverage)
        if uncovered is not None:
            uncovered.add_to(m)
    m.add_child(HtmlControl(_legend_html(plan=plan, coverage=coverage)))
    m.add_child(HtmlControl(_title_html(dataset, plan), css="top: 10px; left: 54px;"))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _community_layer(communities: gpd.GeoDataFrame) -> folium.GeoJson:
    """Return the community outlines (name and code in the tooltip)."""
    props = pd.DataFrame(
        {
            "name": communities.get("name", communities["community_id"]).map(_text),
            "community_id": communities["community_id"].astype(str),
        }
    )
    return folium.GeoJson(
        _geojson(communities, props),
        name="社区",
        style_function=lambda f: {
            "color": COMMUNITY_EDGE,
            "weight": 2.5,
            "fillOpacity": 0.0,
        },
        tooltip=folium.GeoJsonTooltip(["name", "community_id"], aliases=["社区", "编码"]),
    )


def _grid_layer(grids: gpd.GeoDataFrame) -> folium.GeoJson:
    """Return the grids coloured by household deviation."""
    dev = _grid_deviation(grids)
    props = pd.DataFrame(
        {
            "grid_id": grids["grid_id"].astype(str).to_numpy(),
            "households": grids["households"].map(_text).to_numpy(),
            "deviation": [f"{d:+.0%}" if pd.notna(d) else "—" for d in dev],
            "workers": grids.get("workers", pd.Series(pd.NA, index=grids.index))
            .map(_text)
            .to_numpy(),
            "party_org": grids.get("party_org", pd.Series(pd.NA, index=grids.index))
            .map(yes_no)
            .to_numpy(),
            "_color": [deviation_color(d) for d in dev],
        }
    )
    return folium.GeoJson(
        _geojson(grids, props),
        name="网格（户数偏差）",
        style_function=lambda f: {
            "color": "#1f5fa8",
            "weight": 1.2,
            "fillColor": f["properties"]["_color"],
            "fillOpacity": 0.55,
        },
        tooltip=folium.GeoJsonTooltip(
            ["grid_id", "households", "deviation", "workers", "party_org"],
            aliases=["网格", "户数", "偏差", "网格员", "网格党组织"],
        ),
    )


def _compound_layer(compounds: gpd.GeoDataFrame) -> folium.GeoJson:
    """Return the compounds coloured by property-management mode."""
    modes = compounds.get("property_mode", pd.Series("none", index=compounds.index))
    props = pd.DataFrame(
        {
            "compound_id": compounds["compound_id"].astype(str).to_numpy(),
            "name": compounds.get("name", compounds["compound_id"]).map(_text).to_numpy(),
            "mode": modes.map(property_mode_label).to_numpy(),
            "party_branch": compounds.get("party_branch", pd.Series(pd.NA, index=compounds.index))
            .map(yes_no)
            .to_numpy(),
            "_color": modes.map(property_mode_color).to_numpy(),
        }
    )
    return folium.GeoJson(
        _geojson(compounds, props),
        name="小区（物业模式）",
        style_function=lambda f: {
            "color": "#333333",
            "weight": 1,
            "fillColor": f["properties"]["_color"],
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(
            ["name", "compound_id", "mode", "party_branch"],
            aliases=["小区", "编码", "物业模式", "党支部"],
        ),
    )


def _station_reach_layer(stations: gpd.GeoDataFrame, radius: float) -> folium.FeatureGroup:
    """Return one dashed circle of ``radius`` metres around every station."""
    reach = folium.FeatureGroup(name=f"站点服务范围（{radius:.0f} 米）")
    for pt in stations.geometry:
        folium.Circle(
            location=[pt.y, pt.x],
            radius=radius,
            color=REACH_COLOR,
            weight=0.8,
            fill=True,
            fill_opacity=0.025,
            dash_array="4 3",
        ).add_to(reach)
    return reach


def _station_layer(stations: gpd.GeoDataFrame) -> folium.GeoJson:
    """Return the stations as dots coloured by kind."""
    props = pd.DataFrame(
        {
            "station_id": stations["station_id"].astype(str).to_numpy(),
            "name": stations.get("name", stations["station_id"]).map(_text).to_numpy(),
            "kind": stations["kind"].map(station_kind_label).to_numpy(),
            "_color": stations["kind"]
            .map(lambda k: STATION_KIND_COLORS.get(str(k), "#b2182b"))
            .to_numpy(),
        }
    )
    return folium.GeoJson(
        _geojson(stations, props),
        name="党群服务站点",
        marker=folium.CircleMarker(radius=6, weight=1.5, fill_opacity=0.95),
        style_function=lambda f: {
            "color": "#ffffff",
            "fill": True,
            "fillColor": f["properties"]["_color"],
            "fillOpacity": 0.95,
        },
        tooltip=folium.GeoJsonTooltip(
            ["name", "kind", "station_id"], aliases=["站点", "类型", "编码"]
        ),
    )


def _uncovered_buildings(buildings: gpd.GeoDataFrame, coverage: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return the buildings whose ``covered`` is false in ``coverage`` (by id, else by row)."""
    covered = coverage["covered"].astype("boolean").fillna(False).to_numpy()
    if "building_id" in coverage:
        by_id = dict(zip(coverage["building_id"].astype(str), covered, strict=False))
        mask = buildings["building_id"].astype(str).map(by_id).fillna(True).to_numpy(bool)
        return buildings.loc[~mask]
    return buildings.loc[~covered]


def _uncovered_layer(buildings: gpd.GeoDataFrame, coverage: pd.DataFrame) -> folium.GeoJson | None:
    """Return the uncovered buildings as red dots (distance to a station in the tooltip),
    or None when every building is covered."""
    uncovered = _uncovered_buildings(buildings, coverage)
    if uncovered.empty:
        return None
    dist = None
    if "distance_m" in coverage and "building_id" in coverage:
        dist = dict(zip(coverage["building_id"].astype(str), coverage["distance_m"], strict=False))
    pts = uncovered.copy()
    pts["geometry"] = uncovered.geometry.representative_point()
    props = pd.DataFrame(
        {
            "building_id": uncovered["building_id"].astype(str).to_numpy(),
            "households": uncovered["households"].map(_text).to_numpy(),
            "distance": [
                f"{dist[i]:.0f} 米" if dist and i in dist and pd.notna(dist[i]) else "不可达"
                for i in uncovered["building_id"].astype(str)
            ],
        }
    )
    return folium.GeoJson(
        _geojson(gpd.GeoDataFrame(pts, geometry="geometry", crs=buildings.crs), props),
        name="未覆盖楼栋",
        marker=folium.CircleMarker(
            radius=3,
            weight=0.5,
            color="#ffffff",
            fill_color=UNCOVERED_COLOR,
            fill_opacity=0.9,
        ),
        tooltip=folium.GeoJsonTooltip(
            ["building_id", "households", "distance"],
            aliases=["未覆盖楼栋", "户数", "到最近站点"],
        ),
    )


def _legend_html(*, plan: Plan | None, coverage: pd.DataFrame | None) -> str:
    """Return the legend: property modes, grid deviation (with a plan), stations."""
    rows = [(PROPERTY_MODE_COLORS[k], v) for k, v in PROPERTY_MODE_LABELS.items()]
    body = legend_html("小区物业模式", rows)
    if plan is not None:
        body += legend_html("网格户数偏差", [(deviation_color(v), t) for t, v in DEVIATION_LEGEND])
    body += legend_html(
        "站点",
        [(STATION_KIND_COLORS[k], station_kind_label(k)) for k in STATION_KIND_COLORS]
        + ([(UNCOVERED_COLOR, "未覆盖楼栋")] if coverage is not None else []),
    )
    return body


def _title_html(dataset: Dataset, plan: Plan | None) -> str:
    """Return the title box: the dataset's name and how many of each feature it has."""
    return f"<h4>{html_text(dataset.name)} 网格化治理总览</h4>" + (
        f"<div>{len(dataset.communities)} 个社区 · {len(dataset.compounds)} 个小区 · "
        f"{len(dataset.stations)} 个站点"
        + (f" · {len(plan.grids)} 个网格" if plan is not None else "")
        + "</div>"
    )


def overview_html(
    dataset: Dataset,
    *,
    mode: AssetMode = "served",
    static_url: str = "/static",
    **options: Any,
) -> str:
    """Return the overview page's HTML without CDN links (see :func:`overview_map`)."""
    return render_offline_html(overview_map(dataset, **options), mode=mode, static_url=static_url)


def write_overview(dataset: Dataset, path: str | Path, **options: Any) -> Path:
    """Write the overview map as one standalone HTML file (Leaflet inlined); return the path.

    ``options`` are those of :func:`overview_map` (plan, coverage, radius, basemap,
    attribution). The file opens offline from ``file://``.
    """
    return write_text_atomic(path, overview_html(dataset, mode="inline", **options))
