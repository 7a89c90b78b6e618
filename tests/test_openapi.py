"""The OpenAPI document says what every route returns (a schema, or its media types)."""

from __future__ import annotations

from pathlib import Path

from api.app import create_app
from api.settings import Settings

BINARY = {"image/png", "application/pdf", "text/html", "application/vnd.mapbox-vector-tile"}
NOT_YET = {
    "/ogc/collections/{collection_id}/items",
    "/ogc/collections/{collection_id}/items/{feature_id}",
}
"""GeoJSON pages of the OGC router, described by the OGC API document instead."""


def test_every_route_describes_its_response(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}"))
    doc = app.openapi()
    missing = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            code = next(c for c in ("200", "201", "202", "204") if c in op["responses"])
            if code == "204" or path in NOT_YET:
                continue
            content = op["responses"][code].get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if not schema and not BINARY & set(content):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
    schemas = doc["components"]["schemas"]
    assert {"PlanDetail", "VersionMetrics", "Comparison", "SavedVersion", "TableRows"} <= set(
        schemas
    )
    assert set(schemas["SavedVersion"]["properties"]) == {"version", "move"}
