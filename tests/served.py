"""Start the real service (``python -m gridgen_cli.cmd_serve``, uvicorn) on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_service(
    database: Path, *, admin_key: str, wait_s: float = 30.0, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Yield the base URL of a service process on a free loopback port; stop it after.

    The process serves the embedded store at ``database`` with ``admin_key`` as admin key;
    the block starts once ``/ogc/conformance`` answers 200 (fails if the process dies).
    ``env`` adds environment variables (``GRIDGEN_*`` settings).
    """
    port = free_port()
    env = {**os.environ, "GRIDGEN_ADMIN_KEY": admin_key, **(env or {})}
    cmd = [
        sys.executable, "-m", "gridgen_cli.cmd_serve",
        "--host", "127.0.0.1", "--port", str(port), "--database", f"sqlite:///{database}",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if httpx.get(f"{base}/ogc/conformance", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, f"service did not answer within {wait_s} s"
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
