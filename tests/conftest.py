"""Shared fixtures and rules: the sample district, the two store back ends (SQLite file,
PostGIS schema), the hypothesis profile and the named clients.

PostGIS tests use the server named by ``GRIDGEN_TEST_DATABASE_URL`` (started by
``scripts/start_postgis.sh``); each test gets a fresh schema, dropped afterwards. Without
the variable they are skipped locally and FAIL in CI (``CI`` set), so that CI never passes
without having run them. The same holds for tests marked ``needs_client(NAME)``
(Chromium, GDAL, poppler, LibreOffice, QGIS: ``tests/clients.py``).

Property tests (hypothesis) run derandomized in CI, so CI never goes red by chance; locally
they explore at random and print the blob that reproduces a failure (``@reproduce_failure``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from clients import CLIENTS, client_present, in_ci, missing_client_message
from hypothesis import settings

from gridgen.dataset import Dataset
from gridgen.partition.exact import forget_proofs

settings.register_profile("ci", derandomize=True, print_blob=True, database=None)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if in_ci() else "dev")


@pytest.fixture(autouse=True)
def _fresh_proofs() -> None:
    """Every test searches afresh: the exhaustive search remembers proofs per process, so a
    test asking a part another test settled would otherwise not exercise the search."""
    forget_proofs()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (locally) or fail (in CI) a test whose named client is not installed."""
    for mark in item.iter_markers("needs_client"):
        for name in mark.args:
            if name not in CLIENTS:
                pytest.fail(f"needs_client({name!r}): known clients are {sorted(CLIENTS)}")
            if not client_present(name):
                message = missing_client_message(name)
                if in_ci():
                    pytest.fail(message)
                pytest.skip(message)


PG_ENV = "GRIDGEN_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def sample() -> Dataset:
    """Return the validated sample district shipped in the package (read once per session).

    Shared by every test module: treat it as read-only (copy a layer before changing it).
    """
    from gridgen.io.read import load_sample

    return load_sample()


def postgis_url() -> str:
    """Return the PostGIS test URL, or skip (locally) / fail (in CI) when it is unset."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    msg = f"{PG_ENV} is not set: run `export {PG_ENV}=$(scripts/start_postgis.sh)`"
    if in_ci():
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
