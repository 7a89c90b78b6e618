"""Change orders (变更单): exact figures on a hand-made split, the sample district after a drift
and a rebalance (JSON = an independent count by code), the workbook in LibreOffice, the PDF
in poppler, and the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from partition_helpers import block_community
from records_helpers import count_by_code, drifted, pdf_page_png, pdf_text, soffice_csv
from shapely.geometry import box

from gridgen.dataset import Dataset
from gridgen.io.plan import write_plan
from gridgen.io.records_xlsx import changes_workbook
from gridgen.io.write import write_dataset
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan
from gridgen.partition.rebalance import rebalance
from gridgen.records.changes import WITHHELD, change_order
from gridgen.sample.district import make_district
from gridgen.validate.layers import validate_layers
from gridgen_cli.main import main
from maps.handover import handover_pdf

DAY1, DAY2 = date(2024, 1, 1), date(2025, 7, 1)


def test_split_change_order_by_hand() -> None:
    import geopandas as gpd
    from partition_helpers import at

    # one grid of 610 households in a row of four compounds (150, 150, 150, 160): too many
    ds = block_community(np.array([[150, 150, 150, 160]]))
    one = gpd.GeoDataFrame(
        {"grid_id": ["C1001"], "community_id": ["C1"]},
        geometry=[at(box(0, 0, 500, 140))],
        crs="EPSG:32649",
    ).to_crs(4326)
    from gridgen.partition.existing import import_grids

    old = import_grids(ds, one, band=(240, 360), on=DAY1)
    new = rebalance(ds, old.grids, assignment=old.assignment, band=(240, 360), on=DAY2).plan
    order = change_order(ds, old, new)
    kept = int(new.grids.set_index("grid_id").loc["C1001", "households"])
    assert order.effective_date == "2025-07-01"
    assert order.summary == {
        "grids_kept": 0,
        "grids_changed": 1,
        "grids_new": 1,
        "grids_retired": 0,
        "households_moved": 610 - kept,
        "buildings_moved": order.summary["buildings_moved"],
    }
    by = {g["code"]: g for g in order.grids}
    c1, c2 = by["C1001"], by["C1002"]
    assert (c1["status"], c1["households_before"], c1["households_after"]) == ("changed", 610, kept)
    assert (c1["households_in"], c1["households_out"]) == (0, 610 - kept)
    assert (c2["status"], c2["households_before"], c2["households_after"]) == ("new", 0, 610 - kept)
    assert c2["households_in"] == 610 - kept and c2["boundary_change_m2"] is None
    assert {b["to_grid"] for b in c1["buildings_out"]} == {"C1002"}
    assert {b["from_grid"] for b in c2["buildings_in"]} == {"C1001"}
    assert sum(b["households"] for b in c2["buildings_in"]) == 610 - kept
    # nothing changed: every code kept
    same = change_order(ds, new, new)
    assert same.summary["grids_kept"] == 2 and same.summary["households_moved"] == 0
    assert same.handed_over() == []


@pytest.fixture(scope="module")
def drift() -> tuple[Dataset, Plan, Plan]:
    raw = make_district()
    before = validate_layers(raw, source="sample")
    old = partition_dataset(before, on=DAY1)
    after = validate_layers(drifted(raw), source="sample-2025")
    new = rebalance(after, old.grids, assignment=old.assignment, codes=old.codes, on=DAY2).plan
    return after, old, new


def test_sample_drift_matches_an_independent_count(drift: tuple[Dataset, Plan, Plan]) -> None:
    ds, old, new = drift
    order = change_order(ds, old, new)
    moved, per = count_by_code(ds, old, new)
    assert order.summary["households_moved"] == moved > 0
    for g in order.grids:
        assert (
            g["households_before"],
            g["households_after"],
            g["households_in"],
            g["households_out"],
        ) == per.get(g["code"], (0, 0, 0, 0)), g["code"]
    assert order.summary["grids_new"] + order.summary["grids_retired"] > 0
    assert order.effective_date == "2025-07-01"


@pytest.mark.needs_client("libreoffice", "poppler")
def test_workbook_and_pdf_are_the_handover_sheets(
    drift: tuple[Dataset, Plan, Plan], tmp_path: Path
) -> None:
    ds, old, new = drift
    old = old.__class__(**{**old.__dict__, "grids": old.grids.assign(grid_worker="张三")})
    order = change_order(ds, old, new, labels=("2024.gpkg", "2025.gpkg")).to_dict()
    handed = [g for g in order["grids"] if g["status"] != "kept"]
    xlsx = tmp_path / "changes.xlsx"
    xlsx.write_bytes(changes_workbook(order))
    sheets = soffice_csv(xlsx, tmp_path)
    assert len(sheets) == 1 + len(handed)
    summary = sheets["汇总"]
    assert summary[0][:2] == ["生效日期", "2025-07-01"]
    assert ["变更户数（楼栋网格编码改变）", str(order["summary"]["households_moved"])] == summary[
        7
    ][:2]
    g = handed[0]
    sheet = sheets[f"交接-{g['code']}"]
    assert sheet[0][0] == "网格调整交接单" and sheet[1][1] == g["code"]
    # workers are restricted: withheld unless asked for
    assert sheet[4][1] == WITHHELD and sheet[4][3] == "未登记"
    moved_rows = [r for r in sheet if r and r[0] in {b["building_id"] for b in g["buildings_out"]}]
    assert len(moved_rows) == len(g["buildings_out"])
    pdf = tmp_path / "changes.pdf"
    pdf.write_bytes(handover_pdf(order))
    text = pdf_text(pdf)
    assert text.count("网格调整交接单") >= len(handed)
    assert all(g["code"] in text for g in handed)
    assert "移交人（签字）" in text and "2025-07-01" in text
    png = pdf_page_png(pdf, 1, tmp_path / "page1.png")
    assert png.stat().st_size > 10_000


@pytest.mark.needs_client("poppler")
def test_cli_changes_json_xlsx_pdf(
    drift: tuple[Dataset, Plan, Plan], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds, old, new = drift
    data = tmp_path / "data.gpkg"
    write_dataset(ds, data)
    write_plan(old, tmp_path / "old.gpkg")
    write_plan(new, tmp_path / "new.gpkg")
    args = ["changes", str(data), "--old", str(tmp_path / "old.gpkg")]
    args += ["--new", str(tmp_path / "new.gpkg")]
    assert main([*args, "--out", str(tmp_path / "c.json")]) == 0
    doc = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert doc["summary"] == change_order(ds, old, new).summary
    assert doc["effective_date"] == "2025-07-01" and doc["old"] == "old.gpkg"
    assert main([*args, "--out", str(tmp_path / "c.xlsx"), "--effective", "2025-08-01"]) == 0
    assert main([*args, "--out", str(tmp_path / "c.pdf")]) == 0
    assert "网格调整交接单" in pdf_text(tmp_path / "c.pdf", last=1)
    # an existing grid layer (codes, no assignment) compares too: buildings go by footprint
    layer = tmp_path / "old.geojson"
    old.grids[["grid_id", "community_id", "geometry"]].to_file(layer, driver="GeoJSON")
    by_layer = ["changes", str(data), "--old", str(layer), "--new", str(tmp_path / "new.gpkg")]
    assert main([*by_layer, "--out", str(tmp_path / "l.json")]) == 0
    doc = json.loads((tmp_path / "l.json").read_text(encoding="utf-8"))
    assert doc["summary"]["grids_kept"] + doc["summary"]["grids_changed"] > 0
    # a code on two polygons is one grid, and the command says so (never silently)
    twice = old.grids[["grid_id", "community_id", "geometry"]].copy()
    twice.loc[1, "grid_id"] = twice.loc[0, "grid_id"]
    twice.to_file(tmp_path / "twice.geojson", driver="GeoJSON")
    dup = ["changes", str(data), "--old", str(tmp_path / "twice.geojson")]
    assert main([*dup, "--new", str(tmp_path / "new.gpkg"), "--out", str(tmp_path / "t.json")]) == 0
    said = capsys.readouterr().err
    assert f"twice.geojson: code {twice.loc[0, 'grid_id']} is on more than one polygon" in said
    assert main([*args, "--out", str(tmp_path / "c.csv")]) == 2
    assert main([*args, "--out", str(tmp_path / "d.json"), "--effective", "1.8.2025"]) == 2
    assert not (tmp_path / "d.json").exists()
