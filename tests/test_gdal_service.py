"""GDAL against the running service: OAPIF into GeoPackage and Shapefile, MVT tiles."""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from job_helpers import finished_job
from served import running_service

from gridgen.sample.district import sample_path

pytestmark = pytest.mark.needs_client("gdal")

ADMIN = {"X-API-Key": "gdal-admin"}
# laundering long field names to 10 characters is what Shapefile is; nothing else may warn
SHAPEFILE_NOTICE = "Warning 6: Normalized/laundered field name"


def gdal(*args: str, allowed: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run a GDAL tool with our API key; assert it succeeds without a warning."""
    key = ["--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {ADMIN['X-API-Key']}"]
    cmd = [args[0], *key, *args[1:]]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    noise = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and not any(line.startswith(a) for a in allowed)
    ]
    assert not noise, "\n".join(noise[:10])
    return done


def feature_counts(path: Path) -> dict[str, int]:
    """Return layer → feature count as ogrinfo reports it."""
    out = gdal("ogrinfo", "-ro", "-so", "-al", str(path)).stdout
    counts: dict[str, int] = {}
    layer = ""
    for line in out.splitlines():
        if line.startswith("Layer name: "):
            layer = line.split(": ", 1)[1].strip()
        elif line.startswith("Feature Count: "):
            counts[layer] = int(line.split(": ", 1)[1])
    return counts


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("gdal") / "served.db"
    with (
        running_service(db, admin_key="gdal-admin") as base,
        httpx.Client(base_url=base, headers=ADMIN, timeout=120) as c,
    ):
        with (sample_path() / "district.gpkg").open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)})
        assert r.status_code == 201, r.text
        job = c.post("/plans", json={"dataset_id": r.json()["id"]}).json()
        job = finished_job(c, job["id"])
        plan_id = job["result"]["plan_id"]
        assert c.post(f"/plans/{plan_id}/versions/1/publish").status_code == 200
        yield base


def matched(base: str, collection: str) -> int:
    r = httpx.get(f"{base}/ogc/collections/{collection}/items?limit=1", headers=ADMIN, timeout=60)
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


def test_ogr2ogr_oapif_to_geopackage_keeps_every_feature(service: str, tmp_path: Path) -> None:
    out = tmp_path / "served.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{service}/ogc")
    counts = feature_counts(out)
    for name in ("grids", "buildings", "building_points", "stations", "compounds"):
        assert counts[name] == matched(service, name), name
    assert counts["building_points"] > 0
    listing = gdal("ogrinfo", "-ro", "-q", str(out)).stdout
    types = dict(re.findall(r"^\d+: (\w+) \(title: .*\) \((\w+)\)$", listing, flags=re.M))
    assert types["grids"] == "Polygon" and types["buildings"] == "Polygon"
    assert types["building_points"] == "Point" and types["stations"] == "Point"
    bad = gdal(
        "ogrinfo", "-ro", "-q", "-dialect", "sqlite", "-sql",
        "SELECT count(*) AS bad FROM grids WHERE NOT ST_IsValid(geom)", str(out),
    ).stdout  # fmt: skip
    assert "bad (Integer) = 0" in bad


@pytest.mark.parametrize("collection", ["buildings", "building_points", "grids"])
def test_ogr2ogr_oapif_to_shapefile_exports_every_feature(
    service: str, tmp_path: Path, collection: str
) -> None:
    out = tmp_path / "shp"
    gdal(
        "ogr2ogr", "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", str(out),
        f"OAPIF:{service}/ogc", collection,
        allowed=(SHAPEFILE_NOTICE,),
    )  # fmt: skip
    counts = feature_counts(out / f"{collection}.shp")
    assert counts[collection] == matched(service, collection)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_gdal_mvt_driver_reads_grid_tiles(service: str, tmp_path: Path) -> None:
    r = httpx.get(f"{service}/tiles/grids.json", headers=ADMIN, timeout=60)
    tj = r.json()
    lon, lat = tj["center"][0], tj["center"][1]
    z = 14
    x, y = tile_of(lon, lat, z)
    tile = httpx.get(f"{service}/tiles/grids/{z}/{x}/{y}.mvt", headers=ADMIN, timeout=60)
    assert tile.status_code == 200 and tile.content
    path = tmp_path / f"{z}-{x}-{y}.mvt"
    path.write_bytes(tile.content)
    info = gdal(
        "ogrinfo", "-ro", "-al", "-so", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", f"Z={z}",
        str(path),
    ).stdout  # fmt: skip
    assert "Layer name: grids" in info
    count = int(info.split("Feature Count: ", 1)[1].split()[0])
    assert count > 0
    fields = {f["id"]: set(f["fields"]) for f in tj["vector_layers"]}["grids"]
    for key in ("grid_id", "households", "deviation"):
        assert f"{key}:" in info and key in fields
