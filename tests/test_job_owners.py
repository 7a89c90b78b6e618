"""Several service processes on one database: a start fails only the jobs of gone instances.

Each job records the service instance that runs it (host, process id and start time,
instance) and that instance marks it alive at every beat. A starting instance, and every
beat after, fails the unfinished jobs of owners that are gone: a process of this host that
no longer runs, or any owner silent for four beats. A job another live process is running
keeps running (before, every start failed every unfinished job in the database).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient

from api.app import create_app
from api.recovery import INTERRUPTED, fail_interrupted_jobs, instance_owner, owner_alive
from api.settings import Settings
from api.store import open_store
from api.store.base import Store


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def _dead_pid() -> int:
    pid = 4_000_000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    return pid


@pytest.fixture
def store(database: tuple[str, str | None]) -> Iterator[Store]:
    url, schema = database
    s = open_store(url, schema=schema)
    yield s
    s.close()


def test_owner_alive_rules() -> None:
    me = instance_owner()
    host, pid, ticks, _ = me.split("/")
    assert pid == str(os.getpid()) and ticks.isdigit() and int(ticks) > 0
    assert owner_alive(me, _ago(1), stale_seconds=60)
    assert not owner_alive(me, _ago(120), stale_seconds=60)  # silent for too long
    assert not owner_alive(None, _ago(1), stale_seconds=60)  # a job from before owners
    assert not owner_alive(f"{host}/{_dead_pid()}/1/x", _ago(1), stale_seconds=60)
    # this process id, another start time: the process id was reused, the owner is gone
    assert not owner_alive(f"{host}/{pid}/{int(ticks) + 1}/x", _ago(1), stale_seconds=60)
    other = "another-host.example/123/456/x"
    assert socket.gethostname() != "another-host.example"
    assert owner_alive(other, _ago(5), stale_seconds=60)  # only its heartbeat can tell
    assert not owner_alive(other, _ago(61), stale_seconds=60)
    assert not owner_alive(other, "not a time", stale_seconds=60)


def test_start_fails_only_jobs_of_gone_owners(store: Store) -> None:
    host = socket.gethostname()
    live_here = store.create_job(kind="partition", params={}, actor="a", owner=instance_owner())
    live_there = store.create_job(kind="partition", params={}, actor="a", owner="far/1/2/x")
    dead_here = store.create_job(
        kind="partition", params={}, actor="a", owner=f"{host}/{_dead_pid()}/1/x"
    )
    legacy = store.create_job(kind="partition", params={}, actor="a")
    store.update_job(live_there.id, status="running", progress=0.5, message="half")
    done = store.create_job(kind="partition", params={}, actor="a", owner=f"{host}/1/1/x")
    store.update_job(done.id, status="done", progress=1.0, result={"plan_id": "p"})

    failed = fail_interrupted_jobs(store, stale_seconds=60)
    assert sorted(failed) == sorted([dead_here.id, legacy.id])
    assert store.get_job(live_here.id).status == "queued"
    assert store.get_job(live_there.id).status == "running"
    assert store.get_job(done.id).status == "done"
    gone = store.get_job(dead_here.id)
    assert gone.status == "failed" and gone.error == INTERRUPTED

    # a beat keeps jobs alive; once their owners fall silent for longer than the limit, the
    # next sweep fails them
    assert store.beat_jobs("far/1/2/x") == 1
    assert store.beat_jobs("nobody/1/2/x") == 0
    assert fail_interrupted_jobs(store, stale_seconds=60) == []
    time.sleep(0.05)
    left = fail_interrupted_jobs(store, stale_seconds=0.01)
    assert sorted(left) == sorted([live_here.id, live_there.id])


def test_second_service_process_leaves_the_first_ones_job_running(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'g.db'}"
    # beats of 1 s: an owner is judged gone after four silent beats, so a loaded machine
    # (a 2-core CI runner with every test process busy) never stalls a live one that long
    fast = Settings(database_url=db, admin_key=ADMIN_KEY, job_heartbeat_seconds=1.0)
    first = create_app(fast)
    state = first.state.gridgen
    with TestClient(first):
        job = state.create_job(kind="partition", params={}, actor="first")
        state.store.update_job(job.id, status="running", message="working")
        time.sleep(1.5)  # a beat or two
        second = create_app(fast)  # starts on the same database while the first runs
        with TestClient(second) as c:
            body = c.get(f"/jobs/{job.id}", headers={"X-API-Key": ADMIN_KEY}).json()
            assert body["status"] == "running", body
    # the first instance stopped without finishing it: the second's beats fail it
    third = create_app(fast)
    with TestClient(third) as c:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = c.get(f"/jobs/{job.id}", headers={"X-API-Key": ADMIN_KEY}).json()
            if body["status"] == "failed":
                break
            time.sleep(0.1)
        assert body["status"] == "failed" and "start it again" in body["error"]


def test_store_without_job_owners_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # the jobs table as stores before owners had it
        conn.execute(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,"
            " progress REAL NOT NULL, message TEXT, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, author TEXT NOT NULL, params TEXT, result TEXT,"
            " error TEXT)"
        )
        conn.execute(
            "INSERT INTO jobs VALUES ('j1', 'partition', 'running', 0.5, 'half',"
            " '2026-01-01', '2026-01-01', 'a', '{}', NULL, NULL)"
        )
    store = open_store(f"sqlite:///{db}")
    try:
        new = store.create_job(kind="partition", params={}, actor="b", owner=instance_owner())
        assert fail_interrupted_jobs(store, stale_seconds=60) == ["j1"]  # no owner: gone
        assert store.get_job(new.id).status == "queued"
    finally:
        store.close()
