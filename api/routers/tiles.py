"""``/tiles``: Mapbox Vector Tiles of the served layers, with TileJSON 3.0.0.

Tiles are cached in an LRU keyed by (layer key, z, x, y, access class); layer keys never
change, so cached tiles stay right. Responses carry a strong ETag and Cache-Control
(``private`` when the tile holds restricted columns); ``If-None-Match`` gets 304.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.access import RESTRICTED_ALL, restricted_of
from api.auth import Principal
from api.deps import PrincipalDep, StateDep, principal_for
from api.errors import UnknownParameterError
from api.fields import etag_matches, property_keys, tile_fields
from api.scopes import access_for
from api.service import COLLECTIONS, ServiceState, resolve_layer
from api.tile_encoder import MAX_ZOOM, check_tile, etag_of
from api.tile_serving import LayerTile, layer_tile, tile_headers
from gridgen.errors import ParameterError

router = APIRouter(prefix="/tiles", tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
DatasetQ = Annotated[
    str | None, Query(description="Dataset id (default: the newest with a published plan)")
]


@router.get("/{layer}.json", summary="TileJSON 3.0.0 of a layer")
def tilejson(
    state: StateDep, who: PrincipalDep, request: Request, layer: str, dataset: DatasetQ = None
) -> dict[str, Any]:
    """Return the TileJSON describing the tiles of ``layer``."""
    _, key = resolve_layer(state, dataset, layer)
    base = str(request.base_url).rstrip("/")
    query = f"?dataset={dataset}" if dataset else ""
    rows, _ = state.store.query_features(key, bbox=None, limit=200, offset=0)
    hidden = set() if who.access.full else set(restricted_of(layer) or RESTRICTED_ALL)
    fields = tile_fields(property_keys(rows) - hidden)
    out: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": layer,
        "description": COLLECTIONS[layer],
        "tiles": [f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt{query}"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM}],
    }
    bounds = state.store.layer_bounds(key)
    if bounds is not None:
        out["bounds"] = list(bounds)
        out["center"] = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 14]
    return out


_TILE_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "dataset",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "Dataset id (default: the newest with a published plan)",
    },
    {"name": "x-api-key", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "authorization", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "if-none-match", "in": "header", "required": False, "schema": {"type": "string"}},
]
"""Parameters of the tile route read from the request itself (documented here)."""


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    summary="One vector tile",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 304: {"description": "Not modified"}},
    openapi_extra={"parameters": _TILE_PARAMETERS},
)
async def tile(request: Request, layer: str, z: int, x: int, y: int) -> Response:
    """Return tile z/x/y of ``layer`` (empty body when no feature touches it).

    ``layer`` may name up to twelve layers separated by commas (``communities,grids,roads``):
    one tile holding each of them as its own MVT layer (the viewer draws its context layers
    from one request per tile instead of one per layer and tile).

    The hot path of the service: the query and headers are read from the request rather
    than declared as FastAPI parameters (each declared parameter costs ≈0.05 ms of
    dependency solving, more than a cached tile), the caller comes from the key cache,
    the layer key from the resolution cache, and the tile from the LRU.
    """
    check_tile(z, x, y)
    state: ServiceState = request.app.state.gridgen
    headers = request.headers
    who = await principal_for(state, headers.get("x-api-key"), headers.get("authorization"))
    if unknown := sorted(set(request.query_params) - TILE_QUERY):
        msg = f"unknown query parameter {', '.join(unknown)}: a tile takes only ?dataset="
        raise UnknownParameterError(msg)  # ?version= of a draft would be served published
    dataset = request.query_params.get("dataset") or None
    names = layer.split(",")
    if len(names) > MAX_LAYERS or len(set(names)) != len(names):
        msg = f"layers {layer!r}: name at most {MAX_LAYERS} different layers, comma-separated"
        raise ParameterError(msg)
    parts = [await _layer_tile(state, who, dataset, name, (z, x, y)) for name in names]
    if len(parts) == 1:
        data, etag = parts[0][0].data, parts[0][0].etag
    else:
        data = b"".join(p[0].data for p in parts)  # concatenated MVT tiles: one tile, many layers
        etag = etag_of(data)
    failed = [name for name, p in zip(names, parts, strict=True) if p[0].failed]
    out_headers = tile_headers(etag, public=all(p[1] for p in parts), failed=failed)
    out_headers["Vary"] = "X-API-Key, Authorization"
    if not failed and etag_matches(headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=out_headers)
    return Response(content=data, media_type=MVT, headers=out_headers)


MAX_LAYERS = 12
"""Most layers one tile request may name."""
TILE_QUERY = frozenset({"dataset"})
"""The query parameters of the tile route (any other is refused, 400)."""


async def _layer_tile(
    state: ServiceState, who: Principal, dataset: str | None, layer: str, zxy: tuple[int, int, int]
) -> tuple[LayerTile, bool]:
    """Return (tile z/x/y of one layer for ``who``, public) (cached; see api.tile_serving)."""
    resolved = state.resolved.get((dataset, layer))
    if resolved is None:
        resolved = await run_in_threadpool(resolve_layer, state, dataset, layer)
    access = who.access
    if who.street_id:  # a street-scoped grid worker: the street's communities in this dataset
        access = await run_in_threadpool(access_for, state, who, resolved[0])
    cache_class = access.cache_class
    out = await layer_tile(
        state, key=resolved[1], layer=layer, zxy=zxy, access=access, cache_class=cache_class
    )
    return out, cache_class == "public"
