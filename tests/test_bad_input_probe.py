"""Bad input to partition, rebalance, merge-grids, audit, changes and nesting: a clear error
naming the row, field or parameter (exit 2, nothing written), never an internal error, and no
row dropped or changed without a word (the probe of 2026-12-07, eighth session).

Cost: one partition of the sample district (~2 s) and a few commands on it (~15 s in all).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from cli_helpers import CliRun, run_main

from gridgen.dataset import Dataset
from gridgen.errors import SchemaError
from gridgen.io.grids import read_grid_layer
from gridgen.io.plan import read_plan, write_plan
from gridgen.partition.community import partition_dataset
from gridgen.sample.district import sample_path

DATA = sample_path() / "district.gpkg"


@pytest.fixture(scope="module")
def plan_file(sample: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample district's plan, written once."""
    path = tmp_path_factory.mktemp("probe") / "plan.gpkg"
    write_plan(partition_dataset(sample, target=300, seed=0), path)
    return path


@pytest.fixture(scope="module")
def grids_file(plan_file: Path) -> Path:
    """The plan's grids as a plain grid layer (grid_id and polygons)."""
    path = plan_file.with_name("grids.gpkg")
    grids = gpd.read_file(plan_file, layer="grids")[["grid_id", "geometry"]]
    grids.to_file(path, layer="grids")
    return path


def _refused(run: CliRun, *needles: str) -> None:
    """Assert a one-line bad-input error (exit 2) holding ``needles``, no internal error."""
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr


def _edited(plan_file: Path, tmp_path: Path, *sql: str) -> Path:
    path = tmp_path / "edited.gpkg"
    shutil.copy(plan_file, path)
    with sqlite3.connect(path) as con:
        for statement in sql:
            con.execute(statement)
    return path


COPY_META = (
    "INSERT INTO plan_meta(target, band_min, band_max, seed, crs, code_scheme, metrics, "
    "problems) SELECT target, band_min, band_max, seed, crs, code_scheme, metrics, problems "
    "FROM plan_meta"
)


@pytest.mark.parametrize(
    ("sql", "needles"),
    [
        ("UPDATE plan_meta SET metrics = '{not json'", ("plan_meta column metrics",)),
        ("UPDATE plan_meta SET metrics = '{\"foo\": 1}'", ("plan_meta column metrics", "foo")),
        ("UPDATE plan_meta SET band_min = NULL", ("plan_meta column band_min is empty",)),
        (COPY_META, ("table plan_meta has 2 rows",)),
        ("UPDATE assignment SET grid_id = NULL WHERE fid = 1", ("column grid_id is empty",)),
        (
            "INSERT INTO assignment(building_id, grid_id) "
            "SELECT building_id, grid_id FROM assignment WHERE fid = 2",
            ("column building_id repeats",),
        ),
    ],
    ids=["metrics-json", "metrics-key", "band-null", "two-meta-rows", "null-grid", "dup-building"],
)  # fmt: skip
def test_corrupt_plan_is_refused_naming_the_field(
    plan_file: Path, tmp_path: Path, sql: str, needles: tuple[str, ...]
) -> None:
    """A hand-edited or corrupted plan GeoPackage is a SchemaError naming the table and
    column (before: JSONDecodeError, TypeError, 'cannot convert float NaN to integer',
    InvalidIndexError as internal errors)."""
    bad = _edited(plan_file, tmp_path, sql)
    with pytest.raises(SchemaError, match=r"plan_meta|layer"):
        read_plan(bad)
    out = tmp_path / "changes.json"
    run = run_main("changes", str(DATA), "--old", str(bad), "--new", str(plan_file),
                   "--out", str(out))  # fmt: skip
    _refused(run, str(bad), *needles)
    assert not out.exists()


def test_plan_households_not_numbers_are_named(plan_file: Path, tmp_path: Path) -> None:
    """Text in the grids' households column names the rows (before: ValueError from
    pandas as an internal error)."""
    bad = tmp_path / "bad.gpkg"
    shutil.copy(plan_file, bad)
    grids = gpd.read_file(bad, layer="grids")
    grids["households"] = grids["households"].astype(object)
    grids.loc[2, "households"] = "many"
    grids.to_file(bad, layer="grids", driver="GPKG")
    with pytest.raises(SchemaError, match=r"households is not a whole number ≥ 0 in row\(s\) 3"):
        read_plan(bad)


