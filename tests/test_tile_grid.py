"""Tile geometries snapped to the integer grid never fail a tile (api.tile_grid).

The polygons below are real failures of GEOS's snap-rounding (``set_precision`` to the
tile grid raises a TopologyException); the tile keeps every other feature and a valid
version of the failing one, and the repair is logged.
"""

from __future__ import annotations

import logging

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.errors import GEOSException

from api.access import PUBLIC
from api.tile_encoder import EXTENT, LayerIndex, encode_tile, tile_bounds
from api.tile_grid import repaired_on_grid, valid_on_grid

# rounded to whole tile units, each of these makes set_precision(…, 1.0) raise
ON_GRID = [
    "POLYGON ((0 2, 0 5, 1 5, 0 4, 1 3, 2 3, 3 3, 3 4, 3 5, 2 5, 2 5, 6 2, 5 1, 0 2))",
    "POLYGON ((3 0, 3 1, 1 5, 6 6, 5 2, 4 0, 3 0), (3 2, 3 2, 3 2, 2 1, 3 1, 3 1, 3 1, 4 1, 3 2))",
    "POLYGON ((1 3, 1 5, 4 5, 4 4, 4 4, 3 5, 3 4, 2 4, 3 3, 3 3, 4 3, 4 4, 4 2, 4 2, 3 2, 3 2,"
    " 2 2, 2 2, 1 3))",
]
# a valid polygon in EPSG:3857 that becomes the first kind of failure in tile 12/3301/1552
TILE = (12, 3301, 1552)
FAILING = (
    "POLYGON ((12264059.501047933 4848046.375643171, 12264062.240566948 4848044.429714834, "
    "12264067.912301464 4848044.870731497, 12264066.182770984 4848050.533263134, "
    "12264065.421233542 4848048.694749115, 12264064.833819503 4848048.451434253, "
    "12264065.07210352 4848047.876165745, 12264064.257397877 4848045.90929233, "
    "12264062.290524462 4848045.094586686, 12264060.323651046 4848045.90929233, "
    "12264059.508945402 4848047.876165745, 12264060.126584752 4848049.367279041, "
    "12264059.366292046 4848051.202788002, 12264060.405155769 4848053.710826889, "
    "12264061.164173504 4848054.0252223285, 12264059.120569155 4848054.561690909, "
    "12264058.843269588 4848053.892230534, 12264057.945608275 4848053.520407044, "
    "12264057.047946963 4848053.892230534, 12264056.676123472 4848054.789891847, "
    "12264056.830600666 4848055.162832783, 12264056.26268549 4848055.311916752, "
    "12264059.501047933 4848046.375643171))"
)


@pytest.mark.parametrize("wkt", ON_GRID)
def test_a_polygon_geos_cannot_snap_is_made_valid_keeping_its_area(
    wkt: str, caplog: pytest.LogCaptureFixture
) -> None:
    geom = shapely.from_wkt(wkt)
    with pytest.raises(GEOSException):
        shapely.set_precision(geom, 1.0)
    with caplog.at_level(logging.WARNING, logger="gridgen.tiles"):
        out = repaired_on_grid(geom, where="grids 12/1/2 feature 7")
    assert shapely.is_valid(out) and not out.is_empty
    assert shapely.get_type_id(out) in (3, 6)
    assert np.all(shapely.get_coordinates(out) == np.rint(shapely.get_coordinates(out)))
    # what make_valid keeps (areas of collapsed slivers aside) survives
    assert shapely.area(out) >= 0.75 * shapely.area(shapely.make_valid(geom))
    assert "grids 12/1/2 feature 7" in caplog.text and "snap-rounding failed" in caplog.text


def test_valid_on_grid_repairs_only_the_failing_polygon() -> None:
    good = shapely.box(10, 10, 20, 20)
    bowtie = shapely.Polygon([(0, 0), (4, 0), (2, 2), (4, 4), (0, 4), (2, 2)])
    geoms = np.array([good, *(shapely.from_wkt(w) for w in ON_GRID), bowtie], dtype=object)
    out = valid_on_grid(geoms, where="t", ids=list(range(len(geoms))))
    assert shapely.is_valid(out).all()
    assert out[0] is good
    assert shapely.area(out[-1]) == 8.0


def test_a_tile_holding_a_polygon_geos_cannot_snap_still_encodes() -> None:
    z, x, y = TILE
    failing = shapely.from_wkt(FAILING)
    assert shapely.is_valid(failing)
    minx, _, maxx, maxy = tile_bounds(z, x, y)
    size = maxx - minx
    neighbour = shapely.box(minx + size / 4, maxy - size / 2, minx + size / 2, maxy - size / 4)
    geoms = np.array([failing, neighbour], dtype=object)
    index = LayerIndex(geoms, shapely.STRtree(geoms), [None, None], [{"n": 0}, {"n": 1}])
    # the old path: snap-rounding the whole tile raised
    scale = EXTENT / size
    on_grid = shapely.transform(
        shapely.simplify(failing, size / EXTENT / 2, preserve_topology=True),
        lambda xy: np.rint(np.column_stack(((xy[:, 0] - minx) * scale, (maxy - xy[:, 1]) * scale))),
    )
    with pytest.raises(GEOSException):
        shapely.set_precision(on_grid, 1.0)
    data = encode_tile(index, z, x, y, layer="grids", access=PUBLIC)
    layer = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})["grids"]
    feats = {f["id"]: f for f in layer["features"]}
    assert set(feats) == {0, 1}
    for f in feats.values():
        assert shapely.is_valid(shapely.geometry.shape(f["geometry"]))
