"""Rebalance on local processes starts the communities out of band before its audit ends.

:meth:`gridgen.distributed.executor.Executor.map` with ``then=``: the first ids run while
``then()`` finds the rest. Rebalance starts the communities with a grid out of band by the
old assignment, audits meanwhile, drops a started community the audit does not list, and
gives the plan of the plain run in this process.
"""

from __future__ import annotations

import os
import time
from datetime import date
from typing import Any

import pandas as pd
import pytest

from gridgen.distributed import executor as ex
from gridgen.distributed.executor import Executor
from gridgen.errors import ParameterError
from gridgen.partition.community import partition_dataset
from gridgen.partition.rebalance import rebalance
from gridgen.sample.district import make_city
from gridgen.sample.drift import Drift, drifted
from gridgen.validate.layers import validate_layers

BAND = (240, 360)


def _task(payload: str, cid: str, *, suffix: str) -> tuple[str, int]:
    """Return the task's inputs and the process it ran in (a pool task)."""
    return f"{payload}:{cid}{suffix}", os.getpid()


def test_then_adds_ids_after_the_first_ones_on_every_executor() -> None:
    calls: list[str] = []

    def more() -> list[str]:
        calls.append("then")
        return ["c", "a", "d"]  # "a" is already there: run once

    for run_on in (Executor(), Executor(workers=2)):
        out = run_on.map(_task, "p", ["a", "b"], then=more, suffix="!")
        assert [o[0] for o in out] == ["p:a!", "p:b!", "p:c!", "p:d!"]
    assert calls == ["then", "then"]
    pids = {pid for _, pid in Executor(workers=2).map(_task, "p", ["a"], then=more, suffix="")}
    assert os.getpid() not in pids  # the first id and the added ones run in the pool


def test_then_runs_while_the_processes_compute() -> None:
    started: list[float] = []

    def more() -> list[str]:
        started.append(time.monotonic())
        return ["z"]

    t0 = time.monotonic()
    out = Executor(workers=2).map(_task, "p", ["a", "b"], then=more, suffix="")
    assert [o[0] for o in out] == ["p:a", "p:b", "p:z"]
    assert started[0] - t0 < 5.0  # called right after the first ids went to the pool


def test_an_error_in_then_reaches_the_caller_and_a_bad_id_is_named() -> None:
    def broken() -> list[str]:
        msg = "the audit failed"
        raise ParameterError(msg)

    with pytest.raises(ParameterError, match="the audit failed"):
        Executor(workers=2).map(_task, "p", ["a", "b"], then=broken, suffix="")
    with pytest.raises(ParameterError, match="'c' is listed twice"):
        Executor(workers=2).map(_task, "p", ["a"], then=lambda: ["c", "c"], suffix="")


def _plan_and_drift() -> tuple[Any, Any]:
    raw = make_city(households=20_000, seed=2)
    plan = partition_dataset(validate_layers(raw, source="city"), band=BAND)
    return plan, validate_layers(drifted(raw, Drift(seed=3)), source="drifted")


def _run_both(
    monkeypatch: pytest.MonkeyPatch, ds: Any, grids: Any, **kw: Any
) -> tuple[Any, Any, list[list[str]]]:
    """Return rebalance in this process, on two processes, and the ids each pool started
    (before and after the audit)."""
    kw = {"band": BAND, "on": date(2026, 1, 1), **kw}
    here = rebalance(ds, grids, **kw)
    started: list[list[str]] = []
    real = ex._map_processes

    def spied(func: Any, payload: Any, ids: list[str], **options: Any) -> Any:
        started.append(list(ids))
        then = options.pop("then")

        def more() -> Any:
            extra = then()
            started.append([c for c in extra if c not in ids])
            return extra

        return real(func, payload, ids, then=more, **options)

    monkeypatch.setattr(ex, "_map_processes", spied)
    there = rebalance(ds, grids, executor=Executor(workers=2), **kw)
    return here, there, started


def _same(here: Any, there: Any) -> None:
    pd.testing.assert_frame_equal(here.plan.assignment, there.plan.assignment)
    pd.testing.assert_frame_equal(here.crosswalk, there.crosswalk)
    assert here.summary == there.summary
    assert here.plan.grids.geometry.equals(there.plan.grids.geometry)
    assert here.plan.problems == there.plan.problems


def test_rebalance_starts_out_of_band_communities_and_adds_what_the_audit_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan, ds = _plan_and_drift()
    # a grid of a community the drift left in band dropped: a gap only the audit sees
    hh = ds.buildings.set_index("building_id")["households"].astype(float)
    per = hh.groupby(plan.assignment.set_index("building_id")["grid_id"]).sum()
    comm = plan.grids.set_index("grid_id")["community_id"].astype(str)
    out = set(comm[per.index[(per < BAND[0]) | (per > BAND[1])]])
    row = next(i for i, c in zip(plan.grids.index, comm, strict=True) if c not in out)
    gone = plan.grids.loc[row]
    grids = plan.grids.drop(index=row)
    here, there, started = _run_both(
        monkeypatch, ds, grids, assignment=plan.assignment, codes=plan.codes
    )
    early, later = started
    assert early and str(gone["community_id"]) in later
    touched = here.summary["communities_touched"]
    assert sorted(early + later) == touched
    _same(here, there)


def test_a_started_community_the_audit_does_not_list_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan, _ = _plan_and_drift()
    ds = validate_layers(make_city(households=20_000, seed=2), source="city")
    # the assignment says a grid lost its buildings to a neighbour; their footprints say
    # otherwise: the audit (by footprints) finds nothing, the early guess (by assignment)
    # starts the community
    a = plan.assignment.copy()
    hh = ds.buildings.set_index("building_id")["households"].astype(float)
    per = hh.groupby(a.set_index("building_id")["grid_id"]).sum()
    comm = plan.grids.set_index("grid_id")["community_id"].astype(str)
    bad = set(comm[per.index[(per < BAND[0]) | (per > BAND[1])]])
    community = next(c for c in sorted(set(comm)) if c not in bad and (comm == c).sum() > 1)
    grid, other = sorted(comm.index[comm == community])[:2]
    a.loc[a["grid_id"] == grid, "grid_id"] = other
    here, there, started = _run_both(monkeypatch, ds, plan.grids, assignment=a, codes=plan.codes)
    early, later = started
    assert community in early and community not in later
    assert community not in here.summary["communities_touched"]
    _same(here, there)
