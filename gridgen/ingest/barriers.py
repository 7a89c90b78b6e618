"""Rivers, railways and walls from a district's files to the ``barriers`` layer.

Geofabrik's Shapefiles put railways (``gis_osm_railways_free_1``) and waterways
(``gis_osm_waterways_free_1``) in separate files with the class in ``fclass``; an
``.osm.pbf`` has ``railway``, ``waterway`` and ``barrier`` columns on its lines; a city's
own file may say 铁路 / 河流 / 围墙 or gridgen's kinds. :data:`BARRIER_CLASSES` maps each
class to a kind: main-line railways, rivers, canals and streams, and walls are kept;
trams (they run on streets), drains, ditches, fences and disused lines are left out, as is
a way in a tunnel (``tunnel`` other than ``no``) and a class the table does not know.
Every row left out is counted by class in the summary, none silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgen.ingest.columns import ids_and_names
from gridgen.schema import BARRIER_KINDS

BARRIER_CLASSES: dict[str, str] = {
    "rail": "railway", "light_rail": "railway", "narrow_gauge": "railway",
    "monorail": "railway", "subway": "railway", "铁路": "railway", "轨道": "railway",
    "river": "river", "canal": "river", "stream": "river", "riverbank": "river",
    "water": "river", "河流": "river", "河道": "river", "水系": "river", "运河": "river",
    "wall": "wall", "city_wall": "wall", "围墙": "wall", "城墙": "wall",
}  # fmt: skip
"""Class → kind of the ``barriers`` layer (gridgen's own kinds map to themselves)."""

CLASS_COLUMNS: tuple[str, ...] = ("railway", "waterway", "barrier")
"""The columns of an ``.osm.pbf``'s lines that hold a barrier's class (first non-empty)."""


@dataclass(frozen=True)
class Barriers:
    """Mapped barriers and the counts behind them."""

    frame: gpd.GeoDataFrame
    by_kind: dict[str, int]
    dropped: dict[str, int]
    """Rows left out by class (``tunnel`` for ways in a tunnel)."""


def _classes(frame: gpd.GeoDataFrame, columns: Mapping[str, str]) -> pd.Series:
    """Return each row's class, lower case ('' when it has none)."""
    if "fclass" in columns:
        raw = frame[columns["fclass"]].astype(object)
    else:
        raw = pd.Series(None, index=frame.index, dtype=object)
        for col in CLASS_COLUMNS:
            if col in frame.columns:
                raw = raw.where(raw.notna(), frame[col].astype(object))
    out: pd.Series = raw.map(lambda v: "" if v is None or pd.isna(v) else str(v).strip().lower())
    return out


def _in_tunnel(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Return which rows are ways in a tunnel (a ``tunnel`` column or the pbf's tags)."""
    tunnel = pd.Series("", index=frame.index, dtype=object)
    if "other_tags" in frame.columns:
        found = frame["other_tags"].astype(object).str.extract(r'"tunnel"=>"([^"]+)"')[0]
        tunnel = found.fillna("")
    if "tunnel" in frame.columns:
        own = frame["tunnel"].astype(object)
        tunnel = own.where(own.notna(), tunnel).astype(str)
    flag = tunnel.str.strip().str.lower()
    return np.asarray(~flag.isin(["", "no", "f", "false", "0", "none", "nan"]), dtype=bool)


def mapped_barriers(frame: gpd.GeoDataFrame, columns: Mapping[str, str]) -> Barriers:
    """Return ``frame`` (rivers, railways, walls; WGS84) as rows of the ``barriers`` layer.

    ``columns`` may name ``fclass``, ``kind``, ``barrier_id`` and ``name``; without
    ``fclass`` or ``kind`` the class is the first of :data:`CLASS_COLUMNS` present.
    """
    classes = (
        frame[columns["kind"]].astype(object).map(lambda v: "" if pd.isna(v) else str(v).strip())
        if "kind" in columns
        else _classes(frame, columns)
    )
    table = {**BARRIER_CLASSES, **{k: k for k in BARRIER_KINDS}}
    kinds = classes.map(lambda c: table.get(c.lower(), table.get(c, "")))
    tunnel = _in_tunnel(frame)
    keep = (kinds != "").to_numpy() & ~tunnel
    ids, names = ids_and_names(frame, columns, id_field="barrier_id", prefix="ZA")
    out = gpd.GeoDataFrame(
        {
            "barrier_id": ids.to_numpy(dtype=object)[keep],
            "kind": kinds.to_numpy(dtype=object)[keep],
            "name": names.astype(object).to_numpy()[keep],
        },
        geometry=frame.geometry.to_numpy()[keep],
        crs=frame.crs,
    )
    left = np.where(tunnel, "tunnel", classes.map(lambda c: c or "(no class)").to_numpy())
    return Barriers(
        frame=out.reset_index(drop=True),
        by_kind=dict(Counter(out["kind"])),
        dropped=dict(Counter(left[~keep].tolist())),
    )
