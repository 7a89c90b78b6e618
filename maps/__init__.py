"""Maps: the overview web map, compound sheets (一小区一图示), atlases and the viewer page.

``maps`` only renders what :mod:`gridgen` computed; it never computes plans or coverage
itself. Heavy modules (folium, matplotlib) are imported by the submodules that need them.
"""

from __future__ import annotations

from pathlib import Path

_STATIC = Path(__file__).resolve().parent / "static"


def static_dir() -> Path:
    """Return the folder the service mounts at ``/static`` (viewer page, vendored Leaflet)."""
    return _STATIC


__all__ = ["static_dir"]
