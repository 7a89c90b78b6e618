"""What the service does on start after a crash: fail interrupted jobs, clean its temp files.

- Jobs run in threads of a service instance, so none survives its process. Each job records
  its ``owner`` (host, process id and start time, instance) and the owner marks its jobs
  alive every ``job_heartbeat_seconds``. On start, and then at every beat, each instance
  fails the queued or running jobs whose owner is gone: a process of this host that no
  longer runs, or an owner on any host silent for four beats. Jobs of other live service
  processes on the same database are left alone. A failed job carries a reason the client
  reads from ``/jobs/{id}`` (start it again).
- Temporary files (uploads being validated, exports) go to a folder of this process,
  ``<temp_dir>/gridgen-<pid>`` (``temp_dir`` from the settings, else the system's). On
  start, the folders of processes that no longer run are removed: an upload interrupted by
  a crash leaves no personal data behind.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from api.settings import Settings
from api.store.base import Store

log = logging.getLogger("gridgen.service")

INTERRUPTED = (
    "interrupted: the service stopped (crash or restart) while this job was queued or "
    "running; start it again"
)
_OWN = re.compile(r"^gridgen-(\d+)$")


def _start_ticks(pid: int) -> str | None:
    """Return the start time of process ``pid`` (clock ticks since boot), None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command name


def instance_owner() -> str:
    """Return a new owner name for a service instance: ``host/pid/start ticks/instance``."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_start_ticks(pid) or 0}/{uuid.uuid4().hex[:12]}"


def owner_alive(owner: str | None, heartbeat: str | None, *, stale_seconds: float) -> bool:
    """Return whether the service instance ``owner`` may still run its job.

    Gone: no owner (a store older than owners), a process of this host that no longer runs
    (or whose process id now names another process), or no heartbeat for ``stale_seconds``.
    """
    parts = (owner or "").split("/")
    if len(parts) != 4 or not parts[1].isdigit():
        return False
    host, pid, ticks, _instance = parts
    if host == socket.gethostname():
        running = _start_ticks(int(pid)) == ticks if ticks != "0" else _alive(int(pid))
        if not running:  # without /proc (ticks "0") only the process id can be checked
            return False
    try:
        beat = datetime.fromisoformat(heartbeat or "")
    except ValueError:
        return False
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    return (datetime.now(UTC) - beat).total_seconds() < stale_seconds


def fail_interrupted_jobs(store: Store, *, stale_seconds: float) -> list[str]:
    """Mark the unfinished jobs of gone service instances failed; return their ids."""
    ids = store.fail_unfinished_jobs(
        INTERRUPTED,
        alive=lambda owner, beat: owner_alive(owner, beat, stale_seconds=stale_seconds),
    )
    if ids:
        log.warning("marked %d interrupted job(s) failed: %s", len(ids), ", ".join(ids))
    return ids


class JobHeartbeat:
    """A thread that marks this instance's jobs alive and fails those of gone instances."""

    def __init__(self, store: Store, owner: str, *, interval: float) -> None:
        self.store, self.owner, self.interval = store, owner, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridgen-heartbeat", daemon=True)

    def start(self) -> None:
        """Start beating."""
        self._thread.start()

    def stop(self) -> None:
        """Stop beating (the instance's unfinished jobs go stale and are failed elsewhere)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.store.beat_jobs(self.owner)
                fail_interrupted_jobs(self.store, stale_seconds=4 * self.interval)
            except Exception:  # a failed beat is retried at the next one
                log.exception("job heartbeat failed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temp_root(settings: Settings) -> Path:
    """Return the folder holding the service's temporary folders (created if absent)."""
    root = Path(settings.temp_dir) if settings.temp_dir else Path(tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    return root


def clean_stale_temp(root: Path) -> list[Path]:
    """Remove the ``gridgen-<pid>`` folders under ``root`` whose process is gone."""
    removed = []
    for entry in root.iterdir():
        m = _OWN.match(entry.name)
        if m and entry.is_dir() and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    if removed:
        log.warning("removed %d temp folder(s) left by stopped services", len(removed))
    return removed


@cache
def _process_dir(root: str, pid: int) -> Path:
    path = Path(root) / f"gridgen-{pid}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def service_temp_dir(settings: Settings) -> Path:
    """Return this process's temporary folder (``<temp_dir>/gridgen-<pid>``, mode 0700)."""
    path = _process_dir(str(temp_root(settings)), os.getpid())
    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # removed by hand meanwhile
    return path


def recover(settings: Settings, store: Store) -> None:
    """Run the start-up recovery: interrupted jobs failed, stale temp folders removed."""
    fail_interrupted_jobs(store, stale_seconds=4 * settings.job_heartbeat_seconds)
    clean_stale_temp(temp_root(settings))
