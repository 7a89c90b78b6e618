"""HTTP details real clients rely on: HEAD, gzip, an OpenAPI 3.0 document.

- :class:`HeadAsGet`: FastAPI routes answer GET only; HEAD is the same request without the
  body (RFC 9110), so the middleware runs GET and drops the body, keeping the headers
  (``Content-Length``, ``ETag``...).
- gzip: Starlette's ``GZipMiddleware`` compresses responses over 1 kB (GeoJSON, TileJSON,
  vector tiles) when the client sends ``Accept-Encoding: gzip``.
- :func:`openapi_30`: the conformance class ``conf/oas30`` promises an OpenAPI 3.0
  document; FastAPI writes 3.1, so the document is converted (``anyOf`` with ``null`` →
  ``nullable``, ``examples`` → ``example``, ``const`` → ``enum``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OPENAPI_VERSION = "3.0.3"
GZIP_MINIMUM_BYTES = 1000


class HeadAsGet:
    """ASGI middleware answering HEAD as GET without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run HEAD requests as GET and send only the response start."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_head)


def _downgrade(node: Any) -> Any:
    """Return a JSON Schema (OpenAPI 3.1) fragment rewritten for OpenAPI 3.0."""
    if isinstance(node, list):
        return [_downgrade(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _downgrade(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            if len(rest) == 1:
                out.update(rest[0] if "$ref" not in rest[0] else {"allOf": rest})
            else:
                out[key] = rest
            out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list) and "type" in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0] if len(types) == 1 else types
    return out


def openapi_30(app: FastAPI) -> dict[str, Any]:
    """Return (and cache on ``app``) the app's OpenAPI document as version 3.0."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        doc = {k: _downgrade(v) if k in ("components", "paths") else v for k, v in doc.items()}
        doc["openapi"] = OPENAPI_VERSION
        doc.get("info", {}).pop("summary", None)  # 3.1 only
        app.openapi_schema = doc
    return app.openapi_schema


def install_http_extras(app: FastAPI) -> None:
    """Add HEAD, gzip and the OpenAPI 3.0 document to ``app`` (call after the routes)."""
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    app.add_middleware(HeadAsGet)
    app.openapi = lambda: openapi_30(app)  # type: ignore[method-assign]
