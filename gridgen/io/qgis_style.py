"""QGIS default styles inside the GeoPackages we write (table ``layer_styles``).

QGIS looks for a ``layer_styles`` table in a GeoPackage (its own convention: f_table_name,
f_geometry_column, styleName, styleQML, useAsDefault, ...) and applies the default style of
a layer when it opens it. We write one for every styled layer, in the colours of the viewer
and the sheets (:mod:`gridgen.palette`): grids graduated by household deviation with their
codes as labels, compounds by property mode, stations by kind, buildings with their
household counts, roads by kind, communities and streets as outlines.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path

from gridgen.palette import (
    AUDIT_COLORS,
    BARRIER_KIND_COLORS,
    BARRIER_KIND_WIDTHS_MM,
    BUILDING_EDGE_HTML,
    BUILDING_FILL,
    COMMUNITY_EDGE,
    COMPOUND_EDGE,
    COVERAGE_FULL_COLOR,
    COVERAGE_SHARE_STOPS,
    DEVIATION_STOPS,
    GRID_EDGE,
    PROPERTY_MODE_COLORS,
    REACH_COLOR,
    ROAD_KIND_COLORS,
    ROAD_KIND_WIDTHS_MM,
    STATION_KIND_COLORS,
    UNCOVERED_COLOR,
    UNCOVERED_EDGE,
)
from gridgen.schema import PROPERTY_MODE_LABELS, STATION_KIND_LABELS

STYLE_NAME = "gridgen"
LABEL_FONT = "Noto Sans CJK SC"

_TABLE = """CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
    f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
    styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
    update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"""


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _props(values: dict[str, str]) -> str:
    return "".join(f'<prop k="{k}" v="{escape(v)}"/>' for k, v in values.items())


def fill_symbol(name: str, fill: str | None, edge: str, width_mm: float, alpha: int = 200) -> str:
    """Return a QML fill symbol (``fill`` None: outline only)."""
    props = {
        "color": _rgba(fill, alpha) if fill else "0,0,0,0",
        "style": "solid" if fill else "no",
        "outline_color": _rgba(edge),
        "outline_style": "solid",
        "outline_width": f"{width_mm}",
        "outline_width_unit": "MM",
        "joinstyle": "round",
    }
    return (
        f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleFill" pass="0" locked="0" enabled="1">{_props(props)}</layer>'
        "</symbol>"
    )


def marker_symbol(name: str, colour: str, size_mm: float, shape: str = "circle") -> str:
    """Return a QML marker symbol (a circle unless ``shape`` names another, e.g. star)."""
    props = {
        "name": shape,
        "color": _rgba(colour),
        "outline_color": "255,255,255,255",
        "outline_style": "solid",
        "outline_width": "0.3",
        "outline_width_unit": "MM",
        "size": f"{size_mm}",
        "size_unit": "MM",
    }
    return (
        f'<symbol type="marker" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleMarker" pass="0" locked="0" enabled="1">{_props(props)}</layer>'
        "</symbol>"
    )


def line_symbol(name: str, colour: str, width_mm: float) -> str:
    """Return a QML line symbol."""
    props = {
        "line_color": _rgba(colour),
        "line_style": "solid",
        "line_width": f"{width_mm}",
        "line_width_unit": "MM",
        "capstyle": "round",
        "joinstyle": "round",
    }
    return (
        f'<symbol type="line" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleLine" pass="0" locked="0" enabled="1">{_props(props)}</layer>'
        "</symbol>"
    )


def _single(symbol: str) -> str:
    return (
        '<renderer-v2 type="singleSymbol" symbollevels="0">'
        f"<symbols>{symbol}</symbols></renderer-v2>"
    )


def _categorized(attr: str, cats: list[tuple[str, str, str]]) -> str:
    """Return a categorized renderer: ``cats`` is (value, label, symbol XML named by index)."""
    rows = "".join(
        f'<category value="{escape(v)}" label="{escape(lab)}" symbol="{i}" render="true"/>'
        for i, (v, lab, _) in enumerate(cats)
    )
    symbols = "".join(s for _, _, s in cats)
    return (
        f'<renderer-v2 type="categorizedSymbol" attr="{escape(attr)}" symbollevels="0">'
        f"<categories>{rows}</categories><symbols>{symbols}</symbols></renderer-v2>"
    )


def _graduated(attr: str, classes: list[tuple[float, float, str, str]]) -> str:
    """Return a graduated renderer: ``classes`` is (lower, upper, label, symbol XML by index)."""
    ranges = "".join(
        f'<range lower="{lo}" upper="{hi}" label="{escape(label)}" symbol="{i}" render="true"/>'
        for i, (lo, hi, label, _) in enumerate(classes)
    )
    symbols = "".join(symbol for *_, symbol in classes)
    return (
        f'<renderer-v2 type="graduatedSymbol" attr="{escape(attr)}" '
        f'graduatedMethod="GraduatedColor" symbollevels="0"><ranges>{ranges}</ranges>'
        f"<symbols>{symbols}</symbols></renderer-v2>"
    )


def _deviation_renderer() -> str:
    """Return a graduated renderer on ``deviation`` in the viewer's diverging colours."""
    bounds = [-1000.0, -0.35, -0.1, 0.1, 0.35, 1000.0]
    labels = ["< -35%", "-35% – -10%", "-10% – +10%", "+10% – +35%", "> +35%"]
    classes = []
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        _, rgb = DEVIATION_STOPS[i]
        colour = "#{:02x}{:02x}{:02x}".format(*rgb)
        classes.append((lo, hi, labels[i], fill_symbol(str(i), colour, GRID_EDGE, 0.6, alpha=190)))
    return _graduated("deviation", classes)


