"""Change orders on two ≥250k-household cities built differently (the lattice city and the
walled-compound city), after a year of drift and a minimal-change rebalance: the change
order agrees with an independent count by code, no code names a different grid, and the
handover workbook and PDF open in LibreOffice and poppler.

Cost: about 40 s (lattice city) and 90 s (walled city) on 2 cores, most of it partitioning
and rebalancing; the handover files add about 30 s per city.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from records_helpers import count_by_code, drifted, pdf_text, soffice_csv

from gridgen.dataset import Dataset
from gridgen.io.records_xlsx import changes_workbook
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan
from gridgen.partition.rebalance import rebalance
from gridgen.records.changes import ChangeOrder, change_order
from gridgen.sample.district import make_city
from gridgen.sample.walled import make_walled_city
from gridgen.validate.layers import validate_layers
from maps.handover import handover_pdf

HOUSEHOLDS = 255_000
CITIES = {
    "lattice": lambda: make_city(households=HOUSEHOLDS, seed=1),
    "walled": lambda: make_walled_city(households=HOUSEHOLDS, seed=11),
}


@pytest.fixture(scope="module", params=sorted(CITIES))
def city(request: pytest.FixtureRequest) -> tuple[Dataset, Plan, Plan, ChangeOrder]:
    raw = CITIES[request.param]()
    before = validate_layers(raw, source=request.param)
    old = partition_dataset(before, on=date(2024, 1, 1))
    after = validate_layers(drifted(raw), source=f"{request.param}-drifted")
    new = rebalance(
        after, old.grids, assignment=old.assignment, codes=old.codes, on=date(2025, 7, 1)
    ).plan
    return after, old, new, change_order(after, old, new)


def test_city_is_big_and_changed(city: tuple[Dataset, Plan, Plan, ChangeOrder]) -> None:
    ds, _, _, order = city
    assert int(ds.buildings["households"].sum()) >= 250_000
    s = order.summary
    assert s["households_moved"] > 1000 and s["grids_changed"] > 10
    assert s["grids_new"] > 0 and s["grids_retired"] > 0


def test_city_change_order_matches_an_independent_count(
    city: tuple[Dataset, Plan, Plan, ChangeOrder],
) -> None:
    ds, old, new, order = city
    moved, per = count_by_code(ds, old, new)
    assert order.summary["households_moved"] == moved
    got = {
        g["code"]: (
            g["households_before"],
            g["households_after"],
            g["households_in"],
            g["households_out"],
        )
        for g in order.grids
    }
    assert got == {c: per.get(c, (0, 0, 0, 0)) for c in got}
    assert set(per) <= set(got)


def test_no_code_names_a_different_grid(city: tuple[Dataset, Plan, Plan, ChangeOrder]) -> None:
    """A code in both plans names the same grid by households: the new grid holds more than
    half of the old grid's households, or more than half of its own come from it."""
    ds, old, new, _ = city
    hh = dict(zip(ds.buildings["building_id"], ds.buildings["households"], strict=True))
    new_of = dict(zip(new.assignment["building_id"], new.assignment["grid_id"], strict=True))
    total: dict[str, float] = defaultdict(float)
    total_new: dict[str, float] = defaultdict(float)
    same: dict[str, float] = defaultdict(float)
    for b, code in new_of.items():
        total_new[code] += float(hh.get(b, 0)) + 1e-3
    for b, code in zip(old.assignment["building_id"], old.assignment["grid_id"], strict=True):
        w = float(hh.get(b, 0)) + 1e-3
        total[code] += w
        if new_of.get(b) == code:
            same[code] += w
    kept = set(old.grids["grid_id"]) & set(new.grids["grid_id"])
    wrong = [
        c
        for c in kept
        if total[c] > 0 and same[c] <= 0.5 * total[c] and same[c] <= 0.5 * total_new[c]
    ]
    assert wrong == []
    retired = {r.code for r in new.codes.retired}
    assert retired == set(old.grids["grid_id"]) - set(new.grids["grid_id"])
    assert not retired & set(new.grids["grid_id"])


@pytest.mark.needs_client("libreoffice", "poppler")
def test_city_handover_files_open(
    city: tuple[Dataset, Plan, Plan, ChangeOrder], tmp_path: Path
) -> None:
    _, _, _, order = city
    doc = order.to_dict()
    handed = order.handed_over()
    xlsx = tmp_path / "changes.xlsx"
    xlsx.write_bytes(changes_workbook(doc))
    sheets = soffice_csv(xlsx, tmp_path)
    assert len(sheets) == 1 + len(handed)
    assert sheets["汇总"][7][1] == str(order.summary["households_moved"])
    pdf = tmp_path / "changes.pdf"
    pdf.write_bytes(handover_pdf(doc))
    text = pdf_text(pdf)
    assert text.count("网格调整交接单") >= len(handed)
    assert all(g["code"] in text for g in handed)
