"""Compound sheets, atlas, overview map and offline assets (hand-made data; one sample run)."""

from __future__ import annotations

import re
import subprocess
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from handmade import frame, local_box
from PIL import Image

from gridgen.dataset import Dataset
from gridgen.errors import NotFoundError, ParameterError
from gridgen.validate.layers import validate_layers
from maps import assets
from maps.errors import MissingAssetError
from maps.labels import boxes_overlap, place_labels
from maps.sheet.data import NO_BUILDINGS, NO_STATION, building_rows, compound_sheet_data

PHONE = "13912345678"
needs_poppler = pytest.mark.needs_client("poppler")


def _dense_layers() -> dict[str, gpd.GeoDataFrame]:
    """Hand-made layers plus K4 (54 buildings 6 m apart) and K5 (no buildings)."""
    from handmade import raw_layers

    raw = raw_layers()
    extra = frame(
        [
            {"compound_id": "K4", "name": "密集花园", "property_mode": "subsidy",
             "property_company_id": "P1", "party_branch": True,
             "geometry": local_box(420, 620, 590, 890)},
            {"compound_id": "K5", "name": "空置小区", "property_mode": "none",
             "property_company_id": None, "party_branch": False,
             "geometry": local_box(100, 600, 300, 800)},
        ]
    )  # fmt: skip
    raw["compounds"] = pd.concat([raw["compounds"], extra], ignore_index=True)
    rows = []
    for i in range(6):
        for j in range(9):
            n = len(rows) + 1
            x, y = 430 + i * 26, 630 + j * 28
            rows.append(
                {"building_id": f"D{n:02d}", "compound_id": "K4", "households": 24 + n,
                 "residents": 70 + n, "floors": 6, "leader_name": "王建国" if n % 3 else None,
                 "leader_phone": PHONE, "key_persons": n % 2, "party_members": 3,
                 "geometry": local_box(x, y, x + 20, y + 14)}
            )  # fmt: skip
    raw["buildings"] = pd.concat([raw["buildings"], frame(rows)], ignore_index=True)
    raw["buildings"]["leader_phone"] = PHONE
    return raw


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return validate_layers(_dense_layers())


@pytest.fixture(scope="module")
def ds_no_stations() -> Dataset:
    raw = _dense_layers()
    raw["stations"] = raw["stations"].iloc[0:0]
    return validate_layers(raw)


@dataclass(frozen=True)
class HandPlan:
    grids: gpd.GeoDataFrame
    assignment: pd.DataFrame


@pytest.fixture(scope="module")
def plan(ds: Dataset) -> HandPlan:
    grids = frame(
        [
            {"grid_id": "C1001", "community_id": "C1", "households": 70, "party_org": True,
             "workers": 2, "geometry": local_box(0, 0, 1000, 500)},
            {"grid_id": "C1002", "community_id": "C1", "households": 3000, "party_org": False,
             "workers": 1, "geometry": local_box(0, 500, 1000, 1000)},
        ]
    )  # fmt: skip
    b = ds.buildings
    in_c1 = b["community_id"].astype(str) == "C1"
    north = b.to_crs("EPSG:32650").geometry.centroid.y > 4_417_500
    gid = np.where(north, "C1002", "C1001")
    assignment = pd.DataFrame({"building_id": b.loc[in_c1, "building_id"], "grid_id": gid[in_c1]})
    return HandPlan(grids, assignment)


def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout


def _pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return dict(
        (k.strip(), v.strip()) for k, v in (ln.split(":", 1) for ln in out.stdout.splitlines())
    )


# ---------------------------------------------------------------- sheet data


def test_sheet_data_numbers_titles_and_restriction(ds: Dataset, plan: HandPlan) -> None:
    open_ = compound_sheet_data(ds, "K1", plan=plan)
    assert open_.title.startswith("甲小区")
    assert "东街道" in open_.subtitle and "一社区" in open_.subtitle
    assert open_.grid_ids == ("C1001",)
    assert [b.building_id for b in open_.buildings] == ["B2", "B1"]  # north first
    assert [b.number for b in open_.buildings] == [1, 2]
    assert open_.households == 70
    assert all(b.leader_phone is None and b.key_persons is None for b in open_.buildings)
    assert open_.three_teams is None
    assert open_.property_company == "安居物业" and open_.company_party_org is True
    assert open_.station is not None and open_.station.station_id == "T3"

    full = compound_sheet_data(ds, "K1", plan=plan, restricted=True)
    assert {b.leader_phone for b in full.buildings} == {PHONE}
    assert full.three_teams is not None
    assert full.three_teams.grid_workers == 2
    assert full.three_teams.building_leaders == 2
    assert full.three_teams.party_members == 4
    assert ("重点人员", "2") in full.summary