def test_empty_grid_layer_is_refused(grids_file: Path, tmp_path: Path) -> None:
    """A layer without grid polygons (a filter that kept nothing) is refused; before,
    rebalance re-partitioned the whole district 'from gaps' and exited 0."""
    empty = tmp_path / "empty.gpkg"
    gpd.read_file(grids_file).iloc[0:0].to_file(empty, layer="grids")
    with pytest.raises(SchemaError, match="holds no grid polygons"):
        read_grid_layer(empty)
    out = tmp_path / "new.gpkg"
    run = run_main("rebalance", str(DATA), "--grids", str(empty), "--out", str(out))
    _refused(run, "holds no grid polygons", str(empty))
    assert not out.exists()


def test_grid_layer_with_z_is_read_flat(grids_file: Path, tmp_path: Path) -> None:
    """Z coordinates (a CAD export) are dropped on reading; before they were written back
    into the rebalanced plan (with a GDAL warning on stderr)."""
    flat = gpd.read_file(grids_file)
    z = flat.copy()
    z["geometry"] = shapely.force_3d(flat.geometry.to_numpy(), 5.0)
    path = tmp_path / "z.gpkg"
    z.to_file(path, layer="grids")
    read = read_grid_layer(path)
    assert not read.geometry.has_z.any()
    assert read.geometry.geom_equals_exact(flat.geometry, 1e-9).all()


