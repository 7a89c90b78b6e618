"""Readers and writers: round trips through every format, GCJ-02/BD-09, and error cases."""

from __future__ import annotations

import zipfile
from pathlib import Path

import eviltransform
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from handmade import raw_layers

from gridgen.dataset import Dataset
from gridgen.errors import (
    DataFileNotFoundError,
    MissingCoordinatesError,
    UnknownCRSError,
    UnknownLayerError,
    UnsupportedFormatError,
)
from gridgen.io import crs as gcrs
from gridgen.io.read import read_dataset, read_layers
from gridgen.io.write import write_dataset, write_frames, write_report
from gridgen.sample.district import sample_path
from gridgen.schema import DATASET_LAYERS, LAYERS
from gridgen.validate.layers import validate_layers
from gridgen.validate.report import ValidationReport

SAMPLE_DIR = sample_path()
SAMPLE = SAMPLE_DIR / "district.gpkg"
GEOD = pyproj.Geod(ellps="WGS84")
pytestmark = pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="sample district not generated")

# Known GCJ-02 points (lon, lat): Beijing, Shanghai, Guangzhou, Chengdu, Urumqi, Harbin, Sanya.
GCJ_POINTS = np.array(
    [
        [116.397477, 39.908692],
        [121.473701, 31.230416],
        [113.264385, 23.129112],
        [104.066541, 30.572269],
        [87.616848, 43.825592],
        [126.534967, 45.803775],
        [109.511909, 18.252847],
    ]
)


@pytest.fixture
def hand() -> Dataset:
    """The hand-made two-community dataset, validated."""
    return validate_layers(raw_layers(), source="hand")


def metres(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the geodesic (WGS84 ellipsoid) distance in metres between (lon, lat) rows."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.asarray(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2])


def assert_same_dataset(a: Dataset, b: Dataset, *, tol_m: float = 0.01) -> None:
    """Assert equal ids, households, references and geometries within ``tol_m`` metres.

    Rows are compared by id: a layer mixing footprints and points is written as two layers
    (one geometry type each) and read back with the points after the footprints.
    """
    la, lb = {}, {}
    for layer in DATASET_LAYERS:
        fa, fb = a.layers[layer], b.layers[layer]
        id_col = LAYERS[layer].id_column
        la[layer] = fa.sort_values(id_col, kind="stable").reset_index(drop=True)
        lb[layer] = fb.sort_values(id_col, kind="stable").reset_index(drop=True)
        fa, fb = la[layer], lb[layer]
        assert fa[id_col].tolist() == fb[id_col].tolist(), layer
        if LAYERS[layer].spatial and len(fa):
            ga = np.asarray(fa.geometry.to_crs(a.metric_crs).array)
            gb = np.asarray(fb.geometry.to_crs(a.metric_crs).array)
            gap = shapely.hausdorff_distance(ga, gb)
            assert np.nanmax(gap) < tol_m, (layer, float(np.nanmax(gap)))
    ab, bb = la["buildings"], lb["buildings"]
    for col in ("households", "residents", "floors", "key_persons", "party_members"):
        assert ab[col].tolist() == bb[col].tolist(), col
    for col in ("compound_id", "community_id", "leader_name"):
        assert ab[col].fillna("").tolist() == bb[col].fillna("").tolist()
    ac, bc = la["compounds"], lb["compounds"]
    for col in ("community_id", "property_mode", "property_company_id", "party_branch"):
        assert ac[col].fillna("").tolist() == bc[col].fillna("").tolist()
    assert la["stations"]["kind"].tolist() == lb["stations"]["kind"].tolist()
    assert la["roads"]["kind"].tolist() == lb["roads"]["kind"].tolist()
    pa, pb = la["property_companies"], lb["property_companies"]
    assert pa["has_party_org"].tolist() == pb["has_party_org"].tolist()
    assert b.report.rejected() == []


def raw_frames(ds: Dataset) -> dict[str, pd.DataFrame]:
    """Return the layers of ``ds`` without the columns validation derives."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in ds.layers.items():
        derived = {"buildings": ["community_id", "households_estimated"]}.get(name, [])
        out[name] = frame.drop(columns=derived)
    return out


def write_shapefile_zip(frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write one Shapefile per layer into a zip (attribute tables as lone .dbf files).

    A Shapefile holds one geometry type, so point buildings become 0.1 m squares.
    """
    folder = path.with_suffix("")
    folder.mkdir()
    for name, given in frames.items():
        frame = given
        if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame:
            if name == "buildings":
                geoms = np.asarray(frame.geometry.array).copy()
                points = shapely.get_type_id(geoms) == 0
                geoms[points] = shapely.buffer(geoms[points], 1e-6, cap_style="square")
                frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=4326))
            pyogrio.write_dataframe(frame, folder / f"{name}.shp", driver="ESRI Shapefile")
        else:
            table = pd.DataFrame(frame).drop(columns="geometry", errors="ignore")
            pyogrio.write_dataframe(table, folder / f"{name}.dbf", driver="ESRI Shapefile")
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
    return path