def test_a_compound_split_across_grids_shows_each_buildings_grid(
    ds: Dataset, plan: HandPlan
) -> None:
    a = plan.assignment.copy()
    a.loc[a["building_id"] == "B2", "grid_id"] = "C1002"
    data = compound_sheet_data(ds, "K1", plan=HandPlan(plan.grids, a))
    assert data.grid_ids == ("C1001", "C1002") and "C1001、C1002" in data.subtitle
    rows = building_rows(data)
    assert rows[0][-1] == "网格" and [r[-1] for r in rows[1:]] == ["002", "001"]  # B2, B1
    hh = {b.building_id: b.households for b in data.buildings}
    note = f"本小区分属 2 个网格：C1001（2 号楼，{hh['B1']} 户）；C1002（1 号楼，{hh['B2']} 户）"
    assert note in data.notes
    # in one grid: no column, no note
    whole = compound_sheet_data(ds, "K1", plan=plan)
    assert "网格" not in building_rows(whole)[0]
    assert not any("分属" in n for n in whole.notes)


def test_sheet_data_errors(ds: Dataset) -> None:
    with pytest.raises(NotFoundError, match="KX"):
        compound_sheet_data(ds, "KX")
    with pytest.raises(ParameterError, match="radius"):
        compound_sheet_data(ds, "K1", radius=0)


def test_coverage_marks_uncovered_buildings(ds: Dataset) -> None:
    cov = pd.DataFrame(
        {"building_id": ["B1", "B2"], "station_id": ["T1", "T1"], "covered": [True, False]}
    )
    data = compound_sheet_data(ds, "K1", coverage=cov, radius=300)
    assert {b.building_id: b.covered for b in data.buildings} == {"B1": True, "B2": False}
    assert data.station is not None and data.station.station_id == "T1"
    assert ("站点覆盖户数", "30/70（43%）") in data.summary


# ---------------------------------------------------------------- renderers


def test_png_has_paper_size(ds: Dataset, tmp_path: Path) -> None:
    from maps.sheet.render import render_sheet_png

    data = compound_sheet_data(ds, "K1")
    a4 = render_sheet_png(data, tmp_path / "a4.png", dpi=100)
    a3 = render_sheet_png(data, tmp_path / "a3.png", paper="A3", orientation="landscape", dpi=50)
    with Image.open(a4) as im:
        assert im.size == pytest.approx((210 / 25.4 * 100, 297 / 25.4 * 100), abs=1)
    with Image.open(a3) as im:
        assert im.size == pytest.approx((420 / 25.4 * 50, 297 / 25.4 * 50), abs=1)
    with pytest.raises(ParameterError, match="paper"):
        render_sheet_png(data, tmp_path / "x.png", paper="A5")  # type: ignore[arg-type]


@needs_poppler
def test_pdf_page_box_and_text(ds: Dataset, plan: HandPlan, tmp_path: Path) -> None:
    from maps.sheet.render import render_sheet_pdf

    data = compound_sheet_data(ds, "K1", plan=plan)
    pdf = render_sheet_pdf(data, tmp_path / "k1.pdf")
    info = _pdf_info(pdf)
    w, h = (float(v) for v in re.findall(r"[\d.]+", info["Page size"])[:2])
    assert (w, h) == pytest.approx((595.28, 841.89), abs=0.5)
    text = _pdf_text(pdf)
    assert "甲小区" in text
    assert "1号楼" in text and "2号楼" in text  # building labels on the map
    assert "B1" in text and "B2" in text  # building table
    assert "C1001" in text  # grid
    a3 = render_sheet_pdf(
        compound_sheet_data(ds, "K5"), tmp_path / "k5.pdf", paper="A3", orientation="landscape"
    )
    w, h = (float(v) for v in re.findall(r"[\d.]+", _pdf_info(a3)["Page size"])[:2])
    assert (w, h) == pytest.approx((1190.55, 841.89), abs=0.5)  # 420 x 297 mm


