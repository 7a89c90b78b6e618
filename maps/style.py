"""Shared cartographic style: colours, labels and number formats used by every map."""

from __future__ import annotations

import itertools
import math

import pandas as pd

from gridgen.schema import PROPERTY_MODE_LABELS, STATION_KIND_LABELS

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

COMMUNITY_EDGE = "#333333"
BUILDING_EDGE_HTML = "#8a5a1c"
GRID_EDGE = "#1f5fa8"
COMPOUND_EDGE = "#2b2b2b"
UNCOVERED_COLOR = "#d7301f"
REACH_COLOR = "#c51b7d"

# Diverging scale for household deviation (households / target - 1): blue under, red over.
_DEV_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (-0.5, (33, 102, 172)),
    (-0.2, (146, 197, 222)),
    (0.0, (247, 247, 247)),
    (0.2, (244, 165, 130)),
    (0.5, (178, 24, 43)),
)
DEVIATION_LEGEND: tuple[tuple[str, float], ...] = (
    ("≤ -50%", -0.5),
    ("-20%", -0.2),
    ("0", 0.0),
    ("+20%", 0.2),
    ("≥ +50%", 0.5),
)


def deviation_color(deviation: float | None) -> str:
    """Return the hex colour of a household deviation (grey when missing)."""
    if deviation is None or pd.isna(deviation) or not math.isfinite(deviation):
        return "#cccccc"
    d = min(max(float(deviation), _DEV_STOPS[0][0]), _DEV_STOPS[-1][0])
    for (x0, c0), (x1, c1) in itertools.pairwise(_DEV_STOPS):
        if d <= x1:
            t = (d - x0) / (x1 - x0)
            rgb = [round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*_DEV_STOPS[-1][1])


def property_mode_label(mode: object) -> str:
    """Return the Chinese label of a property mode (``无物业`` when missing)."""
    if mode is None or pd.isna(mode):  # type: ignore[call-overload]
        return PROPERTY_MODE_LABELS["none"]
    return PROPERTY_MODE_LABELS.get(str(mode), str(mode))


def property_mode_color(mode: object) -> str:
    """Return the fill colour of a property mode."""
    if mode is None or pd.isna(mode):  # type: ignore[call-overload]
        return PROPERTY_MODE_COLORS["none"]
    return PROPERTY_MODE_COLORS.get(str(mode), PROPERTY_MODE_COLORS["none"])


def station_kind_label(kind: object) -> str:
    """Return the Chinese label of a station kind."""
    return STATION_KIND_LABELS.get(str(kind), str(kind))


def text_or_dash(value: object) -> str:
    """Return ``value`` as text, or an em dash when it is missing."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def yes_no(value: object) -> str:
    """Return 有/无 for a boolean (``—`` when missing)."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return "—"
    return "有" if bool(value) else "无"
