"""Offline MapLibre GL JS for the grid editor (vector tiles, feature state).

Installed once at set-up time like Leaflet (:mod:`maps.assets`): ``npm pack
maplibre-gl@MAPLIBRE_VERSION`` unpacked into ``maps/static/vendor/maplibre/`` (git-ignored).
Debian 12 has no MapLibre package, so npm is required (Debian's ``npm``). Only the CSP
build is kept (``maplibre-gl-csp.js`` with its worker as a separate file, so pages need no
``blob:`` workers), plus the CSS and the licence.

5.x is used (the last line with a browser bundle; ``latest`` on npm, 6.x, ships ES modules
only).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from gridgen.errors import MissingAssetError
from maps import static_dir
from maps.npm import stage_npm_dist

MAPLIBRE_VERSION = "5.24.1"
FILES = ("maplibre-gl-csp.js", "maplibre-gl-csp-worker.js", "maplibre-gl.css", "LICENSE.txt")


def maplibre_dir() -> Path:
    """Return the folder holding the vendored MapLibre files."""
    return static_dir() / "vendor" / "maplibre"


def maplibre_present() -> bool:
    """Return whether the vendored MapLibre files are installed."""
    d = maplibre_dir()
    return all((d / f).is_file() for f in FILES)


def ensure_maplibre(*, force: bool = False, npm: str = "npm") -> Path:
    """Install MapLibre GL JS into :func:`maplibre_dir` with ``npm pack`` when missing.

    The folder is replaced atomically. Raises :class:`MissingAssetError` (saying how to fix
    it) when npm or the registry is unavailable.
    """
    target = maplibre_dir()
    if maplibre_present() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = stage_npm_dist(
            f"maplibre-gl@{MAPLIBRE_VERSION}",
            Path(tmp) / "maplibre",
            npm=npm,
            keep=lambda name: name in FILES,
        )
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Install MapLibre (``python -m maps.maplibre [--force]``)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        path = ensure_maplibre(force="--force" in args)
    except MissingAssetError as exc:
        print(f"maps.maplibre: error: {exc}", file=sys.stderr)
        return 1
    print(f"MapLibre GL JS {MAPLIBRE_VERSION} installed in {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