@needs_poppler
def test_restricted_data_only_for_restricted_sheets(ds: Dataset, tmp_path: Path) -> None:
    from maps.sheet.html import sheet_html
    from maps.sheet.render import render_sheet_pdf, sheet_figure

    for restricted in (False, True):
        data = compound_sheet_data(ds, "K4", restricted=restricted)
        pdf_text = _pdf_text(render_sheet_pdf(data, tmp_path / f"{restricted}.pdf"))
        fig = sheet_figure(data, dpi=50)
        png_text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
        page = sheet_html(data, mode="served")
        for text in (pdf_text, png_text, page):
            assert (PHONE in text) is restricted
            assert ("重点人员" in text) is restricted
            assert ("三支队伍" in text) is restricted


@needs_poppler
def test_sheet_without_buildings_or_station_says_so(
    ds: Dataset, ds_no_stations: Dataset, tmp_path: Path
) -> None:
    from maps.sheet.html import sheet_html
    from maps.sheet.render import render_sheet_pdf

    empty = compound_sheet_data(ds, "K5")
    assert empty.buildings == ()
    assert any(NO_BUILDINGS in n for n in empty.notes)
    assert NO_BUILDINGS in _pdf_text(render_sheet_pdf(empty, tmp_path / "k5.pdf"))
    assert NO_BUILDINGS in sheet_html(empty)

    lonely = compound_sheet_data(ds_no_stations, "K1")
    assert lonely.station is None
    assert NO_STATION in _pdf_text(render_sheet_pdf(lonely, tmp_path / "k1.pdf"))
    assert NO_STATION in sheet_html(lonely)


@pytest.mark.parametrize(("paper", "orientation"), [("A4", "portrait"), ("A4", "landscape")])
def test_labels_do_not_overlap_on_dense_compound(ds: Dataset, paper: str, orientation: str) -> None:
    from maps.sheet.labels import LABEL_GID
    from maps.sheet.render import sheet_figure

    data = compound_sheet_data(ds, "K4")
    fig = sheet_figure(data, paper=paper, orientation=orientation, dpi=100)  # type: ignore[arg-type]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    labels = fig.findobj(lambda a: getattr(a, "get_gid", lambda: None)() == LABEL_GID)
    assert len(labels) == len(data.buildings) == 54
    boxes = np.array([t.get_window_extent(renderer).extents for t in labels])
    assert boxes_overlap(boxes) == []
    numbers = sorted(int(re.match(r"\d+", t.get_text()).group()) for t in labels)  # type: ignore[union-attr]
    assert numbers == list(range(1, 55))


def test_place_labels_moves_colliding_label_with_leader() -> None:
    anchors = np.array([[50.0, 50.0], [50.0, 50.0], [52.0, 51.0]])
    sizes = np.array([[20.0, 10.0]] * 3)
    placed = place_labels(anchors, sizes, frame=(0, 0, 200, 200))
    assert all(p is not None for p in placed)
    assert placed[0] is not None and not placed[0].leader
    assert placed[1] is not None and placed[1].leader
    assert boxes_overlap(np.array([p.box for p in placed if p is not None])) == []
    # No room at all: the label is reported unplaced, not stacked.
    tight = place_labels(anchors[:2], sizes[:2], frame=(38, 43, 62, 57))
    assert tight[0] is not None and tight[1] is None


# ---------------------------------------------------------------- atlas


@needs_poppler
def test_atlas_has_one_page_per_compound(ds: Dataset, tmp_path: Path) -> None:
    from maps.atlas import write_atlas

    calls: list[tuple[int, int]] = []
    c1 = set(ds.compounds.loc[ds.compounds["community_id"] == "C1", "compound_id"])
    assert c1 == {"K1", "K3", "K4", "K5"}
    pdf = write_atlas(
        ds, community_id="C1", out=tmp_path / "c1.pdf", progress=lambda d, t: calls.append((d, t))
    )
    assert int(_pdf_info(pdf)["Pages"]) == len(c1)
    assert calls[-1] == (4, 4)
    text = _pdf_text(pdf)
    assert all(name in text for name in ("甲小区", "丙小区", "密集花园", "空置小区"))
    zipped = write_atlas(ds, street_id="S1", out=tmp_path / "s1.zip", dpi=40)
    with zipfile.ZipFile(zipped) as zf:
        assert sorted(zf.namelist()) == [f"K{i}.png" for i in range(1, 6)]
    with pytest.raises(NotFoundError, match="C9"):
        write_atlas(ds, community_id="C9", out=tmp_path / "x.pdf")


