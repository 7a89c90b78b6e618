"""gridgen.ingest piece by piece: addresses, columns, road classes, spreadsheets and their limits,
the ledger reader, the spatial sources (DBF encodings, CGCS2000 zones, .osm.pbf)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from gridgen.errors import (
    LedgerError,
    ParameterError,
    SchemaError,
    TooManyRowsError,
    UnknownCRSError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from gridgen.ingest.addresses import (
    building_key,
    chinese_number,
    compound_key,
    parse_address,
    room_key,
)
from gridgen.ingest.columns import find_columns, parse_map
from gridgen.ingest.ledger import ledger_from_rows
from gridgen.ingest.roads import mapped_roads, parse_road_classes
from gridgen.ingest.sources import read_source
from gridgen.io.crs import gcj02_to_wgs84
from gridgen.io.spreadsheet import TableLimits, check_xlsx, table_rows
from gridgen.sample.raw import cn_number, full_width, spelled

# -- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell", ["3号楼", "3栋", "3幢", "三号楼", "３号楼", "3#楼", "3#", " 3 号楼 ", "第3栋", "叁号楼"]
)
def test_every_spelling_of_building_3_gives_3(cell: str) -> None:
    assert building_key(cell) == "3"


def test_letters_dashes_and_names() -> None:
    assert building_key("A座") == "A"
    assert building_key("3-1幢") == "3-1"
    assert building_key("综合楼") == "综合楼"
    assert building_key("十二栋") == "12"
    assert building_key(None) is None and building_key("  ") is None


@pytest.mark.parametrize(
    ("run", "value"),
    [("三", "3"), ("十", "10"), ("十二", "12"), ("二十", "20"), ("二十三", "23"),
     ("一百零五", "105"), ("一〇五", "105"), ("两", "2"), ("叁拾", "30")],
)  # fmt: skip
def test_chinese_numbers(run: str, value: str) -> None:
    assert chinese_number(run) == value


@given(st.integers(min_value=1, max_value=99), st.integers(min_value=0, max_value=7))
def test_the_generators_spellings_all_normalise(n: int, choice: int) -> None:
    assert building_key(spelled(n, choice)) == str(n)
    assert building_key(f"{cn_number(n)}号楼") == str(n)
    assert building_key(full_width(f"{n}号楼")) == str(n)


def test_compound_names_with_and_without_xiaoqu_meet() -> None:
    assert compound_key("锦绣花园小区") == compound_key("锦绣花园") == "锦绣花园"
    assert compound_key("（锦绣）花园 ") == "锦绣花园"
    assert compound_key("小区") == "小区"  # nothing left to strip
    assert compound_key(None) is None


def test_rooms() -> None:
    assert room_key("2", "501") == room_key("2单元", "501室") == room_key(None, "2-501") == "2-501"
    assert room_key("二单元", "五〇一") == "2-501"
    assert room_key(None, None) is None


def test_standard_address_is_split() -> None:
    a = parse_address("山西省太原市杏花岭区巨轮街道东一社区胜利街12号锦绣花园3号楼2单元501室")
    assert (a.doorplate, a.compound, a.building, a.unit, a.room) == (
        "胜利街12号", "锦绣花园", "3", "2", "501",
    )  # fmt: skip
    b = parse_address("太原市小店区坞城街道学府社区锦绣花园小区三号楼二单元五〇一室")
    assert (b.compound, b.building, b.unit, b.room) == ("锦绣花园小区", "3", "2", "501")
    c = parse_address("学府社区锦绣花园3-2-501")
    assert (c.compound, c.building, c.unit, c.room) == ("锦绣花园", "3", "2", "501")
    d = parse_address("东一社区胜利街15号1单元301室")  # a scattered building: door plate only
    assert (d.doorplate, d.compound, d.building) == ("胜利街15号", None, None)


# -- columns ------------------------------------------------------------------------------


def test_columns_found_by_chinese_and_english_names() -> None:
    cols = find_columns(["SQDM", "社区名称 ", "JDMC", "geometry"], "communities", source="c")
    assert cols == {"community_id": "SQDM", "name": "社区名称 ", "street_name": "JDMC"}
    led = find_columns(
        ["序号", "小区", "楼号", "单元号", "门牌号", "人数", "LNG", "LAT"], "ledger", source="l"
    )
    assert led["compound"] == "小区" and led["building"] == "楼号" and led["lon"] == "LNG"


def test_a_missing_column_names_the_candidates_and_the_fix() -> None:
    with pytest.raises(SchemaError) as err:
        find_columns(
            ["FID", "NAME"], "communities", source="communities c.shp", required=("community_id",)
        )
    text = str(err.value)
    assert "no column for communities community_id" in text and "社区代码" in text
    assert "the file has FID, NAME" in text and "--map communities.community_id=COLUMN" in text


def test_map_overrides_and_its_errors() -> None:
    mapping = parse_map(["buildings.building_id=BLDG_ID", "footprints.name=MC"])
    cols = find_columns(["id", "BLDG_ID", "MC", "名称"], "buildings", source="f", mapping=mapping)
    assert cols["building_id"] == "BLDG_ID" and cols["name"] == "MC"
    with pytest.raises(SchemaError, match="no such column; the file has id, MC"):
        find_columns(["id", "MC"], "buildings", source="f", mapping=mapping)
    for bad, needle in [("x", "LAYER.FIELD=COLUMN"), ("towns.name=A", "unknown layer"),
                        ("ledger.colour=A", "its fields are community, compound")]:  # fmt: skip
        with pytest.raises(ParameterError, match=needle):
            parse_map([bad])


# -- roads --------------------------------------------------------------------------------


def test_osm_classes_map_to_kinds_in_one_overridable_table() -> None:
    line = shapely.LineString([(0, 0), (1, 1)])
    classes = ["motorway", "primary", "secondary_link", "tertiary", "residential", "footway",
               "steps", "construction", "weird", None]  # fmt: skip
    frame = gpd.GeoDataFrame({"fclass": classes}, geometry=[line] * len(classes), crs=4326)
    roads = mapped_roads(frame, {"fclass": "fclass"})
    assert roads.frame["kind"].tolist() == [
        "main", "main", "main", "minor", "minor", "path", "path", "minor", "minor",
    ]  # fmt: skip
    assert roads.frame["walkable"].tolist() == [False, *([True] * 8)]
    assert roads.dropped == {"construction": 1} and roads.unknown == {"weird": 1}
    table = parse_road_classes(["tertiary=main", "footway=drop", "motorway=main,walkable"])
    again = mapped_roads(frame, {"fclass": "fclass"}, table=table)
    assert again.frame["kind"].tolist()[3] == "main" and again.dropped["footway"] == 1
    assert bool(again.frame["walkable"].iloc[0])
    with pytest.raises(ParameterError, match="KIND one of main, minor, path"):
        parse_road_classes(["tertiary=highway"])


# -- spreadsheets and their limits ----------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _bomb(rows: int, *, extra_cell: str | None = None) -> bytes:
    """Return a tiny .xlsx whose first sheet inflates to ``rows`` rows (written streaming)."""
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{ns}/package/2006/content-types"/>',
        "xl/workbook.xml": (
            f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/'
            '2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets>'
            "</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{ns}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            chunk = 10_000
            for start in range(1, rows + 1, chunk):
                # rows without r="" attributes: identical text, so 3M rows zip to ~1 MiB
                fh.write(b"<row><c><v>1</v></c></row>" * (min(rows, start + chunk - 1) - start + 1))
            if extra_cell:
                fh.write(f'<row r="2"><c r="{extra_cell}"><v>1</v></c></row>'.encode())
            fh.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def test_a_sheet_that_inflates_to_3_million_rows_is_refused_early_in_bounded_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gridgen.io import spreadsheet

    bomb = _bomb(3_000_000)
    assert len(bomb) < 1024 * 1024  # under 1 MiB that inflates to 80 MB
    read: list[int] = []
    chunks = spreadsheet._member_chunks

    def counted(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
        for chunk in chunks(archive, member):
            read.append(len(chunk))
            yield chunk

    monkeypatch.setattr(spreadsheet, "_member_chunks", counted)
    tracemalloc.start()
    with pytest.raises(TooManyRowsError, match="more than the limit of 500000 rows"):
        table_rows(bomb, "bomb.xlsx")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        sheet = max(info.file_size for info in archive.infolist())
    # refused once the 500,001st row is seen: a sixth of the sheet read (not the wall
    # clock, which a loaded machine stretches), and no row kept
    assert 0 < sum(read) < sheet / 4 and peak < 64 * 1024 * 1024, (sum(read), sheet, peak)


def test_a_stray_far_cell_and_the_inflated_size_are_limits_too() -> None:
    with pytest.raises(TooManyRowsError, match="spans 16384 columns"):
        check_xlsx(_bomb(3, extra_cell="XFD2"), "far.xlsx", TableLimits())
    with pytest.raises(TooManyRowsError, match="a used range to row 1048576"):
        check_xlsx(_bomb(3, extra_cell="A1048576"), "tall.xlsx", TableLimits())
    small = TableLimits(max_inflated_bytes=10_000)
    with pytest.raises(TooManyRowsError, match="more than the limit of 10000 bytes"):
        check_xlsx(_bomb(2000), "big.xlsx", small)


def test_workbooks_and_csv_in_chinese_encodings_read_as_text() -> None:
    rows = [
        ["小区名称", "楼栋", "房号", "人口数"],
        ["锦绣花园", "3号楼", 501, 3.0],
        ["锦绣花园", None, "0502", ""],
    ]
    assert table_rows(_xlsx(rows), "l.xlsx") == [
        ["小区名称", "楼栋", "房号", "人口数"], ["锦绣花园", "3号楼", "501", "3"],
        ["锦绣花园", None, "0502", None],
    ]  # fmt: skip
    text = "小区名称,楼栋,房号\n锦绣花园,3号楼,0501\n"
    for encoding in ("utf-8-sig", "gbk", "gb18030"):
        assert table_rows(text.encode(encoding), "l.csv")[1] == ["锦绣花园", "3号楼", "0501"]


@pytest.mark.parametrize(
    ("data", "name", "error", "needle"),
    [
        (
            b"\xff\xfe\x00\x01\x80\x81\xfe" * 50,
            "l.csv",
            UnreadableFileError,
            "neither UTF-8 nor GBK",
        ),
        (b"PK\x03\x04 not really", "l.xlsx", UnreadableFileError, "not a readable Excel workbook"),
        (b"", "l.csv", LedgerError, "is empty"),
        (b"a,b\n1,2\n", "l.txt", UnsupportedFormatError, "give an Excel workbook"),
    ],
)
def test_unreadable_tables_are_one_clear_error(
    data: bytes, name: str, error: type[Exception], needle: str
) -> None:
    with pytest.raises(error, match=needle):
        table_rows(data, name)


def test_csv_rows_past_the_limit() -> None:
    text = "楼栋,房号\n" + "3号楼,101\n" * 200
    with pytest.raises(TooManyRowsError, match="limit of 100 rows"):
        table_rows(text.encode("gbk"), "l.csv", limits=TableLimits(max_rows=100))


# -- the ledger reader ----------------------------------------------------------------------


def test_a_title_row_is_skipped_and_every_cell_normalised() -> None:
    rows = [
        ["东一社区房屋人口台账", None, None, None, None, None, None],
        ["序号", "小区名称", "楼栋", "单元", "房号", "人口数", "经度", "纬度"],
        ["1", "锦绣花园小区", "三号楼", "2单元", "501室", "3人", "112.56", "37.80"],
        ["2", "锦绣花园", "3#", "2", "501", "3人", "112.56", "37.80"],  # same row, other spelling
        ["3", None, None, None, None, None, None, None],
        ["4", "锦绣花园小区", "三号楼", "2单元", "501室", "3人", "112.56", "37.80"],  # exact copy
        ["5", "锦绣花园", "4栋", "1", "101", "two", "abc", "37.8"],
    ]
    ledger = ledger_from_rows(rows, "l.xlsx", crs="gcj02")
    f = ledger.frame
    assert ledger.header_row == 2 and ledger.rows == 5
    assert f["compound"].tolist()[:2] == ["锦绣花园", "锦绣花园"]
    assert f["building"].tolist()[:2] == ["3", "3"] and f["room"].iloc[0] == "2-501"
    assert f["duplicate_of"].iloc[3] == 1 and pd.isna(f["duplicate_of"].iloc[1])
    assert f["note"].iloc[2] == "blank row"
    lon, lat = gcj02_to_wgs84(112.56, 37.80)
    assert f["lon"].iloc[0] == pytest.approx(float(lon)) and f["lat"].iloc[0] == pytest.approx(
        float(lat)
    )
    assert "coordinates not numbers" in f["note"].iloc[4] and "residents 'two'" in f["note"].iloc[4]
    assert np.isnan(f["lon"].iloc[4]) and pd.isna(f["residents"].iloc[4])


def test_a_sheet_that_is_not_a_ledger_is_refused() -> None:
    rows = [["会议纪要"], ["今天讨论了网格调整"], ["下次会议周五"]]
    with pytest.raises(LedgerError, match="is not a table with a header row"):
        ledger_from_rows(rows, "notes.xlsx")
    with pytest.raises(LedgerError, match="no column for the address or the building"):
        ledger_from_rows([["人口数", "经度", "纬度"], ["3", "1", "2"]], "l.csv")
    with pytest.raises(LedgerError, match="header row but no data rows"):
        ledger_from_rows([["小区名称", "楼栋"]], "l.csv")


# -- spatial sources ------------------------------------------------------------------------


def _communities(tmp: Path, *, epsg: int, cpg: str | None, encoding: str = "GBK") -> Path:
    frame = gpd.GeoDataFrame(
        {"社区代码": ["140105001001", "140105001002"], "社区名称": ["东一社区", "锦绣社区"]},
        geometry=[
            shapely.box(112.55, 37.79, 112.56, 37.80),
            shapely.box(112.56, 37.79, 112.57, 37.80),
        ],
        crs=4326,
    ).to_crs(epsg)
    path = tmp / "communities.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    return path


@pytest.mark.parametrize("cpg", [None, "GBK", "UTF-8"])  # none, right, wrong
def test_gbk_text_is_read_with_or_without_a_cpg(tmp_path: Path, cpg: str | None) -> None:
    src = read_source(_communities(tmp_path, epsg=4526, cpg=cpg), "communities")
    assert src.frame["社区名称"].tolist() == ["东一社区", "锦绣社区"]
    assert src.encoding == "gb18030" and src.crs == "EPSG:4526"
    assert (cpg == "GBK") == (not src.notes)  # guessed or corrected: said in a note


def test_text_in_no_known_encoding_is_refused(tmp_path: Path) -> None:
    path = _communities(tmp_path, epsg=4526, cpg=None)
    dbf = bytearray(path.with_suffix(".dbf").read_bytes())
    at = dbf.index("东一".encode("gbk"))
    dbf[at : at + 2] = b"\xff\xff"
    path.with_suffix(".dbf").write_bytes(bytes(dbf))
    with pytest.raises(UnreadableFileError, match=r"neither UTF-8 nor GBK/GB18030.*\.cpg"):
        read_source(path, "communities")


def test_cgcs2000_zones_without_prj(tmp_path: Path) -> None:
    with_zone = _communities(tmp_path, epsg=4526, cpg="GBK")  # x = 38 500 000 ...
    with_zone.with_suffix(".prj").unlink()
    src = read_source(with_zone, "communities")
    assert src.crs == "EPSG:4526" and "zone number in x" in src.notes[0]
    assert src.frame.total_bounds == pytest.approx([112.55, 37.79, 112.57, 37.80], abs=1e-7)
    (tmp_path / "b").mkdir()
    no_zone = _communities(tmp_path / "b", epsg=4547, cpg="GBK")  # CM 114E, no zone number
    no_zone.with_suffix(".prj").unlink()
    with pytest.raises(UnknownCRSError, match="--crs communities=EPSG:4547"):
        read_source(no_zone, "communities")
    assert read_source(no_zone, "communities", crs="EPSG:4547").crs == "EPSG:4547"


def test_osm_pbf_footprints_and_roads() -> None:
    from gridgen.sample.osm import bundled_extract

    pbf = bundled_extract()
    footprints = read_source(pbf, "buildings")
    roads = read_source(pbf, "roads")
    assert len(footprints.frame) > 400 and footprints.frame["osm_id"].str.match(r"^[wr]\d+$").all()
    assert "rows without a readable geometry left out" in " ".join(footprints.notes)
    kinds = mapped_roads(roads.frame, {"fclass": "highway"}).frame["kind"].value_counts()
    assert kinds["main"] > 100 and kinds["path"] > 500
