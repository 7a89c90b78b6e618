"""gridgen inside QGIS: the plugin installed by ``gridgen qgis-plugin install``, run by QGIS.

Real clients: Debian's ``qgis_process`` (package ``qgis``) and Debian's python3 with
``python3-qgis`` running Processing's own post-processing (``tests/qgis_plugin_check.py``),
each with a fresh ``HOME`` whose default profile the plugin is installed into.

Cities: ``make_city(households=260_000)`` (the ≥ 250k-household city, written to a
GeoPackage once per session) for the headless runs, the shipped sample district and
``make_walled_city`` (another generator) for the model, the desktop loading and the render.
Without ``qgis_process``/``python3-qgis`` the tests skip locally and fail in CI
(``needs_client``, ``tests/clients.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from clients import qgis_process_command

from gridgen.io.write import write_frames
from gridgen.sample.district import make_city, sample_path
from gridgen.sample.walled import make_walled_city
from gridgen_cli.qgis_plugin import MODELS_SOURCE

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"
GRIDGEN = Path(sys.executable).parent / "gridgen"
SAMPLE = sample_path() / "district.gpkg"
SYSTEM_PYTHON = Path("/usr/bin/python3")
MODEL = MODELS_SOURCE / "gridgen_validate_partition_audit.model3"
INGEST_MODEL = MODELS_SOURCE / "gridgen_ingest_validate_partition_audit.model3"
RAW = sample_path() / "raw"
RAW_FILES = {
    "COMMUNITIES": RAW / "communities.shp",
    "FOOTPRINTS": RAW / "footprints.gpkg",
    "LEDGER": RAW / "ledger.xlsx",
    "COMPOUNDS": RAW / "compounds.geojson",
    "ROADS": RAW / "roads" / "gis_osm_roads_free_1.shp",
    "STATIONS": RAW / "stations.geojson",
}


pytestmark = pytest.mark.needs_client("qgis", "qgis_process")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QGIS_")}
    runtime = home / "runtime"
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime))
    env.pop("XDG_DATA_HOME", None)
    return env


@pytest.fixture(scope="session")
def big_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ≥ 250k-household city as a GeoPackage (built once per session)."""
    path = tmp_path_factory.mktemp("big_city") / "city.gpkg"
    return write_frames(make_city(households=260_000), path)


@pytest.fixture(scope="module")
def qgis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh HOME where ``gridgen qgis-plugin install`` installed the plugin."""
    home = tmp_path_factory.mktemp("home")
    done = subprocess.run(
        [str(GRIDGEN), "qgis-plugin", "install"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(home),
    )
    assert "gridgen plugin installed in" in done.stdout
    yield home


def qgis_process(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``qgis_process ARGS`` headless with ``home``."""
    done = subprocess.run(
        [*qgis_process_command(), *args],
        capture_output=True,
        text=True,
        check=False,
        env=_env(home),
        timeout=900,
    )
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def run_alg(home: Path, alg: str, **params: Any) -> subprocess.CompletedProcess[str]:
    """``qgis_process run ALG -- KEY=VALUE ...``."""
    return qgis_process(home, "run", alg, "--", *(f"{k}={v}" for k, v in params.items()))


