"""Offline Swagger UI for the service's ``/docs`` page.

FastAPI's default ``/docs`` loads Swagger UI from a CDN, which an intranet deployment cannot
reach (and which a Content-Security-Policy of ``'self'`` forbids). Installed once at set-up
time like Leaflet (:mod:`maps.assets`): ``npm pack swagger-ui-dist@SWAGGER_UI_VERSION``
unpacked into ``maps/static/vendor/swagger-ui/`` (git-ignored), the bundle, its CSS, the
favicon and the licence only (the package ships them at its top, not in ``dist/``).
"""

from __future__ import annotations

import sys

from maps.npm import VendoredPackage

SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI = VendoredPackage(
    label=f"Swagger UI {SWAGGER_UI_VERSION}",
    spec=f"swagger-ui-dist@{SWAGGER_UI_VERSION}",
    folder="swagger-ui",
    files=("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"),
    root="package/",
)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(SWAGGER_UI.main())
