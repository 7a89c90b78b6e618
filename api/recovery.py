"""What the service does on start after a crash: fail interrupted jobs, clean its temp files.

- Jobs run in threads of the service process, so none survives a restart: a job the store
  still holds as ``queued`` or ``running`` was interrupted. It is marked ``failed`` with a
  reason the client reads from ``/jobs/{id}`` (start it again).
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
import tempfile
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


def fail_interrupted_jobs(store: Store) -> list[str]:
    """Mark jobs left queued or running by an earlier process failed; return their ids."""
    ids = store.fail_unfinished_jobs(INTERRUPTED)
    if ids:
        log.warning("marked %d interrupted job(s) failed: %s", len(ids), ", ".join(ids))
    return ids


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
    fail_interrupted_jobs(store)
    clean_stale_temp(temp_root(settings))
