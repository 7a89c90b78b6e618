"""OpenStreetMap road classes to gridgen's road kinds (one table, overridable).

Geofabrik's Shapefiles carry the class in ``fclass``; an ``.osm.pbf`` in ``highway``. The
table :data:`ROAD_CLASSES` maps each class to a kind and whether people walk along it:
motorway to secondary (and their links) are ``main`` (motorways and trunks not walkable),
footway-like classes are ``path`` (walkable; gridgen's kind for them), everything else that
carries traffic is ``minor``. Classes that are not roads on the ground (construction,
proposed, platforms) are left out, and a class the table does not know is taken as
``minor``; both are counted in the summary. ``--road-class CLASS=KIND[,walkable|,nowalk]``
overrides a row (``KIND`` main, minor, path or drop).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgen.errors import ParameterError
from gridgen.ingest.columns import ids_and_names
from gridgen.schema import ROAD_KINDS

DROP = "drop"

ROAD_CLASSES: dict[str, tuple[str, bool]] = {
    "motorway": ("main", False), "motorway_link": ("main", False),
    "trunk": ("main", False), "trunk_link": ("main", False),
    "primary": ("main", True), "primary_link": ("main", True),
    "secondary": ("main", True), "secondary_link": ("main", True),
    "tertiary": ("minor", True), "tertiary_link": ("minor", True),
    "unclassified": ("minor", True), "residential": ("minor", True),
    "living_street": ("minor", True), "service": ("minor", True), "road": ("minor", True),
    "busway": ("minor", False), "track": ("minor", True), "track_grade1": ("minor", True),
    "track_grade2": ("minor", True), "track_grade3": ("minor", True),
    "track_grade4": ("minor", True), "track_grade5": ("minor", True),
    "unknown": ("minor", True),
    "pedestrian": ("path", True), "footway": ("path", True), "path": ("path", True),
    "steps": ("path", True), "cycleway": ("path", True), "bridleway": ("path", True),
    "trail": ("path", True), "corridor": ("path", True),
    "construction": (DROP, False), "proposed": (DROP, False), "abandoned": (DROP, False),
    "disused": (DROP, False), "platform": (DROP, False), "raceway": (DROP, False),
    "elevator": (DROP, False), "bus_stop": (DROP, False), "rest_area": (DROP, False),
    "services": (DROP, False), "escape": (DROP, False),
}  # fmt: skip
"""OSM class → (gridgen kind or ``drop``, walkable)."""


def parse_road_classes(items: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """Return the table with ``CLASS=KIND[,walkable|,nowalk]`` overrides applied.

    Raises
    ------
    ParameterError
        A malformed item or an unknown kind.
    """
    table = dict(ROAD_CLASSES)
    for item in items:
        cls, sep, rest = str(item).partition("=")
        kind, _, walk = rest.partition(",")
        kind, walk, cls = kind.strip().lower(), walk.strip().lower(), cls.strip().lower()
        if (
            not sep
            or not cls
            or kind not in (*ROAD_KINDS, DROP)
            or walk not in ("", "walkable", "nowalk")
        ):
            msg = (
                f"--road-class {item!r}: give CLASS=KIND[,walkable|,nowalk] with KIND one of "
                f"{', '.join(ROAD_KINDS)} or {DROP}, e.g. --road-class tertiary=main"
            )
            raise ParameterError(msg)
        default_walk = table.get(cls, ("minor", kind != "main"))[1]
        table[cls] = (kind, default_walk if not walk else walk == "walkable")
    return table


@dataclass(frozen=True)
class Roads:
    """Roads mapped to gridgen's kinds.

    Attributes
    ----------
    frame
        ``road_id``, ``kind``, ``walkable``, ``name``, geometry (EPSG:4326).
    by_class
        Rows per OSM class kept.
    dropped
        Rows per class left out (not roads on the ground).
    unknown
        Rows per class the table does not know (taken as minor).
    """

    frame: gpd.GeoDataFrame
    by_class: dict[str, int]
    dropped: dict[str, int]
    unknown: dict[str, int]


def mapped_roads(
    frame: gpd.GeoDataFrame,
    columns: Mapping[str, str],
    *,
    table: Mapping[str, tuple[str, bool]] | None = None,
) -> Roads:
    """Return ``frame`` (an OSM roads layer, WGS84) with gridgen's ``kind`` and ``walkable``.

    ``columns`` names the ``fclass`` (required), ``road_id`` and ``name`` columns. A layer
    that already has gridgen's ``kind`` column (main/minor/path) keeps it.
    """
    table = dict(table or ROAD_CLASSES)
    classes = (
        frame[columns["fclass"]]
        .astype(object)
        .map(lambda v: "unknown" if v is None or pd.isna(v) else str(v).strip().lower())
    )
    kinds = classes.map(lambda c: table.get(c, ("minor", True))[0] if c not in ROAD_KINDS else c)
    walk = classes.map(lambda c: table.get(c, ("minor", True))[1] if c not in ROAD_KINDS else True)
    keep = (kinds != DROP).to_numpy()
    known = classes.isin(set(table) | set(ROAD_KINDS)).to_numpy()
    ids, names = ids_and_names(frame, columns, id_field="road_id", prefix="DL")
    out = gpd.GeoDataFrame(
        {
            "road_id": ids.to_numpy(dtype=object)[keep],
            "kind": kinds.to_numpy(dtype=object)[keep],
            "walkable": walk.to_numpy(dtype=bool)[keep],
            "name": names.astype(object).to_numpy()[keep],
        },
        geometry=frame.geometry.to_numpy()[keep],
        crs=frame.crs,
    )
    return Roads(
        frame=out.reset_index(drop=True),
        by_class=dict(Counter(classes[keep & known])),
        dropped=dict(Counter(classes[~keep])),
        unknown=dict(Counter(classes[~known & np.ones(len(frame), dtype=bool)])),
    )
