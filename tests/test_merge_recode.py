"""多网合一 ``--recode``: every merged grid takes a new code of the city's scheme, in the
standard's order; the departments' codes are retired and the crosswalk maps them."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from cli_helpers import run_main
from partition_helpers import UTM49, at, block_community
from shapely.geometry import box

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError
from gridgen.partition.audit import audit_grids
from gridgen.partition.codes import CodeScheme, standard_order
from gridgen.partition.merge import MergeResult, merge_layers
from gridgen.partition.merge_codes import require_room
from gridgen.records.standard import standard_named, standard_section

BAND = (240, 360)
COMMUNITY = "110105001001"  # a 12-digit community code: DB11/T 2157 and CJ/T 349 apply
DAY = date(2025, 6, 1)
XS = (0, 130, 250, 370, 500)  # four columns over the 500 x 380 m community
YS = (0, 130, 250, 380)  # three rows


def layer(
    codes: list[str], geoms: list[shapely.Geometry], **columns: list[str]
) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"grid_id": codes, **columns}, geometry=[at(g) for g in geoms], crs=UTM49
    )
    return frame.to_crs(4326)


def columns(codes: list[str], **extra: list[str]) -> gpd.GeoDataFrame:
    return layer(codes, [box(XS[i], 0, XS[i + 1], 380) for i in range(4)], **extra)


def rows(prefix: str) -> gpd.GeoDataFrame:
    return layer(
        [f"{prefix}{j + 1}" for j in range(3)], [box(0, YS[j], 500, YS[j + 1]) for j in range(3)]
    )


@pytest.fixture(scope="module")
def block() -> Dataset:
    """3 rows x 4 columns of 100-household compounds in community 110105001001."""
    return block_community(np.full((3, 4), 100), community_id=COMMUNITY)


def code_problems(ds: Dataset, grids: gpd.GeoDataFrame, standard: str = "DB11/T2157") -> list:
    """Return the ``bad_codes`` items of ``gridgen audit --standard`` on ``grids``."""
    audit = audit_grids(ds, grids, band=BAND)
    section = standard_section(ds, grids, audit, standard=standard_named(standard))
    return list(section["checks"]["bad_codes"]["items"])


def grid_of(result: MergeResult) -> dict[str, str]:
    a = result.plan.assignment
    return dict(zip(a["building_id"].astype(str), a["grid_id"].astype(str), strict=True))


def check_crosswalk(result: MergeResult, inputs: int, households: int) -> None:
    """Every input grid's shares add up to 1, onto the plan's codes only."""
    cw = result.crosswalk
    sums = cw.groupby(["layer", "input_grid"])["share"].sum()
    assert len(sums) == inputs
    assert np.allclose(sums.to_numpy(), 1.0)
    assert (cw.groupby("layer")["households"].sum() == households).all()
    assert set(cw["new_grid"]) == set(result.plan.grids["grid_id"])


def test_recode_numbers_the_grids_west_to_east_and_retires_the_department_codes(
    block: Dataset,
) -> None:
    workers = ["张三", "李四", "王五", "赵六"]
    first = columns(["A1", "A2", "A3", "A4"], grid_worker=workers)
    kept = merge_layers(block, [first, columns(["B1", "B2", "B3", "B4"])], band=BAND, on=DAY)
    assert sorted(kept.plan.grids["grid_id"]) == ["A1", "A2", "A3", "A4"]  # unchanged default
    r = merge_layers(
        block, [first, columns(["B1", "B2", "B3", "B4"])], band=BAND, on=DAY, recode=True
    )
    got = grid_of(r)
    grids = r.plan.grids.set_index("grid_id")
    for i in range(4):  # column i holds compounds K0i, K1i, K2i: code 00i+1, west to east
        code = f"{COMMUNITY}{i + 1:03d}"
        assert {got[f"B{k}{i:02d}{s}"] for k in range(3) for s in "ab"} == {code}
        assert grids.loc[code, "grid_worker"] == workers[i]  # the grid's worker follows it
        assert grids.loc[code, "valid_from"] == DAY.isoformat()
    assert len(grids) == 4
    retired = {(c.code, c.valid_to) for c in r.plan.codes.retired}
    assert retired == {(f"A{i}", DAY.isoformat()) for i in range(1, 5)}
    cw = r.crosswalk.set_index(["layer", "input_grid"])
    assert cw.loc[("layer1", "A3"), "new_grid"] == f"{COMMUNITY}003"
    assert cw.loc[("layer2", "B3"), "new_grid"] == f"{COMMUNITY}003"
    check_crosswalk(r, inputs=8, households=1200)
    assert r.summary["codes"] == {
        "recode": True,
        "scheme": "db11",
        "valid_from": DAY.isoformat(),
        "kept": 0,
        "new": 4,
        "retired": 4,
        "renumbered": 4,
    }
    assert kept.summary["codes"]["kept"] == 4 and kept.summary["codes"]["retired"] == 0


def test_recode_of_disagreeing_layers_follows_the_standard_order(block: Dataset) -> None:
    cols, by_rows = columns(["A1", "A2", "A3", "A4"]), rows("R")
    r = merge_layers(block, [cols, by_rows], names=["城管", "综治"], band=BAND, recode=True)
    grids = r.plan.grids
    k = len(grids)
    assert k in (4, 5)
    assert sorted(grids["grid_id"]) == [f"{COMMUNITY}{i:03d}" for i in range(1, k + 1)]
    metric = grids.to_crs(block.metric_crs)
    area = block.metric("communities").geometry.iloc[0]
    order = standard_order(metric.geometry.to_numpy(), area)
    assert grids["grid_id"].to_numpy()[order].tolist() == sorted(grids["grid_id"])
    check_crosswalk(r, inputs=7, households=1200)
    assert {c.code for c in r.plan.codes.retired} == {"A1", "A2", "A3", "A4"}
    # the grids are those of a merge without --recode: only the codes differ
    plain = merge_layers(block, [cols, by_rows], names=["城管", "综治"], band=BAND)
    a = plain.plan.assignment
    rename = dict(zip(a["building_id"], a["grid_id"], strict=True))
    pairs = {(rename[b], g) for b, g in grid_of(r).items()}
    assert len(pairs) == k == len(plain.plan.grids)


def test_audit_standard_finds_no_code_problem_after_recode(block: Dataset) -> None:
    cols, by_rows = columns(["A1", "A2", "A3", "A4"]), rows("R")
    plain = merge_layers(block, [cols, by_rows], band=BAND)
    bad = code_problems(block, plain.plan.grids)
    assert {p["code"] for p in bad} >= {"A1", "A2"}  # kept department codes: 2 digits
    recoded = merge_layers(block, [cols, by_rows], band=BAND, recode=True)
    assert code_problems(block, recoded.plan.grids) == []


def test_department_codes_of_the_scheme_are_renumbered_not_reused(block: Dataset) -> None:
    # the department numbered its columns east to west with codes of the scheme itself
    reversed_codes = [f"{COMMUNITY}{4 - i:03d}" for i in range(4)]
    first = columns(reversed_codes)
    plain = merge_layers(block, [first, rows("R")], band=BAND)
    assert grid_of(plain)["B000a"] == f"{COMMUNITY}004"  # kept: east to west, as given
    r = merge_layers(block, [first, rows("R")], band=BAND, recode=True, on=DAY)
    k = len(r.plan.grids)
    # 001-004 name the department's grids in the crosswalk: never reused, retired
    assert sorted(r.plan.grids["grid_id"]) == [f"{COMMUNITY}{i:03d}" for i in range(5, 5 + k)]
    assert {c.code for c in r.plan.codes.retired} == set(reversed_codes)
    assert grid_of(r)["B000a"] == f"{COMMUNITY}005"  # the west column comes first
    assert code_problems(block, r.plan.grids) == []
    check_crosswalk(r, inputs=7, households=1200)
    # the second department's codes of the scheme (011-013) are skipped and retired too
    second = rows(f"{COMMUNITY}01")
    r2 = merge_layers(block, [first, second], band=BAND, recode=True, on=DAY)
    assert sorted(r2.plan.grids["grid_id"]) == [f"{COMMUNITY}{i:03d}" for i in range(14, 14 + k)]
    retired = {(c.code, c.community_id, c.valid_to) for c in r2.plan.codes.retired}
    expected = {*reversed_codes, *(f"{COMMUNITY}{i:03d}" for i in (11, 12, 13))}
    assert retired == {(c, COMMUNITY, DAY.isoformat()) for c in expected}
    assert r2.summary["codes"]["retired"] == 7


def test_cjt349_recode_codes_and_its_room() -> None:
    ds = block_community(np.full((1, 2), 150), community_id=COMMUNITY)  # 300: one grid
    xs = (0, 140, 260)
    a = layer(["A1", "A2"], [box(xs[i], 0, xs[i + 1], 140) for i in range(2)])
    b = layer(["B1"], [box(0, 0, 260, 140)])
    scheme = CodeScheme("cjt349")
    r = merge_layers(ds, [a, b], band=BAND, scheme=scheme, recode=True)
    assert r.plan.grids["grid_id"].tolist() == [f"000000{COMMUNITY}00"]  # not subdivided
    assert code_problems(ds, r.plan.grids, "CJ/T349") == []
    used = {f"000000{COMMUNITY}{s:02d}" for s in range(1, 99)}
    require_room(scheme, f"000000{COMMUNITY}", 1, used=used, community_id=COMMUNITY)
    with pytest.raises(
        ParameterError,
        match=r"--recode: community 110105001001 has 2 .* "
        r"--code-scheme cjt349 .* only 1 of its 99",
    ):
        require_room(scheme, f"000000{COMMUNITY}", 2, used=used, community_id=COMMUNITY)


@pytest.fixture(scope="module")
def files(block: Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from gridgen.io.write import write_dataset

    work = tmp_path_factory.mktemp("recode")
    out = {"data": write_dataset(block, work / "d.gpkg")}
    for name, frame in (("a", columns(["A1", "A2", "A3", "A4"])), ("b", rows("R"))):
        out[name] = work / f"{name}.geojson"
        frame.to_file(out[name], driver="GeoJSON")
    strips = 99  # a department that used every CJ/T 349 sequence of the community
    edges = np.linspace(0, 500, strips + 1)
    full = layer(
        [f"000000{COMMUNITY}{i + 1:02d}" for i in range(strips)],
        [box(edges[i], 0, edges[i + 1], 380) for i in range(strips)],
    )
    out["full"] = work / "full.geojson"
    full.to_file(out["full"], driver="GeoJSON")
    out["work"] = work
    return out


def test_cli_recode_writes_the_register_and_says_what_changed(files: dict[str, Path]) -> None:
    from gridgen.io.plan import read_plan

    out, cw = files["work"] / "m.gpkg", files["work"] / "x.csv"
    args = [str(files["data"]), "--grids", str(files["a"]), "--grids", str(files["b"])]
    run = run_main(
        "merge-grids",
        *args,
        "--recode",
        "--valid-from",
        "2025-06-01",
        "--out",
        str(out),
        "--crosswalk",
        str(cw),
    )
    assert run.returncode == 0, run.stderr
    plan = read_plan(out)
    k = len(plan.grids)
    assert sorted(plan.grids["grid_id"]) == [f"{COMMUNITY}{i:03d}" for i in range(1, k + 1)]
    assert {(c.code, c.valid_to) for c in plan.codes.retired} == {
        (f"A{i}", "2025-06-01") for i in range(1, 5)
    }
    table = pd.read_csv(cw, encoding="utf-8-sig", dtype={"new_grid": str})
    assert set(table["new_grid"]) == set(plan.grids["grid_id"])
    assert np.allclose(table.groupby(["layer", "input_grid"])["share"].sum(), 1.0)
    line = f"codes (db11): 0 kept from the first layer, {k} new valid from 2025-06-01, 4 retired"
    assert line in run.stdout and "recoded: 4 new codes take over a first-layer grid" in run.stdout
    default = run_main("merge-grids", *args, "--out", str(out), "--crosswalk", str(cw))
    assert default.returncode == 0 and "recoded" not in default.stdout
    found = re.search(
        r"codes \(db11\): (\d+) kept from the first layer, (\d+) new valid from "
        r"\S+, (\d+) retired\n",
        default.stdout,
    )
    assert found is not None, default.stdout
    kept, new, retired = (int(g) for g in found.groups())
    assert kept + new == len(read_plan(out).grids) and kept + retired == 4 and kept > 0


def test_cli_recode_refusals_name_the_parameter(files: dict[str, Path]) -> None:
    out, cw = files["work"] / "bad.gpkg", files["work"] / "bad.csv"
    base = ["merge-grids", str(files["data"]), "--grids", str(files["a"])]
    tail = ["--recode", "--out", str(out), "--crosswalk", str(cw)]
    full = run_main(*base, "--grids", str(files["full"]), "--code-scheme", "cjt349", *tail)
    assert full.returncode == 2
    assert "--recode: community 110105001001 has" in full.stderr
    assert "--code-scheme cjt349 (CJ/T 349) has only 0 of its 99" in full.stderr
    unknown = run_main(*base, "--grids", str(files["b"]), "--code-scheme", "gb", *tail)
    assert unknown.returncode == 2 and "--code-scheme: invalid choice: 'gb'" in unknown.stderr
    for run in (full, unknown):
        assert "Traceback" not in run.stderr and not out.exists()


def lattice(ds: Dataset, side: float, offset: float, prefix: str) -> gpd.GeoDataFrame:
    """Return a department's square cells of ``side`` metres over the district."""
    comms = ds.metric("communities")
    city = shapely.union_all(comms.geometry.to_numpy())
    x0, y0, x1, y1 = city.bounds
    xs = np.arange(x0 - offset, x1 + side, side)
    ys = np.arange(y0 - offset, y1 + side, side)
    gx, gy = np.meshgrid(xs, ys)
    cells = shapely.intersection(
        shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + side, gy.ravel() + side), city
    )
    cells = cells[(shapely.area(cells) > 1.0) & np.isin(shapely.get_type_id(cells), (3, 6))]
    codes = [f"{prefix}{i + 1:05d}" for i in range(len(cells))]
    return gpd.GeoDataFrame({"grid_id": codes}, geometry=cells, crs=ds.metric_crs).to_crs(4326)


def test_sample_district_recode_clears_the_code_findings(sample: Dataset) -> None:
    layers = [lattice(sample, 600.0, 0.0, "A"), lattice(sample, 450.0, 200.0, "B")]
    plain = merge_layers(sample, layers, band=BAND, on=DAY)
    r = merge_layers(sample, layers, band=BAND, on=DAY, recode=True)
    assert len(code_problems(sample, plain.plan.grids)) == plain.summary["codes"]["kept"] > 0
    assert code_problems(sample, r.plan.grids) == []
    assert len(r.plan.grids) == len(plain.plan.grids)
    hh = int(sample.buildings["households"].sum())
    check_crosswalk(r, inputs=len(layers[0]) + len(layers[1]), households=hh)
    first = set(layers[0]["grid_id"])
    assert first <= {c.code for c in r.plan.codes.retired}
    assert set(r.plan.grids["valid_from"]) == {DAY.isoformat()}