@pytest.fixture(scope="module")
def big_plan(qgis_home: Path, big_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The big city partitioned by ``qgis_process run gridgen:partition``."""
    plan = tmp_path_factory.mktemp("qgis_out") / "plan.gpkg"
    done = run_alg(
        qgis_home,
        "gridgen:partition",
        DATA=big_city,
        TARGET=300,
        BAND_MIN=240,
        BAND_MAX=360,
        OUTPUT=plan,
    )
    assert " grids for " in done.stdout  # gridgen's summary, in the log
    assert "Traceback" not in done.stdout + done.stderr
    return plan


def _buildings(city: Path) -> set[str]:
    ids: set[str] = set()
    for name, _ in pyogrio.list_layers(city):
        if name in ("buildings", "building_points"):
            ids |= set(pyogrio.read_dataframe(city, layer=name, read_geometry=False)["building_id"])
    return ids


def test_qgis_process_partitions_the_big_city_like_the_cli(
    big_city: Path, big_plan: Path, tmp_path: Path
) -> None:
    grids = gpd.read_file(big_plan, layer="grids")
    assignment = pyogrio.read_dataframe(big_plan, layer="assignment", read_geometry=False)
    buildings = _buildings(big_city)
    households = sum(
        int(pyogrio.read_dataframe(big_city, layer=n, read_geometry=False)["households"].sum())
        for n in ("buildings", "building_points")
    )
    assert households >= 250_000
    assert set(assignment["building_id"]) == buildings  # every building assigned
    assert not assignment["building_id"].duplicated().any()
    assert set(assignment["grid_id"]) == set(grids["grid_id"])
    assert shapely.is_valid(grids.geometry.to_numpy()).all()
    assert grids.crs.to_epsg() == 4326
    cli_plan = tmp_path / "cli.gpkg"
    options = ["--target", "300", "--band", "240,360", "--out", str(cli_plan)]
    subprocess.run(
        [str(GRIDGEN), "partition", str(big_city), *options],
        capture_output=True,
        check=True,
    )
    cli_grids = pyogrio.read_dataframe(cli_plan, layer="grids", read_geometry=False)
    assert len(cli_grids) == len(grids) > 800
    assert sorted(cli_grids["grid_id"]) == sorted(grids["grid_id"])


def test_qgis_process_audit_coverage_and_report_on_the_big_city(
    qgis_home: Path, big_city: Path, big_plan: Path
) -> None:
    out = big_plan.parent
    done = run_alg(
        qgis_home,
        "gridgen:audit",
        DATA=big_city,
        GRIDS=big_plan,
        BAND_MIN=240,
        BAND_MAX=360,
        OUTPUT=out / "audit.json",
    )
    summary = json.loads((out / "audit.json").read_text("utf-8"))["summary"]
    grids = len(pyogrio.read_dataframe(big_plan, layer="grids", read_geometry=False))
    assert summary["grids"] == grids
    assert summary["unassigned_building"] == summary["gap_m2"] == summary["overlap_m2"] == 0
    assert f"OUT_OF_BAND:\t{summary['out_of_band']}" in done.stdout
    run_alg(
        qgis_home,
        "gridgen:coverage",
        DATA=big_city,
        PLAN=big_plan,
        LEVEL=1,  # grid
        RADIUS=300,
        OUTPUT=out / "coverage.gpkg",
    )
    coverage = gpd.read_file(out / "coverage.gpkg", layer="coverage")
    assert len(coverage) == grids
    assert coverage["share"].between(0, 1).all() and coverage["share"].min() < 1
    styles = pyogrio.read_dataframe(out / "coverage.gpkg", layer="layer_styles")
    assert {"coverage", "stations", "uncovered_buildings"} <= set(styles["f_table_name"])
    run_alg(qgis_home, "gridgen:report", DATA=big_city, PLAN=big_plan, OUTPUT=out / "report.json")
    district = json.loads((out / "report.json").read_text("utf-8"))["district"]
    assert district["households"]["value"] == int(coverage["households"].sum()) >= 250_000
    assert district["grids"]["value"] == grids


def test_bad_input_fails_with_gridgens_one_line_reason(qgis_home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a GeoPackage", encoding="utf-8")
    runs = {
        "cannot be read": {"DATA": broken, "OUTPUT": tmp_path / "p.gpkg"},
        "[--band = BAND_MIN, BAND_MAX]": {
            "DATA": SAMPLE,
            "BAND_MIN": 400,
            "BAND_MAX": 200,
            "OUTPUT": tmp_path / "p.gpkg",
        },
    }
    for reason, params in runs.items():
        done = qgis_process(
            qgis_home,
            "run",
            "gridgen:partition",
            "--",
            *(f"{k}={v}" for k, v in params.items()),
            check=False,
        )
        text = done.stdout + done.stderr
        assert done.returncode != 0
        errors = [ln for ln in text.splitlines() if ln.startswith("ERROR:")]
        assert len(errors) == 1 and errors[0].startswith("ERROR:\tgridgen partition: error: ")
        assert reason in errors[0]
        assert "Traceback" not in text and 'File "' not in text
        assert not (tmp_path / "p.gpkg").exists()


def test_the_model_validate_partition_audit_runs_headless(qgis_home: Path, tmp_path: Path) -> None:
    installed = (
        qgis_home / ".local/share/QGIS/QGIS3/profiles/default/processing/models" / MODEL.name
    )
    assert installed.read_bytes() == MODEL.read_bytes()
    done = run_alg(
        qgis_home,
        str(installed),
        DATA=SAMPLE,
        TARGET=300,
        BAND_MIN=240,
        BAND_MAX=360,
        **{"partition:PLAN": tmp_path / "plan.gpkg", "audit:AUDIT": tmp_path / "audit.json"},
    )
    assert "Executed 3 algorithms" in done.stdout
    grids = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="grids", read_geometry=False)
    summary = json.loads((tmp_path / "audit.json").read_text("utf-8"))["summary"]
    assert summary["grids"] == len(grids) > 50
    assert summary["unassigned_building"] == 0
    assert "layer 'grids' written to" in done.stdout  # partition's layer went via a GeoPackage


def test_the_model_ingest_validate_partition_audit_runs_headless(
    qgis_home: Path, tmp_path: Path
) -> None:
    """From a district's own files (the shipped raw set) to an audited plan, headless."""
    installed = (
        qgis_home / ".local/share/QGIS/QGIS3/profiles/default/processing/models" / INGEST_MODEL.name
    )
    outputs = {
        "ingest:DATASET": tmp_path / "district.gpkg",
        "ingest:MATCH": tmp_path / "match.json",
        "partition:PLAN": tmp_path / "plan.gpkg",
        "audit:AUDIT": tmp_path / "audit.json",
    }
    done = run_alg(
        qgis_home, str(installed), **RAW_FILES, TARGET=300, BAND_MIN=240, BAND_MAX=360, **outputs
    )
    assert "Executed 4 algorithms" in done.stdout
    match = json.loads((tmp_path / "match.json").read_text("utf-8"))["totals"]
    assert match["balanced"] and match["matched"] > 0.9 * match["rows"]
    grids = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="grids", read_geometry=False)
    summary = json.loads((tmp_path / "audit.json").read_text("utf-8"))["summary"]
    assert summary["grids"] == len(grids) > 50
    assert summary["households"] == match["households"]
    assert summary["unassigned_building"] == 0


