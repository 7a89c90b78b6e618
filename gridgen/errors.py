"""All gridgen errors, in one hierarchy.

Every message says what is wrong *and* how to fix the input. Messages are built first
and then raised (osmnx style). The service maps these classes to HTTP status codes in
one table (``api/errors.py``); the command line prints ``str(error)`` on one line and
exits non-zero.
"""

from __future__ import annotations


class GridgenError(Exception):
    """Base class of every error gridgen raises on purpose."""


class InputError(GridgenError):
    """The input (file, layer, column, parameter) cannot be used as given."""


class DataFileNotFoundError(InputError):
    """A named input file or folder does not exist."""


class UnsupportedFormatError(InputError):
    """A file is not one of the formats gridgen reads or writes."""


class UnreadableFileError(InputError):
    """A file has a supported extension but its content cannot be read (corrupt, truncated)."""


class UnknownLayerError(InputError):
    """A layer was named that gridgen does not know or the file does not hold."""


class UnknownCRSError(InputError):
    """A coordinate reference system could not be understood."""


class MissingCoordinatesError(InputError):
    """A CSV has neither lon/lat nor WKT geometry columns."""


class SchemaError(InputError):
    """A layer lacks a required column or a column has the wrong type."""


class ParameterError(InputError):
    """A function or command option has a value out of its range."""


class UnknownParameterError(ParameterError):
    """A request carries a query parameter the endpoint does not define (OGC: 400)."""


class ValidationFailedError(InputError):
    """Validation found problems that cannot be repaired (see the attached report)."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class InfeasibleError(GridgenError):
    """A planning request cannot be satisfied (reported with its reason)."""


class TilingError(GridgenError):
    """Grids do not tile their community exactly, or stay invalid in an output CRS."""


class NotFoundError(GridgenError):
    """A named object (dataset, plan, grid, compound, building) does not exist."""


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


class PermissionDeniedError(GridgenError):
    """The caller's role may not perform this operation or see this data."""


class MissingAssetError(GridgenError):
    """An offline asset (vendored Leaflet, CJK font) is not installed; the message says how."""


class AuthenticationError(GridgenError):
    """No valid API key or bearer token was given."""


class PayloadTooLargeError(InputError):
    """An upload exceeds the configured size limit."""


class StorageError(GridgenError):
    """The storage back end failed (database unreachable, schema missing)."""


class ClusterError(GridgenError):
    """The Dask cluster cannot be reached or failed (address, workers, lost tasks)."""


class LedgerError(InputError):
    """A ledger (楼栋台账) cannot be applied: no rows, duplicate or unknown ids, bad values."""


class TooManyRowsError(PayloadTooLargeError):
    """A layer holds more rows than the configured cap (``max_rows`` / ``max_layer_rows``)."""


class BadParameterError(ParameterError):
    """A request parameter (path, query or header) is malformed: HTTP 400 naming it."""
