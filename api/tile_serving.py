"""One layer of one tile, cached and isolated: what every tile route serves.

A layer whose tile cannot be made (a store or encoder error) is logged with its layer and
tile, answered as an empty layer and not cached, so one layer's problem never removes the
other layers of a multi-layer tile nor fails the request; the routes name such layers in
the ``X-Gridgen-Tile-Errors`` header and send them with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.access import Access
from api.service import ServiceState
from api.tile_encoder import etag_of

_log = logging.getLogger("gridgen.tiles")

TILE_ERRORS_HEADER = "X-Gridgen-Tile-Errors"
"""Response header naming the layers of a tile that could not be made (left empty)."""


@dataclass(frozen=True)
class LayerTile:
    """The MVT bytes of one layer of a tile, their ETag, and whether making them failed."""

    data: bytes
    etag: str
    failed: bool = False


async def layer_tile(
    state: ServiceState,
    *,
    key: str,
    layer: str,
    zxy: tuple[int, int, int],
    access: Access,
    cache_class: str,
) -> LayerTile:
    """Return tile ``zxy`` of the stored layer ``key`` as MVT layer ``layer`` (cached).

    ``cache_class`` keys the cache besides the layer key and tile (the access class of the
    caller, or the route's own class). A failure is logged and gives an empty, uncached
    layer with ``failed`` set.
    """
    z, x, y = zxy
    cache_key = (key, z, x, y, cache_class)
    hit = state.tiles.get(cache_key)
    if hit is not None:
        return LayerTile(hit[0], hit[1])
    try:
        data = await state.store.tile_async(key, z, x, y, layer=layer, access=access)
    except Exception:  # a tile never fails: this layer is left empty, the others are served
        _log.exception("tile %s %d/%d/%d (layer key %s) could not be made", layer, z, x, y, key)
        return LayerTile(b"", etag_of(b""), failed=True)
    hit = (data, etag_of(data))
    state.tiles.put(cache_key, hit)
    return LayerTile(data, hit[1])


def tile_headers(etag: str, *, public: bool, failed: list[str]) -> dict[str, str]:
    """Return the headers of a tile answer: ETag, caching, and the layers that failed."""
    if failed:
        return {"ETag": etag, "Cache-Control": "no-store", TILE_ERRORS_HEADER: ",".join(failed)}
    scope = "public" if public else "private"
    return {"ETag": etag, "Cache-Control": f"{scope}, max-age=300"}
