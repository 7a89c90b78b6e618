"""Grid codes: schemes, standard order, keep by households, never reuse, lifecycle dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from partition_helpers import block_community, row_of_compounds
from shapely.geometry import box

from gridgen.dataset import Dataset
from gridgen.errors import InfeasibleError, ParameterError
from gridgen.io.plan import read_plan, write_plan
from gridgen.partition.codes import (
    EMPTY_WEIGHT,
    CodeBook,
    CodeScheme,
    RetiredCode,
    kept_codes,
    new_codes,
    scheme_for,
    standard_order,
)
from gridgen.partition.community import partition_dataset
from gridgen.partition.lifecycle import code_register, dated_grids
from gridgen.partition.plan import Plan

DAY1, DAY2 = date(2024, 3, 1), date(2025, 6, 30)


def _communities(*ids: str, code: list[str | None] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"community_id": list(ids)})
    if code is not None:
        frame["code"] = code
    return frame


def test_schemes_spell_the_standards() -> None:
    db11 = scheme_for(_communities("110105001002"))
    assert db11.name == "db11" and db11.prefix("110105001002", "110105001002") == "110105001002"
    assert db11.code("110105001002", 7) == "110105001002007" and db11.length == 15
    cjt = scheme_for(_communities("110105001002"), "cjt349", object_code="110000")
    code = cjt.code(cjt.prefix("110105001002", "110105001002"), 3)
    assert code == "11000011010500100203" and len(code) == cjt.length == 20
    assert cjt.sequence(code, "110000110105001002") == 3
    # a community id that is no 12-digit code: plain by default, refused by db11
    assert scheme_for(_communities("C1")).name == "plain"
    with pytest.raises(ParameterError, match="C1 has no 12-digit code"):
        scheme_for(_communities("C1"), "db11")
    # ... unless the communities carry one in a `code` column
    given = scheme_for(_communities("C1", code=["130102003004"]))
    assert given.name == "db11"
    with pytest.raises(ParameterError, match="6 digits"):
        CodeScheme("cjt349", "12ab")
    with pytest.raises(ParameterError, match="only --code-scheme cjt349"):
        CodeScheme("db11", "110000")
    with pytest.raises(ParameterError, match="unknown"):
        CodeScheme("gb")


def test_new_codes_follow_the_highest_used_and_never_reuse() -> None:
    plain = CodeScheme()
    assert new_codes(plain, "C1", 3) == ["C1001", "C1002", "C1003"]
    # C1002 retired: the next codes follow C1005, not the gap
    used = {"C1001", "C1002", "C1005", "OTHER7"}
    assert new_codes(plain, "C1", 2, used=used) == ["C1006", "C1007"]
    # at the end of the sequence space, the lowest codes never used
    cjt = CodeScheme("cjt349")
    full = {cjt.code("P", s) for s in (1, 2, 97, 98, 99)}
    assert new_codes(cjt, "P", 2, used=full) == ["P03", "P04"]
    with pytest.raises(InfeasibleError, match="never reuses"):
        new_codes(cjt, "P", 2, used={cjt.code("P", s) for s in range(1, 99)})
    # CJ/T 349: 00 for a community that is one grid, once
    assert new_codes(cjt, "P", 1, whole=True) == ["P00"]
    assert new_codes(cjt, "P", 1, used={"P00"}, whole=True) == ["P01"]
    assert new_codes(cjt, "P", 2, whole=True) == ["P01", "P02"]


def test_standard_order_west_to_east_north_to_south() -> None:
    boxes = np.asarray(
        [
            box(100, 0, 200, 100),  # south-east
            box(0, 100, 100, 200),  # north-west
            box(0, 0, 100, 100),  # south-west
            box(100, 100, 200, 200),  # north-east
        ],
        dtype=object,
    )
    assert standard_order(boxes, box(0, 0, 200, 200)).tolist() == [1, 3, 2, 0]


def test_kept_codes_majority_one_to_one() -> None:
    # old A: 300 households, 210 go to new 0 and 90 to new 1; old B: 100, all to new 0
    old = ["A", "A", "B", "C"]
    new = np.array([0, 1, 0, 2])
    w = np.array([210.0, 90.0, 100.0, 50.0])
    # new 0 holds most of A and all of B: it keeps A (210 shared beat 100 + 90); B retires
    assert kept_codes(old, new, w, k=3) == ["A", None, "C"]
    # a grid that gave a compound away stays itself: A (298) gives 194 to B (150); the
    # 104 left all come from A, so they keep A, and B (now 344) keeps B
    old = ["A", "A", "B"]
    new = np.array([0, 1, 1])
    w = np.array([104.0, 194.0, 150.0])
    assert kept_codes(old, new, w, k=2) == ["A", "B"]
    # ... unless the compound outweighs both: A (300) gives 250 to B (100): the new grid of
    # 350 is mostly A's, so it keeps A; the 50 left take a new code and B retires
    w = np.array([50.0, 250.0, 100.0])
    assert kept_codes(old, new, w, k=2) == [None, "A"]
    # a grid split in two halves: one half keeps the code (the lower label on a tie)
    assert kept_codes(["A", "A"], np.array([0, 1]), np.array([150.0, 150.0]), k=2) == ["A", None]
    # a grid whose households are mostly another's, holding a minority of each: no code
    old = ["A", "A", "B", "B"]
    new = np.array([0, 1, 0, 2])
    w = np.array([100.0, 200.0, 100.0, 200.0])
    assert kept_codes(old, new, w, k=3) == [None, "A", "B"]


def test_kept_codes_exact_half_is_not_more_than_half() -> None:
    # old C3 (10 households in four buildings) leaves exactly half (5 + 0) in new grid 2,
    # which holds 10 of other grids (C2 2, C1 2, C0 1): C3 is neither more than half of
    # itself nor of grid 2 there, whatever order the buildings come in (a float sum in one
    # order made 5.002 of 10.004 look like more than half); grid 2 keeps C2, all of C2
    old = ["C1", "C3", "C2", "C3", "C1", "C3", "C3", "C0"]
    new = np.array([1, 2, 2, 0, 2, 1, 2, 2])
    hh = np.array([100.0, 5.0, 2.0, 0.0, 2.0, 5.0, 0.0, 1.0]) + EMPTY_WEIGHT
    expected = ["C3", "C1", "C2", None]
    for order in (np.arange(8), np.arange(8)[::-1], np.array([3, 6, 0, 2, 7, 1, 5, 4])):
        picked = [old[i] for i in order]
        assert kept_codes(picked, new[order], hh[order], k=4) == expected


def _grids(codes: list[str], community: str = "C1") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"grid_id": codes, "community_id": [community] * len(codes)},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(len(codes))],
        crs=4326,
    )


def test_dated_grids_keep_start_retire_and_refuse_reuse() -> None:
    first, book = dated_grids(_grids(["C1001", "C1002"]), before=None, book=CodeBook(), on=DAY1)
    assert first["valid_from"].tolist() == ["2024-03-01"] * 2
    assert first["valid_to"].isna().all() and book.retired == ()
    second, book = dated_grids(_grids(["C1001", "C1003"]), before=first, book=book, on=DAY2)
    assert second["valid_from"].tolist() == ["2024-03-01", "2025-06-30"]
    assert book.retired == (RetiredCode("C1002", "C1", "2024-03-01", "2025-06-30"),)
    with pytest.raises(InfeasibleError, match="C1002 were retired"):
        dated_grids(_grids(["C1002"]), before=second, book=book, on=DAY2)
    register = code_register(second, book)
    assert register[["grid_id", "status"]].values.tolist() == [
        ["C1001", "active"],
        ["C1002", "retired"],
        ["C1003", "active"],
    ]
    assert CodeBook.from_dict(book.to_dict()) == book


@pytest.fixture(scope="module")
def two_grids() -> Dataset:
    return row_of_compounds([150, 150, 160, 150])


def test_partition_codes_and_dates_cjt349(two_grids: Dataset) -> None:
    with pytest.raises(ParameterError, match="C1 has no 12-digit code"):
        partition_dataset(two_grids, scheme=scheme_for(two_grids.communities, "cjt349"))
    plan = partition_dataset(two_grids, on=DAY1)
    assert plan.codes.scheme.name == "plain"
    assert sorted(plan.grids["grid_id"]) == ["C1001", "C1002"]
    assert set(plan.grids["valid_from"]) == {"2024-03-01"}
    # one grid in a community with a 12-digit code: CJ/T 349 codes it 00
    one = row_of_compounds([100, 80], community_id="110105001002")
    plan = partition_dataset(one, scheme=scheme_for(one.communities, "cjt349"), on=DAY1)
    assert plan.grids["grid_id"].tolist() == ["00000011010500100200"]
    other = scheme_for(one.communities, object_code="990000")
    plan = partition_dataset(one, scheme=other, on=DAY1)
    assert plan.grids["grid_id"].tolist() == ["99000011010500100200"]


def test_plan_file_keeps_scheme_and_retired_codes(two_grids: Dataset, tmp_path: Path) -> None:
    plan = partition_dataset(two_grids, on=DAY1)
    gone = RetiredCode("C1009", "C1", "2020-01-01", "2023-12-31")
    plan = replace(plan, codes=CodeBook(CodeScheme("plain"), (gone,)))
    path = write_plan(plan, tmp_path / "plan.gpkg")
    back = read_plan(path)
    assert back.codes == plan.codes
    assert back.grids["valid_from"].tolist() == ["2024-03-01", "2024-03-01"]
    import pyogrio

    register = pyogrio.read_dataframe(path, layer="codes", read_geometry=False)
    assert register["grid_id"].tolist() == ["C1001", "C1002", "C1009"]
    assert register["status"].tolist() == ["active", "active", "retired"]
    # the record the store keeps carries the book too
    again = Plan.from_record(plan.grids, plan.assignment, plan.record())
    assert again.codes == plan.codes


def test_rebalance_split_takes_code_after_retired(tmp_path: Path) -> None:
    from gridgen.partition.rebalance import rebalance

    ds = block_community(np.array([[150, 150, 150, 160]]))
    grids = gpd.GeoDataFrame(
        {"grid_id": ["C1001"], "community_id": ["C1"], "valid_from": ["2020-05-01"]},
        geometry=[ds.communities.geometry.iloc[0]],
        crs=4326,
    )
    book = CodeBook(CodeScheme(), (RetiredCode("C1002", "C1", "2019-01-01", "2020-04-30"),))
    r = rebalance(ds, grids, band=(240, 360), codes=book, on=DAY2)
    got = r.plan.grids.set_index("grid_id")["valid_from"].to_dict()
    # C1001 keeps its start; the new grid skips the retired C1002
    assert got == {"C1001": "2020-05-01", "C1003": "2025-06-30"}
    assert r.plan.codes.retired == book.retired


def test_standard_order_puts_the_northern_of_two_stacked_grids_first_despite_noise() -> None:
    area = box(0, 0, 400, 100)  # four grids: rows 100 m high, so all in one row
    east = [box(100, 0, 250, 100), box(250, 0, 400, 100)]
    for dx in (-1e-7, 0.0, 1e-7):  # the southern grid's point a float's noise west or east
        south, north = box(dx, 0, 100 + dx, 50), box(0, 50, 100, 100)
        grids = np.asarray([south, north, *east], dtype=object)
        assert standard_order(grids, area).tolist() == [1, 0, 2, 3]
    apart = np.asarray([box(-0.5, 0, 99.5, 50), box(0, 50, 100, 100), *east], dtype=object)
    assert standard_order(apart, area).tolist() == [0, 1, 2, 3]  # half a metre: west first
