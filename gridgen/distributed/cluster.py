"""Scale-out: work that is a map over communities, in process or on a Dask cluster.

Partitioning and coverage grow with the number of communities, and each community can be
computed on its own: :func:`map_communities` runs ``func(dataset, community_id,
**options)`` for every community, in a plain loop in this process by default, or as one
task per community on a Dask distributed cluster when a scheduler address is given
(``scheduler=`` / ``--scheduler``, or the setting ``GRIDGEN_DASK_SCHEDULER``). The input
is sent to the workers once (``client.scatter(..., broadcast=True)``: one copy per
worker); every task refers to it by its future and only the community id and the small
options travel with the task. Results come back in the order of the community ids given.
Retries: a task on a worker that dies is re-run elsewhere by the scheduler (up to
``distributed.scheduler.allowed-failures`` times), and a task that raises an unexpected
error is retried ``retries`` times; gridgen's own errors (bad input) are not retried.

Determinism: each task sees the same input and options in process and on the cluster,
and per-community random generators come from the global seed and the community id
(:func:`gridgen.partition.community.community_rng`), never from the task order, so results are
identical.

Sibling modules:

- :mod:`gridgen.distributed.subsets`: the halo rule, :func:`community_rows`,
  :func:`subset_dataset`, :func:`coverage_blocks`, :class:`Shards` and
  :func:`partition_shards` (what each task reads, and how the input is shipped);
- :mod:`gridgen.distributed.work`: :func:`coverage_distributed`,
  :func:`partition_distributed` and their task functions.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from gridgen.distributed.subsets import Shards
from gridgen.errors import ClusterError, GridgenError, ParameterError

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT_S",
    "SCHEDULER_ENV",
    "TIMEOUT_ENV",
    "ProgressFn",
    "TaskError",
    "check_workers",
    "connect",
    "connect_timeout",
    "map_communities",
    "scheduler_address",
]

SCHEDULER_ENV = "GRIDGEN_DASK_SCHEDULER"
"""Setting (environment variable) naming the Dask scheduler, e.g. ``tcp://10.0.0.5:8786``."""
TIMEOUT_ENV = "GRIDGEN_DASK_TIMEOUT"
"""Setting: seconds to wait for the scheduler and its first worker (default 10)."""
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 2
"""Re-runs of a task that raised an unexpected (non-gridgen) error."""
ProgressFn = Callable[[int, int], None]
T = TypeVar("T")


def scheduler_address(scheduler: str | None = None) -> str | None:
    """Return the scheduler address to use: ``scheduler``, else ``GRIDGEN_DASK_SCHEDULER``.

    An empty string means in process.
    """
    value = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV, "")
    value = value.strip()
    return value or None


def connect_timeout(timeout: float | None = None) -> float:
    """Return the connection timeout: ``timeout``, else ``GRIDGEN_DASK_TIMEOUT``, else 10 s."""
    raw: object = timeout if timeout is not None else os.environ.get(TIMEOUT_ENV, "")
    if raw in ("", None):
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)  # type: ignore[arg-type]
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        msg = f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}"
        raise ParameterError(msg)
    return value


@contextmanager
def connect(address: str, *, timeout: float | None = None) -> Iterator[Client]:
    """Yield a :class:`distributed.Client` connected to ``address`` with a worker ready.

    Raises
    ------
    ClusterError
        When the scheduler cannot be reached, has no worker within the timeout, or a
        worker cannot import gridgen.
    """
    from distributed import Client

    wait = connect_timeout(timeout)
    fix = (
        "start one with `dask scheduler` and pass its address (tcp://HOST:8786) with "
        f"--scheduler or {SCHEDULER_ENV}, or leave both unset to run in this process"
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
        from gridgen import __version__ as mine
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


def _check_ids(community_ids: Sequence[str]) -> list[str]:
    ids = [str(c) for c in community_ids]
    seen: set[str] = set()
    for cid in ids:
        if cid in seen:
            msg = f"community {cid!r} is listed twice: give each community once"
            raise ParameterError(msg)
        seen.add(cid)
    return ids


def map_communities(
    func: Callable[..., T],
    dataset: Any,
    community_ids: Sequence[str],
    *,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: ProgressFn | None = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float | None = None,
    **options: Any,
) -> list[T]:
    """Return ``[func(dataset, cid, **options) for cid in community_ids]``, maybe on Dask.

    Parameters
    ----------
    func
        A top-level function ``func(dataset, community_id, **options)`` (importable on the
        workers: gridgen must be installed there).
    dataset
        The input every task reads (a :class:`Dataset` or anything picklable); sent to
        each worker once. A :class:`Shards` input instead gives each task its part, and
        each part goes to one worker.
    community_ids
        The communities, each once; results come back in this order.
    scheduler
        Address of a Dask scheduler (``tcp://HOST:8786``); default ``GRIDGEN_DASK_SCHEDULER``;
        neither means in process (a plain loop).
    client
        An existing :class:`distributed.Client` to use instead (not closed here).
    progress
        Called as ``progress(done, total)`` after each community.
    retries
        Re-runs of a task that raised an unexpected error (worker loss is handled by the
        scheduler independently).
    timeout
        Seconds to wait for the scheduler and its first worker (default
        ``GRIDGEN_DASK_TIMEOUT`` or 10).
    **options
        Keyword arguments passed to every call.

    Raises
    ------
    ClusterError
        When the cluster cannot be reached or a task keeps killing its workers.
    GridgenError
        Whatever ``func`` raises for bad input, unchanged.
    """
    ids = _check_ids(community_ids)
    if client is not None:
        return _map_on_client(
            client, func, dataset, ids, progress=progress, retries=retries, options=options
        )
    address = scheduler_address(scheduler)
    if address is None:
        return _map_in_process(func, dataset, ids, progress, options)
    with connect(address, timeout=timeout) as own:
        return _map_on_client(
            own, func, dataset, ids, progress=progress, retries=retries, options=options
        )


def _map_in_process(
    func: Callable[..., T],
    dataset: Any,
    ids: list[str],
    progress: ProgressFn | None,
    options: dict[str, Any],
) -> list[T]:
    out: list[T] = []
    for done, cid in enumerate(ids, start=1):
        payload = dataset.input_of(cid) if isinstance(dataset, Shards) else dataset
        out.append(func(payload, cid, **options))
        if progress is not None:
            progress(done, len(ids))
    return out


def _map_on_client(
    client: Client,
    func: Callable[..., T],
    dataset: Any,
    ids: list[str],
    *,
    progress: ProgressFn | None,
    retries: int,
    options: dict[str, Any],
) -> list[T]:
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    if not ids:
        return []
    token = uuid.uuid4().hex[:10]
    held: list[Any]
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
    position = {f.key: k for k, f in enumerate(futures)}
    results: list[Any] = [None] * len(ids)
    try:
        completed = as_completed(futures, loop=client.loop, with_results=True)
        for done, (fut, result) in enumerate(completed, start=1):
            if isinstance(result, TaskError):
                raise result.error
            results[position[fut.key]] = result
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


@dataclass(frozen=True)
class TaskError:
    """A gridgen error raised by a task, returned as a value so that Dask does not retry it."""

    community_id: str
    error: GridgenError


def _run_task(
    payload: Any, community_id: str, *, task_func: Callable[..., Any], **options: Any
) -> Any:
    """Return ``task_func(payload, community_id, **options)`` or its gridgen error as a value.

    Bad input fails the same way every time: retrying it would only waste the cluster.
    """
    try:
        return task_func(payload, community_id, **options)
    except GridgenError as exc:
        return TaskError(community_id, exc)
