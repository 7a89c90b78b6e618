"""The FastAPI application: :func:`create_app`.

Routes: ``/`` (map viewer page), ``/static`` (viewer assets), ``/ogc`` (OGC API –
Features), ``/tiles`` (vector tiles), ``/datasets``, ``/plans``, ``/jobs``, ``/coverage``,
``/siting``, ``/sheets``, ``/reports``, ``/keys``, ``/audit``, ``/me``; OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.auth import hash_secret
from api.docs_page import install_docs_page
from api.errors import install_error_handlers
from api.guard import RequestGuard
from api.params import check_parameters
from api.recovery import recover, service_temp_dir
from api.security import SecurityHeaders, content_security_policy, new_nonce
from api.service import ServiceState
from api.settings import Settings, get_settings
from api.store import open_store
from gridgen.coverage.stations import DEFAULT_RADIUS_M

BOOTSTRAP_ACTOR = "settings (GRIDGEN_ADMIN_KEY)"


def _bootstrap_admin(state: ServiceState) -> None:
    secret = state.settings.admin_key
    if secret and state.store.find_key(hash_secret(secret)) is None:
        state.store.add_key(
            name="bootstrap admin",
            role="admin",
            community_id=None,
            secret_hash=hash_secret(secret),
            actor=BOOTSTRAP_ACTOR,
        )


def _viewer_routes(app: FastAPI) -> None:
    try:
        from maps import static_dir

        folder: Path | None = static_dir()
    except ImportError:  # maps not installed: the API still works
        folder = None
    if folder is not None and folder.is_dir():
        app.mount("/static", StaticFiles(directory=folder), name="static")

    @app.get("/", include_in_schema=False)
    def viewer() -> Response:
        index = None if folder is None else folder / "viewer" / "index.html"
        if index is not None and index.is_file():
            nonce = new_nonce()
            meta = (
                f'<head>\n<meta name="gridgen-nonce" content="{nonce}">\n'
                f'<meta name="gridgen-radius" content="{DEFAULT_RADIUS_M:g}">'
            )
            page = index.read_text(encoding="utf-8").replace("<head>", meta, 1)
            csp = {"Content-Security-Policy": content_security_policy(nonce)}
            return HTMLResponse(page, headers={**csp, "Cache-Control": "no-store"})
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>gridgen</title>"
            "<p>gridgen service. API: <a href=/docs>/docs</a>, features: <a href=/ogc>/ogc</a>"
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the gridgen service for ``settings`` (default: :func:`get_settings`).

    The store is opened here (so the app is usable without running its lifespan) and
    closed at shutdown.
    """
    settings = settings or get_settings()
    store = open_store(settings.database_url, schema=settings.database_schema)
    state = ServiceState.create(settings, store)
    _bootstrap_admin(state)
    recover(settings, store)
    if settings.temp_dir:  # every temp file of this process (spooled uploads too) goes there
        tempfile.tempdir = str(service_temp_dir(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open_async()
        state.start_heartbeat()
        try:
            yield
        finally:
            await store.close_async()
            state.close()

    app = FastAPI(
        title="gridgen",
        summary="Community grid governance (网格化治理): datasets, grid plans, coverage, maps",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(check_parameters)],
        docs_url=None,  # our own /docs: Swagger UI from this service (api.docs_page)
        redoc_url=None,
    )
    app.state.gridgen = state
    install_error_handlers(app)

    app.add_middleware(RequestGuard, state=state)
    app.add_middleware(SecurityHeaders)

    from api.routers import (
        admin,
        coverage,
        datasets,
        editor,
        existing,
        ingest,
        ledger,
        ogc,
        plans,
        records,
        reports,
        sheets,
        tiles,
    )

    # tiles first: the most frequent requests match the first routes tried
    for module in (
        tiles,
        ingest,
        datasets,
        ledger,
        plans,
        editor,
        existing,
        records,
        coverage,
        sheets,
        ogc,
        admin,
        reports,
    ):
        app.include_router(module.router)
    _viewer_routes(app)
    install_docs_page(app)
    from api.http_extras import install_http_extras

    install_http_extras(app)  # HEAD, gzip, OpenAPI 3.0 (OGC conf/oas30)
    return app
