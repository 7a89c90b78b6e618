"""Where per-community work runs is read from the settings by the CLI and the service alike.

The executor settings live in the library (:mod:`gridgen.distributed.settings`); the
service's settings build on them, and the command line never loads the service's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from api.settings import Settings
from gridgen.distributed.settings import ExecutorSettings
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


def test_the_service_settings_are_the_executor_settings_and_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert issubclass(Settings, ExecutorSettings)
    monkeypatch.setenv("GRIDGEN_WORKERS", "2")
    monkeypatch.setenv("GRIDGEN_UPLOAD_LIMIT_BYTES", "0")  # the service's, bad
    assert ExecutorSettings().workers == 2  # the CLI's settings ignore it
    with pytest.raises(ValueError, match="upload_limit_bytes"):
        Settings()


def test_partition_runs_with_a_bad_service_setting_and_never_loads_the_service(
    tmp_path: Path,
) -> None:
    # GRIDGEN_UPLOAD_LIMIT_BYTES=0 gridgen partition ...: the command line reads only the
    # executor settings; a fresh interpreter shows that no module of `api` was imported
    from partition_helpers import block_community

    from gridgen.io.write import write_frames

    data, out = tmp_path / "data.gpkg", tmp_path / "plan.gpkg"
    write_frames(dict(block_community(np.full((2, 3), 150)).layers), data)
    code = (
        "import sys; from gridgen_cli.main import main; "
        f"rc = main(['partition', {str(data)!r}, '--target', '300', '--out', {str(out)!r}]); "
        "loaded = sorted(m for m in sys.modules if m == 'api' or m.startswith('api.')); "
        "print('api modules:', loaded); sys.exit(rc)"
    )
    env = {**os.environ, "GRIDGEN_UPLOAD_LIMIT_BYTES": "0", "GRIDGEN_JSON_LIMIT_BYTES": "x"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "3 grids for 900 households" in done.stdout
    assert "api modules: []" in done.stdout
    assert out.exists()


def test_serve_names_a_bad_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gridgen_cli.main import main

    monkeypatch.setenv("GRIDGEN_UPLOAD_LIMIT_BYTES", "0")
    assert main(["serve", "--database", "sqlite:///unused.db"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GRIDGEN_UPLOAD_LIMIT_BYTES" in err
