"""Offline MapLibre GL JS for the grid editor and the viewer (vector tiles, feature state).

Installed once at set-up time like Leaflet (:mod:`maps.assets`): ``npm pack
maplibre-gl@MAPLIBRE_VERSION`` unpacked into ``maps/static/vendor/maplibre/`` (git-ignored).
Debian 12 has no MapLibre package, so npm is required (Debian's ``npm``). Only the CSP
build is kept (``maplibre-gl-csp.js`` with its worker as a separate file, so pages need no
``blob:`` workers), plus the CSS and the licence.

5.x is used (the last line with a browser bundle; ``latest`` on npm, 6.x, ships ES modules
only).
"""

from __future__ import annotations

import sys

from maps.npm import VendoredPackage

MAPLIBRE_VERSION = "5.24.1"
MAPLIBRE = VendoredPackage(
    label=f"MapLibre GL JS {MAPLIBRE_VERSION}",
    spec=f"maplibre-gl@{MAPLIBRE_VERSION}",
    folder="maplibre",
    files=("maplibre-gl-csp.js", "maplibre-gl-csp-worker.js", "maplibre-gl.css", "LICENSE.txt"),
)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(MAPLIBRE.main())
