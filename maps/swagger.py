"""Offline Swagger UI for the service's ``/docs`` page.

FastAPI's default ``/docs`` loads Swagger UI from a CDN, which an intranet deployment cannot
reach (and which a Content-Security-Policy of ``'self'`` forbids). Installed once at set-up
time like Leaflet (:mod:`maps.assets`): ``npm pack swagger-ui-dist@SWAGGER_UI_VERSION``
unpacked into ``maps/static/vendor/swagger-ui/`` (git-ignored), the bundle, its CSS, the
favicon and the licence only.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from gridgen.errors import MissingAssetError
from maps import static_dir
from maps.npm import stage_npm_dist

SWAGGER_UI_VERSION = "5.35.0"
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE")


def swagger_ui_dir() -> Path:
    """Return the folder holding the vendored Swagger UI files."""
    return static_dir() / "vendor" / "swagger-ui"


def swagger_ui_present() -> bool:
    """Return whether the vendored Swagger UI files are installed."""
    d = swagger_ui_dir()
    return all((d / f).is_file() for f in FILES)


def ensure_swagger_ui(*, force: bool = False, npm: str = "npm") -> Path:
    """Install Swagger UI into :func:`swagger_ui_dir` with ``npm pack`` when missing.

    The folder is replaced atomically. Raises :class:`MissingAssetError` (saying how to fix
    it) when npm or the registry is unavailable.
    """
    target = swagger_ui_dir()
    if swagger_ui_present() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = stage_npm_dist(
            f"swagger-ui-dist@{SWAGGER_UI_VERSION}",
            Path(tmp) / "swagger-ui",
            npm=npm,
            keep=lambda name: name in FILES,
            root="package/",
        )
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Install Swagger UI (``python -m maps.swagger [--force]``)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        path = ensure_swagger_ui(force="--force" in args)
    except MissingAssetError as exc:
        print(f"maps.swagger: error: {exc}", file=sys.stderr)
        return 1
    print(f"Swagger UI {SWAGGER_UI_VERSION} installed in {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
