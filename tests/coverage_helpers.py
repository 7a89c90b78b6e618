"""A small hand-made dataset with hand-computed walking distances (coverage tests).

Coordinates are metres in UTM 49N offset by (X0, Y0); layers are stored in EPSG:4326 as
a validated Dataset would be.

Roads: an L-shaped road (0,0) → (1000,0) → (1000,1000) (one LineString, one edge of
2000 m), a road (500,-300) → (500,300) crossing it at (500,0) (noded there), and an
isolated road (0,2000) → (200,2000).

Stations: S1 at (0,10) (snap 10, offset 0), S2 at (1010,1000) (snap 10, offset 2000).
Buildings (households):
- B1 (400,-20), 100 hh: same edge as S1, walk 10 + 400 + 20 = 430 (S1); line 401.1
- B2 (1030,300), 200 hh: walk 10 + 700 + 30 = 740 (S2); line from S2 sqrt(20²+700²)
- B3 (100,2010), 50 hh: on the isolated road, unreachable
- B4 (515,-250), 80 hh: crossing road, walk 10 + 500 + 250 + 15 = 775 (S1)
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyproj
from shapely.geometry import LineString, Point, box

from gridgen.dataset import Dataset, empty_layer
from gridgen.schema import DATASET_LAYERS

X0, Y0 = 500_000.0, 3_500_000.0
UTM = pyproj.CRS.from_epsg(32649)


def pt(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def line(*xy: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def frame(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=UTM).to_crs(4326)


def small_layers() -> dict[str, gpd.GeoDataFrame]:
    layers = {name: empty_layer(name) for name in DATASET_LAYERS}
    layers["streets"] = frame(
        [{"street_id": "ST1", "name": "街道一"}], [box(X0 - 100, Y0 - 400, X0 + 1200, Y0 + 2100)]
    )
    layers["communities"] = frame(
        [
            {"community_id": "C1", "name": "一社区", "street_id": "ST1"},
            {"community_id": "C2", "name": "二社区", "street_id": "ST1"},
        ],
        [
            box(X0 - 100, Y0 - 400, X0 + 600, Y0 + 2100),
            box(X0 + 600, Y0 - 400, X0 + 1200, Y0 + 2100),
        ],
    )
    layers["compounds"] = frame(
        [
            {
                "compound_id": "K1",
                "community_id": "C1",
                "property_mode": "company",
                "property_company_id": "P1",
                "party_branch": True,
            },
            {
                "compound_id": "K2",
                "community_id": "C2",
                "property_mode": "none",
                "property_company_id": pd.NA,
                "party_branch": False,
            },
        ],
        [box(X0 + 300, Y0 - 300, X0 + 580, Y0 - 10), box(X0 + 1020, Y0 + 200, X0 + 1100, Y0 + 400)],
    )
    layers["buildings"] = frame(
        [
            {
                "building_id": "B1",
                "compound_id": "K1",
                "households": 100,
                "community_id": "C1",
                "leader_name": "张三",
                "party_members": 4,
            },
            {
                "building_id": "B2",
                "compound_id": "K2",
                "households": 200,
                "community_id": "C2",
                "leader_name": pd.NA,
                "party_members": 0,
            },
            {
                "building_id": "B3",
                "compound_id": pd.NA,
                "households": 50,
                "community_id": "C1",
                "leader_name": "",
                "party_members": 3,
            },
            {
                "building_id": "B4",
                "compound_id": "K1",
                "households": 80,
                "community_id": "C1",
                "leader_name": "李四",
                "party_members": 1,
            },
        ],
        [pt(400, -20), pt(1030, 300), pt(100, 2010), pt(515, -250)],
    )
    for col in ("compound_id", "community_id", "leader_name", "building_id"):
        layers["buildings"][col] = layers["buildings"][col].astype("string")
    layers["stations"] = frame(
        [
            {"station_id": "S1", "kind": "center", "capacity_households": 50, "community_id": "C1"},
            {
                "station_id": "S2",
                "kind": "micro",
                "capacity_households": pd.NA,
                "community_id": "C2",
            },
        ],
        [pt(0, 10), pt(1010, 1000)],
    )
    layers["roads"] = frame(
        [
            {"road_id": "R1", "kind": "main", "walkable": True},
            {"road_id": "R2", "kind": "minor", "walkable": True},
            {"road_id": "R3", "kind": "path", "walkable": True},
        ],
        [
            line((0, 0), (1000, 0), (1000, 1000)),
            line((500, -300), (500, 300)),
            line((0, 2000), (200, 2000)),
        ],
    )
    layers["property_companies"] = pd.DataFrame(
        {"company_id": ["P1"], "name": ["物业一"], "has_party_org": [True]}
    )
    return layers


def small_dataset(layers: dict[str, gpd.GeoDataFrame] | None = None) -> Dataset:
    return Dataset(layers=layers or small_layers(), metric_crs=UTM, name="small")


class SmallPlan:
    """A plan: G1 = {B1, B4}, G2 = {B3} in C1; G3 = {B2} in C2."""

    def __init__(self) -> None:
        self.target = 300
        self.band = (240, 360)
        self.grids = gpd.GeoDataFrame(
            {
                "grid_id": ["G1", "G2", "G3"],
                "community_id": ["C1", "C1", "C2"],
                "households": [180, 50, 200],
                "party_org": [True, False, False],
                "workers": [1, 1, 0],
            },
            geometry=[box(0, 0, 1, 1)] * 3,
            crs=4326,
        )
        self.assignment = pd.DataFrame(
            {"building_id": ["B1", "B3", "B4", "B2"], "grid_id": ["G1", "G2", "G1", "G3"]}
        )
