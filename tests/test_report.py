"""``gridgen report``: Excel opened by LibreOffice, the A4 page printed by Chromium, JSON."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from coverage_helpers import SmallPlan, small_dataset
from records_helpers import soffice_csv
from test_figures import report_layers, sample_snapshots

from gridgen.coverage.figure_changes import report_figures
from gridgen.io.report_xlsx import workbook_bytes
from gridgen.io.write import write_dataset
from gridgen.sample.district import sample_path
from gridgen_cli.main import main
from maps.report_html import report_html

CHROMIUM = Path("/usr/bin/chromium")


def hand_figures():  # type: ignore[no-untyped-def]
    ds = small_dataset(report_layers())
    return report_figures(ds, plan=SmallPlan(), radius=800, mode="walk")[0]


@pytest.mark.needs_client("libreoffice")
def test_excel_opens_in_libreoffice_with_the_values(tmp_path: Path) -> None:
    xlsx = tmp_path / "report.xlsx"
    xlsx.write_bytes(workbook_bytes(hand_figures()))
    sheets = soffice_csv(xlsx, tmp_path)
    assert set(sheets) == {"区汇总", "街道", "社区", "说明"}
    summary = {row[1]: row for row in sheets["区汇总"][1:]}
    assert sheets["区汇总"][0] == ["分类", "指标", "数值", "分子", "分母", "占比"]
    assert summary["户数"][2] == "430"
    assert summary["建立党组织的物业企业"][2:] == ["1", "1", "2", "50.0%"]
    assert summary["站点服务半径覆盖户数"][5] == "88.4%"  # 380 / 430
    assert summary["每名网格员服务户数"][2:5] == ["215.00", "430", "2"]
    comm = sheets["社区"]
    header = comm[0]
    c1 = dict(zip(header, next(r for r in comm if r[0] == "C1"), strict=True))
    assert c1["社区名称"] == "一社区" and c1["所属街道"] == "ST1"
    assert c1["户数"] == "230" and c1["平均每网格户数"] == "115.00"
    assert c1["配备楼栋长的楼栋占比"] == "66.7%"
    c2 = dict(zip(header, next(r for r in comm if r[0] == "C2"), strict=True))
    assert c2["建立党组织的物业企业占比"] == ""  # no companies: no share
    streets = {r[0]: r for r in sheets["街道"][1:]}
    assert set(streets) == {"ST1", "ST2"}


def test_excel_layout() -> None:
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(workbook_bytes(hand_figures())))
    assert wb.sheetnames == ["区汇总", "街道", "社区", "说明"]
    for ws in wb.worksheets:
        assert ws.freeze_panes in ("A2", "C2")
        assert ws.auto_filter.ref == ws.dimensions
    ws = wb["社区"]
    header = [c.value for c in ws[1]]
    share_col = header.index("建立党组织的网格占比") + 1
    assert ws.cell(2, share_col).number_format == "0.0%"
    for j, name in enumerate(header, start=1):
        width = ws.column_dimensions[ws.cell(1, j).column_letter].width
        assert width >= 2 * len(name), name  # CJK characters are two columns wide


def test_report_command_json_with_before(tmp_path: Path) -> None:
    _before, after, _ids = sample_snapshots()
    after_path = write_dataset(after, tmp_path / "after.gpkg")
    out = tmp_path / "report.json"
    before = sample_path() / "district.gpkg"
    code = main(
        ["report", str(after_path), "--before", str(before), "--mode", "line", "--out", str(out)]
    )
    assert code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    need = (
        "households",
        "grids",
        "households_per_grid",
        "grids_with_party_org",
        "micro_stations",
        "stations_per_grid",
        "compounds",
        "compounds_with_property",
        "no_property_compounds",
        "property_companies",
        "companies_with_party_org",
        "grid_workers",
        "households_per_worker",
        "covered_households",
    )
    assert all(name in doc["district"] for name in need)
    assert len(doc["streets"]) == 3 and len(doc["communities"]) == 10
    assert doc["changes"]["district"]["no_property_compounds_eliminated"]["count"] == 5
    assert doc["changes"]["district"]["compounds_with_property"]["difference"] == 5
    assert "leader_phone" not in out.read_text(encoding="utf-8")


def test_report_command_bad_suffix_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.docx"
    assert main(["report", str(sample_path() / "district.gpkg"), "--out", str(out)]) == 2
    assert ".xlsx, .html or .json" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.browser
@pytest.mark.needs_client("chromium")
def test_html_prints_on_one_a4_page_offline(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ds = small_dataset(report_layers())
    figures, _ = report_figures(ds, plan=SmallPlan(), radius=800, mode="walk")
    page_html = report_html(figures)
    assert "<script" not in page_html and "http" not in page_html.split("</style>")[1]
    path = tmp_path / "report.html"
    path.write_text(page_html, encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 794, "height": 1123})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.naturalWidth, e.complete])"
        )
        text = page.inner_text("body")
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        browser.close()
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert len(images) == 3 and all(w > 0 and ok for w, ok in images)
    assert "430" in text and "88.4%" in text and "网格党组织覆盖率" in text
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
        pages = re.search(r"Pages:\s+(\d+)", info.stdout)
        assert pages is not None and pages.group(1) == "1", info.stdout


@pytest.mark.needs_client("libreoffice")
def test_excel_with_changes_in_libreoffice(tmp_path: Path) -> None:
    before = small_dataset(report_layers())
    layers = report_layers()
    layers["compounds"].loc[layers["compounds"]["compound_id"] == "K2", "property_mode"] = "subsidy"
    after = small_dataset(layers)
    figures, changes = report_figures(after, plan=SmallPlan(), before=before, radius=800)
    xlsx = tmp_path / "changes.xlsx"
    xlsx.write_bytes(workbook_bytes(figures, changes=changes))
    sheets = soffice_csv(xlsx, tmp_path)
    assert set(sheets) == {"区汇总", "街道", "社区", "变化", "说明"}
    summary = {row[1]: row for row in sheets["区汇总"][1:]}
    assert summary["有物业服务的小区"][6:] == ["2", "3", "1", "66.7%", "100.0%", "33.3%"]
    assert summary["已消除的无物业小区"][2:6] == ["1", "1", "1", "100.0%"]
    rows = {(r[0], r[1], r[3]): r for r in sheets["变化"][1:]}
    c2 = rows[("社区", "C2", "无物业小区")]
    assert c2[4:] == ["1", "0", "-1", "100.0%", "0.0%", "-100.0%"]
    assert rows[("社区", "C1", "已消除的无物业小区")][5:7] == ["0", "0"]
    assert rows[("街道", "ST2", "已消除的无物业小区")][5] == "1"
