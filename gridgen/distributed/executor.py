"""The one seam for per-community work: in this process, a local process pool, or Dask.

Partitioning and coverage are maps over communities (or streets). Every caller (the CLI,
the service's background jobs, the demo, the benchmarks) describes *where* that map runs
with one :class:`Executor` value and calls :func:`map_communities` (or a function that
takes ``executor=``, such as :func:`gridgen.partition.community.partition_dataset` and
:func:`gridgen.distributed.work.run_coverage`). The executor never reads the environment:
the scheduler address and the number of local processes come from the caller's settings
(``GRIDGEN_DASK_SCHEDULER``, ``GRIDGEN_DASK_TIMEOUT``, ``GRIDGEN_WORKERS`` in
:class:`api.settings.Settings`, which the command line reads too).

The three ways give identical results: tasks are pure functions of (input, community id,
options), and results come back in the order of the ids given.
"""

from __future__ import annotations

import math
import pickle
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from gridgen.distributed.cluster import (
    DEFAULT_TIMEOUT_S,
    SCHEDULER_SETTING,
    connect,
    map_on_client,
)
from gridgen.distributed.sendable import unpicklable_part
from gridgen.distributed.subsets import Shards
from gridgen.errors import ClusterError, ParameterError

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT_S",
    "Executor",
    "ExecutorKind",
    "ProgressFn",
    "map_communities",
]

DEFAULT_RETRIES = 2
"""Re-runs of a Dask task that raised an unexpected (non-gridgen) error."""
ProgressFn = Callable[[int, int], None]
ExecutorKind = Literal["in_process", "processes", "dask"]
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Executor:
    """Where a map over communities runs.

    Parameters
    ----------
    workers
        Local worker processes when there is no scheduler or client (1: a plain loop in
        this process; more: a process pool, forked where the platform allows).
    scheduler
        Address of a Dask scheduler (``tcp://HOST:8786``); an empty string means none.
    client
        An existing :class:`distributed.Client` (not closed here); wins over ``scheduler``.
    timeout
        Seconds to wait for the scheduler and its first worker.
    retries
        Re-runs of a Dask task that raised an unexpected error (worker loss is handled by
        the scheduler independently); gridgen's own errors are never retried.
    """

    workers: int = 1
    scheduler: str | None = None
    client: Client | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        """Check the options and normalise an empty scheduler address to None."""
        address = (self.scheduler or "").strip() or None
        if address is not None:
            _check_address(address)
        object.__setattr__(self, "scheduler", address)
        if isinstance(self.workers, bool) or int(self.workers) != self.workers or self.workers < 1:
            msg = f"workers must be a whole number of at least 1, got {self.workers!r}"
            raise ParameterError(msg)
        timeout = float(self.timeout)
        if not math.isfinite(timeout) or timeout <= 0:
            msg = (
                f"the Dask timeout must be a positive number of seconds, got {self.timeout!r} "
                "(GRIDGEN_DASK_TIMEOUT)"
            )
            raise ParameterError(msg)
        object.__setattr__(self, "timeout", timeout)
        if self.retries < 0:
            msg = f"retries must be 0 or more, got {self.retries!r}"
            raise ParameterError(msg)

    @property
    def kind(self) -> ExecutorKind:
        """Return ``"dask"``, ``"processes"`` or ``"in_process"``."""
        if self.client is not None or self.scheduler is not None:
            return "dask"
        return "processes" if self.workers > 1 else "in_process"

    @property
    def distributes(self) -> bool:
        """Return True when tasks run on other machines (the input is shipped over a network)."""
        return self.kind == "dask"

    def describe(self) -> str:
        """Return a short description for progress lines and logs."""
        if self.client is not None:
            return "Dask client"
        if self.scheduler is not None:
            return f"Dask scheduler {self.scheduler}"
        if self.workers > 1:
            return f"{self.workers} local processes"
        return "in process"

    def map(
        self,
        func: Callable[..., T],
        payload: object,
        community_ids: Sequence[str],
        *,
        progress: ProgressFn | None = None,
        **options: object,
    ) -> list[T]:
        """Return ``[func(payload, cid, **options) for cid in community_ids]``.

        ``payload`` is a :class:`gridgen.dataset.Dataset` (or anything picklable) read by
        every task, or a :class:`~gridgen.distributed.subsets.Shards` whose part holding
        each community is what that task reads. ``progress(done, total)`` is called after
        each community. ``func`` must be a module-level function (pickled by reference).
        """
        ids = _check_ids(community_ids)
        if not ids:
            return []
        kind = self.kind
        if kind == "dask":
            if self.client is not None:
                return map_on_client(
                    self.client,
                    func,
                    payload,
                    ids,
                    progress=progress,
                    retries=self.retries,
                    options=options,
                )
            assert self.scheduler is not None
            with connect(self.scheduler, timeout=self.timeout) as own:
                return map_on_client(
                    own,
                    func,
                    payload,
                    ids,
                    progress=progress,
                    retries=self.retries,
                    options=options,
                )
        if kind == "processes" and len(ids) > 1:
            return _map_processes(
                func, payload, ids, workers=self.workers, progress=progress, options=options
            )
        return _map_in_process(func, payload, ids, progress, options)


