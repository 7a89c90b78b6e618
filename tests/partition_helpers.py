"""Hand-made communities for partition tests, built directly as validated Datasets.

Geometry is drawn in local metres, placed in UTM zone 49N (EPSG:32649) and converted to
WGS84; the dataset's metric CRS is EPSG:32649, so areas and lengths are exact by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely import affinity
from shapely.geometry import LineString, box
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset, empty_layer

UTM49 = pyproj.CRS.from_epsg(32649)
X0, Y0 = 500_000.0, 3_400_000.0


def at(geom: BaseGeometry, dx: float = 0.0) -> BaseGeometry:
    """Return ``geom`` (local metres) shifted to the origin (plus ``dx`` east)."""
    return affinity.translate(geom, X0 + dx, Y0)


def wgs(rows: list[dict[str, object]], columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Return a WGS84 frame from rows with geometry in UTM metres."""
    if not rows:
        frame = empty_layer("roads")
        return frame
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM49).to_crs(4326)
    return frame[[*columns, "geometry"]].reset_index(drop=True)


def make_dataset(
    communities: list[tuple[str, BaseGeometry]],
    compounds: list[tuple[str, str, BaseGeometry]],
    buildings: list[tuple[str, str | None, int, BaseGeometry, str]],
    roads: list[tuple[str, str, BaseGeometry]] = (),  # type: ignore[assignment]
) -> Dataset:
    """Return a Dataset from local-metre geometry.

    Parameters
    ----------
    communities
        ``(community_id, polygon)``.
    compounds
        ``(compound_id, community_id, polygon)``.
    buildings
        ``(building_id, compound_id or None, households, footprint, community_id)``.
    roads
        ``(road_id, kind, line)``.
    """
    layers = {
        name: empty_layer(name)
        for name in (
            "streets",
            "communities",
            "compounds",
            "buildings",
            "stations",
            "roads",
            "property_companies",
        )
    }
    layers["communities"] = wgs(
        [
            {"community_id": c, "name": c, "street_id": "S1", "geometry": at(g)}
            for c, g in communities
        ],
        ["community_id", "name", "street_id"],
    )
    if compounds:
        layers["compounds"] = wgs(
            [
                {
                    "compound_id": k,
                    "community_id": c,
                    "name": k,
                    "property_mode": "none",
                    "geometry": at(g),
                }
                for k, c, g in compounds
            ],
            ["compound_id", "community_id", "name", "property_mode"],
        )
    rows = [
        {
            "building_id": b,
            "compound_id": k,
            "households": h,
            "community_id": c,
            "households_estimated": False,
            "geometry": at(g),
        }
        for b, k, h, g, c in buildings
    ]
    bld = wgs(
        rows, ["building_id", "compound_id", "households", "community_id", "households_estimated"]
    )
    bld["compound_id"] = pd.Series([r["compound_id"] for r in rows], dtype="string")
    bld["households"] = bld["households"].astype("int64")
    layers["buildings"] = bld
    if roads:
        layers["roads"] = wgs(
            [{"road_id": r, "kind": k, "walkable": True, "geometry": at(g)} for r, k, g in roads],
            ["road_id", "kind", "walkable"],
        )
    return Dataset(layers=layers, metric_crs=UTM49, name="handmade")


def inner_boundary(ds: Dataset, grids: gpd.GeoDataFrame) -> BaseGeometry:
    """Return the grids' boundaries (metric ``grids``) off the outline of the dataset's first
    community, as one geometry (each shared edge once)."""
    outline = shapely.boundary(ds.metric("communities").geometry.iloc[0])
    every = shapely.union_all(shapely.boundary(grids.geometry.to_numpy()))
    return shapely.difference(every, shapely.buffer(outline, 0.001))


def with_barriers(ds: Dataset, barriers: Sequence[tuple[str, str, BaseGeometry]]) -> Dataset:
    """Return ``ds`` with a ``barriers`` layer of ``(barrier_id, kind, geometry)`` rows
    (geometry in local metres)."""
    rows = [{"barrier_id": i, "kind": k, "name": i, "geometry": at(g)} for i, k, g in barriers]
    frame = wgs(rows, ["barrier_id", "kind", "name"]) if rows else empty_layer("barriers")
    return Dataset(layers={**ds.layers, "barriers": frame}, metric_crs=ds.metric_crs)


def row_of_compounds(
    households: Sequence[int], *, size: float = 100.0, gap: float = 20.0, community_id: str = "C1"
) -> Dataset:
    """Return one community holding a row of square compounds, one building each.

    Compound ``i`` spans x in ``[gap + i*(size+gap), ... + size]``; the community is the box
    around them with ``gap`` margins (roads between compounds are open land).
    """
    n = len(households)
    width = gap + n * (size + gap)
    comm = box(0, 0, width, size + 2 * gap)
    compounds = []
    buildings = []
    for i, h in enumerate(households):
        x = gap + i * (size + gap)
        compounds.append((f"K{i:02d}", community_id, box(x, gap, x + size, gap + size)))
        buildings.append(
            (
                f"B{i:02d}",
                f"K{i:02d}",
                int(h),
                box(x + 30, gap + 30, x + 70, gap + 70),
                community_id,
            )
        )
    return make_dataset([(community_id, comm)], compounds, buildings)


def block_community(
    households: np.ndarray,
    *,
    size: float = 100.0,
    gap: float = 20.0,
    community_id: str = "C1",
    scattered: Sequence[tuple[float, float, int]] = (),
    main_road_x: float | None = None,
) -> Dataset:
    """Return one community with an ``r × c`` block of compounds (households per compound).

    ``households`` is a 2-D array; a 0 entry means no compound there (open land).
    ``scattered`` adds scattered buildings ``(x, y, households)`` (local metres, they must
    not fall inside a compound). ``main_road_x`` adds a north-south main road at that x.
    """
    rows, cols = households.shape
    comm = box(0, 0, gap + cols * (size + gap), gap + rows * (size + gap))
    compounds = []
    buildings = []
    for r in range(rows):
        for c in range(cols):
            h = int(households[r, c])
            if h <= 0:
                continue
            x, y = gap + c * (size + gap), gap + r * (size + gap)
            kid = f"K{r}{c:02d}"
            compounds.append((kid, community_id, box(x, y, x + size, y + size)))
            half = h // 2
            buildings.append(
                (f"B{r}{c:02d}a", kid, half, box(x + 10, y + 10, x + 40, y + 40), community_id)
            )
            buildings.append(
                (f"B{r}{c:02d}b", kid, h - half, box(x + 60, y + 60, x + 90, y + 90), community_id)
            )
    for i, (x, y, h) in enumerate(scattered):
        buildings.append((f"S{i:03d}", None, int(h), box(x - 4, y - 4, x + 4, y + 4), community_id))
    roads = []
    if main_road_x is not None:
        roads.append(
            ("R1", "main", LineString([(main_road_x, -5), (main_road_x, comm.bounds[3] + 5)]))
        )
    return make_dataset([(community_id, comm)], compounds, buildings, roads)