def test_rows_left_out_by_validation_are_named(tmp_path: Path, grids_file: Path) -> None:
    """A building whose households are text is left out by validation: partition and audit
    say so on stderr, naming the row (before: 108 households vanished without a word)."""
    data = tmp_path / "district.gpkg"
    shutil.copy(DATA, data)
    buildings = gpd.read_file(data, layer="buildings")
    buildings["households"] = buildings["households"].astype(object)
    buildings.loc[3, "households"] = "十二"
    buildings.to_file(data, layer="buildings", driver="GPKG")
    run = run_main("audit", str(data), "--grids", str(grids_file), "--out",
                   str(tmp_path / "audit.json"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "1 row(s) left out by validation: buildings row 3: households '十二'" in run.stderr


def test_audit_of_a_dataset_without_buildings(grids_file: Path, tmp_path: Path) -> None:
    """No buildings at all: the audit reports every grid empty (before: internal error,
    TypeError in the split-compound check)."""
    data = tmp_path / "district.gpkg"
    shutil.copy(DATA, data)
    gpd.read_file(data, layer="buildings").iloc[0:0].to_file(data, layer="buildings")
    out = tmp_path / "audit.json"
    run = run_main("audit", str(data), "--grids", str(grids_file), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "0 households" in run.stdout and out.exists()


@pytest.mark.parametrize(
    ("command", "option", "name"),
    [
        ("rebalance", "--out", "new.txt"),
        ("rebalance", "--crosswalk", "crosswalk.xlsx"),
        ("rebalance", "--summary", "summary.txt"),
        ("merge-grids", "--out", "merged.shp"),
        ("merge-grids", "--crosswalk", "crosswalk.json"),
    ],
)
def test_output_suffixes_are_checked_before_the_work(
    grids_file: Path, tmp_path: Path, command: str, option: str, name: str
) -> None:
    """rebalance and merge-grids refuse an output of the wrong format while parsing the
    options, as partition does (before: a GeoPackage named new.txt, exit 0)."""
    paths = {"--out": "plan.gpkg", "--crosswalk": "cw.csv", "--summary": "s.json"}
    paths[option] = name
    args = [command, str(DATA), "--grids", str(grids_file)]
    if command == "merge-grids":
        args += ["--grids", str(grids_file)]
    for opt, file in paths.items():
        args += [opt, str(tmp_path / file)]
    run = run_main(*args)
    _refused(run, f"argument {option}", "unsupported output format")
    assert not any(tmp_path.iterdir())


def test_empty_effective_date_is_refused(plan_file: Path, tmp_path: Path) -> None:
    """``--effective ''`` is a bad date, not 'no date' (before: exit 0 with today's date)."""
    out = tmp_path / "c.json"
    run = run_main("changes", str(DATA), "--old", str(plan_file), "--new", str(plan_file),
                   "--effective", "", "--out", str(out))  # fmt: skip
    _refused(run, "--effective ''", "YYYY-MM-DD")
    assert not out.exists()


def test_negative_looking_value_says_how_to_write_it() -> None:
    """``--band -1,5`` is taken by argparse for an option: the message says to write
    ``--band=-1,5`` (which then fails on the band itself)."""
    run = run_main("partition", str(DATA), "--band", "-1,5", "--out", "x.gpkg")
    _refused(run, "--band=VALUE")
    run = run_main("partition", str(DATA), "--band=-1,5", "--out", "x.gpkg")
    _refused(run, "--band '-1,5' must be two whole numbers MIN,MAX, 0 < MIN ≤ MAX")


@pytest.fixture(scope="module")
def small_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 200 rows of the shipped raw ledger, as CSV (a fast ingest)."""
    import pandas as pd

    path = tmp_path_factory.mktemp("ledger") / "ledger.csv"
    rows = pd.read_excel(RAW / "ledger.xlsx", header=1, engine="calamine", nrows=200)
    rows.to_csv(path, index=False)
    return path


RAW = sample_path() / "raw"


def _ingest(tmp_path: Path, footprints: Path, ledger: Path) -> CliRun:
    return run_main("ingest", "--communities", str(RAW / "communities.shp"),
                    "--footprints", str(footprints), "--ledger", str(ledger),
                    "--out", str(tmp_path / "d.gpkg"),
                    "--match-report", str(tmp_path / "r.json"))  # fmt: skip


def test_ingest_refuses_footprint_outlines(tmp_path: Path, small_ledger: Path) -> None:
    """Footprints given as their outlines (LineStrings) are refused naming the rows; before,
    ingest exited 0 with an empty buildings layer (every household lost)."""
    footprints = gpd.read_file(RAW / "footprints.gpkg")
    footprints["geometry"] = footprints.geometry.boundary
    footprints.to_file(tmp_path / "lines.gpkg")
    run = _ingest(tmp_path, tmp_path / "lines.gpkg", small_ledger)
    _refused(run, "footprints lines.gpkg", "are LineString (rows 1, 2, 3", "not their outlines")
    assert not (tmp_path / "d.gpkg").exists()


def test_ingest_drops_z(tmp_path: Path, small_ledger: Path) -> None:
    """Footprints with Z coordinates ingest flat (before: Z written into the dataset)."""
    footprints = gpd.read_file(RAW / "footprints.gpkg")
    footprints["geometry"] = shapely.force_3d(footprints.geometry.to_numpy(), 12.0)
    footprints.to_file(tmp_path / "z.gpkg")
    (tmp_path / "flat").mkdir()
    assert _ingest(tmp_path / "flat", RAW / "footprints.gpkg", small_ledger).returncode == 0
    run = _ingest(tmp_path, tmp_path / "z.gpkg", small_ledger)
    assert run.returncode == 0, run.stderr
    buildings = gpd.read_file(tmp_path / "d.gpkg", layer="buildings")
    flat = gpd.read_file(tmp_path / "flat" / "d.gpkg", layer="buildings")
    assert not buildings.has_z.any()
    assert buildings.geometry.geom_equals_exact(flat.geometry, 1e-9).all()


def test_plan_buildings_missing_from_the_dataset_are_named(plan_file: Path, tmp_path: Path) -> None:
    """A plan assigning a building the dataset lacks (another dataset's plan, a demolished
    building): changes and rebalance say so naming it (before: left out without a word)."""
    data = tmp_path / "district.gpkg"
    shutil.copy(DATA, data)
    buildings = gpd.read_file(data, layer="buildings")
    gone = str(buildings.loc[3, "building_id"])
    buildings.drop(index=3).to_file(data, layer="buildings", driver="GPKG")
    out = tmp_path / "c.json"
    run = run_main("changes", str(data), "--old", str(plan_file), "--new", str(plan_file),
                   "--out", str(out))  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"1 building(s) of the plan are not in the dataset ({gone})" in run.stderr


@pytest.mark.parametrize(
    ("address", "problem"), [("garbage", "no :PORT"), ("http://host:8786", "unknown protocol")]
)
def test_malformed_scheduler_address_fails_before_connecting(
    tmp_path: Path, address: str, problem: str
) -> None:
    """A scheduler address without a port is refused at once naming the option (before: the
    right message after a 10 s wait, then a 20 s hang and a Client.__del__ traceback)."""
    out = tmp_path / "plan.gpkg"
    run = run_main("partition", str(DATA), "--scheduler", address, "--out", str(out))
    _refused(run, f"Dask scheduler address {address!r}", problem, "--scheduler")
    assert not out.exists()


def test_merge_refuses_the_same_layer_twice(grids_file: Path, tmp_path: Path) -> None:
    """Two --grids naming one file would give two departments the same name in the crosswalk
    (before: exit 0); nesting already refused it."""
    out = tmp_path / "m.gpkg"
    layer = str(grids_file)
    cw = str(tmp_path / "cw.csv")
    run = run_main("merge-grids", str(DATA), "--grids", layer, "--grids", layer, "--out", str(out),
                   "--crosswalk", cw)  # fmt: skip
    _refused(run, f"--grids {grids_file} is given twice")
    assert not out.exists()
