"""The errors of the drawing layer (beside the one hierarchy of :mod:`gridgen.errors`)."""

from __future__ import annotations

from gridgen.errors import GridgenError


class MissingAssetError(GridgenError):
    """An offline asset (vendored Leaflet, CJK font) is not installed; the message says how."""