def write_csv_folder(frames: dict[str, pd.DataFrame], folder: Path, *, points: bool) -> Path:
    """Write one CSV per layer: WKT geometry, or Longitude/LAT of buildings when ``points``."""
    folder.mkdir()
    for name, frame in frames.items():
        table = pd.DataFrame(frame).drop(columns="geometry", errors="ignore")
        if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame:
            geoms = np.asarray(frame.geometry.array)
            if points and name == "buildings":
                where = shapely.point_on_surface(geoms)
                table["Longitude"] = shapely.get_x(where)
                table["LAT"] = shapely.get_y(where)
            else:
                table["wkt"] = shapely.to_wkt(geoms, rounding_precision=10)
        table.to_csv(folder / f"{name}.csv", index=False)
    return folder


# --------------------------------------------------------------------------- round trips


def test_geopackage_round_trip(hand: Dataset, tmp_path: Path) -> None:
    out = write_dataset(hand, tmp_path / "hand.gpkg")
    # point buildings are a layer of their own: one geometry type per layer
    layers = {str(row[0]): str(row[1]) for row in pyogrio.list_layers(out)}
    assert set(layers) == {*DATASET_LAYERS, "building_points", "layer_styles"}
    assert layers["buildings"] == "Polygon" and layers["building_points"] == "Point"
    back = read_dataset(out)
    assert_same_dataset(hand, back)
    assert back.name == "hand"


def test_geojson_folder_round_trip(hand: Dataset, tmp_path: Path) -> None:
    out = write_dataset(hand, tmp_path / "hand")
    names = {*DATASET_LAYERS, "building_points"}
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.geojson" for n in names)
    assert_same_dataset(hand, read_dataset(out))


def test_json_suffix_accepted(hand: Dataset, tmp_path: Path) -> None:
    out = write_dataset(hand, tmp_path / "hand")
    for file in out.iterdir():
        file.rename(file.with_suffix(".json"))
    assert_same_dataset(hand, read_dataset(out))


def test_zipped_shapefile_round_trip_maps_truncated_names(hand: Dataset, tmp_path: Path) -> None:
    path = write_shapefile_zip(raw_frames(hand), tmp_path / "hand.zip")
    with zipfile.ZipFile(path) as archive:
        assert "property_companies.dbf" in archive.namelist()
    raw, declared = read_layers(path)
    assert declared.label == "EPSG:4326"
    # Shapefile truncates names to 10 characters; the reader maps them back via the schema
    assert "property_company_id" in raw["compounds"].columns
    assert "capacity_households" in raw["stations"].columns
    assert "has_party_org" in raw["property_companies"].columns
    back = validate_layers(raw)
    assert_same_dataset(hand, back, tol_m=0.2)
    assert back.compounds["property_company_id"].fillna("").tolist() == ["P1", "", "P2"]


def test_csv_wkt_folder_round_trip(hand: Dataset, tmp_path: Path) -> None:
    folder = write_csv_folder(raw_frames(hand), tmp_path / "csv", points=False)
    assert_same_dataset(hand, read_dataset(folder))


def test_csv_lon_lat_buildings(hand: Dataset, tmp_path: Path) -> None:
    folder = write_csv_folder(raw_frames(hand), tmp_path / "csv", points=True)
    back = read_dataset(folder)
    assert back.buildings["building_id"].tolist() == hand.buildings["building_id"].tolist()
    assert back.buildings["households"].tolist() == hand.buildings["households"].tolist()
    assert (back.buildings.geom_type == "Point").all()
    inside = shapely.dwithin(
        np.asarray(back.buildings.geometry.array), np.asarray(hand.buildings.geometry.array), 1e-9
    )
    assert inside.all()
    assert back.buildings["community_id"].tolist() == hand.buildings["community_id"].tolist()


