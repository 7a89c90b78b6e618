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


class NotFoundError(GridgenError):
    """A named object (dataset, plan, grid, compound, building) does not exist."""


class ConflictError(GridgenError):
    """An edit was made against a stale version; reload and apply it again."""


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