def test_the_committed_models_are_what_the_script_builds(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(SYSTEM_PYTHON), str(ROOT / "scripts" / "qgis_models.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env=_env(tmp_path),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for model in (MODEL, INGEST_MODEL):
        built = ET.canonicalize(from_file=tmp_path / model.name)  # Qt's attribute order varies
        assert built == ET.canonicalize(from_file=model), "run scripts/qgis_models.py"


@pytest.fixture(scope="module")
def desktop(qgis_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every algorithm run as the desktop runs it (one QGIS process), reports by name."""
    work = tmp_path_factory.mktemp("desktop")
    walled = write_frames(make_walled_city(households=30_000, seed=3), work / "walled.gpkg")
    OUT.mkdir(exist_ok=True)
    plan = work / "plan.gpkg"
    second = work / "plan_b.gpkg"
    subprocess.run(
        [
            str(GRIDGEN),
            "partition",
            str(SAMPLE),
            "--target",
            "250",
            "--seed",
            "1",
            "--out",
            str(second),
        ],
        capture_output=True,
        check=True,
    )
    sample_plan = work / "sample_plan.gpkg"
    rejects = work / "one_bad_row.gpkg"
    buildings = gpd.read_file(SAMPLE, layer="buildings")
    buildings.loc[0, "households"] = -5
    shutil.copyfile(SAMPLE, rejects)
    buildings.to_file(rejects, layer="buildings", driver="GPKG")
    runs = {
        "partition": (
            "gridgen:partition",
            {"DATA": walled, "VALID_FROM": "2025-01-01", "CODE_SCHEME": 1, "OUTPUT": plan},
            OUT / "qgis_partition.png",
        ),
        "cancel": ("gridgen:partition", {"DATA": SAMPLE, "OUTPUT": work / "never.gpkg"}, None),
        "ingest": (
            "gridgen:ingest",
            {**RAW_FILES, "FOOTPRINTS": f"{RAW_FILES['FOOTPRINTS']}|layername=footprints"}
            | {"OUTPUT": work / "ingested.gpkg"},
            None,
        ),
        "validate": ("gridgen:validate", {"DATA": SAMPLE}, None),
        "rejects": ("gridgen:validate", {"DATA": rejects}, None),
        "strict": ("gridgen:validate", {"DATA": rejects, "FAIL_ON_REJECTED": True}, None),
        "sample_plan": ("gridgen:partition", {"DATA": SAMPLE, "OUTPUT": sample_plan}, None),
        "audit": (
            "gridgen:audit",
            {"DATA": SAMPLE, "GRIDS": f"{second}|layername=grids", "OUTPUT": work / "audit.gpkg"},
            None,
        ),
        "coverage": (
            "gridgen:coverage",
            {"DATA": walled, "RADIUS": 250, "OUTPUT": work / "coverage.gpkg"},
            OUT / "qgis_coverage.png",
        ),
        "site": (
            "gridgen:site",
            {"DATA": SAMPLE, "ADD": 2, "RADIUS": 300, "OUTPUT": work / "sites.gpkg"},
            None,
        ),
        "rebalance": (
            "gridgen:rebalance",
            {"DATA": SAMPLE, "GRIDS": str(second), "OUTPUT": work / "rebalanced.gpkg"}
            | {"CROSSWALK": work / "crosswalk.csv"},
            None,
        ),
        "merge": (
            "gridgen:merge_grids",
            {"DATA": SAMPLE, "GRIDS": [str(sample_plan), f"{second}|layername=grids"]}
            | {"RECODE": True, "VALID_FROM": "2025-06-01"}
            | {"OUTPUT": work / "merged.gpkg", "CROSSWALK": work / "merged.csv"},
            None,
        ),
        "audit_standard": (
            "gridgen:audit",
            {"DATA": SAMPLE, "GRIDS": str(sample_plan), "STANDARD": 1}
            | {"OUTPUT": work / "fixes.xlsx"},
            None,
        ),
        "changes": (
            "gridgen:changes",
            {"DATA": SAMPLE, "OLD": str(second), "NEW": str(sample_plan)}
            | {"EFFECTIVE": "2025-03-01", "OUTPUT": work / "changes.json"},
            None,
        ),
        "nesting": (
            "gridgen:nesting",
            {"DATA": SAMPLE, "BASE": str(sample_plan), "LAYERS": [f"{second}|layername=grids"]}
            | {"OUTPUT": work / "nesting.json"},
            None,
        ),
        "sheet": (
            "gridgen:sheet",
            {"DATA": SAMPLE, "COMPOUND": "XQ00001", "OUTPUT": work / "sheet.png"},
            None,
        ),
        "atlas": (
            "gridgen:atlas",
            {"DATA": SAMPLE, "COMMUNITY": "140105001001", "OUTPUT": work / "atlas.pdf"},
            None,
        ),
    }
    spec = [
        {
            "algorithm": alg,
            "parameters": {k: _plain(v) for k, v in params.items()},
            "png": str(png) if png else "",
            "cancel": name == "cancel",
        }
        for name, (alg, params, png) in runs.items()
    ]
    (work / "runs.json").write_text(json.dumps(spec), encoding="utf-8")
    plugins = qgis_home / ".local/share/QGIS/QGIS3/profiles/default/python/plugins"
    check = ROOT / "tests" / "qgis_plugin_check.py"
    done = subprocess.run(
        [str(SYSTEM_PYTHON), str(check), str(plugins), str(work / "runs.json")],
        capture_output=True,
        text=True,
        check=False,
        env=_env(qgis_home),
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reports = json.loads(done.stdout.strip().splitlines()[-1])
    return {"work": work, **dict(zip(runs, reports, strict=True))}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v) for v in value]
    return value if isinstance(value, (int, float)) else str(value)


def _group(report: dict[str, Any]) -> dict[str, Any]:
    groups = [n for n in report["tree"] if "group" in n]
    assert len(groups) == 1, report["tree"]
    return groups[0]


def test_outputs_load_styled_and_grouped_in_the_layer_tree(desktop: dict[str, Any]) -> None:
    partition = desktop["partition"]
    assert partition["ok"] and partition["loaded"], partition["log"][-5:]
    group = _group(partition)
    assert group["group"] == "gridgen partition: plan.gpkg"
    [grids] = group["children"]
    assert grids["renderer"] == "graduatedSymbol" and grids["attr"] == "deviation"
    assert (
        grids["labels"]
        and grids["valid"]
        and int(partition["results"]["GRID_COUNT"][:-2]) == grids["count"]
    )
    assert any(" grids for " in line for line in partition["log"])  # the run's summary
    codes = pyogrio.read_dataframe(desktop["work"] / "plan.gpkg", layer="codes")
    assert set(codes["valid_from"]) == {"2025-01-01"}  # a Processing date parameter
    assert codes["grid_id"].str.len().eq(15).all()  # DB11/T 2157 codes
    audit = _group(desktop["audit"])
    names = [c["layer"] for c in audit["children"]]
    assert names[0].startswith("grids") and len(names) == 4  # grids on top
    by_table = {c["source"].rsplit("=", 1)[1]: c for c in audit["children"]}
    assert by_table["grids"]["renderer"] == "categorizedSymbol"
    assert by_table["split_compounds"]["renderer"] == "categorizedSymbol"
    assert by_table["gaps"]["renderer"] == by_table["overlaps"]["renderer"] == "singleSymbol"
    assert any("layer 'grids' written to" in line for line in desktop["audit"]["log"])
    coverage = {c["source"].rsplit("=", 1)[1]: c for c in _group(desktop["coverage"])["children"]}
    assert coverage["coverage"]["renderer"] == "graduatedSymbol"
    assert coverage["coverage"]["attr"] == "share" and coverage["coverage"]["count"] == 11
    assert coverage["stations"]["renderer"] == "categorizedSymbol"
    sites = {c["source"].rsplit("=", 1)[1]: c for c in _group(desktop["site"])["children"]}
    assert sites["proposed_sites"]["count"] == 2 and sites["proposed_sites"]["labels"]
    assert sites["proposed_sites"]["renderer"] == "singleSymbol"  # drawn: sites have no kind


def test_every_other_algorithm_runs_in_qgis(desktop: dict[str, Any]) -> None:
    work: Path = desktop["work"]
    names = ("ingest", "validate", "site", "rebalance", "merge", "sheet", "atlas", "changes")
    for name in (*names, "nesting", "audit_standard"):
        assert desktop[name]["ok"], (name, desktop[name]["log"][-5:])
    assert desktop["sample_plan"]["ok"]
    ingest = desktop["ingest"]
    assert float(ingest["results"]["ROWS_MATCHED"]) > 25_000  # read from the match report
    assert any("layer 'footprints' written to" in line for line in ingest["log"])
    dataset = {c["source"].rsplit("=", 1)[1]: c for c in _group(ingest)["children"]}
    assert {"communities", "compounds", "buildings", "stations", "roads"} <= set(dataset)
    assert dataset["compounds"]["renderer"] == "categorizedSymbol"
    assert dataset["buildings"]["labels"]
    assert desktop["validate"]["results"]["ROWS_REJECTED"] == "0.0"
    assert desktop["validate"]["results"]["DATA_CHECKED"] == str(SAMPLE)
    rejects, strict = desktop["rejects"], desktop["strict"]
    assert rejects["ok"] and rejects["results"]["ROWS_REJECTED"] == "1.0"
    warning = "WARNING Rows were rejected: the validation report lists why · 有被拒绝的行"
    assert any(line.startswith(warning) for line in rejects["log"])
    assert not strict["ok"]  # FAIL_ON_REJECTED stops a model here
    assert any("negative households" in line for line in rejects["log"])
    crosswalk = pd.read_csv(work / "crosswalk.csv")
    assert len(crosswalk) > 1000
    assert pyogrio.read_info(work / "merged.gpkg", layer="grids")["features"] > 50
    merged = pyogrio.read_dataframe(work / "merged.gpkg", layer="grids", read_geometry=False)
    assert set(merged["valid_from"]) == {"2025-06-01"}  # RECODE: every code new, a date param
    assert any("recoded:" in line for line in desktop["merge"]["log"])
    assert (work / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (work / "atlas.pdf").read_bytes()[:5] == b"%PDF-"
    changes = json.loads((work / "changes.json").read_text("utf-8"))
    assert changes["effective_date"] == "2025-03-01"  # a Processing date parameter
    assert json.loads((work / "nesting.json").read_text("utf-8"))
    assert (work / "fixes.xlsx").read_bytes()[:2] == b"PK"  # the list of fixes, a workbook


def test_cancel_stops_the_run(desktop: dict[str, Any]) -> None:
    cancel = desktop["cancel"]
    assert not cancel["ok"]
    assert any("Cancelled: the gridgen process was stopped" in ln for ln in cancel["log"])
    assert not (desktop["work"] / "never.gpkg").exists()


def test_the_render_of_the_partition_as_qgis_styles_it(desktop: dict[str, Any]) -> None:
    """The PNGs (out/qgis_partition*.png) were looked at; here: drawn, in the style's colours."""
    from PIL import Image

    assert desktop["partition"]["ok"]
    for path in (OUT / "qgis_partition.png", OUT / "qgis_partition_zoom.png"):
        rgb = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
        drawn = rgb[(rgb != 255).any(axis=1)]
        assert len(drawn) > 0.3 * len(rgb)  # the grids fill the picture
        under = int((drawn[:, 2] > drawn[:, 0] + 40).sum())  # blue: below the target
        over = int((drawn[:, 0] > drawn[:, 2] + 40).sum())  # red: above the target
        assert under > 0.02 * len(rgb) and over > 0.02 * len(rgb)


def test_names_and_help_follow_the_language_of_qgis(
    qgis_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    english = qgis_process(qgis_home, "list").stdout
    assert "gridgen:partition\tPartition into grids · 划分网格" in english
    home = tmp_path_factory.mktemp("home_zh")
    subprocess.run(
        [str(GRIDGEN), "qgis-plugin", "install"], capture_output=True, check=True, env=_env(home)
    )
    ini = home / ".local/share/QGIS/QGIS3/profiles/default/QGIS/QGIS3.ini"
    with ini.open("a", encoding="utf-8") as out:
        out.write("\n[locale]\noverrideFlag=true\nuserLocale=zh_CN\n")
    chinese = qgis_process(home, "list").stdout
    assert "gridgen:partition\t划分网格 · Partition into grids" in chinese
    assert "gridgen:merge_grids\t多网合一 · Merge grid layers" in chinese
    helped = qgis_process(home, "help", "gridgen:partition").stdout
    assert helped.index("为每个社区划分") < helped.index("Draws balanced grids")
    assert "BAND_MIN: 每格户数下限" in helped


def test_the_provider_setting_chooses_the_gridgen_executable(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from gridgen_cli.qgis_install import ini_with

    home = tmp_path_factory.mktemp("home_setting")
    subprocess.run(
        [str(GRIDGEN), "qgis-plugin", "install"], capture_output=True, check=True, env=_env(home)
    )
    other = home / "other-gridgen"
    other.write_text(
        "#!/bin/sh\necho 'gridgen validate: error: the other gridgen ran' >&2\nexit 2\n", "utf-8"
    )
    other.chmod(0o755)
    ini = home / ".local/share/QGIS/QGIS3/profiles/default/QGIS/QGIS3.ini"
    text = ini.read_text("utf-8")
    for executable, works in ((other, False), (home / "gone" / "gridgen", True)):
        key = "Configuration\\GRIDGEN_EXECUTABLE"
        ini.write_text(ini_with(text, "Processing", key, str(executable)), "utf-8")
        done = qgis_process(home, "run", "gridgen:validate", "--", f"DATA={SAMPLE}", check=False)
        assert (done.returncode == 0) is works, done.stdout[-500:] + done.stderr[-500:]
        assert ("the other gridgen ran" in done.stdout + done.stderr) is not works
