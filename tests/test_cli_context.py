"""``gridgen sheet`` and ``gridgen atlas`` compute coverage through the executor seam."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from gridgen.distributed.executor import Executor
from gridgen.sample.district import sample_path
from gridgen_cli.cmd_atlas import load_context
from gridgen_cli.main import build_parser

SAMPLE = sample_path() / "district.gpkg"


@pytest.mark.parametrize(
    "argv",
    [
        ["atlas", str(SAMPLE), "--community", "C", "--out", "a.pdf"],
        ["sheet", str(SAMPLE), "--compound", "C", "--out", "s.png"],
    ],
)
def test_context_coverage_runs_on_the_commands_executor(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridgen.distributed import work

    monkeypatch.delenv("GRIDGEN_DASK_SCHEDULER", raising=False)
    seen: list[tuple[Executor | None, float, str]] = []

    def recording(dataset: Any, *, radius: float, mode: str, **kw: Any) -> str:
        seen.append((kw.get("executor"), radius, mode))
        return "coverage"

    monkeypatch.setattr(work, "run_coverage", recording)
    args = build_parser().parse_args(
        [*argv, "--scheduler", "tcp://127.0.0.1:9", "--radius", "300", "--coverage", "line"]
    )
    _, plan, coverage = load_context(args)
    assert plan is None
    assert coverage == "coverage"
    (executor, radius, mode) = seen[0]
    assert executor is not None and executor.kind == "dask"
    assert executor.scheduler == "tcp://127.0.0.1:9"
    assert (radius, mode) == (300.0, "line")


def test_context_coverage_same_in_process_and_on_two_processes() -> None:
    base = ["atlas", str(SAMPLE), "--community", "C", "--out", "a.pdf", "--coverage", "line"]
    base += ["--radius", "150"]
    _, _, here = load_context(build_parser().parse_args([*base, "--workers", "1"]))
    _, _, pool = load_context(build_parser().parse_args([*base, "--workers", "2"]))
    cols = ["building_id", "station_id", "distance_m", "covered", "reachable"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(here[cols]).reset_index(drop=True),
        pd.DataFrame(pool[cols]).reset_index(drop=True),
    )
    assert 0 < int(here["covered"].sum()) < len(here)  # a radius that leaves some out
