"""``gridgen update``: refreshing buildings from a ledger (.xlsx, GBK CSV); bad ledgers refused."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from handmade import raw_layers

from gridgen.io.read import read_dataset
from gridgen.io.write import write_frames
from gridgen_cli.main import main

HEADER = ["楼栋编号", "户数", "楼栋长", "党员数", "备注"]
ROWS = [
    ["B1", "35", "王五", "", "新增5户"],  # households 30 -> 35, new leader, members kept
    ["B2", "40", "楼长B2", "2", ""],  # nothing changes
    ["B4", "", "", "7", ""],  # party members 2 -> 7
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_frames(raw_layers(), tmp_path / "hand.gpkg")


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(header)
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[str]], encoding: str = "gbk") -> Path:
    text = "\n".join(",".join(r) for r in [HEADER, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def check_updated(data: Path, out: Path, printed: str) -> None:
    assert "3 rows matched, 2 buildings changed (3 values" in printed
    assert "3 buildings not in the ledger (unchanged), 0 ledger rows unmatched" in printed
    assert "ignored columns: 备注" in printed
    old = read_dataset(data).buildings.set_index("building_id")
    new = read_dataset(out).buildings.set_index("building_id")
    assert new.loc["B1", "households"] == 35 and new.loc["B1", "leader_name"] == "王五"
    assert new.loc["B1", "party_members"] == 2  # blank cell keeps the value
    assert new.loc["B4", "party_members"] == 7 and new.loc["B4", "households"] == 12
    assert new.loc["B3", "leader_phone"] == "13800000000"  # other columns untouched
    assert int(new["households"].sum()) == int(old["households"].sum()) + 5
    assert gpd.GeoSeries(new.geometry).geom_equals_exact(old.geometry, tolerance=0).all()


def test_update_from_xlsx_with_chinese_headers(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = write_xlsx(tmp_path / "台账.xlsx", [[r[0], *r[1:]] for r in ROWS])
    out = tmp_path / "new.gpkg"
    assert main(["update", str(data), "--from", str(ledger), "--out", str(out)]) == 0
    check_updated(data, out, capsys.readouterr().out)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_update_from_csv_in_chinese_encodings(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str
) -> None:
    ledger = write_csv(tmp_path / "ledger.csv", ROWS, encoding)
    out = tmp_path / "new.gpkg"
    assert main(["update", str(data), "--from", str(ledger), "--out", str(out)]) == 0
    check_updated(data, out, capsys.readouterr().out)


BAD = {
    "duplicate": (
        [["B1", "35", "", "", ""], ["B2", "1", "", "", ""], ["B1", "36", "", "", ""]],
        ["rows 2, 4: the same id more than once (B1)"],
    ),
    "unknown": (
        [["B1", "35", "", "", ""], ["B99", "1", "", "", ""]],
        ["row 3: id not in the layer (B99)"],
    ),
    "text": (
        [["B1", "三十", "", "", ""], ["B2", "40", "", "", ""], ["B3", "4.5", "", "", ""]],
        ["column households, rows 2, 4: not a whole number ≥ 0", "'三十'"],
    ),
    "header_only": ([], ["is empty"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_ledgers_write_nothing(
    case: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, needles = BAD[case]
    for ledger in (write_csv(tmp_path / "l.csv", rows), write_xlsx(tmp_path / "l.xlsx", rows)):
        out = tmp_path / "new.gpkg"
        assert main(["update", str(data), "--from", str(ledger), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        for needle in needles:
            assert needle in err, (ledger.name, err)
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".new")]


def test_empty_file_and_missing_key_column(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    out = tmp_path / "new.gpkg"
    assert main(["update", str(data), "--from", str(empty), "--out", str(out)]) == 2
    assert "is empty" in capsys.readouterr().err
    nokey = tmp_path / "nokey.csv"
    pd.DataFrame({"户数": [1]}).to_csv(nokey, index=False)
    assert main(["update", str(data), "--from", str(nokey), "--out", str(out)]) == 2
    assert "no column 'building_id' (found households)" in capsys.readouterr().err
    assert not out.exists()
