"""HTML renderer of the compound sheet: an interactive folium map beside the tables.

Like the print sheet it only shows what :class:`maps.sheet.data.SheetData` carries, so a sheet
made without restricted access has no phones or key persons anywhere in the page.
"""

from __future__ import annotations

from pathlib import Path

import folium
import pyproj
import shapely
from branca.element import Element

from gridgen.io.atomic import write_text_atomic
from gridgen.palette import (
    BUILDING_EDGE_HTML,
    COMPOUND_EDGE,
    GRID_EDGE,
    REACH_COLOR,
    UNCOVERED_COLOR,
)
from maps.assets import AssetMode, render_offline_html
from maps.escape import html_text
from maps.sheet.data import SheetData, SheetStation, building_rows
from maps.style import property_mode_color
from maps.web import WEB_FONT, blank_map, feature_collection, to_wgs84, to_wgs84_points

_PAGE_CSS = """
<style>
html, body {{ margin: 0; height: 100%; font-family: {font}; color: #222; }}
.folium-map {{ position: absolute !important; left: 0; top: 0; bottom: 0;
  width: 58% !important; height: 100% !important; }}
.gg-panel {{ position: absolute; right: 0; top: 0; bottom: 0; width: 42%; overflow-y: auto;
  padding: 14px 18px; box-sizing: border-box; border-left: 1px solid #ccd; background: #fff; }}
.gg-num {{ font: 600 11px/14px {font}; color: #222; text-align: center;
  background: rgba(255,255,255,0.8); border-radius: 2px; }}
.gg-panel h1 {{ font-size: 20px; margin: 0 0 4px 0; }}
.gg-panel .sub {{ color: #555; font-size: 13px; margin-bottom: 10px; }}
.gg-panel h2 {{ font-size: 15px; margin: 14px 0 6px 0; border-bottom: 2px solid #2f4b7c; }}
.gg-panel table {{ border-collapse: collapse; width: 100%; font-size: 12px; }}
.gg-panel td, .gg-panel th {{ padding: 3px 5px; text-align: center; }}
.gg-panel th {{ background: #2f4b7c; color: #fff; font-weight: 600; }}
.gg-panel tr:nth-child(even) td {{ background: #f1f3f6; }}
.gg-panel table.kv td:first-child {{ text-align: left; color: #555; width: 38%; }}
.gg-panel table.kv td:last-child {{ text-align: left; }}
.gg-panel .note {{ color: #b2182b; margin: 6px 0; }}
.gg-panel .foot {{ color: #777; font-size: 11px; margin-top: 14px; }}
@media (max-width: 760px) {{
  .folium-map {{ width: 100% !important; height: 45% !important; bottom: auto; }}
  .gg-panel {{ top: 45%; width: 100%; border-left: 0; border-top: 1px solid #ccd; }}
}}
@media print {{ .folium-map {{ position: relative !important; width: 100% !important;
  height: 120mm !important; }} .gg-panel {{ position: static; width: auto; }} }}
</style>
"""


def _table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html_text(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in r) + "</tr>" for r in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _panel(data: SheetData) -> str:
    e = html_text
    parts = [f"<h1>{e(data.title)}</h1>", f'<div class="sub">{e(data.subtitle)}</div>']
    parts += [f'<div class="note">注：{e(n)}</div>' for n in data.notes]
    kv = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in data.summary)
    parts.append(f'<h2>小区概况</h2><table class="kv">{kv}</table>')
    if data.three_teams is not None:
        t = data.three_teams
        workers = "—" if t.grid_workers is None else f"{t.grid_workers} 人"
        rows = [("网格员", workers), ("楼栋长", f"{t.building_leaders} 人")]
        rows.append(("党员/志愿者", f"{t.party_members} 人"))
        kv = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in rows)
        parts.append(f'<h2>三支队伍</h2><table class="kv">{kv}</table>')
    parts.append(f"<h2>楼栋信息（{len(data.buildings)} 栋）</h2>")
    rows_b = building_rows(data)
    parts.append(_table(rows_b) if len(rows_b) > 1 else '<div class="note">无楼栋数据</div>')
    foot = "含受限个人信息，仅限授权人员使用，注意保密" if data.restricted else "不含受限个人信息"
    parts.append(f'<div class="foot">gridgen · 一小区一图示 · {e(data.made_on)} · {foot}</div>')
    return '<div class="gg-panel">' + "".join(parts) + "</div>"


