"""Crashes lose nothing (issue 11, class 7).

Jobs left queued or running by a dead process are failed with a reason on start, and the
client sees it; the temp folders of dead service processes (uploads holding personal
data) are removed on start; every CLI writer replaces its output atomically, so a writer
failing half-way leaves the old file intact and no partial file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyogrio
import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.store import open_store

ADMIN = {"X-API-Key": ADMIN_KEY}


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


def test_start_fails_interrupted_jobs_and_removes_stale_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)  # the app sets it; restore after
    db = tmp_path / "g.db"
    store = open_store(f"sqlite:///{db}")
    running = store.create_job(kind="partition", params={}, actor="x")
    store.update_job(running.id, status="running", progress=0.4, message="3/10 communities")
    queued = store.create_job(kind="partition", params={}, actor="x")
    done = store.create_job(kind="partition", params={}, actor="x")
    store.update_job(done.id, status="done", progress=1.0, result={"plan_id": "p"})
    store.close()

    temp = tmp_path / "tmp"
    stale = temp / f"gridgen-{_dead_pid()}" / "upload-x"
    stale.mkdir(parents=True)
    (stale / "buildings.csv").write_text("leader_phone\n13800000000\n", encoding="utf-8")
    mine = temp / f"gridgen-{os.getpid()}"
    mine.mkdir()
    other = temp / "not-ours"
    other.mkdir()

    settings = Settings(database_url=f"sqlite:///{db}", admin_key=ADMIN_KEY, temp_dir=str(temp))
    with TestClient(create_app(settings)) as c:
        for job in (running, queued):
            body = c.get(f"/jobs/{job.id}", headers=ADMIN).json()
            assert body["status"] == "failed", body
            assert "interrupted" in body["error"] and "start it again" in body["error"]
        assert c.get(f"/jobs/{done.id}", headers=ADMIN).json()["status"] == "done"
    assert not stale.parent.exists()
    assert mine.is_dir() and other.is_dir()


def test_writers_replace_outputs_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridgen.io.plan import read_plan, write_plan
    from gridgen.io.read import load_sample
    from gridgen.partition.community import partition_dataset

    ds = load_sample()
    plan = partition_dataset(ds, target=300, communities=[str(ds.communities.community_id[0])])
    out = tmp_path / "plan.gpkg"
    write_plan(plan, out)
    before = out.read_bytes()

    real = pyogrio.write_dataframe

    def crash_on_assignment(*args: object, **kwargs: object) -> None:
        # the grids layer is written already: the file on disk is half a plan
        if kwargs.get("layer") == "assignment":
            raise OSError("disk full (simulated)")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pyogrio, "write_dataframe", crash_on_assignment)
    with pytest.raises(OSError, match="simulated"):
        write_plan(plan, out)
    monkeypatch.undo()
    assert out.read_bytes() == before  # the old plan, whole
    assert read_plan(out).grids.shape == plan.grids.shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]  # no partial file

    from gridgen.io.coverage import write_table

    table = tmp_path / "t.csv"
    table.write_text("old\n", encoding="utf-8")

    class Boom:
        def drop(self, **_: object) -> None:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_table(Boom(), table)  # type: ignore[arg-type]
    assert table.read_text(encoding="utf-8") == "old\n"


def test_a_written_plan_is_synced_once_and_gdal_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GeoPackage transactions are not synced one by one (OGR_SQLITE_SYNCHRONOUS=OFF while
    the plan is written); the finished temporary file is synced before it replaces the
    target, and the GDAL option is restored afterwards."""
    from gridgen.io import atomic
    from gridgen.io.plan import read_plan, write_plan
    from gridgen.io.read import load_sample
    from gridgen.partition.community import partition_dataset

    ds = load_sample()
    plan = partition_dataset(ds, target=300, communities=[str(ds.communities.community_id[0])])
    seen: list[str | None] = []
    real_write = pyogrio.write_dataframe

    def write(*args: object, **kwargs: object) -> None:
        seen.append(pyogrio.get_gdal_config_option(atomic.SQLITE_SYNC_OPTION))
        real_write(*args, **kwargs)  # type: ignore[arg-type]

    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        assert synced == [str(src)], "the temporary file is synced once, before the rename"
        real_replace(src, dst)

    pyogrio.set_gdal_config_options({atomic.SQLITE_SYNC_OPTION: "NORMAL"})
    monkeypatch.setattr(pyogrio, "write_dataframe", write)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    try:
        write_plan(plan, tmp_path / "plan.gpkg")
        assert seen and set(seen) == {False}  # pyogrio reads OFF as False
        assert pyogrio.get_gdal_config_option(atomic.SQLITE_SYNC_OPTION) == "NORMAL"
    finally:
        pyogrio.set_gdal_config_options({atomic.SQLITE_SYNC_OPTION: None})
    monkeypatch.undo()
    assert read_plan(tmp_path / "plan.gpkg").grids.shape == plan.grids.shape


def test_overlapping_unsynced_writes_restore_the_option_once_both_end() -> None:
    """Two plans written at once by the service's threads: the first to end must not turn
    the sync back on under the other, and the last restores what was there before."""
    from gridgen.io import atomic

    option = atomic.SQLITE_SYNC_OPTION
    pyogrio.set_gdal_config_options({option: "NORMAL"})
    first, second = atomic.unsynced_sqlite(), atomic.unsynced_sqlite()
    try:
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # the first write ends while the second goes on
        assert pyogrio.get_gdal_config_option(option) is False  # still OFF
        second.__exit__(None, None, None)
        assert pyogrio.get_gdal_config_option(option) == "NORMAL"
    finally:
        pyogrio.set_gdal_config_options({option: None})
