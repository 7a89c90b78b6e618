"""Storage of the service: :class:`api.store.base.Store` and its two back ends.

:func:`open_store` picks the back end from a database URL; it lives here, above the back
ends, so that :mod:`api.store.base` (the interface) never imports its implementations.
"""

from __future__ import annotations

from api.store.base import Store
from gridgen.errors import ParameterError

__all__ = ["open_store"]


def open_store(url: str, *, schema: str | None = None) -> Store:
    """Return the store for a database URL (``sqlite:///PATH`` or ``postgresql://...``)."""
    if url.startswith("sqlite:"):
        from api.store.sqlite import SQLiteStore

        path = url.removeprefix("sqlite:").removeprefix("///").removeprefix("//")
        return SQLiteStore(path or ":memory:")
    if url.startswith(("postgresql:", "postgres:", "postgresql+psycopg:")):
        from api.store.postgis import PostGISStore

        return PostGISStore(url.replace("postgresql+psycopg:", "postgresql:"), schema=schema)
    msg = f"database URL {url!r}: use sqlite:///PATH or postgresql://user@host:port/db"
    raise ParameterError(msg)