def _share_classes(symbol: Callable[[str, str], str]) -> list[tuple[float, float, str, str]]:
    """Return the covered-share classes (< 50 %, ..., 100 %) with ``symbol(name, colour)``."""
    full = 1.0 - 1e-9  # a share of exactly 1 is a class of its own
    uppers = [*(min(u, full) for u, _ in COVERAGE_SHARE_STOPS), 1.0]
    colours = [*(c for _, c in COVERAGE_SHARE_STOPS), COVERAGE_FULL_COLOR]
    labels = ["< 50%", "50% – 80%", "80% – 95%", "95% – 100%", "100%"]
    lowers = [-0.001, *uppers[:-1]]
    return [
        (lo, hi, label, symbol(str(i), colour))
        for i, (lo, hi, label, colour) in enumerate(
            zip(lowers, uppers, labels, colours, strict=True)
        )
    ]


def _labels(
    expression: str,
    *,
    size: float,
    colour: str = "#222222",
    polygon: bool,
    display_all: bool = False,
) -> str:
    """Return simple labelling (``display_all``: every label, even where they collide)."""
    is_expr = "1" if not expression.isidentifier() else "0"
    # polygons: horizontal, anywhere inside (4: QGIS tries many positions, so a label is
    # rarely dropped for a station marker at the centre); points: around the point (0)
    placement = "4" if polygon else "0"
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName="{escape(expression)}" isExpression="{is_expr}" '
        f'fontFamily="{LABEL_FONT}" fontSize="{size}" fontSizeUnit="Point" '
        f'textColor="{_rgba(colour)}" textOpacity="1"/>'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="0.85"/>'
        f'<placement placement="{placement}" dist="1" distUnits="MM"/>'
        f'<rendering obstacle="1" displayAll="{int(display_all)}" scaleVisibility="0"/>'
        "</settings></labeling>"
    )


def _qml(renderer: str, labeling: str = "") -> str:
    enabled = "1" if labeling else "0"
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.22.16" styleCategories="Symbology|Labeling" '
        f'labelsEnabled="{enabled}">{renderer}{labeling}</qgis>'
    )


def _grids() -> str:
    return _qml(_deviation_renderer(), _labels("grid_id", size=9, polygon=True))


def _compounds() -> str:
    cats = [
        (mode, PROPERTY_MODE_LABELS.get(mode, mode), fill_symbol(str(i), c, COMPOUND_EDGE, 0.3))
        for i, (mode, c) in enumerate(PROPERTY_MODE_COLORS.items())
    ]
    return _qml(_categorized("property_mode", cats))