# ---------------------------------------------------------------- offline HTML


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(a["src"] or "")
        elif tag == "script":
            self.inline_scripts += 1
        if tag == "link" and a.get("href"):
            self.urls.append(a["href"] or "")
        if tag in ("img", "iframe") and a.get("src"):
            self.urls.append(a["src"] or "")


def _external(urls: list[str]) -> list[str]:
    local = re.compile(r"^https?://(localhost|127\.0\.0\.1)(:\d+)?/")
    return [u for u in urls if re.match(r"^(https?:)?//", u) and not local.match(u)]


def test_pages_have_no_cdn_links(ds: Dataset, plan: HandPlan) -> None:
    from maps.overview import overview_html
    from maps.sheet.html import sheet_html

    cov = pd.DataFrame({"building_id": ["B1"], "covered": [False], "distance_m": [900.0]})
    pages = {
        "overview-inline": overview_html(ds, plan=plan, coverage=cov, mode="inline"),
        "overview-served": overview_html(ds, plan=plan, coverage=cov),
        "sheet-inline": sheet_html(compound_sheet_data(ds, "K4", plan=plan), mode="inline"),
        "sheet-served": sheet_html(compound_sheet_data(ds, "K4"), mode="served"),
    }
    for name, page in pages.items():
        parser = _Links()
        parser.feed(page)
        assert _external(parser.urls) == [], name
        assert "cdn" not in " ".join(parser.urls), name
        if name.endswith("inline"):
            assert parser.urls == [], name  # everything inlined
            assert "L.map(" in page and "leaflet-container" in page
        else:
            assert "/static/vendor/leaflet/leaflet.js" in parser.urls, name
    assert "密集花园" in pages["sheet-inline"]
    assert "未覆盖楼栋" in pages["overview-inline"] and "网格户数偏差" in pages["overview-inline"]


def test_cdn_plugin_is_refused(ds: Dataset) -> None:
    import folium
    from folium.plugins import MarkerCluster

    from maps.overview import overview_map

    m = overview_map(ds)
    MarkerCluster().add_to(m)
    with pytest.raises(MissingAssetError, match="MarkerCluster"):
        assets.render_offline_html(m)
    assert isinstance(m, folium.Map)