def test_single_csv_with_lng_lat_columns_any_case(tmp_path: Path) -> None:
    path = tmp_path / "buildings.csv"
    path.write_text("building_id,LNG,Latitude,households\nb1,116.40,39.90,12\nb2,,39.9,3\n")
    raw, _ = read_layers(path)
    frame = raw["buildings"]
    assert list(raw) == ["buildings"]
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0].equals(shapely.Point(116.40, 39.90))
    assert frame.geometry.iloc[1] is None  # a missing coordinate: rejected by validation
    assert frame["building_id"].tolist() == ["b1", "b2"]


@needs_sample
def test_sample_round_trip_through_every_format(tmp_path: Path) -> None:
    sample = read_dataset(SAMPLE)
    raw, _ = read_layers(SAMPLE)
    folder = write_frames(raw, tmp_path / "geojson")
    raw2, _ = read_layers(folder)
    shp = write_shapefile_zip(raw2, tmp_path / "district.zip")
    raw3, _ = read_layers(shp)
    csv = write_csv_folder(raw3, tmp_path / "csv", points=False)
    back = read_dataset(csv)
    assert_same_dataset(sample, back, tol_m=0.2)
    points = write_csv_folder(raw, tmp_path / "csv_points", points=True)
    as_points = read_dataset(points)
    assert as_points.buildings["households"].tolist() == sample.buildings["households"].tolist()
    assert as_points.buildings["community_id"].tolist() == sample.buildings["community_id"].tolist()


# --------------------------------------------------------------------------- GCJ-02 / BD-09


def test_gcj02_to_wgs84_matches_eviltransform_within_1_m() -> None:
    """Known GCJ-02 points convert to WGS84 within 1 m of the reference.

    The reference is ``eviltransform.gcj2wgs_exact``: an independent implementation of the
    same published GCJ-02 formula whose inverse is an exact iterative (bisection) search,
    not the usual one-step approximation, so it is accurate to ~0.1 m.
    """
    lon, lat = gcrs.gcj02_to_wgs84(GCJ_POINTS[:, 0], GCJ_POINTS[:, 1])
    reference = np.array([eviltransform.gcj2wgs_exact(p[1], p[0])[::-1] for p in GCJ_POINTS])
    ours = np.column_stack([lon, lat])
    assert metres(ours, reference).max() < 1.0
    # and the offsets are real (hundreds of metres), so the test can fail
    assert metres(ours, GCJ_POINTS).min() > 100.0
    # the forward formulas agree to centimetres (constants printed with different digits)
    forward = np.array([eviltransform.wgs2gcj(p[1], p[0])[::-1] for p in ours])
    assert metres(np.column_stack(gcrs.wgs84_to_gcj02(lon, lat)), forward).max() < 0.05


def test_round_trips_below_1_mm() -> None:
    lon, lat = GCJ_POINTS[:, 0], GCJ_POINTS[:, 1]
    back = np.column_stack(gcrs.gcj02_to_wgs84(*gcrs.wgs84_to_gcj02(lon, lat)))
    assert metres(back, GCJ_POINTS).max() < 0.001
    back_bd = np.column_stack(gcrs.bd09_to_wgs84(*gcrs.wgs84_to_bd09(lon, lat)))
    assert metres(back_bd, GCJ_POINTS).max() < 0.001


def test_bd09_to_wgs84_matches_eviltransform_within_1_m() -> None:
    """BD-09 → WGS84 against eviltransform's bd2gcj followed by its exact GCJ-02 inverse."""
    bd = np.column_stack(gcrs.gcj02_to_bd09(GCJ_POINTS[:, 0], GCJ_POINTS[:, 1]))
    reference = np.array(
        [eviltransform.gcj2wgs_exact(*eviltransform.bd2gcj(p[1], p[0]))[::-1] for p in bd]
    )
    ours = np.column_stack(gcrs.bd09_to_wgs84(bd[:, 0], bd[:, 1]))
    assert metres(ours, reference).max() < 1.0


def test_points_outside_china_unchanged() -> None:
    lon, lat = np.array([2.3522, -74.006, 139.6917]), np.array([48.8566, 40.7128, 35.6895])
    for func in (gcrs.gcj02_to_wgs84, gcrs.wgs84_to_gcj02):
        out_lon, out_lat = func(lon, lat)
        assert np.array_equal(out_lon, lon) and np.array_equal(out_lat, lat)


