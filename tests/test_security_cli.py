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


def _one_grid_layer(path: Path, column: str) -> Path:
    """Write one grid (the sample's first community) with its code in ``column``."""
    import geopandas as gpd

    comm = gpd.read_file(SAMPLE, layer="communities").iloc[:1]
    cid = str(comm["community_id"].iloc[0])
    grids = gpd.GeoDataFrame(
        {column: [cid + "001"], "community_id": [cid]}, geometry=list(comm.geometry), crs=comm.crs
    )
    grids.to_file(path, driver="GeoJSON")
    return path


def test_changes_names_its_own_options_and_reads_odd_code_columns(tmp_path: Path) -> None:
    layer = _one_grid_layer(tmp_path / "grids.geojson", "编号")
    out = tmp_path / "c.json"
    args = ["changes", str(SAMPLE), "--old", str(layer), "--new", str(layer), "--out", str(out)]
    # the option is --effective, not --valid-from (the message named an option it lacks)
    _one_line(_cli(*args, "--effective", "2025-02-30"), 2, "--effective", "2025-02-30")
    # a corrupt GeoPackage: one line naming it, exit 2 (was exit 1, "internal error")
    bad = tmp_path / "old.gpkg"
    bad.write_bytes(b"not a geopackage")
    proc = _cli("changes", str(SAMPLE), "--old", str(bad), "--new", str(layer), "--out", str(out))
    _one_line(proc, 2, str(bad), "cannot be read")
    # the message asks for --id-column: changes has it now
    _one_line(_cli(*args), 2, "--id-column", "编号")
    assert _cli(*args, "--id-column", "编号").returncode == 0
    assert '"grids_kept": 1' in out.read_text(encoding="utf-8")


def test_audit_object_code_without_cjt349_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    grids = _one_grid_layer(tmp_path / "grids.geojson", "grid_id")
    base = ["audit", str(SAMPLE), "--grids", str(grids), "--out", str(out)]
    # was ignored (exit 0): DB11/T 2157 codes have no object code
    _one_line(_cli(*base, "--object-code", "110000"), 2, "--object-code", "CJ/T349")
    proc = _cli(*base, "--standard", "DB11/T2157", "--object-code", "110000")
    _one_line(proc, 2, "--object-code")
    assert not out.exists()
    assert _cli(*base, "--standard", "CJ/T349", "--object-code", "110000").returncode == 0
