"""Service settings, read from the environment (prefix ``GRIDGEN_``) through a cached function.

They build on the executor settings of the library (:mod:`gridgen.distributed.settings`),
which the command line reads without loading these.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gridgen.distributed.settings import ENV_PREFIX, ExecutorSettings

Role = Literal["viewer", "grid_worker", "planner", "admin"]


class Settings(ExecutorSettings):
    """Settings of the gridgen service: the executor's (where per-community work runs:
    ``GRIDGEN_WORKERS``, ``GRIDGEN_DASK_*``, from
    :class:`gridgen.distributed.settings.ExecutorSettings`) and the service's own.

    Every field can be set by an environment variable ``GRIDGEN_<FIELD>`` (for example
    ``GRIDGEN_DATABASE_URL``), or passed to :func:`api.app.create_app` directly.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

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
    ledger_max_rows: int = Field(
        default=500_000,
        gt=0,
        description="Most data rows a ledger (一标三实, 楼栋台账) may hold; past it 413.",
    )
    ledger_max_inflated_bytes: int = Field(
        default=512 * 1024 * 1024,
        gt=0,
        description="Most bytes an uploaded workbook may inflate to (its XML); past it 413.",
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings read from the environment (built once, on first call)."""
    return Settings()
