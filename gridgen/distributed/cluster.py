"""Dask distributed: connect to a scheduler and map per-community tasks on its workers.

:class:`gridgen.distributed.executor.Executor` calls :func:`map_on_client` when it is given
a scheduler address or a client. The input is sent to the workers once
(``client.scatter(..., broadcast=True)``: one copy per worker), or one street part per
worker for a :class:`~gridgen.distributed.subsets.Shards` input; every task refers to it
by its future and only the community id and the small options travel with the task.
Results come back in the order of the community ids given. Retries: a task on a worker
that dies is re-run elsewhere by the scheduler (up to
``distributed.scheduler.allowed-failures`` times), and a task that raises an unexpected
error is retried ``retries`` times; gridgen's own errors (bad input) are not retried.
What cannot be pickled (the input, the options, a task's result: a lock, an open file) is
a :class:`~gridgen.errors.ClusterError` naming the part that stopped it
(:mod:`gridgen.distributed.sendable`), at once: results are pickled on the worker, where
Dask would otherwise keep one it cannot send while the client waits for it forever.

Determinism: each task sees the same input and options in process and on the cluster,
and per-community random generators come from the global seed and the community id
(:func:`gridgen.partition.community.community_rng`), never from the task order, so results
are identical.

Sibling modules: :mod:`gridgen.distributed.executor` (the seam every caller uses),
:mod:`gridgen.distributed.subsets` (what each task reads, and how the input is shipped)
and :mod:`gridgen.distributed.work` (coverage and partition task functions).
"""

from __future__ import annotations

import importlib.metadata
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from gridgen.distributed.sendable import Pickled, pickled, unpicklable_part
from gridgen.distributed.subsets import Shards
from gridgen.errors import ClusterError, GridgenError

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "SCHEDULER_SETTING",
    "TaskError",
    "check_workers",
    "connect",
    "map_on_client",
]

SCHEDULER_SETTING = "GRIDGEN_DASK_SCHEDULER"
"""Setting naming the Dask scheduler (read by the caller's settings, named in messages)."""
DEFAULT_TIMEOUT_S = 10.0
"""Seconds to wait for the Dask scheduler and its first worker (``GRIDGEN_DASK_TIMEOUT``)."""
T = TypeVar("T")