@needs_sample
def test_sample_gcj02_stations_match_wgs84_stations() -> None:
    path = SAMPLE_DIR / "stations_gcj02.geojson"
    raw, declared = read_layers(path, crs="gcj02")
    assert declared.chinese == "gcj02" and list(raw) == ["stations"]
    gcj = raw["stations"].set_index("station_id").geometry
    wgs = gpd.read_file(SAMPLE, layer="stations").set_index("station_id").geometry
    gcj = gcj.loc[wgs.index]
    a = np.column_stack([wgs.x, wgs.y])
    b = np.column_stack([gcj.x, gcj.y])
    assert metres(a, b).max() < 1.0
    unconverted, _ = read_layers(path)
    c = unconverted["stations"].set_index("station_id").geometry.loc[wgs.index]
    assert metres(a, np.column_stack([c.x, c.y])).min() > 100.0  # the offset is real


def test_write_in_gcj02_and_read_back(hand: Dataset, tmp_path: Path) -> None:
    out = write_dataset(hand, tmp_path / "gcj.gpkg", crs="gcj02")
    written = gpd.read_file(out, layer="stations")
    expected = np.column_stack(
        gcrs.wgs84_to_gcj02(hand.stations.geometry.x, hand.stations.geometry.y)
    )
    assert metres(np.column_stack([written.geometry.x, written.geometry.y]), expected).max() < 1e-3
    assert_same_dataset(hand, read_dataset(out, crs="gcj02"), tol_m=0.001)
    folder = write_dataset(hand, tmp_path / "utm", crs="EPSG:32650")
    assert gpd.read_file(folder / "stations.geojson").crs.to_epsg() == 32650
    assert_same_dataset(hand, read_dataset(folder), tol_m=0.001)


def test_declared_epsg_applies_to_csv(tmp_path: Path) -> None:
    path = tmp_path / "stations.csv"
    path.write_text("station_id,kind,x,y\nT1,center,448500,4417500\n")
    raw, declared = read_layers(path, crs="32650")
    assert declared.label == "EPSG:32650"
    point = raw["stations"].geometry.iloc[0]
    assert 116.3 < point.x < 116.5 and 39.8 < point.y < 40.0


def test_write_report_json(hand: Dataset, tmp_path: Path) -> None:
    path = write_report(hand.report, tmp_path / "out" / "report.json")
    again = ValidationReport.from_dict(__import__("json").loads(path.read_text("utf-8")))
    assert again.counts == hand.report.counts


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match=r"nothere\.gpkg") as info:
        read_dataset(tmp_path / "nothere.gpkg")
    assert "\n" not in str(info.value)


def test_unknown_layer(hand: Dataset, tmp_path: Path) -> None:
    out = write_dataset(hand, tmp_path / "hand.gpkg")
    with pytest.raises(UnknownLayerError, match=r"'houses'.*buildings"):
        read_layers(out, layers=["houses"])
    other = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(hand.buildings, other, layer="houses", driver="GPKG")
    with pytest.raises(UnknownLayerError, match=r"no known layer.*communities"):
        read_layers(other)
    with pytest.raises(UnknownLayerError, match="'houses'"):
        (tmp_path / "houses.csv").write_text("a,lon,lat\n1,116,39\n")
        read_layers(tmp_path / "houses.csv")


def test_unknown_crs(hand: Dataset, tmp_path: Path) -> None:
    out = write_dataset(hand, tmp_path / "hand.gpkg")
    with pytest.raises(UnknownCRSError, match="'wgs85'"):
        read_dataset(out, crs="wgs85")
    utm = write_dataset(hand, tmp_path / "utm.gpkg", crs="EPSG:32650")
    with pytest.raises(UnknownCRSError, match=r"projected CRS.*gcj02"):
        read_layers(utm, crs="gcj02")
    with pytest.raises(UnknownCRSError, match="'EPSG:99999'"):
        write_dataset(hand, tmp_path / "x.gpkg", crs="EPSG:99999")


def test_csv_without_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "buildings.csv"
    path.write_text("building_id,households,address\nb1,10,somewhere\n")
    with pytest.raises(MissingCoordinatesError, match="building_id, households, address") as info:
        read_layers(path)
    assert "\n" not in str(info.value) and "lon" in str(info.value)


def test_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "buildings.xlsx"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedFormatError, match=r"'\.xlsx'"):
        read_layers(path)
