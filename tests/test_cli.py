"""The command line: bad input exits non-zero with a one-line reason (issue 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import CliRun
from cli_helpers import run_main as run_cli

from gridgen.sample.district import sample_path
from gridgen_cli.main import main

SAMPLE = sample_path() / "district.gpkg"


def assert_one_line_error(proc: CliRun | subprocess.CompletedProcess[str], *needles: str) -> None:
    """Assert a non-zero exit and a single stderr line containing every needle."""
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_file_exits_with_one_line_reason(tmp_path: Path) -> None:
    proc = run_cli("validate", str(tmp_path / "nope.gpkg"))
    assert_one_line_error(proc, "nope.gpkg")


def test_unknown_crs_exits_with_one_line_reason() -> None:
    proc = run_cli("validate", str(SAMPLE), "--crs", "EPSG:999999")
    assert_one_line_error(proc, "EPSG:999999")


def test_csv_without_coordinates_exits_with_one_line_reason(tmp_path: Path) -> None:
    csv = tmp_path / "buildings.csv"
    csv.write_text("building_id,households\nB1,10\n", encoding="utf-8")
    proc = run_cli("validate", str(csv))
    assert_one_line_error(proc, "coordinates")


def test_unknown_layer_exits_with_one_line_reason(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "parks.geojson").write_text(
        '{"type":"FeatureCollection","features":[]}', encoding="utf-8"
    )
    proc = run_cli("validate", str(folder))
    assert_one_line_error(proc, "parks")


def test_unknown_subcommand_is_one_line() -> None:
    proc = run_cli("frobnicate")
    assert_one_line_error(proc, "frobnicate")


def test_validate_sample_succeeds_and_writes_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert main(["validate", str(SAMPLE), "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert '"buildings"' in text


@pytest.mark.slow
def test_demo_writes_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out)]) == 0
    assert (out / "validation.json").is_file()
    assert (out / "district.gpkg").is_file()
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "sample district" in summary
    assert (out / "report.xlsx").is_file() and (out / "report.html").is_file()
    assert "governance report:" in summary


def test_corrupt_file_exits_with_one_line_reason(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"this is not a geopackage" * 20)
    proc = run_cli("validate", str(bad))
    assert_one_line_error(proc, "broken.gpkg", "cannot be read")


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "x"],
        ["partition", "x", "--target", "300", "--out", "p.gpkg"],
        ["coverage", "x", "--out", "c.csv"],
        ["site", "x", "--add", "3", "--out", "s.gpkg"],
        ["sheet", "x", "--compound", "C", "--out", "s.png"],
        ["atlas", "x", "--community", "C", "--out", "a.pdf"],
        ["serve"],
        ["demo"],
    ],
)
def test_every_subcommand_has_a_handler(argv: list[str]) -> None:
    """Every subcommand of docs/cli.md parses and is bound to a real handler."""
    from gridgen_cli.main import build_parser

    args = build_parser().parse_args(argv)
    assert callable(args.run)
    assert args.run.__module__ == f"gridgen_cli.cmd_{argv[0]}"


def test_partition_with_unreachable_scheduler_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGEN_DASK_TIMEOUT", "2")
    # a subprocess: the Dask client that fails to connect stays out of the test process
    argv = ["partition", str(SAMPLE), "--target", "300", "--out", str(tmp_path / "p.gpkg")]
    proc = subprocess.run(
        [sys.executable, "-m", "gridgen_cli.main", *argv, "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 1  # a cluster that cannot be reached is a failure, not bad input
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "tcp://127.0.0.1:9" in errors[0], proc.stderr
    assert not (tmp_path / "p.gpkg").exists()
