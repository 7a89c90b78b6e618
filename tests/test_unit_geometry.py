"""What the editor draws grids with: unit label points inside their cells (pole of
inaccessibility), the border each edge's cells share, the outline (hand-checkable squares)."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from gridgen.partition.ground import KINDS
from gridgen.partition.unit_geometry import edge_lines, outline_lines, unit_label_points
from gridgen.partition.units import UnitGraph

UTM = "EPSG:32649"


def _graph() -> UnitGraph:
    # an L of three 100 m cells: a (0..100), b (100..200) east of a, c (0..100) north of a
    a, b, c = (
        shapely.box(0, 0, 100, 100),
        shapely.box(100, 0, 200, 100),
        shapely.box(0, 100, 100, 200),
    )
    cells = np.array([a, b, c], dtype=object)
    off = np.array([500_000.0, 4_180_000.0])
    cells = shapely.transform(cells, lambda xy: xy + off)
    return UnitGraph(
        community_id="C",
        crs=UTM,
        area=shapely.union_all(cells),
        unit_ids=("a", "b", "c"),
        kinds=("compound",) * 3,
        compound_ids=("a", "b", "c"),
        households=np.array([100, 100, 100]),
        cells=cells,
        building_ids=np.array([], dtype=object),
        building_unit=np.array([], dtype=np.int64),
        edges=np.array([[0, 1], [0, 2]]),
        shared_length=np.array([100.0, 100.0]),
        road_length=np.zeros(2),
        main_roads=shapely.MultiLineString([]),
        big_compounds=(),
        edge_kinds=np.zeros((2, len(KINDS))),
        enclosures=np.array([], dtype=object),
    )


def _metric(lon: float, lat: float) -> tuple[float, float]:
    to = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    x, y = to.transform(lon, lat)
    return x - 500_000.0, y - 4_180_000.0


def test_label_points_are_the_cell_centres_with_their_inscribed_radius() -> None:
    pts = unit_label_points(_graph())
    centres = [_metric(p[0], p[1]) for p in pts]
    assert np.allclose(centres, [(50, 50), (150, 50), (50, 150)], atol=1.0)
    assert [p[2] for p in pts] == [50.0, 50.0, 50.0]


def test_edges_carry_the_side_their_cells_share_and_the_outline_goes_round() -> None:
    lines = edge_lines(_graph())
    assert len(lines) == 2
    ab = np.array([_metric(*xy) for xy in lines[0][0]])
    assert np.allclose(ab[:, 0], 100, atol=0.5) and np.ptp(ab[:, 1]) > 99  # x = 100, 0..100
    ac = np.array([_metric(*xy) for xy in lines[1][0]])
    assert np.allclose(ac[:, 1], 100, atol=0.5) and np.ptp(ac[:, 0]) > 99  # y = 100, 0..100
    ring = np.array([_metric(*xy) for line in outline_lines(_graph()) for xy in line])
    assert shapely.Polygon(ring).area > 29_000  # the L: three cells of 10,000 m²
