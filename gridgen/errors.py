"""All gridgen errors, in one hierarchy.

Every message says what is wrong *and* how to fix the input. Messages are built first
and then raised (osmnx style). The service maps these classes to HTTP status codes in
one table (``api/errors.py``); the command line prints ``str(error)`` on one line and
exits non-zero. Errors only the service raises (authentication, permission, request size
and parameters, edit conflicts, storage) live beside it, in ``api/errors.py``; a missing
offline asset of the maps is ``maps.errors.MissingAssetError``. All derive from
:class:`GridgenError`.
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


class ClusterError(GridgenError):
    """The Dask cluster cannot be reached or failed (address, workers, lost tasks)."""


class LedgerError(InputError):
    """A ledger (楼栋台账) cannot be applied: no rows, duplicate or unknown ids, bad values."""


class TooManyRowsError(InputError):
    """A layer holds more rows than the configured cap (``max_rows`` / ``max_layer_rows``)."""