def _stations() -> str:
    cats = [
        (kind, STATION_KIND_LABELS.get(kind, kind), marker_symbol(str(i), c, 3.0))
        for i, (kind, c) in enumerate(STATION_KIND_COLORS.items())
    ]
    return _qml(_categorized("kind", cats), _labels("name", size=8, polygon=False))


def _proposed_sites() -> str:
    # proposed sites carry rank and households gained, not a station kind
    symbol = marker_symbol("0", REACH_COLOR, 5.0, shape="star")
    label = "concat('#', \"rank\", ' +', \"newly_covered_households\", '户')"
    return _qml(_single(symbol), _labels(label, size=9, polygon=False))


def _buildings() -> str:
    symbol = fill_symbol("0", BUILDING_FILL, BUILDING_EDGE_HTML, 0.2, alpha=230)
    return _qml(_single(symbol), _labels("concat(\"households\", '户')", size=7, polygon=True))


def _building_points() -> str:
    symbol = marker_symbol("0", BUILDING_EDGE_HTML, 2.0)
    return _qml(_single(symbol), _labels("concat(\"households\", '户')", size=7, polygon=False))


def _uncovered() -> str:
    # a dark edge keeps them visible over a red (poorly covered) area of the coverage layer
    return _qml(_single(fill_symbol("0", UNCOVERED_COLOR, UNCOVERED_EDGE, 0.4, alpha=230)))


def _uncovered_points() -> str:
    return _qml(_single(marker_symbol("0", UNCOVERED_COLOR, 2.2)))


def _roads() -> str:
    cats = [
        (kind, kind, line_symbol(str(i), c, ROAD_KIND_WIDTHS_MM[kind]))
        for i, (kind, c) in enumerate(ROAD_KIND_COLORS.items())
    ]
    return _qml(_categorized("kind", cats))


def _barriers() -> str:
    cats = [
        (kind, kind, line_symbol(str(i), c, BARRIER_KIND_WIDTHS_MM[kind]))
        for i, (kind, c) in enumerate(BARRIER_KIND_COLORS.items())
    ]
    return _qml(_categorized("kind", cats))


def _barrier_areas() -> str:
    cats = [
        (kind, kind, fill_symbol(str(i), c, c, 0.3, alpha=140))
        for i, (kind, c) in enumerate(BARRIER_KIND_COLORS.items())
    ]
    return _qml(_categorized("kind", cats))


def _communities() -> str:
    return _qml(
        _single(fill_symbol("0", None, COMMUNITY_EDGE, 0.8)), _labels("name", size=10, polygon=True)
    )


def _streets() -> str:
    return _qml(
        _single(fill_symbol("0", None, COMMUNITY_EDGE, 1.4)), _labels("name", size=12, polygon=True)
    )


def _coverage() -> str:
    classes = _share_classes(lambda n, c: fill_symbol(n, c, COMMUNITY_EDGE, 0.4, alpha=120))
    label = "concat(round(\"share\" * 100), '%')"
    return _qml(_graduated("share", classes), _labels(label, size=9, polygon=True))


def _coverage_points() -> str:
    return _qml(_graduated("share", _share_classes(lambda n, c: marker_symbol(n, c, 2.0))))


def _audit_grids() -> str:
    in_band = "if(\"in_band\", 'in', 'out')"
    cats = [
        ("in", "in band", fill_symbol("0", AUDIT_COLORS["in_band"], GRID_EDGE, 0.5, alpha=150)),
        ("out", "out of band", fill_symbol("1", AUDIT_COLORS["out_of_band"], GRID_EDGE, 0.5)),
    ]
    return _qml(_categorized(in_band, cats), _labels("grid_id", size=9, polygon=True))


def _audit_fill(key: str) -> Callable[[], str]:
    def style() -> str:
        colour = AUDIT_COLORS[key]
        return _qml(_single(fill_symbol("0", colour, colour, 0.6, alpha=200)))

    return style


