"""``gridgen ingest`` on the command line: the shipped raw set, outputs, and every bad input as
one line (exit 2, no traceback, nothing written) or a reported row. About 25 s."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyogrio
import pytest

from gridgen.sample.district import sample_path
from gridgen_cli.main import main

RAW = sample_path() / "raw"


def _args(raw: Path, out: Path, *extra: str, ledger: str = "ledger.xlsx") -> list[str]:
    return [
        "ingest",
        "--communities", str(raw / "communities.shp"),
        "--footprints", str(raw / "footprints.gpkg"),
        "--compounds", str(raw / "compounds.geojson"),
        "--roads", str(raw / "roads" / "gis_osm_roads_free_1.shp"),
        "--stations", str(raw / "stations.geojson"),
        "--ledger", str(raw / ledger),
        "--out", str(out / "district.gpkg"),
        "--match-report", str(out / "report.json"),
        *extra,
    ]  # fmt: skip


def test_the_shipped_raw_set_ingests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(RAW, tmp_path)) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "matched" in out and "duplicates" in out
    stages = [line for line in err.splitlines() if line.startswith("ingest: ")]
    assert any("rows read" in s for s in stages) and any("matched" in s for s in stages)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    t = report["totals"]
    assert t["balanced"] and t["rows"] == len(report["rows"])
    assert t["rows"] == t["matched"] + t["duplicates"] + t["unmatched"]
    assert set(report["rows"][0]) == {"row", "building_id", "how", "reason"}
    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "district.gpkg")}
    assert {"streets", "communities", "compounds", "buildings", "roads", "stations"} <= layers
    households = sum(  # footprints, and buildings known only as a point
        int(pyogrio.read_dataframe(tmp_path / "district.gpkg", layer=name)["households"].sum())
        for name in ("buildings", "building_points")
        if name in layers
    )
    assert households == t["households"]
    s = pyogrio.read_dataframe(tmp_path / "district.gpkg", layer="stations")
    assert set(s["kind"]) == {"center", "micro", "red_front"}
    assert main(["validate", str(tmp_path / "district.gpkg")]) == 0


def test_the_report_as_a_workbook_with_chinese_headers(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    args = _args(RAW, tmp_path)
    args[args.index("--match-report") + 1] = str(tmp_path / "report.xlsx")
    assert main(args) == 0
    book = load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert book.sheetnames == ["汇总", "楼栋", "台账行"]
    rows = book["台账行"].iter_rows(values_only=True)
    assert next(rows) == ("行号", "楼栋编号", "匹配方式", "原因")
    first = next(rows)
    assert first[0] == 1 and first[2] in ("坐标", "地址", "坐标和地址", "重复", "未匹配")
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(values_only=True)}
    assert summary["台账行数"] == summary["已匹配"] + summary["重复行"] + summary["未匹配"]


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    err = capsys.readouterr().err
    last = [line for line in err.splitlines() if not line.startswith("ingest: ")]
    assert len(last) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in last[0], last[0]


def test_a_missing_column_names_the_candidates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    frame = pyogrio.read_dataframe(raw / "communities.shp", encoding="gb18030")
    frame = frame.rename(columns={"社区代码": "BM"})
    pyogrio.write_dataframe(frame, raw / "communities.shp", encoding="GBK")
    assert main(_args(raw, tmp_path)) == 2
    _one_line_error(capsys, "no column for communities community_id", "社区代码", "--map")
    assert not (tmp_path / "district.gpkg").exists() and not (tmp_path / "report.json").exists()
    assert main(_args(raw, tmp_path, "--map", "communities.community_id=BM")) == 0


def test_bad_inputs_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    (raw / "notes.csv").write_text("会议纪要\n今天讨论网格\n", encoding="utf-8")
    assert main(_args(raw, tmp_path, ledger="notes.csv")) == 2
    _one_line_error(capsys, "notes.csv is not a table with a header row")
    (raw / "latin.csv").write_bytes(b"\xff\xfe\x81\x30" * 100)
    assert main(_args(raw, tmp_path, ledger="latin.csv")) == 2
    _one_line_error(capsys, "neither UTF-8 nor GBK/GB18030")
    assert main(_args(raw, tmp_path, "--max-rows", "1000")) == 2
    _one_line_error(capsys, "more than the limit of 1000 rows")
    assert main(_args(raw, tmp_path, "--map", "ledger.colour=X")) == 2
    _one_line_error(capsys, "ledger has no field 'colour'")
    assert main(_args(raw, tmp_path, "--crs", "footprints=EPSG:99999")) == 2
    _one_line_error(capsys, "unknown CRS")
    assert main(_args(raw, tmp_path, "--ledger-crs", "nonsense")) == 2
    _one_line_error(capsys, "unknown CRS 'nonsense'")
    (raw / "communities.prj").unlink()
    (raw / "communities.shp").rename(raw / "c.tmp")
    assert main(_args(raw, tmp_path)) == 2
    _one_line_error(capsys, "communities communities.shp: no such file")
    assert not (tmp_path / "district.gpkg").exists()


def test_coordinates_outside_the_district_are_reported_rows(tmp_path: Path) -> None:
    import pandas as pd

    ledger = pd.DataFrame(
        {
            "小区名称": ["汇丰小区", "汇丰小区", "汇丰小区"],
            "楼栋": ["1号楼", "1号楼", "99号楼"],
            "房号": ["101", "102", "101"],
            "经度": ["116.40", "0", ""],  # Beijing: far outside; zero: not a position
            "纬度": ["39.90", "0", ""],
        }
    )
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    ledger.to_csv(raw / "few.csv", index=False)
    assert main(_args(raw, tmp_path, ledger="few.csv")) == 0
    rows = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["rows"]
    assert "outside the district: ignored" in rows[0]["reason"]
    assert "not longitude/latitude: ignored" in rows[1]["reason"]
    assert rows[2]["how"] == "unmatched" and "no footprint named" in rows[2]["reason"]
