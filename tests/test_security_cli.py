"""The CLI on bad input (issue 11, class 8): one line naming file, row or option; exit 2.

Exit statuses follow docs/cli.md: 0 ok, 1 failure, 2 bad input. GBK/GB18030 CSV files (what
Chinese Excel writes) are read, not refused.
"""

from __future__ import annotations

from pathlib import Path

from cli_helpers import CliRun
from cli_helpers import run_main as _cli

from gridgen.io.read import read_layers
from gridgen.sample.district import sample_path

SAMPLE = sample_path() / "district.gpkg"
COMMUNITY_CSV = (
    "community_id,name,wkt\n"
    'C1,东社区,"POLYGON((112.54 37.79,112.56 37.79,112.56 37.81,112.54 37.79))"\n'
)


def _one_line(proc: CliRun, status: int, *needles: str) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_empty_csv(tmp_path: Path) -> None:
    empty = tmp_path / "buildings.csv"
    empty.write_bytes(b"")
    _one_line(_cli("validate", str(empty)), 2, str(empty), "empty")


def test_gbk_csv_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "gbk"
    folder.mkdir()
    (folder / "communities.csv").write_text(COMMUNITY_CSV, encoding="utf-8")
    rows = "building_id,compound_id,households,leader_name,lon,lat\nB1,,10,张三丰,112.55,37.80\n"
    (folder / "buildings.csv").write_bytes(rows.encode("gbk"))
    layers, _ = read_layers(folder)
    assert layers["buildings"]["leader_name"].tolist() == ["张三丰"]
    assert layers["communities"]["name"].tolist() == ["东社区"]
    (folder / "buildings.csv").write_bytes(rows.replace("张三丰", "𠀋先生").encode("gb18030"))
    assert read_layers(folder)[0]["buildings"]["leader_name"].tolist() == ["𠀋先生"]
    proc = _cli("validate", str(folder))
    assert proc.returncode == 0, proc.stderr


def test_unclosed_ring_names_file_and_row(tmp_path: Path) -> None:
    folder = tmp_path / "ring"
    folder.mkdir()
    ring = "[[112.54,37.79],[112.56,37.79],[112.56,37.81]]"
    (folder / "communities.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"community_id":"C1"},"geometry":{"type":"Polygon","coordinates":[' + ring + "]}}]}",
        encoding="utf-8",
    )
    (folder / "buildings.csv").write_text(
        "building_id,households,lon,lat\nB1,10,112.55,37.80\n", encoding="utf-8"
    )
    _one_line(_cli("validate", str(folder)), 2, "communities.geojson", "row 0", "ring")


def test_report_folder_and_unsupported_out_are_usage_errors(tmp_path: Path) -> None:
    _one_line(_cli("validate", str(SAMPLE), "--report", str(tmp_path)), 2, "--report", "folder")
    out = tmp_path / "plan.txt"
    proc = _cli("partition", str(SAMPLE), "--target", "300", "--out", str(out))
    _one_line(proc, 2, "--out", "plan.txt", ".gpkg")
    assert not out.exists()
    proc = _cli("coverage", str(SAMPLE), "--out", str(tmp_path / "c.xlsx"))
    _one_line(proc, 2, "--out", "c.xlsx")


def test_truncated_plan_geopackage(tmp_path: Path) -> None:
    truncated = tmp_path / "plan.gpkg"
    truncated.write_bytes(SAMPLE.read_bytes()[:20_000])
    out = tmp_path / "c.csv"
    proc = _cli("coverage", str(SAMPLE), "--plan", str(truncated), "--out", str(out))
    _one_line(proc, 2, str(truncated), "cannot be read")
    assert not out.exists()
