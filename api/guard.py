"""Pure ASGI middleware: the caller is known and the body capped before any byte is read.

FastAPI reads and parses a request body before it solves a route's dependencies, so an
API-key dependency alone lets an anonymous client make the server spool a huge upload. For
every request that may carry a body (POST, PUT, PATCH, DELETE) :class:`RequestGuard`

1. identifies the caller from ``X-API-Key`` / ``Authorization: Bearer`` (401 at once for a
   missing or unknown key, unless the settings give anonymous callers a role), and refuses a
   dataset upload by a non-admin (403), without reading the body;
2. refuses a declared ``Content-Length`` above the route's cap (413 at once);
3. counts the bytes while the body streams (chunked or not) and answers 413 as soon as the
   cap is passed: dataset uploads at ``upload_limit_bytes``, every other body at
   ``json_limit_bytes``.

It is plain ASGI (no ``BaseHTTPMiddleware``), so requests without a body pass straight through.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLargeError, PermissionDeniedError, error_body, status_for
from gridgen.errors import GridgenError, ParameterError

if TYPE_CHECKING:
    from api.service import ServiceState

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPLOAD_ROUTES: tuple[tuple[re.Pattern[str], tuple[str, ...], str], ...] = (
    (re.compile(r"/datasets/?"), ("admin",), "uploading datasets"),
    (re.compile(r"/datasets/ingest/?"), ("planner", "admin"), "ingesting a district's files"),
    (re.compile(r"/datasets/[^/]+/ledger/?"), ("admin",), "refreshing a dataset from a ledger"),
)
"""POST routes taking file uploads (capped at ``upload_limit_bytes``): path, roles, action."""


def upload_route(path: str) -> tuple[tuple[str, ...], str] | None:
    """Return (roles, action) of the upload route at ``path`` (None: not an upload)."""
    for pattern, roles, action in UPLOAD_ROUTES:
        if pattern.fullmatch(path):
            return roles, action
    return None


class BodyTooLargeError(Exception):
    """Raised from ``receive`` when the body passes its cap (turned into one 413 answer)."""


def _answer(error: GridgenError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status_for(error) == 401 else None
    return JSONResponse(error_body(error), status_code=status_for(error), headers=headers)


def _too_large(limit: int, what: str) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"{what}: the request body exceeds the limit of {limit} bytes; "
        + ("split or simplify the upload" if what == "file" else "send a smaller body")
    )


class RequestGuard:
    """Authenticate before the body is read, and cap every body while it streams."""

    def __init__(self, app: ASGIApp, *, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def _check_caller(self, scope: Scope, headers: Headers) -> None:
        from api.deps import principal_for

        who = await principal_for(
            self.state, headers.get("x-api-key"), headers.get("authorization")
        )
        route = upload_route(scope["path"]) if scope["method"] == "POST" else None
        if route is not None and who.role not in route[0]:
            roles = " or ".join(route[0])
            msg = f"{route[1]} needs role {roles}; this key has role {who.role}"
            raise PermissionDeniedError(msg)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the caller and the declared size, then call the app with a capped body."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = scope["method"] == "POST" and upload_route(scope["path"]) is not None
        settings = self.state.settings
        limit = settings.upload_limit_bytes if upload else settings.json_limit_bytes
        what = "file" if upload else "body"
        try:
            await self._check_caller(scope, headers)
            length = headers.get("content-length")
            if length is not None and not length.strip().isdigit():
                raise ParameterError(f"Content-Length: {length[:40]!r} is not a byte count")
            if length is not None and int(length) > limit:
                raise _too_large(limit, what)
        except GridgenError as exc:
            await _answer(exc)(scope, receive, send)
            return
        await self._call_capped(scope, receive, send, limit=limit, what=what)

    async def _call_capped(
        self, scope: Scope, receive: Receive, send: Send, *, limit: int, what: str
    ) -> None:
        received = 0
        exceeded = False
        started = False

        async def capped_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLargeError(what)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's own answer to the cut body is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(BodyTooLargeError):
            await self.app(scope, capped_receive, guarded_send)
        if exceeded and not started:
            await _answer(_too_large(limit, what))(scope, receive, send)