def test_missing_assets_say_how_to_install(
    ds: Dataset, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from maps.overview import write_overview

    monkeypatch.setattr(assets, "leaflet_dir", lambda: tmp_path / "nothing")
    assets._inline_leaflet.cache_clear()
    with pytest.raises(MissingAssetError, match=r"python -m maps\.assets"):
        write_overview(ds, tmp_path / "o.html")
    assets._inline_leaflet.cache_clear()


# ---------------------------------------------------------------- command line


def test_cli_sheet_and_atlas(ds: Dataset, tmp_path: Path) -> None:
    from gridgen.io.write import write_dataset
    from gridgen_cli.main import main

    data = tmp_path / "hand.gpkg"
    write_dataset(ds, data)
    png = tmp_path / "k1.png"
    assert main(["sheet", str(data), "--compound", "K1", "--out", str(png), "--dpi", "40"]) == 0
    with Image.open(png) as im:
        assert im.size == pytest.approx((210 / 25.4 * 40, 297 / 25.4 * 40), abs=1)
    html = tmp_path / "k1.html"
    assert (
        main(["sheet", str(data), "--compound", "K1", "--out", str(html), "--coverage", "line"])
        == 0
    )
    assert "甲小区" in html.read_text(encoding="utf-8")
    assert main(["sheet", str(data), "--compound", "K1", "--out", str(tmp_path / "k.svg")]) == 2
    assert main(["sheet", str(data), "--compound", "NOPE", "--out", str(png)]) == 2
    no_roads = tmp_path / "no_roads.gpkg"
    write_dataset(Dataset({**ds.layers, "roads": ds.roads.iloc[0:0]}, ds.metric_crs), no_roads)
    pdf = tmp_path / "k1.pdf"
    assert main(["sheet", str(no_roads), "--compound", "K1", "--out", str(pdf)]) == 0
    zipped = tmp_path / "c2.zip"
    assert main(["atlas", str(data), "--community", "C2", "--out", str(zipped), "--dpi", "30"]) == 0
    with zipfile.ZipFile(zipped) as zf:
        assert zf.namelist() == ["K2.png"]


# ---------------------------------------------------------------- sample district (end to end)


def test_labels_do_not_overlap_on_densest_sample_compound(sample: Dataset) -> None:
    from maps.sheet.labels import LABEL_GID
    from maps.sheet.render import sheet_figure

    sizes = sample.buildings.groupby("compound_id").size()
    densest = str(sizes.idxmax())
    data = compound_sheet_data(sample, densest, restricted=True)
    fig = sheet_figure(data, dpi=150)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    labels = fig.findobj(lambda a: getattr(a, "get_gid", lambda: None)() == LABEL_GID)
    assert len(labels) == int(sizes.max())
    boxes = np.array([t.get_window_extent(renderer).extents for t in labels])
    assert boxes_overlap(boxes) == []
    # Every label stays inside the map frame.
    ax = fig.axes[0].get_window_extent(renderer)
    assert (boxes[:, 0] >= ax.x0).all() and (boxes[:, 2] <= ax.x1).all()
    assert (boxes[:, 1] >= ax.y0).all() and (boxes[:, 3] <= ax.y1).all()


@pytest.mark.slow
@needs_poppler
def test_map_outputs_for_the_demo(sample: Dataset, tmp_path: Path) -> None:
    from gridgen.coverage.stations import station_coverage
    from maps.outputs import write_map_outputs

    cov = station_coverage(sample, radius=300, mode="walk")
    done: list[int] = []
    written = write_map_outputs(
        sample, tmp_path, coverage=cov, radius=300, progress=lambda d, t: done.append(t)
    )
    sheets = [k for k in written if k.startswith("sheet:")]
    assert len(sheets) == 9 and all(written[k].stat().st_size > 5_000 for k in sheets)
    community = written["atlas"].stem.removeprefix("atlas_")
    n = int((sample.compounds["community_id"].astype(str) == community).sum())
    assert int(_pdf_info(written["atlas"])["Pages"]) == n == done[-1]
    page = written["overview"].read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    assert parser.urls == []
    uncovered = int((~cov["covered"]).sum())
    assert uncovered > 0
    assert page.count('"building_id"') >= uncovered  # one dot per uncovered building


def test_ensure_assets_unpacks_npm_tarball(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A stand-in for `npm pack` (no network in tests): it writes the tarball npm would.
    fake = tmp_path / "npm"
    fake.write_text(
        "#!/bin/sh\nmkdir -p package/dist/images && echo 'var L={};' > package/dist/leaflet.js\n"
        "echo '.leaflet-container{}' > package/dist/leaflet.css && echo png > "
        "package/dist/images/layers.png && echo '{}' > package/package.json\n"
        "tar czf leaflet-1.9.4.tgz package && rm -r package\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    target = tmp_path / "static" / "vendor" / "leaflet"
    monkeypatch.setattr(assets, "leaflet_dir", lambda: target)
    assert not assets.assets_present()
    assert assets.ensure_assets(npm=str(fake)) == target
    assert sorted(p.name for p in target.iterdir()) == ["images", "leaflet.css", "leaflet.js"]
    assert assets.assets_present()
    # A failing npm with no Debian copy is a clear error.
    monkeypatch.setattr(assets, "DEBIAN_LEAFLET", tmp_path / "none")
    with pytest.raises(MissingAssetError, match="npm"):
        assets.ensure_assets(force=True, npm=str(tmp_path / "no-such-npm"))
    assets._inline_leaflet.cache_clear()


def test_vendored_package_keeps_only_its_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from maps import npm
    from maps.swagger import SWAGGER_UI

    # swagger-ui-dist ships its files at the top of the package, not in dist/
    fake = tmp_path / "npm"
    fake.write_text(
        "#!/bin/sh\nmkdir -p package/dist && for f in swagger-ui-bundle.js swagger-ui.css "
        "favicon-32x32.png LICENSE index.html; do echo x > package/$f; done\n"
        "echo y > package/dist/other.js && tar czf swagger-ui-dist-5.35.0.tgz package && "
        "rm -r package\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    monkeypatch.setattr(npm, "static_dir", lambda: tmp_path / "static")
    assert not SWAGGER_UI.present()
    target = SWAGGER_UI.ensure(npm=str(fake))
    assert target == tmp_path / "static" / "vendor" / "swagger-ui"
    assert sorted(p.name for p in target.iterdir()) == sorted(SWAGGER_UI.files)
    assert SWAGGER_UI.present()
    with pytest.raises(MissingAssetError, match="npm"):
        SWAGGER_UI.ensure(force=True, npm=str(tmp_path / "no-such-npm"))
    assert SWAGGER_UI.present()  # a failed reinstall leaves the installed copy in place
