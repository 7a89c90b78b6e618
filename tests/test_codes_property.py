"""Property: across random sequences of partition, edit, rebalance and re-partition, no code is
ever reused for a different grid, and every grid is valid from the date of the version that
created its code (retired codes end on the date of the version that retired them).

"The same grid" is judged as the codes module defines it: a code that stays names a grid
holding more than half of the old grid's households, or whose households come more than
half from the old grid. Two communities of the sample
district; each example costs about 2-5 s (12 examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from editor_helpers import movable_unit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgen.dataset import Dataset
from gridgen.errors import GridgenError
from gridgen.partition.assign import assign_units, editor_units
from gridgen.partition.community import partition_dataset
from gridgen.partition.plan import Plan
from gridgen.partition.planner import repartition
from gridgen.partition.rebalance import rebalance
from gridgen.sample.district import make_district
from gridgen.validate.layers import validate_layers

START = date(2024, 1, 1)


@pytest.fixture(scope="module")
def small() -> Dataset:
    """Two communities of the sample district, on their own."""
    ds = validate_layers(make_district(), source="sample")
    keep = sorted(ds.communities["community_id"].astype(str))[:2]
    layers = {}
    for name, frame in ds.layers.items():
        mine = frame
        if "community_id" in frame.columns and name != "roads":
            mine = frame[frame["community_id"].astype(str).isin(keep)]
        layers[name] = mine.drop(columns=["households_estimated"], errors="ignore")
    if "community_id" in layers["buildings"].columns:
        layers["buildings"] = layers["buildings"].drop(columns=["community_id"])
    return validate_layers(layers, source="two communities")


@dataclass
class Version:
    plan: Plan
    dataset: Dataset
    on: date


def _drifted(ds: Dataset, factor: float, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    bld = ds.buildings.copy()
    comp = bld["compound_id"].fillna("").astype(str)
    ids = sorted(set(comp) - {""})
    grow = set(rng.choice(ids, size=max(1, len(ids) // 4), replace=False).tolist())
    hh = pd.to_numeric(bld["households"]).to_numpy(dtype=float)
    bld["households"] = np.where(comp.isin(grow), np.round(hh * factor), hh).astype(np.int64)
    layers = {k: v for k, v in ds.layers.items() if k != "buildings"}
    raw = bld.drop(columns=["community_id", "households_estimated"], errors="ignore")
    return validate_layers({**layers, "buildings": raw}, source="drifted")


def _step(v: Version, op: tuple[str, int, int], on: date) -> Version:
    kind, a, b = op
    plan, ds = v.plan, v.dataset
    cid = sorted(plan.community_ids())[a % len(plan.community_ids())]
    if kind == "edit":
        data = editor_units(ds, plan, cid)
        i, _, dst = movable_unit(data, kinds=("compound", "subunit", "building"))
        to = data["new_codes"][0] if b % 3 == 0 else dst
        return Version(assign_units(ds, plan, {data["units"][i]["id"]: to}, on=on).plan, ds, on)
    if kind == "rebalance":
        ds = _drifted(ds, 1.0 + (b % 5) / 5, seed=b)
        r = rebalance(ds, plan.grids, assignment=plan.assignment, codes=plan.codes, on=on)
        return Version(r.plan, ds, on)
    grids = sorted(plan.grids.loc[plan.grids["community_id"] == cid, "grid_id"])
    locked = grids[: b % 3]
    return Version(repartition(ds, plan, cid, locked=locked, seed=b, on=on), ds, on)


def _check(history: list[Version]) -> None:
    born: dict[str, date] = {}
    gone: dict[str, date] = {}
    for k, v in enumerate(history):
        codes = set(v.plan.grids["grid_id"].astype(str))
        assert not codes & set(gone), f"version {k} reuses retired codes {codes & set(gone)}"
        for c in codes - set(born):
            born[c] = v.on
        if k:
            prev = history[k - 1]
            for c in set(prev.plan.grids["grid_id"].astype(str)) - codes:
                gone[c] = v.on
            _same_grids(prev.plan, v.plan, v.dataset)
        dates = dict(zip(v.plan.grids["grid_id"], v.plan.grids["valid_from"], strict=True))
        assert dates == {c: born[c].isoformat() for c in codes}
        ended = {r.code: r.valid_to for r in v.plan.codes.retired}
        assert ended == {c: d.isoformat() for c, d in gone.items()}


def _same_grids(old: Plan, new: Plan, ds: Dataset) -> None:
    """Every code in both plans names the same grid by households: the new grid holds more
    than half of the old grid's households, or more than half of its own come from it."""
    hh = dict(
        zip(ds.buildings["building_id"], pd.to_numeric(ds.buildings["households"]), strict=True)
    )
    now = dict(zip(new.assignment["building_id"], new.assignment["grid_id"], strict=True))
    before = dict(zip(old.assignment["building_id"], old.assignment["grid_id"], strict=True))
    total_old: dict[str, float] = {}
    total_new: dict[str, float] = {}
    kept: dict[str, float] = {}
    for b in set(before) | set(now):
        w = float(hh.get(b, 0)) + 1e-3
        was, code = before.get(b), now.get(b)
        if was is not None:
            total_old[was] = total_old.get(was, 0.0) + w
        if code is not None:
            total_new[code] = total_new.get(code, 0.0) + w
        if was is not None and was == code:
            kept[code] = kept.get(code, 0.0) + w
    both = set(old.grids["grid_id"]) & set(new.grids["grid_id"])
    bad = {
        c
        for c in both
        if c in total_old
        and kept.get(c, 0.0) <= 0.5 * total_old[c]
        and kept.get(c, 0.0) <= 0.5 * total_new.get(c, 0.0)
    }
    assert not bad, f"codes {bad} now name grids that are not the old grids by households"


OPS = st.lists(
    st.tuples(
        st.sampled_from(["edit", "rebalance", "repartition"]),
        st.integers(0, 3),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 5), ops=OPS, gaps=st.lists(st.integers(1, 400), min_size=4, max_size=4))
def test_codes_are_never_reused_and_dated_by_their_version(
    small: Dataset, seed: int, ops: list[tuple[str, int, int]], gaps: list[int]
) -> None:
    history = [Version(partition_dataset(small, seed=seed, on=START), small, START)]
    on = START
    for op, gap in zip(ops, gaps, strict=False):
        on = on + timedelta(days=gap)
        try:
            history.append(_step(history[-1], op, on))
        except (GridgenError, AssertionError) as exc:  # an edit the rules refuse: no version
            assert "no movable" in str(exc) or isinstance(exc, GridgenError), exc
    _check(history)
