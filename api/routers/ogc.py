"""OGC API – Features Part 1 Core under ``/ogc`` (``/`` is the map viewer).

Collections are the served layers of :data:`api.service.COLLECTIONS` of the current dataset
(the newest with a published plan) or of ``?dataset=ID``; ``grids`` are the published plan's.
Items honour ``bbox`` (CRS84, envelope intersection), ``limit`` (clamped to the server
maximum) and ``offset``, with ``next``/``prev`` links. Restricted columns are removed for
callers without access to them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.access import Access, visible_properties
from api.deps import PrincipalDep, StateDep
from api.errors import UnknownParameterError
from api.scopes import access_for
from api.service import COLLECTIONS, check_collection, resolve_layer
from api.store.base import BBox, FeatureRow
from gridgen.errors import ParameterError

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

GEOMETRY_TYPES = {
    "streets": "Polygon",
    "communities": "Polygon",
    "grids": "Polygon",
    "compounds": "Polygon",
    "buildings": "Polygon",
    "building_points": "Point",
    "stations": "Point",
    "uncovered_buildings": "Polygon",
    "uncovered_building_points": "Point",
}
"""The one geometry type of each collection (declared in its metadata)."""

DatasetQ = Annotated[
    str | None, Query(description="Dataset id (default: the newest with a published plan)")
]


class GeoJSONResponse(JSONResponse):
    """A JSON response of media type ``application/geo+json`` (OGC API – Features)."""

    media_type = GEOJSON


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}
ITEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "GeoJSON", "content": {GEOJSON: {"schema": {"type": "object"}}}},
    400: {
        "description": "A query parameter is invalid or unknown (the detail names it)",
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
    },
    404: {
        "description": "No such collection or feature",
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
    },
}
"""OpenAPI responses of the items routes."""

ITEMS_PARAMETERS = frozenset({"bbox", "limit", "offset", "dataset"})
ITEM_PARAMETERS = frozenset({"dataset"})


def reject_unknown_parameters(request: Request, known: frozenset[str]) -> None:
    """Raise UnknownParameterError (400) naming query parameters the route does not define."""
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        msg = (
            f"unknown query parameter {', '.join(unknown)}: this endpoint takes "
            f"{', '.join(sorted(known))}"
        )
        raise UnknownParameterError(msg)


def parse_bbox(text: str | None) -> BBox | None:
    """Return ``minx,miny,maxx,maxy`` parsed, or raise ParameterError naming ``bbox``."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or values[0] > values[2] or values[1] > values[3]:
        msg = f"bbox={text!r}: give four numbers minLon,minLat,maxLon,maxLat with min ≤ max"
        raise ParameterError(msg)
    return (values[0], values[1], values[2], values[3])


def feature_json(row: FeatureRow, *, collection: str, access: Access) -> dict[str, Any]:
    """Return one stored feature as a GeoJSON Feature visible to ``access``."""
    geom = None if row.wkb is None else json.loads(shapely.to_geojson(shapely.from_wkb(row.wkb)))
    props = visible_properties(
        row.properties, layer=collection, feature_community=row.community_id, access=access
    )
    return {"type": "Feature", "id": row.fid, "geometry": geom, "properties": props}


def _url(request: Request, path: str, **params: Any) -> str:
    base = str(request.base_url).rstrip("/") + path
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return f"{base}?{query}" if query else base


@router.get("", summary="Landing page")
def landing(request: Request) -> dict[str, Any]:
    """Return the OGC API landing page."""
    return {
        "title": "gridgen 网格化治理 features",
        "description": "Streets, communities, grids, compounds, buildings, stations.",
        "links": [
            {"href": _url(request, "/ogc"), "rel": "self", "type": "application/json"},
            {
                "href": _url(request, "/openapi.json"),
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
            },
            {"href": _url(request, "/docs"), "rel": "service-doc", "type": "text/html"},
            {"href": _url(request, "/ogc/conformance"), "rel": "conformance"},
            {"href": _url(request, "/ogc/collections"), "rel": "data"},
        ],
    }


@router.get("/conformance", summary="Conformance classes")
def conformance() -> dict[str, Any]:
    """Return the conformance classes implemented."""
    return {"conformsTo": CONFORMANCE}


