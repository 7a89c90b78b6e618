"""Where per-community work runs, as settings (``GRIDGEN_WORKERS``, ``GRIDGEN_DASK_*``).

The settings of this library layer live here, as osmnx keeps its settings in the library
and titiler keeps application settings out of its core: the command line reads them with
:func:`executor_settings` (and never loads the web service's settings), and the service's
:class:`api.settings.Settings` builds on :class:`ExecutorSettings`. Nothing in gridgen
reads the environment by itself: a caller instantiates the settings.
"""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridgen.distributed.cluster import DEFAULT_TIMEOUT_S
from gridgen.distributed.executor import Executor
from gridgen.errors import ParameterError

__all__ = ["ENV_PREFIX", "ExecutorSettings", "executor_settings", "setting_problems"]

ENV_PREFIX = "GRIDGEN_"
"""Prefix of every gridgen environment variable (``GRIDGEN_<FIELD>``)."""


class ExecutorSettings(BaseSettings):
    """Where per-community work (partitioning, coverage) runs.

    Every field can be set by an environment variable ``GRIDGEN_<FIELD>`` (for example
    ``GRIDGEN_DASK_SCHEDULER``); other ``GRIDGEN_*`` variables (the service's) are ignored.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler (tcp://HOST:8786) running per-community work "
        "(partitioning, coverage) for the CLI and the service's jobs; unset: no cluster.",
    )
    dask_timeout: float = Field(
        default=DEFAULT_TIMEOUT_S,
        gt=0,
        allow_inf_nan=False,
        description="Seconds to wait for the Dask scheduler and its first worker.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        description="Local worker processes for per-community work when no Dask scheduler "
        "is set (1: in the calling process).",
    )

    def executor(self, *, scheduler: str | None = None, workers: int | None = None) -> Executor:
        """Return where per-community work runs: ``scheduler``/``workers`` win over settings.

        An empty ``scheduler`` string means no cluster even when the setting names one.
        """
        return Executor(
            workers=self.workers if workers is None else workers,
            scheduler=self.dask_scheduler if scheduler is None else scheduler,
            timeout=self.dask_timeout,
        )


def setting_problems(exc: ValidationError) -> str:
    """Return the bad settings of a validation error as ``GRIDGEN_NAME: problem; ...``."""
    return "; ".join(
        f"{ENV_PREFIX}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
        for e in exc.errors()
    )


def executor_settings() -> ExecutorSettings:
    """Return the executor settings read from the environment.

    Raises
    ------
    ParameterError
        Naming every bad ``GRIDGEN_*`` executor setting and why.
    """
    try:
        return ExecutorSettings()
    except ValidationError as exc:
        msg = f"bad setting: {setting_problems(exc)}"
        raise ParameterError(msg) from exc
