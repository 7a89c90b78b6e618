"""``/tiles``: Mapbox Vector Tiles of the served layers, with TileJSON 3.0.0.

Tiles are cached in an LRU keyed by (layer key, z, x, y, access class); layer keys never
change, so cached tiles stay right. Responses carry a strong ETag and Cache-Control
(``private`` when the tile holds restricted columns); ``If-None-Match`` gets 304.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import PrincipalDep, StateDep
from api.service import COLLECTIONS, resolve_layer
from api.tiles import MAX_ZOOM, check_tile, etag_of
from gridgen.schema import LAYERS

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
    schema = LAYERS.get("buildings" if layer == "uncovered_buildings" else layer)
    fields = {c: c for c in (schema.column_names if schema else ())}
    hidden = set() if who.access.full else set(schema.restricted_columns if schema else ())
    fields = {k: v for k, v in fields.items() if k not in hidden}
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


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    summary="One vector tile",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 304: {"description": "Not modified"}},
)
async def tile(
    *,
    state: StateDep,
    who: PrincipalDep,
    layer: str,
    z: int,
    x: int,
    y: int,
    dataset: DatasetQ = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Return tile z/x/y of ``layer`` (empty body when no feature touches it)."""
    check_tile(z, x, y)
    resolved = state.resolved.get((dataset, layer))
    if resolved is None:
        resolved = await run_in_threadpool(resolve_layer, state, dataset, layer)
    key = resolved[1]
    access = who.access
    cache_key = (key, z, x, y, access.cache_class)
    hit = state.tiles.get(cache_key)
    if hit is None:
        data = await run_in_threadpool(state.store.tile, key, z, x, y, layer=layer, access=access)
        hit = (data, etag_of(data))
        state.tiles.put(cache_key, hit)
    data, etag = hit
    scope = "public" if access.cache_class == "public" else "private"
    headers = {
        "ETag": etag,
        "Cache-Control": f"{scope}, max-age=300",
        "Vary": "X-API-Key, Authorization",
    }
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=MVT, headers=headers)
