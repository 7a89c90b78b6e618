"""A small hand-made dataset (two communities in Beijing) for exact tests of I/O and validation.

Coordinates are drawn in metres in UTM zone 50N (EPSG:32650) from an origin near
116.4°E 39.9°N and converted to WGS84, so areas are easy to check by hand.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, box
from shapely.geometry.base import BaseGeometry

UTM50 = "EPSG:32650"
X0, Y0 = 448_000.0, 4_417_000.0


def at(geom: BaseGeometry) -> BaseGeometry:
    """Return ``geom`` (local metres) shifted to the UTM origin."""
    from shapely import affinity

    return affinity.translate(geom, X0, Y0)


def local_box(x0: float, y0: float, x1: float, y1: float) -> BaseGeometry:
    """Return a box in local metres placed at the origin."""
    return at(box(x0, y0, x1, y1))


def frame(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Return a WGS84 frame from rows whose ``geometry`` is in local UTM metres."""
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM50).to_crs(4326)


def raw_layers() -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of the hand-made dataset (clean: validates without findings)."""
    streets = frame(
        [{"street_id": "S1", "name": "东街道", "geometry": local_box(0, 0, 2000, 1000)}]
    )
    communities = frame(
        [
            {
                "community_id": "C1",
                "name": "一社区",
                "street_id": "S1",
                "geometry": local_box(0, 0, 1000, 1000),
            },
            {
                "community_id": "C2",
                "name": "二社区",
                "street_id": "S1",
                "geometry": local_box(1000, 0, 2000, 1000),
            },
        ]
    )
    compounds = frame(
        [
            {
                "compound_id": "K1",
                "name": "甲小区",
                "property_mode": "company",
                "property_company_id": "P1",
                "party_branch": True,
                "geometry": local_box(100, 100, 400, 400),
            },
            {
                "compound_id": "K2",
                "name": "乙小区",
                "property_mode": "none",
                "property_company_id": None,
                "party_branch": False,
                "geometry": local_box(1100, 100, 1500, 500),
            },
            {
                "compound_id": "K3",
                "name": "丙小区",
                "property_mode": "red_property",
                "property_company_id": "P2",
                "party_branch": False,
                "geometry": local_box(600, 600, 900, 900),
            },
        ]
    )
    b = [
        ("B1", "K1", 30, 6, local_box(150, 150, 200, 200)),
        ("B2", "K1", 40, 6, local_box(250, 250, 300, 300)),
        ("B3", "K2", 55, 11, local_box(1200, 200, 1250, 250)),
        ("B4", "K3", 12, 3, at(Point(700, 700))),
        ("B5", None, 8, 2, local_box(500, 100, 540, 140)),
        ("B6", None, 20, 4, at(Point(1800, 800))),
    ]
    buildings = frame(
        [
            {
                "building_id": i,
                "compound_id": c,
                "households": h,
                "residents": 3 * h,
                "floors": f,
                "leader_name": f"楼长{i}",
                "leader_phone": "13800000000",
                "key_persons": 1,
                "party_members": 2,
                "geometry": g,
            }
            for i, c, h, f, g in b
        ]
    )
    stations = frame(
        [
            {
                "station_id": "T1",
                "kind": "center",
                "name": "一社区中心",
                "capacity_households": 3000,
                "geometry": at(Point(500, 500)),
            },
            {
                "station_id": "T2",
                "kind": "center",
                "name": "二社区中心",
                "capacity_households": 3000,
                "geometry": at(Point(1500, 700)),
            },
            {
                "station_id": "T3",
                "kind": "micro",
                "name": "甲微站",
                "capacity_households": 300,
                "geometry": at(Point(250, 350)),
            },
        ]
    )
    roads = frame(
        [
            {
                "road_id": "R1",
                "kind": "main",
                "walkable": True,
                "geometry": at(LineString([(1000, 0), (1000, 1000)])),
            },
            {
                "road_id": "R2",
                "kind": "minor",
                "walkable": True,
                "geometry": at(LineString([(0, 500), (1000, 500)])),
            },
        ]
    )
    companies = pd.DataFrame(
        {
            "company_id": ["P1", "P2"],
            "name": ["安居物业", "红色物业"],
            "has_party_org": [True, False],
        }
    )
    return {
        "streets": streets,
        "communities": communities,
        "compounds": compounds,
        "buildings": buildings,
        "stations": stations,
        "roads": roads,
        "property_companies": gpd.GeoDataFrame(companies),
    }
