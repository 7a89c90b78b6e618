"""The service's own errors, the one table mapping errors to HTTP status codes, and the handlers.

The errors only the service raises (authentication, permission, request size and
parameters, edit conflicts, storage) are defined here, beside the service; they derive
from :class:`gridgen.errors.GridgenError` like every other.

Every error body is JSON: ``{"error": <class name>, "detail": <message>, ...}``; the message
names the bad field or parameter (gridgen errors are written that way). A validation report
attached to :class:`gridgen.errors.ValidationFailedError` is returned under ``report``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridgen.errors import (
    GridgenError,
    InfeasibleError,
    InputError,
    NotFoundError,
    ParameterError,
    TooManyRowsError,
    UnknownLayerError,
    UnsupportedFormatError,
    ValidationFailedError,
)
from maps.errors import MissingAssetError


class AuthenticationError(GridgenError):
    """No valid API key or bearer token was given."""


class PermissionDeniedError(GridgenError):
    """The caller's role may not perform this operation or see this data."""


class PayloadTooLargeError(InputError):
    """An upload exceeds the configured size limit."""


class BadParameterError(ParameterError):
    """A request parameter (path, query or header) is malformed: HTTP 400 naming it."""


class UnknownParameterError(ParameterError):
    """A request carries a query parameter the endpoint does not define (OGC: 400)."""


class StorageError(GridgenError):
    """The storage back end failed (database unreachable, schema missing)."""


class ConflictError(GridgenError):
    """An edit was made against a stale version (or a unique value exists already).

    For a stale plan edit ``head_version`` and ``base_version`` are set, and, when known,
    who saved the head (``head_author``), when (``head_created_at``) and why
    (``head_message``); the service returns them in the 409 body. All are None for other
    conflicts.
    """

    def __init__(
        self,
        message: str,
        *,
        head_version: int | None = None,
        base_version: int | None = None,
        head_author: str | None = None,
        head_created_at: str | None = None,
        head_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.head_version = head_version
        self.base_version = base_version
        self.head_author = head_author
        self.head_created_at = head_created_at
        self.head_message = head_message


def check_base_version(
    plan_id: str,
    *,
    head_version: int,
    base_version: int,
    head_author: str | None = None,
    head_created_at: str | None = None,
    head_message: str | None = None,
) -> None:
    """Raise :class:`ConflictError` unless an edit made on ``base_version`` is on the head."""
    if base_version == head_version:
        return
    saved = ""
    if head_author is not None:
        saved = f", saved by {head_author} at {head_created_at}"
        saved += f" ({head_message})" if head_message else ""
    msg = (
        f"plan {plan_id} is at version {head_version}{saved}; the edit was made on version "
        f"{base_version}: reload version {head_version} and apply the edit again"
    )
    raise ConflictError(
        msg,
        head_version=head_version,
        base_version=base_version,
        head_author=head_author,
        head_created_at=head_created_at,
        head_message=head_message,
    )


STATUS_BY_ERROR: tuple[tuple[type[GridgenError], int], ...] = (
    (PayloadTooLargeError, 413),
    (TooManyRowsError, 413),
    (BadParameterError, 400),
    (UnsupportedFormatError, 415),
    (UnknownParameterError, 400),
    (UnknownLayerError, 404),
    (ValidationFailedError, 422),
    (InputError, 422),
    (InfeasibleError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PermissionDeniedError, 403),
    (AuthenticationError, 401),
    (StorageError, 503),
    (MissingAssetError, 503),
    (GridgenError, 500),
)
"""Error class → HTTP status; the first matching row (most specific first) wins."""


def status_for(error: GridgenError) -> int:
    """Return the HTTP status of ``error`` from :data:`STATUS_BY_ERROR`."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


def error_body(error: GridgenError) -> dict[str, Any]:
    """Return the JSON body describing ``error``."""
    body: dict[str, Any] = {"error": type(error).__name__, "detail": str(error)}
    report = getattr(error, "report", None)
    if report is not None and hasattr(report, "to_dict"):
        body["report"] = report.to_dict()
    if isinstance(error, ConflictError) and error.head_version is not None:
        body["head_version"] = error.head_version
        body["base_version"] = error.base_version
        for name in ("head_author", "head_created_at", "head_message"):
            if getattr(error, name) is not None:
                body[name] = getattr(error, name)
        conflicts = getattr(error, "conflicts", None)  # a stale editor save (api.edit_conflicts)
        if conflicts is not None:
            body["conflicts"] = conflicts
            body["renamed"] = getattr(error, "renamed", {})
            body["merged"] = getattr(error, "merged", [])
    return body


NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


async def _gridgen_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridgenError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    status = status_for(exc)
    if isinstance(exc, ParameterError) and request.method in NO_BODY_METHODS:
        status = 400  # no body: the bad value is a path, query or header parameter
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


LOCATIONS = ("body", "query", "path", "header")


def _short(part: str, most: int = 60) -> str:
    """Return a part of a parameter's path, cut to ``most`` characters (a dict key echoed)."""
    return part if len(part) <= most else part[:most] + "…"


async def _request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        loc = [_short(str(p)) for p in err.get("loc", ()) if p not in LOCATIONS]
        text = str(err.get("msg", "")).removeprefix("Value error, ")  # pydantic's prefix
        problems.append({"parameter": ".".join(loc) or "request", "problem": text})
    detail = "; ".join(f"{p['parameter']}: {p['problem']}" for p in problems)
    # 422 only for the JSON body; a bad path, query or header parameter is 400
    in_body = any(err.get("loc", ("",))[0] == "body" for err in exc.errors())
    return JSONResponse(
        {"error": "ParameterError", "detail": detail, "problems": problems},
        status_code=422 if in_body else 400,
    )


HTTP_ERROR_NAMES = {404: "NotFoundError", 405: "MethodNotAllowedError"}
"""Error name of the HTTP errors the framework raises itself (no route, wrong method)."""


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer the framework's own HTTP errors with the body every error has."""
    assert isinstance(exc, StarletteHTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = f"{where}: no such route; the routes are listed at /docs"
    elif exc.status_code == 405:
        detail = f"{where}: this method is not allowed on this path; see /docs"
    else:
        detail = str(exc.detail)
    name = HTTP_ERROR_NAMES.get(exc.status_code, "HTTPError")
    body = {"error": name, "detail": detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of gridgen errors, request validation errors and the
    framework's own HTTP errors (unknown route, wrong method) on ``app``."""
    app.add_exception_handler(GridgenError, _gridgen_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
