"""One way to wait for a background job of the service (``GET /jobs/{id}``) in tests."""

from __future__ import annotations

import time
from typing import Any, Protocol


class _Response(Protocol):
    def json(self) -> Any: ...


class JobClient(Protocol):
    """A FastAPI TestClient or an httpx.Client on a live service."""

    def get(self, url: str, *, headers: Any = ...) -> Any: ...


def wait_job(
    client: JobClient,
    job_id: str,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = 120.0,
    poll_s: float = 0.1,
) -> dict[str, Any]:
    """Return the record of job ``job_id`` once it is done or failed.

    Fails the test (AssertionError with the last record) when the job has not finished
    after ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return dict(job)
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not finish in {timeout_s:.0f} s: {job}")
        time.sleep(poll_s)


def finished_job(
    client: JobClient,
    job_id: str,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Return the record of job ``job_id`` once done; fail the test when it failed."""
    job = wait_job(client, job_id, headers=headers, timeout_s=timeout_s)
    assert job["status"] == "done", job
    return job