def sheet_map(data: SheetData) -> folium.Map:
    """Return the sheet's folium map with the side panel (not yet made offline)."""
    crs = data.metric_crs
    compound = to_wgs84([data.compound_geometry], crs)[0]
    geoms = [compound]
    if data.station is not None and data.station.reaches_compound:
        geoms.append(to_wgs84([data.station.geometry], crs)[0])
    m = blank_map(shapely.GeometryCollection(geoms).bounds)
    folium.GeoJson(
        feature_collection([compound], [{"name": data.compound_name}]),
        name="小区边界",
        style_function=lambda f: {
            "color": COMPOUND_EDGE,
            "weight": 2.5,
            "fillColor": property_mode_color(data.property_mode),
            "fillOpacity": 0.18,
        },
    ).add_to(m)
    if data.grid_geometries:
        folium.GeoJson(
            feature_collection(
                to_wgs84(list(data.grid_geometries), crs), [{} for _ in data.grid_geometries]
            ),
            name="网格边界",
            style_function=lambda f: {
                "color": GRID_EDGE,
                "weight": 2,
                "dashArray": "6 4",
                "fillOpacity": 0,
            },
        ).add_to(m)
    if data.buildings:
        _building_layer(data).add_to(m)
        _building_numbers(data).add_to(m)
    if data.station is not None:
        for marker in _station_markers(data.station, crs):
            marker.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    root = m.get_root()
    root.header.add_child(Element(_PAGE_CSS.format(font=WEB_FONT)), name="gg_css")  # type: ignore[attr-defined]
    root.html.add_child(Element(_panel(data)), name="gg_panel")  # type: ignore[attr-defined]
    return m


def _building_properties(data: SheetData) -> list[dict[str, str]]:
    """Return each building's tooltip fields (phones and key persons only when restricted)."""
    props = []
    for b in data.buildings:
        p = {
            "label": f"{b.number}号楼",
            "building_id": b.building_id,
            "households": str(b.households),
            "residents": "—" if b.residents is None else str(b.residents),
            "leader": b.leader_name or "—",
            "_edge": UNCOVERED_COLOR if b.covered is False else BUILDING_EDGE_HTML,
        }
        if data.restricted:
            p["phone"] = b.leader_phone or "—"
            p["key_persons"] = "—" if b.key_persons is None else str(b.key_persons)
        props.append(p)
    return props


def _building_layer(data: SheetData) -> folium.GeoJson:
    """Return the buildings (uncovered ones outlined red) with their tooltip."""
    fields = ["label", "building_id", "households", "residents", "leader"]
    aliases = ["楼栋", "编码", "户数", "人数", "楼栋长"]
    if data.restricted:
        fields += ["phone", "key_persons"]
        aliases += ["联系电话", "重点人员"]
    geoms = to_wgs84([b.geometry for b in data.buildings], data.metric_crs)
    return folium.GeoJson(
        feature_collection(geoms, _building_properties(data)),
        name="楼栋",
        marker=folium.CircleMarker(radius=5),
        style_function=lambda f: {
            "color": f["properties"]["_edge"],
            "weight": 1.2,
            "fill": True,
            "fillColor": "#f6d7a7",
            "fillOpacity": 0.95,
        },
        tooltip=folium.GeoJsonTooltip(fields, aliases=aliases),
    )


def _building_numbers(data: SheetData) -> folium.FeatureGroup:
    """Return the building numbers as text markers inside the buildings."""
    numbers = folium.FeatureGroup(name="楼栋编号")
    points = [b.geometry.representative_point() for b in data.buildings]
    anchors = to_wgs84_points(points, data.metric_crs)
    for b, pt in zip(data.buildings, anchors, strict=True):
        folium.Marker(
            location=[pt.y, pt.x],
            icon=folium.DivIcon(
                html=f'<div class="gg-num">{html_text(b.number)}</div>',
                icon_size=(24, 14),
                icon_anchor=(12, 7),
                class_name="gg-num-icon",
            ),
        ).add_to(numbers)
    return numbers


def _station_markers(
    station: SheetStation, crs: pyproj.CRS
) -> tuple[folium.Circle, folium.CircleMarker]:
    """Return the station's reach circle and its dot."""
    st = to_wgs84_points([station.geometry], crs)[0]
    reach = folium.Circle(
        location=[st.y, st.x],
        radius=station.radius_m,
        color=REACH_COLOR,
        weight=1,
        dash_array="4 3",
        fill=True,
        fill_opacity=0.05,
        tooltip=f"服务范围 {station.radius_m:.0f} 米",
    )
    dot = folium.CircleMarker(
        location=[st.y, st.x],
        radius=7,
        color="#ffffff",
        weight=1.5,
        fill=True,
        fill_color=REACH_COLOR,
        fill_opacity=1,
        tooltip=html_text(f"{station.kind_label}：{station.name}"),
    )
    return reach, dot


def sheet_html(data: SheetData, *, mode: AssetMode = "served", static_url: str = "/static") -> str:
    """Return the sheet page's HTML with no CDN link (``mode`` as in :mod:`maps.assets`)."""
    return render_offline_html(sheet_map(data), mode=mode, static_url=static_url)


def render_sheet_html(data: SheetData, path: str | Path) -> Path:
    """Write the sheet as a standalone HTML file (Leaflet inlined, opens offline)."""
    return write_text_atomic(path, sheet_html(data, mode="inline"))
