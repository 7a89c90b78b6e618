"""The demo's GeoPackages in GDAL (ogrinfo) and headless QGIS, as a planner opens them.

The GeoPackages are written by the same calls as ``gridgen demo`` (district, plan, plan in
GCJ-02, siting). QGIS runs as Debian's ``python3-qgis`` under Debian's python3 in a
subprocess (``QT_QPA_PLATFORM=offscreen``) and renders the plan to ``out/qgis_plan.png``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pyogrio
import pytest

from gridgen.io.polygons import POINT_LAYERS

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3")
needs_gdal = pytest.mark.needs_client("gdal")


needs_qgis = pytest.mark.needs_client("qgis")


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Write the GeoPackages of ``gridgen demo`` (same functions, same options)."""
    from gridgen.coverage.siting import maximal_covering
    from gridgen.io.coverage import write_siting
    from gridgen.io.plan import write_plan
    from gridgen.io.read import load_sample
    from gridgen.io.write import write_dataset
    from gridgen.partition.community import partition_dataset

    out = tmp_path_factory.mktemp("demo")
    ds = load_sample()
    plan = partition_dataset(ds, target=300, seed=0)
    result = maximal_covering(ds, k=5, radius=300.0, mode="walk")
    return {
        "district": write_dataset(ds, out / "district.gpkg"),
        "plan": write_plan(plan, out / "plan.gpkg"),
        "plan_gcj02": write_plan(plan, out / "plan_gcj02.gpkg", crs="gcj02"),
        "sites": write_siting(ds, result, out / "sites.gpkg"),
    }


def ogrinfo(*args: str) -> str:
    done = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "", done.stderr
    return done.stdout


def spatial_layers(path: Path) -> dict[str, str]:
    return {str(n): str(t) for n, t in pyogrio.list_layers(path) if t is not None}


@needs_gdal
def test_ogrinfo_every_layer_one_geometry_type_and_valid(demo_files: dict[str, Path]) -> None:
    for name, path in demo_files.items():
        listing = ogrinfo("-ro", "-q", str(path))
        types = dict(re.findall(r"^\d+: (\w+) \(([\w ]+)\)$", listing, flags=re.M))
        for layer in spatial_layers(path):
            assert types.get(layer) in ("Polygon", "Point", "Line String", "Multi Polygon"), (
                name,
                layer,
                types.get(layer),
            )
            sql = f'SELECT count(*) AS bad FROM "{layer}" WHERE NOT ST_IsValid(geom)'
            out = ogrinfo("-ro", "-q", "-dialect", "sqlite", "-sql", sql, str(path))
            assert "bad (Integer) = 0" in out, (name, layer, out)
    grids = ogrinfo("-ro", "-q", "-dialect", "sqlite", "-sql",
                    "SELECT count(*) AS n, sum(ST_GeometryType(geom) = 'POLYGON') AS poly "
                    "FROM grids", str(demo_files["plan"]))  # fmt: skip
    n = int(re.search(r"n \(Integer\) = (\d+)", grids).group(1))  # type: ignore[union-attr]
    poly = int(re.search(r"poly \(Integer\) = (\d+)", grids).group(1))  # type: ignore[union-attr]
    assert n == poly > 0
    assert "building_points" in spatial_layers(demo_files["district"])
    assert set(POINT_LAYERS) >= {"buildings"}


@needs_qgis
def test_qgis_opens_every_layer_with_our_style_and_renders_the_plan(
    demo_files: dict[str, Path], tmp_path: Path
) -> None:
    out_png = ROOT / "out" / "qgis_plan.png"
    out_png.parent.mkdir(parents=True, exist_ok=True)
    if out_png.exists():
        out_png.unlink()
    files = [demo_files[k] for k in ("plan", "district", "plan_gcj02", "sites")]
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PYTHONPATH", None)  # Debian's python3 with its own packages only
    done = subprocess.run(
        [str(SYSTEM_PYTHON), str(ROOT / "tests" / "qgis_check.py"), str(out_png)]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    noise = [ln for ln in done.stderr.splitlines() if "Warning" in ln or "ERROR" in ln]
    assert not noise, noise
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for path in files:
        layers = report[str(path)]
        expected = spatial_layers(path)
        assert set(layers) == set(expected), path
        for layer, info in layers.items():
            assert info["valid"], (path, layer)
            assert info["count"] == int(pyogrio.read_info(path, layer=layer)["features"])
            if path == demo_files["plan_gcj02"]:
                assert info["crs"] != "EPSG:4326" and info["crs_description"] == "GCJ-02"
            else:
                assert info["crs"] == "EPSG:4326"
    district = report[str(demo_files["district"])]
    from gridgen.palette import PROPERTY_MODE_COLORS, STATION_KIND_COLORS

    assert district["compounds"]["renderer"] == "categorizedSymbol"
    assert district["compounds"]["attr"] == "property_mode"
    assert district["compounds"]["categories"] == PROPERTY_MODE_COLORS
    assert district["stations"]["categories"] == STATION_KIND_COLORS
    assert district["roads"]["attr"] == "kind"
    assert "households" in district["buildings"]["label_field"]
    assert "households" in district["building_points"]["label_field"]
    grids = report[str(demo_files["plan"])]["grids"]
    assert grids["renderer"] == "graduatedSymbol" and grids["attr"] == "deviation"
    assert grids["labels"] and grids["label_field"] == "grid_id"
    assert report[str(demo_files["plan_gcj02"])]["grids"]["renderer"] == "graduatedSymbol"
    sites = report[str(demo_files["sites"])]["proposed_sites"]
    # sites have no station kind: one star each, labelled with rank and households gained
    assert (
        sites["renderer"] == "singleSymbol" and "newly_covered_households" in sites["label_field"]
    )
    assert out_png.exists() and out_png.stat().st_size > 20_000
