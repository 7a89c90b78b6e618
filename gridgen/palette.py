"""Colours of the cartographic style, shared by the viewer and sheets (``maps.style``) and
the QGIS styles written into GeoPackages (:mod:`gridgen.io.qgis_style`).

They live in ``gridgen`` because both readers may import it, while ``gridgen`` must not
import ``maps``; ``maps.style`` re-exports them under the same names.
"""

from __future__ import annotations

PROPERTY_MODE_COLORS: dict[str, str] = {
    "company": "#4e79a7",
    "red_property": "#e15759",
    "unit_cobuild": "#f28e2b",
    "subsidy": "#edc948",
    "community_fallback": "#b07aa1",
    "none": "#bab0ac",
}
"""Fill colour per property mode (keys of :data:`gridgen.schema.PROPERTY_MODES`)."""

STATION_KIND_COLORS: dict[str, str] = {
    "center": "#b2182b",
    "micro": "#d6604d",
    "red_front": "#67001f",
}
"""Marker colour per station kind."""

ROAD_KIND_COLORS: dict[str, str] = {"main": "#8c8c8c", "minor": "#b5b5b5", "path": "#c9c9c9"}
"""Line colour per road kind (the sheets draw context roads in the lightest)."""

ROAD_KIND_WIDTHS_MM: dict[str, float] = {"main": 1.2, "minor": 0.6, "path": 0.3}

BARRIER_KIND_COLORS: dict[str, str] = {"river": "#4a90d9", "railway": "#4d4d4d", "wall": "#9c6b43"}
"""Line (and water) colour per kind of the ``barriers`` layer."""

BARRIER_KIND_WIDTHS_MM: dict[str, float] = {"river": 1.2, "railway": 0.9, "wall": 0.4}

COMMUNITY_EDGE = "#333333"
BUILDING_EDGE_HTML = "#8a5a1c"
BUILDING_FILL = "#e8d5b5"
GRID_EDGE = "#1f5fa8"
COMPOUND_EDGE = "#2b2b2b"
UNCOVERED_COLOR = "#d7301f"
UNCOVERED_EDGE = "#67000d"
REACH_COLOR = "#c51b7d"

DEVIATION_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (-0.5, (33, 102, 172)),
    (-0.2, (146, 197, 222)),
    (0.0, (247, 247, 247)),
    (0.2, (244, 165, 130)),
    (0.5, (178, 24, 43)),
)
"""Diverging scale for household deviation (households / target - 1): blue under, red over."""

COVERAGE_SHARE_STOPS: tuple[tuple[float, str], ...] = (
    (0.5, "#d7301f"),
    (0.8, "#fc8d59"),
    (0.95, "#fee08b"),
    (1.0, "#91cf60"),
)
"""Sequential scale for a covered share below 100 %: (upper bound, colour)."""
COVERAGE_FULL_COLOR = "#1a9850"
"""Colour of a share of 100 % (every household covered)."""

AUDIT_COLORS: dict[str, str] = {
    "in_band": "#91bfdb",
    "out_of_band": "#fc8d59",
    "gap": "#d7301f",
    "overlap": "#7b3294",
    "split": "#e7298a",
    "split_allowed": "#bababa",
}
"""Fills of the audit layers: grids in and out of band, gaps, overlaps, split compounds."""