@contextmanager
def connect(address: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> Iterator[Client]:
    """Yield a :class:`distributed.Client` connected to ``address`` with a worker ready.

    Raises
    ------
    ClusterError
        When the scheduler cannot be reached, has no worker within the timeout, or a
        worker cannot import gridgen.
    """
    from distributed import Client

    wait = float(timeout)
    fix = (
        "start one with `dask scheduler` and pass its address (tcp://HOST:8786) with "
        f"--scheduler or {SCHEDULER_SETTING}, or leave both unset to run in this process"
    )
    try:
        client = Client(address, timeout=f"{wait}s", set_as_default=False)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot reach the Dask scheduler at {address!r} within {wait:g} s ({exc}): {fix}"
        raise ClusterError(msg) from exc
    except Exception as exc:
        # e.g. another service on that port: distributed reads its reply as a frame
        # length and fails with MemoryError or a protocol error
        msg = (
            f"no Dask scheduler answers at {address!r} ({type(exc).__name__}: {exc}): check "
            f"that the address is the one `dask scheduler` printed; {fix}"
        )
        raise ClusterError(msg) from exc
    try:
        try:
            client.wait_for_workers(1, timeout=wait)
        except (TimeoutError, OSError) as exc:
            msg = (
                f"the Dask scheduler at {address!r} has no worker after {wait:g} s: start "
                f"workers with `dask worker {address}`"
            )
            raise ClusterError(msg) from exc
        check_workers(client)
        yield client
    finally:
        client.close()


def check_workers(client: Client) -> None:
    """Raise :class:`ClusterError` unless every worker has the same gridgen as this process."""
    try:
        mine = importlib.metadata.version("gridgen")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        from gridgen.version import __version__ as mine
    found = client.run(importlib.metadata.version, "gridgen", on_error="return")
    for worker, version in sorted(found.items()):
        if isinstance(version, BaseException):
            msg = (
                f"Dask worker {worker} cannot import gridgen ({version}): install gridgen "
                f"{mine} in the workers' Python environment"
            )
            raise ClusterError(msg)
        if version != mine:
            msg = f"Dask worker {worker} has gridgen {version}, this process {mine}: install {mine}"
            raise ClusterError(msg)


def _part(value: T) -> T:
    """Return ``value`` (a task that holds one part of a :class:`Shards` input)."""
    return value


def map_on_client(
    client: Client,
    func: Callable[..., T],
    dataset: object,
    ids: list[str],
    *,
    progress: Callable[[int, int], None] | None,
    retries: int,
    options: dict[str, Any],
) -> list[T]:
    """Return ``[func(input, cid, **options) for cid in ids]`` computed on ``client``'s workers.

    A plain ``dataset`` is scattered to every worker once; a :class:`Shards` input sends
    each part to one worker. Used by :class:`gridgen.distributed.executor.Executor`.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    if not ids:
        return []
    token = uuid.uuid4().hex[:10]
    held: list[Any] = []
    try:
        if isinstance(dataset, Shards):
            for cid in ids:
                dataset.input_of(cid)  # every community has its part, before anything is sent
            part_keys = sorted({dataset.part_of[cid] for cid in ids})
            held = [
                client.submit(_part, dataset.parts[k], key=f"gridgen-part-{token}-{n}", pure=False)
                for n, k in enumerate(part_keys)
            ]
            future_of = dict(zip(part_keys, held, strict=True))
            payloads = [future_of[dataset.part_of[cid]] for cid in ids]
        else:
            # One copy per worker; tasks carry only the future, the community id and options.
            held = client.scatter([dataset], broadcast=True, hash=False)
            payloads = held * len(ids)
        name = getattr(func, "__name__", "task")
        keys = [f"gridgen-{name}-{token}-{k}" for k in range(len(ids))]
        futures = client.map(
            _run_task,
            payloads,
            ids,
            key=keys,
            retries=retries,
            pure=False,
            task_func=func,
            **options,
        )
    except GridgenError:
        client.cancel(held)
        raise
    except Exception as exc:
        client.cancel(held)
        raise _unsent_error(exc, dataset, func, options) from exc
    position = {f.key: k for k, f in enumerate(futures)}
    results: list[Any] = [None] * len(ids)
    try:
        completed = as_completed(futures, loop=client.loop, with_results=True)
        for done, (fut, result) in enumerate(completed, start=1):
            if isinstance(result, TaskError):
                raise result.error
            results[position[fut.key]] = result.value() if isinstance(result, Pickled) else result
            if progress is not None:
                progress(done, len(ids))
        return results
    except KilledWorker as exc:
        msg = (
            f"a community task killed its workers repeatedly ({exc}): the workers probably "
            "run out of memory; give them more (dask worker --memory-limit) or use fewer "
            "threads per worker"
        )
        raise ClusterError(msg) from exc
    except GridgenError:
        raise
    except (OSError, TimeoutError) as exc:
        msg = f"the Dask cluster failed during the run ({exc}): check the scheduler and workers"
        raise ClusterError(msg) from exc
    finally:
        client.cancel([*futures, *held])


def _unsent_error(
    exc: Exception, dataset: object, func: object, options: dict[str, Any]
) -> Exception:
    """Return a :class:`ClusterError` naming what could not be sent, or ``exc`` itself."""
    sent = dataset.parts if isinstance(dataset, Shards) else dataset
    where = (
        unpicklable_part(sent, name="the input")
        or unpicklable_part(options, name="the options")
        or unpicklable_part(func, name="the task function")
    )
    if where is None:
        return exc
    msg = (
        f"cannot send {where} to the Dask workers: everything a task reads is pickled, and a "
        "lock, an open file or a connection cannot be; leave it out of the input, or run in "
        f"this process (no --scheduler, {SCHEDULER_SETTING} unset)"
    )
    return ClusterError(msg)


@dataclass(frozen=True)
class TaskError:
    """A gridgen error raised by a task, returned as a value so that Dask does not retry it."""

    community_id: str
    error: GridgenError


def _run_task(
    payload: Any, community_id: str, *, task_func: Callable[..., Any], **options: Any
) -> Any:
    """Return ``task_func(payload, community_id, **options)`` pickled, or its gridgen error
    as a value.

    Bad input fails the same way every time: retrying it would only waste the cluster.
    """
    try:
        result = task_func(payload, community_id, **options)
    except GridgenError as exc:
        return TaskError(community_id, exc)
    # pickled here, where a failure can still be reported: Dask itself would keep a result
    # it cannot send on the worker, and the client would wait for it forever
    try:
        return pickled(result)
    except Exception:  # whatever pickling raises: name the part that stopped it
        where = unpicklable_part(result, name="the result")
        msg = (
            f"cannot send {where} of community {community_id!r} back from the Dask worker: a "
            "task must return values that pickle (no lock, open file or connection)"
        )
        return TaskError(community_id, ClusterError(msg))
