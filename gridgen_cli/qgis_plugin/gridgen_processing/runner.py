"""Run the ``gridgen`` executable: progress lines, cancellation, its one-line error.

Pure Python (no ``qgis`` import): :mod:`.algorithm` passes callbacks that drive the
Processing feedback. ``gridgen`` prints its progress as ``  WHAT: DONE/TOTAL`` lines on
standard error (one per percent with ``GRIDGEN_PROGRESS_STEP=1``), its summary on standard
output, and on failure one line ``gridgen COMMAND: error: REASON`` before exiting with
status 1 (a failure) or 2 (bad input).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

PROGRESS_LINE = re.compile(r"^\s+(?P<what>[^:]+): (?P<done>\d+)/(?P<total>\d+)\s*$")
ERROR_LINE = re.compile(r"^gridgen(?: [\w-]+)?: error: .+$")
CHILD_ENV = {
    "GRIDGEN_PROGRESS_STEP": "1",
    "PYTHONIOENCODING": "utf-8",
    "PYTHONUNBUFFERED": "1",
    "NO_COLOR": "1",
}
"""Variables set for gridgen: fine progress lines, UTF-8 text, no buffering."""
QGIS_ONLY_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE")
"""Variables of QGIS' own Python that must not reach gridgen's interpreter."""
STOP_GRACE_SECONDS = 5.0


@dataclass
class Outcome:
    """How a gridgen run ended."""

    status: int
    error: str = ""  # gridgen's one-line reason, when it printed one
    cancelled: bool = False
    stderr_tail: list[str] = field(default_factory=list)


@dataclass
class Callbacks:
    """Where the run's lines go (each may be left out)."""

    stdout: Callable[[str], None] = lambda line: None
    message: Callable[[str], None] = lambda line: None  # stderr lines that are no progress
    progress: Callable[[str, float], None] = lambda what, percent: None
    cancelled: Callable[[], bool] = lambda: False


def child_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment for gridgen: QGIS' Python variables removed, ours added."""
    env = dict(os.environ if base is None else base)
    for name in QGIS_ONLY_ENV:
        env.pop(name, None)
    env.update(CHILD_ENV)
    return env


def progress_of(line: str) -> tuple[str, float] | None:
    """Return (what, percent) of a progress line, or None for any other line."""
    m = PROGRESS_LINE.match(line)
    if m is None:
        return None
    total = int(m["total"])
    percent = 100.0 * int(m["done"]) / total if total else 100.0
    return m["what"].strip(), min(100.0, percent)


def run(
    argv: Sequence[str],
    callbacks: Callbacks,
    *,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    poll_seconds: float = 0.1,
) -> Outcome:
    """Run ``argv``, feed its lines to ``callbacks``, stop it when it is cancelled.

    Cancelling stops the whole process group (gridgen and any local workers it started):
    SIGTERM, then SIGKILL after :data:`STOP_GRACE_SECONDS`.

    Raises
    ------
    OSError
        When the executable cannot be started (not found, not executable).
    """
    posix = os.name == "posix"
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=child_environment() if env is None else env,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=posix,
    )
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    readers = [
        threading.Thread(target=_pump, args=(stream, name, lines), daemon=True)
        for stream, name in ((proc.stdout, "out"), (proc.stderr, "err"))
    ]
    for reader in readers:
        reader.start()
    outcome = Outcome(status=0)
    open_streams = 2
    while open_streams:
        if callbacks.cancelled():
            _stop(proc, posix)
            outcome.cancelled = True
            break
        try:
            source, line = lines.get(timeout=poll_seconds)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
            continue
        _dispatch(source, line.rstrip("\r\n"), callbacks, outcome)
    outcome.status = proc.wait()
    for reader in readers:
        reader.join(timeout=STOP_GRACE_SECONDS)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    return outcome


def _pump(stream: IO[str], name: str, lines: queue.Queue[tuple[str, str | None]]) -> None:
    """Put every line of ``stream`` on ``lines``, then ``None``."""
    try:
        for line in stream:
            lines.put((name, line))
    finally:
        lines.put((name, None))


def _dispatch(stream: str, line: str, callbacks: Callbacks, outcome: Outcome) -> None:
    if stream == "out":
        callbacks.stdout(line)
        return
    progress = progress_of(line)
    if progress is not None:
        callbacks.progress(*progress)
        return
    if ERROR_LINE.match(line):
        outcome.error = line
    elif line.strip():
        outcome.stderr_tail = [*outcome.stderr_tail[-9:], line]
        callbacks.message(line)


def _stop(proc: subprocess.Popen[str], posix: bool) -> None:
    """Stop ``proc`` (and its process group on POSIX): terminate, then kill."""
    if proc.poll() is not None:
        return
    if posix:
        _signal_group(proc.pid, signal.SIGTERM)
    else:
        proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        if posix:
            _signal_group(proc.pid, signal.SIGKILL)
        else:
            proc.kill()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(pid, sig)


def failure_reason(outcome: Outcome, command: str) -> str:
    """Return the one line that tells the user why the run failed."""
    if outcome.error:
        return outcome.error
    tail = "; ".join(outcome.stderr_tail[-3:])
    reason = f"gridgen {command}: exited with status {outcome.status}"
    return f"{reason}: {tail}" if tail else reason
