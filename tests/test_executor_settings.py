"""Where per-community work runs is read from the settings by the CLI and the service alike."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from api.settings import Settings
from gridgen.errors import ParameterError
from gridgen_cli.options import executor_from


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"scheduler": None, "workers": None, **kw})


def test_cli_options_win_over_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEN_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    assert executor_from(_args()).scheduler == "tcp://10.0.0.5:8786"
    assert executor_from(_args(scheduler="")).kind == "in_process"
    assert executor_from(_args(scheduler="", workers=2)).kind == "processes"
    monkeypatch.delenv("GRIDGEN_DASK_SCHEDULER")
    assert executor_from(argparse.Namespace()).kind == "in_process"  # e.g. a command without them


def test_bad_settings_are_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEN_DASK_TIMEOUT", "-1")
    with pytest.raises(ParameterError, match="GRIDGEN_DASK_TIMEOUT"):
        executor_from(_args())
    monkeypatch.setenv("GRIDGEN_DASK_TIMEOUT", "3")
    monkeypatch.setenv("GRIDGEN_WORKERS", "0")
    with pytest.raises(ParameterError, match="GRIDGEN_WORKERS"):
        executor_from(_args())


def test_the_service_state_runs_jobs_where_the_settings_say(tmp_path: Path) -> None:
    from api.service import ServiceState
    from api.store import open_store

    settings = Settings(database_url="sqlite:///unused", workers=3)
    state = ServiceState.create(settings, open_store(f"sqlite:///{tmp_path / 's.db'}"))
    try:
        assert (state.compute.kind, state.compute.workers) == ("processes", 3)
    finally:
        state.close()