def _split_compounds() -> str:
    allowed = "if(\"allowed\", 'allowed', 'split')"
    cats = [
        ("split", "split", fill_symbol("0", AUDIT_COLORS["split"], COMPOUND_EDGE, 0.6)),
        (
            "allowed",
            "split, allowed (above the band)",
            fill_symbol("1", AUDIT_COLORS["split_allowed"], COMPOUND_EDGE, 0.3, alpha=120),
        ),
    ]
    return _qml(_categorized(allowed, cats), _labels("compound_id", size=8, polygon=True))


STYLES: dict[str, Callable[[], str]] = {
    "grids": _grids,
    "compounds": _compounds,
    "stations": _stations,
    "proposed_sites": _proposed_sites,
    "buildings": _buildings,
    "building_points": _building_points,
    "uncovered_buildings": _uncovered,
    "roads": _roads,
    "barriers": _barriers,
    "barriers_lines": _barriers,
    "communities": _communities,
    "streets": _streets,
    "coverage": _coverage,
    "coverage_points": _coverage_points,
    "uncovered_building_points": _uncovered_points,
}
"""Layer name → QML of its default style."""

POINT_STYLES: dict[str, Callable[[], str]] = {
    "coverage": _coverage_points,
    "buildings": _building_points,
    "uncovered_buildings": _uncovered_points,
}
"""Styles of layers of footprints whose every row is a point (a layer of one family keeps
its name; mixed layers put their points in ``<layer>_points``, styled by :data:`STYLES`)."""

POLYGON_STYLES: dict[str, Callable[[], str]] = {"barriers": _barrier_areas}
"""Styles of layers that hold polygons where :data:`STYLES` draws lines (rivers drawn as
water areas; a mixed layer keeps its polygons under its name, its lines in
``<layer>_lines``)."""

AUDIT_STYLES: dict[str, Callable[[], str]] = {
    "grids": _audit_grids,
    "gaps": _audit_fill("gap"),
    "overlaps": _audit_fill("overlap"),
    "split_compounds": _split_compounds,
}
"""Styles of an audit GeoPackage: grids in and out of band, gaps, overlaps, split compounds."""


def _style_of(
    table: str, geometry: str, styles: Mapping[str, Callable[[], str]]
) -> Callable[[], str]:
    """Return the style of layer ``table`` whose geometry type is ``geometry`` (upper case)."""
    if "POINT" in geometry and table in POINT_STYLES:
        return POINT_STYLES[table]
    if "POLYGON" in geometry and table in POLYGON_STYLES:
        return POLYGON_STYLES[table]
    return styles[table]


def write_layer_styles(
    path: str | Path, *, styles: Mapping[str, Callable[[], str]] = STYLES
) -> list[str]:
    """Add a default QGIS style for every styled layer of a GeoPackage; return their names.

    The ``layer_styles`` table is created when absent (and registered in gpkg_contents as
    an attribute table); an existing default of ours for the same layer is replaced.
    ``styles`` maps layer names to their style (:data:`AUDIT_STYLES` for an audit); a point
    layer takes its :data:`POINT_STYLES` entry when there is one.

    For a GeoPackage being written under :func:`gridgen.io.atomic.atomic_path` (which
    syncs the finished file once): the change is not synced to disk by itself.
    """
    styled: list[str] = []
    with sqlite3.connect(str(path)) as con:
        con.execute("PRAGMA synchronous = OFF")
        layers = con.execute(
            "SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns"
        ).fetchall()
        chosen = {t: _style_of(t, str(g).upper(), styles) for t, _, g in layers if t in styles}
        wanted = [(t, c) for t, c, _ in layers if t in chosen]
        if not wanted:
            return styled
        con.execute(_TABLE)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            "'QGIS default styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
        )
        for table, column in wanted:
            con.execute(
                "DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?",
                (table, STYLE_NAME),
            )
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'gridgen', '', "
                "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                (table, column, STYLE_NAME, chosen[table](), f"gridgen default style of {table}"),
            )
            styled.append(table)
    con.close()
    return styled
