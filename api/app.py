"""The FastAPI application: :func:`create_app`.

Routes: ``/`` (map viewer page), ``/static`` (viewer assets), ``/ogc`` (OGC API –
Features), ``/tiles`` (vector tiles), ``/datasets``, ``/plans``, ``/jobs``, ``/coverage``,
``/siting``, ``/sheets``, ``/keys``, ``/audit``, ``/me``; OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import hash_secret
from api.errors import install_error_handlers
from api.service import ServiceState
from api.settings import Settings, get_settings
from api.store.base import open_store

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


class UploadLimit:
    """ASGI middleware refusing uploads whose ``Content-Length`` exceeds the limit (413).

    Multipart framing adds a little, so only bodies beyond ``limit`` + 64 KiB are refused
    here; the upload route checks the exact size. A plain ASGI middleware (not
    ``@app.middleware("http")``, whose task group and streams cost ≈0.2 ms per request):
    other requests pass straight through.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 to an oversized POST/PUT, else call the app."""
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT"):
            length = Headers(scope=scope).get("content-length")
            if length and length.isdigit() and int(length) > self.limit + 65536:
                detail = f"file: upload of {length} bytes exceeds the limit of {self.limit}"
                body = {"error": "PayloadTooLargeError", "detail": detail}
                await JSONResponse(body, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
            return FileResponse(index, media_type="text/html")
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open_async()
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
    )
    app.state.gridgen = state
    install_error_handlers(app)

    app.add_middleware(UploadLimit, limit=settings.upload_limit_bytes)

    from api.routers import admin, coverage, datasets, ogc, plans, sheets, tiles

    # tiles first: the most frequent requests match the first routes tried
    for module in (tiles, datasets, plans, coverage, sheets, ogc, admin):
        app.include_router(module.router)
    _viewer_routes(app)
    from api.http_extras import install_http_extras

    install_http_extras(app)  # HEAD, gzip, OpenAPI 3.0 (OGC conf/oas30)
    return app
