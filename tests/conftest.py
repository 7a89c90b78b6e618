"""Shared fixtures: the two store back ends (SQLite file, PostGIS schema) and API clients.

PostGIS tests use the server named by ``GRIDGEN_TEST_DATABASE_URL`` (started by
``scripts/start_postgis.sh``); each test gets a fresh schema, dropped afterwards. Without
the variable they are skipped locally and FAIL in CI (``CI`` set), so that CI never passes
without having run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_ENV = "GRIDGEN_TEST_DATABASE_URL"


def postgis_url() -> str:
    """Return the PostGIS test URL, or skip (locally) / fail (in CI) when it is unset."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    msg = f"{PG_ENV} is not set: run `export {PG_ENV}=$(scripts/start_postgis.sh)`"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(msg)
    pytest.skip(msg)


BACKENDS = ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path: os.PathLike[str]
) -> Iterator[tuple[str, str | None]]:
    """Yield (database URL, schema) of a fresh, empty store on each back end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/gridgen.db", None
        return
    url = postgis_url()
    schema = "t_" + uuid.uuid4().hex[:16]
    yield url, schema
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


ADMIN_KEY = "test-admin-secret"
