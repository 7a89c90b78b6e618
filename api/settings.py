"""Service settings, read from the environment (prefix ``GRIDGEN_``) through a cached function."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridgen.distributed.cluster import DEFAULT_TIMEOUT_S
from gridgen.distributed.executor import Executor

Role = Literal["viewer", "grid_worker", "planner", "admin"]


class Settings(BaseSettings):
    """Settings of the gridgen service.

    Every field can be set by an environment variable ``GRIDGEN_<FIELD>`` (for example
    ``GRIDGEN_DATABASE_URL``), or passed to :func:`api.app.create_app` directly.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDGEN_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./gridgen.db",
        description="sqlite:///PATH (embedded file, the default) or postgresql://... (PostGIS).",
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema holding the tables (created if absent); default public.",
    )
    upload_limit_bytes: int = Field(
        default=200 * 1024 * 1024, gt=0, description="Largest accepted upload."
    )
    json_limit_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest accepted request body other than a dataset upload (JSON edits, keys).",
    )
    max_layer_rows: int = Field(
        default=150_000,
        gt=0,
        description="Most rows (features) one layer of an uploaded dataset may hold.",
    )
    job_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often a service instance marks its running jobs alive; another "
        "instance fails a job whose owner has been silent for four beats.",
    )
    temp_dir: str | None = Field(
        default=None,
        description="Folder for the service's temporary files (uploads, exports); default the "
        "system temp folder. The service removes its own leftovers there at start.",
    )
    admin_key: str | None = Field(
        default=None,
        description="Bootstrap admin API key (GRIDGEN_ADMIN_KEY); created in the store at start.",
    )
    anonymous_role: Role | None = Field(
        default=None,
        description="Role given to requests without a key (None: they get 401). 'viewer' "
        "makes published plans and public layers readable without a key.",
    )
    tile_cache_size: int = Field(default=4096, ge=0, description="Tiles kept in the LRU.")
    layer_cache_size: int = Field(
        default=16, ge=1, description="Layers kept in memory by the embedded tile encoder."
    )
    max_items: int = Field(default=1000, ge=1, description="Server maximum of OGC `limit`.")
    default_items: int = Field(default=100, ge=1, description="Default OGC `limit`.")
    job_workers: int = Field(default=1, ge=1, description="Background job threads.")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings read from the environment (built once, on first call)."""
    return Settings()
