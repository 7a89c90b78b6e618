"""The ``/docs`` page: Swagger UI served by this service, under the service's CSP.

FastAPI's built-in page loads Swagger UI from a CDN, which an intranet deployment cannot
reach; here the bundle comes from ``/static/vendor/swagger-ui`` (:mod:`maps.swagger`) and
the page's one inline script carries the response's CSP nonce. There is no ``/redoc``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from api.security import add_script_nonce, content_security_policy, new_nonce
from maps.errors import MissingAssetError

SWAGGER_BASE = "/static/vendor/swagger-ui"


def install_docs_page(app: FastAPI) -> None:
    """Add ``GET /docs`` (the OpenAPI document rendered by the vendored Swagger UI)."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        from maps.swagger import SWAGGER_UI

        if not SWAGGER_UI.present():
            msg = "the API docs page needs Swagger UI: run `python -m maps.assets` once"
            raise MissingAssetError(msg)
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="gridgen API",
            swagger_js_url=f"{SWAGGER_BASE}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_BASE}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_BASE}/favicon-32x32.png",
        )
        nonce = new_nonce()
        body = add_script_nonce(bytes(page.body).decode("utf-8"), nonce)
        headers = {"Content-Security-Policy": content_security_policy(nonce)}
        return HTMLResponse(body, headers={**headers, "Cache-Control": "no-store"})