PORTLESS_PROTOCOLS = ("inproc", "ucx")
"""Dask protocols whose addresses need no ``:PORT``; tcp, tls, ws and wss do."""


def _check_address(address: str) -> None:
    """Refuse a scheduler address Dask cannot parse (no port, unknown protocol) before any
    connection: ``distributed.Client('garbage')`` fails, then hangs 20 s and prints a
    traceback when Python exits. Checked here so the CLI need not import distributed."""
    protocol, _, rest = address.rpartition("://")
    protocol = protocol or "tcp"
    problem = None
    if protocol not in ("tcp", "tls", "ws", "wss", *PORTLESS_PROTOCOLS):
        problem = f"unknown protocol {protocol!r}"
    elif protocol not in PORTLESS_PROTOCOLS and not re.fullmatch(r"\S+:[0-9]{1,5}", rest):
        problem = "no :PORT"
    if problem is not None:
        msg = (
            f"Dask scheduler address {address!r} ({SCHEDULER_SETTING} or --scheduler): "
            f"{problem}; give the address `dask scheduler` printed, e.g. tcp://10.0.0.5:8786"
        )
        raise ParameterError(msg)


def map_communities(
    func: Callable[..., T],
    payload: object,
    community_ids: Sequence[str],
    *,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
    **options: object,
) -> list[T]:
    """Return ``[func(payload, cid, **options) for cid in community_ids]`` on ``executor``.

    The default executor runs in this process. See :meth:`Executor.map`.

    Raises
    ------
    ClusterError
        When the Dask cluster cannot be reached or a task keeps killing its workers.
    GridgenError
        Whatever ``func`` raises for bad input, unchanged.
    """
    run_on = executor if executor is not None else Executor()
    return run_on.map(func, payload, community_ids, progress=progress, **options)


def input_of(payload: object, community_id: str) -> object:
    """Return what the task of ``community_id`` reads from ``payload``."""
    return payload.input_of(community_id) if isinstance(payload, Shards) else payload


def _check_ids(community_ids: Sequence[str]) -> list[str]:
    ids = [str(c) for c in community_ids]
    seen: set[str] = set()
    for cid in ids:
        if cid in seen:
            msg = f"community {cid!r} is listed twice: give each community once"
            raise ParameterError(msg)
        seen.add(cid)
    return ids


def _map_in_process(
    func: Callable[..., T],
    payload: object,
    ids: list[str],
    progress: ProgressFn | None,
    options: dict[str, object],
) -> list[T]:
    out: list[T] = []
    for done, cid in enumerate(ids, start=1):
        out.append(func(input_of(payload, cid), cid, **options))
        if progress is not None:
            progress(done, len(ids))
    return out


_POOL_PAYLOAD: list[object] = []
"""The payload of the local pool, set once per worker process by its initializer."""


def _set_pool_payload(payload: object) -> None:
    _POOL_PAYLOAD[:] = [payload]


def _pool_task(func: Callable[..., Any], cid: str, options: dict[str, object]) -> bytes:
    """Return ``func``'s result for ``cid`` pickled here, in the worker process, where a
    result that cannot be sent back is still named (the pool would report a bare
    ``TypeError``); the pool then sends the bytes as they are."""
    result = func(input_of(_POOL_PAYLOAD[0], cid), cid, **options)
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # whatever pickling raises: name the part that stopped it
        where = unpicklable_part(result, name="the result")
        msg = (
            f"cannot send {where} of community {cid!r} back from its worker process: a task "
            "must return values that pickle (no lock, open file or connection)"
        )
        raise ClusterError(msg) from None


def _map_processes(
    func: Callable[..., T],
    payload: object,
    ids: list[str],
    *,
    workers: int,
    progress: ProgressFn | None,
    options: dict[str, object],
) -> list[T]:
    """Return the results computed by ``workers`` local processes (input order).

    The payload reaches each process once: inherited through ``fork`` where available
    (no copy), pickled once per process otherwise.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from gridgen.dataset import Dataset

    if isinstance(payload, Dataset):
        for name in payload.layers:
            payload.metric(name)  # project once, before the processes start
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    out: dict[str, T] = {}
    with ProcessPoolExecutor(
        max_workers=min(workers, len(ids)),
        mp_context=ctx,
        initializer=_set_pool_payload,
        initargs=(payload,),
    ) as pool:
        futures = {pool.submit(_pool_task, func, cid, options): cid for cid in ids}
        for fut in as_completed(futures):
            out[futures[fut]] = pickle.loads(fut.result())
            if progress is not None:
                progress(len(out), len(ids))
    return [out[c] for c in ids]
