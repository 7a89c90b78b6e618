"""The vectorised MVT encoder (api.mvt) decodes to what mapbox_vector_tile encodes."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from api.mvt import encode_layer

OPTIONS = {"y_coord_down": True, "extents": 4096}


def _shoelace(ring: list[list[int]]) -> float:
    xy = np.asarray(ring, dtype=float)
    return float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


def _features() -> tuple[np.ndarray, list[dict[str, Any]]]:
    clockwise_square = Polygon(
        [(10.2, 10.1), (10, 100), (100.3, 100), (100, 10)],  # positive area only once flipped
        holes=[[(30, 30), (40, 30), (40, 40.4), (30, 40)]],
    )
    geoms = [
        clockwise_square,
        MultiPolygon(
            [
                Polygon([(200, 200), (260, 200), (260, 260)]),
                Polygon([(300, 300), (300, 340), (340, 340), (340, 300)]),
            ]
        ),
        LineString([(0, 0), (50.2, 70.7), (50.4, 70.9), (90, 10)]),
        MultiLineString([[(1, 1), (5, 5)], [(20, 20), (20, 30), (25, 35)]]),
        Point(123.3, 456.8),
        MultiPoint([(1, 2), (3, 4), (3000, 4000)]),
        Polygon([(500, 500), (500.2, 500), (500.2, 500.2)]),  # smaller than a pixel
    ]
    props: list[dict[str, Any]] = [
        {"name": "楼栋 A", "households": 120, "ratio": 0.25, "ok": True},
        {"name": "B", "households": -3, "ok": False},
        {"kind": "main", "note": None},
        {"kind": "main", "lanes": 2},
        {"name": "站点", "households": 1},
        {"count": 3},
        {"name": "tiny"},
    ]
    return np.array(geoms, dtype=object), props


def _decoded(data: bytes) -> list[dict[str, Any]]:
    layer = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})["t"]
    assert layer["extent"] == 4096
    return sorted(layer["features"], key=lambda f: f["id"])


def test_matches_mapbox_vector_tile() -> None:
    geoms, props = _features()
    ids = list(range(len(geoms)))
    ours = _decoded(encode_layer("t", geoms, props, ids))
    theirs = _decoded(
        mapbox_vector_tile.encode(
            [
                {
                    "name": "t",
                    "features": [
                        {"geometry": g, "properties": p, "id": i}
                        for g, p, i in zip(geoms, props, ids, strict=True)
                    ],
                }
            ],
            default_options={**OPTIONS, "quantize_bounds": None},
        )
    )
    # the sub-pixel polygon is left out by ours; the library keeps a degenerate ring
    assert [f["id"] for f in ours] == [0, 1, 2, 3, 4, 5]
    for a, b in zip(ours, theirs, strict=False):
        assert a["id"] == b["id"]
        assert a["properties"] == b["properties"]
        assert a["geometry"]["type"] == b["geometry"]["type"]
        ga = shapely.geometry.shape(a["geometry"])
        gb = shapely.geometry.shape(b["geometry"])
        assert ga.equals(gb), (a["id"], ga.wkt, gb.wkt)
    assert ours[0]["properties"] == {"name": "楼栋 A", "households": 120, "ratio": 0.25, "ok": True}
    assert "note" not in ours[2]["properties"]


def test_polygon_winding_and_grid() -> None:
    geoms, props = _features()
    feature = _decoded(encode_layer("t", geoms[:1], props[:1], [7]))[0]
    assert feature["id"] == 7
    exterior, hole = feature["geometry"]["coordinates"]
    # MVT 2.1 §4.3.4.4: exterior rings have positive area in tile coordinates, holes negative
    assert _shoelace(exterior) > 0 > _shoelace(hole)
    assert sorted(map(tuple, exterior[:-1])) == [(10, 10), (10, 100), (100, 10), (100, 100)]
    assert all(isinstance(v, int) for ring in (exterior, hole) for xy in ring for v in xy)


def test_empty_and_vanishing_layers() -> None:
    tiny = np.array([Polygon([(5, 5), (5.1, 5), (5.1, 5.1)])], dtype=object)
    assert encode_layer("t", tiny, [{}], [0]) == b""
    assert encode_layer("t", np.array([], dtype=object), [], []) == b""
