"""Shared cartographic style: colours, labels and number formats used by every map.

The colours are defined in :mod:`gridgen.palette` (the QGIS styles written into our
GeoPackages use them too), and the renderers import them from there; this module holds
what only maps need: the deviation ramp, labels and number formats.
"""

from __future__ import annotations

import itertools
import math

import pandas as pd

from gridgen.palette import (
    DEVIATION_STOPS,
    PROPERTY_MODE_COLORS,
)
from gridgen.schema import PROPERTY_MODE_LABELS, STATION_KIND_LABELS

__all__ = [
    "DEVIATION_LEGEND",
    "deviation_color",
    "property_mode_color",
    "property_mode_label",
    "station_kind_label",
    "text_or_dash",
    "yes_no",
]

_DEV_STOPS = DEVIATION_STOPS
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