def _collection(
    request: Request, cid: str, dataset: str | None, bounds: BBox | None
) -> dict[str, Any]:
    items = _url(request, f"/ogc/collections/{cid}/items", dataset=dataset)
    out: dict[str, Any] = {
        "id": cid,
        "title": COLLECTIONS[cid],
        "itemType": "feature",
        "geometryType": GEOMETRY_TYPES.get(cid, "Geometry"),
        "description": f"{COLLECTIONS[cid]}; every feature is a {GEOMETRY_TYPES.get(cid)}",
        "crs": [CRS84],
        "links": [
            {"href": _url(request, f"/ogc/collections/{cid}", dataset=dataset), "rel": "self"},
            {"href": items, "rel": "items", "type": GEOJSON},
            {
                "href": _url(request, f"/tiles/{cid}.json", dataset=dataset),
                "rel": "tiles",
                "type": "application/json",
            },
        ],
    }
    if bounds is not None:
        out["extent"] = {"spatial": {"bbox": [list(bounds)], "crs": CRS84}}
    return out


@router.get("/collections", summary="Collections")
def collections(
    state: StateDep, who: PrincipalDep, request: Request, dataset: DatasetQ = None
) -> dict[str, Any]:
    """Return the served collections (``grids`` only when a plan is published)."""
    out = []
    for cid in COLLECTIONS:
        try:
            _, key = resolve_layer(state, dataset, cid)
        except Exception:  # a collection without data (no published plan) is left out
            if cid in ("grids", "uncovered_buildings", "uncovered_building_points"):
                continue
            raise
        out.append(_collection(request, cid, dataset, state.store.layer_bounds(key)))
    return {
        "collections": out,
        "links": [{"href": _url(request, "/ogc/collections", dataset=dataset), "rel": "self"}],
    }


@router.get("/collections/{collection_id}", summary="One collection")
def collection(
    *,
    state: StateDep,
    who: PrincipalDep,
    request: Request,
    collection_id: str,
    dataset: DatasetQ = None,
) -> dict[str, Any]:
    """Return one collection's description with its extent."""
    check_collection(collection_id)
    _, key = resolve_layer(state, dataset, collection_id)
    return _collection(request, collection_id, dataset, state.store.layer_bounds(key))


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    response_class=GeoJSONResponse,
    responses=ITEM_RESPONSES,
)
def items(
    *,
    state: StateDep,
    who: PrincipalDep,
    request: Request,
    collection_id: str,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    limit: Annotated[
        int | None, Query(ge=1, description="Page size (server maximum applies)")
    ] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    dataset: DatasetQ = None,
) -> JSONResponse:
    """Return one page of features as a GeoJSON FeatureCollection."""
    reject_unknown_parameters(request, ITEMS_PARAMETERS)
    box = parse_bbox(bbox)
    dataset_id, key = resolve_layer(state, dataset, collection_id)
    access = access_for(state, who, dataset_id)
    size = min(limit or state.settings.default_items, state.settings.max_items)
    rows, matched = state.store.query_features(key, bbox=box, limit=size, offset=offset)
    path = f"/ogc/collections/{collection_id}/items"
    common = {"bbox": bbox, "dataset": dataset, "limit": size}
    links = [{"href": _url(request, path, **common, offset=offset), "rel": "self", "type": GEOJSON}]
    if offset + len(rows) < matched:
        links.append(
            {
                "href": _url(request, path, **common, offset=offset + size),
                "rel": "next",
                "type": GEOJSON,
            }
        )
    if offset > 0:
        links.append(
            {
                "href": _url(request, path, **common, offset=max(0, offset - size)),
                "rel": "prev",
                "type": GEOJSON,
            }
        )
    body = {
        "type": "FeatureCollection",
        "features": [feature_json(r, collection=collection_id, access=access) for r in rows],
        "numberMatched": matched,
        "numberReturned": len(rows),
        "links": links,
    }
    return GeoJSONResponse(body)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=GeoJSONResponse,
    responses=ITEM_RESPONSES,
)
def item(
    *,
    state: StateDep,
    who: PrincipalDep,
    request: Request,
    collection_id: str,
    feature_id: str,
    dataset: DatasetQ = None,
) -> JSONResponse:
    """Return one feature by its id (the layer's id column)."""
    reject_unknown_parameters(request, ITEM_PARAMETERS)
    dataset_id, key = resolve_layer(state, dataset, collection_id)
    row = state.store.get_feature(key, feature_id)
    body = feature_json(row, collection=collection_id, access=access_for(state, who, dataset_id))
    body["links"] = [
        {
            "href": _url(request, f"/ogc/collections/{collection_id}/items/{feature_id}"),
            "rel": "self",
            "type": GEOJSON,
        },
        {"href": _url(request, f"/ogc/collections/{collection_id}"), "rel": "collection"},
    ]
    return GeoJSONResponse(body)
