"""The walking network joins T-junctions that miss by a hair (reprojection, CAD exports)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely.geometry import LineString

from gridgen.coverage.network import walk_network

UTM = "EPSG:32649"


def roads(*lines: LineString) -> gpd.GeoDataFrame:
    """Return a roads layer of walkable minor roads."""
    return gpd.GeoDataFrame(
        {"kind": ["minor"] * len(lines), "walkable": [True] * len(lines)},
        geometry=list(lines),
        crs=UTM,
    )


@pytest.mark.parametrize("gap", [0.0, 1e-9, 0.2, -0.3])
def test_t_junction_is_joined_when_the_branch_misses_by_less_than_half_a_metre(
    gap: float,
) -> None:
    """A branch ending ``gap`` m short of (or past, when negative) a through road joins it."""
    through = LineString([(0, 0), (200, 0)])
    branch = LineString([(100, 100), (100, gap)])
    net = walk_network(roads(through, branch))
    n_comp, _ = connected_components(net.graph(), directed=False)
    assert n_comp == 1
    # from the branch's far end to the through road's west end: 100 + 100 m (± the gap)
    far = int(np.argmin(np.hypot(net.node_xy[:, 0] - 100, net.node_xy[:, 1] - 100)))
    west = int(np.argmin(np.hypot(net.node_xy[:, 0], net.node_xy[:, 1])))
    d = dijkstra(net.graph(), indices=far)[west]
    assert d == pytest.approx(200.0, abs=0.5)


def test_branch_one_metre_away_stays_separate() -> None:
    """Beyond the tolerance a dead end is a real dead end (no invented links)."""
    net = walk_network(roads(LineString([(0, 0), (200, 0)]), LineString([(100, 100), (100, 1)])))
    n_comp, _ = connected_components(net.graph(), directed=False)
    assert n_comp == 2


def test_two_ends_that_nearly_meet_are_joined_once() -> None:
    """Two roads whose ends miss by 0.2 m become one path, not a swapped pair of ends."""
    net = walk_network(roads(LineString([(0, 0), (100, 0)]), LineString([(100.2, 0), (200, 0)])))
    n_comp, _ = connected_components(net.graph(), directed=False)
    assert n_comp == 1
    assert net.length.sum() == pytest.approx(200.0, abs=0.5)


def test_sample_network_stays_connected_after_a_wgs84_round_trip() -> None:
    """Reprojecting moves T-junctions off their through roads by nanometres; still one piece."""
    from gridgen.io.read import load_sample

    ds = load_sample()
    r = ds.metric("roads")
    round_trip = r.to_crs(4326).to_crs("EPSG:3857").to_crs(r.crs)
    for frame in (r, round_trip):
        n_comp, _ = connected_components(walk_network(frame).graph(), directed=False)
        assert n_comp == 1
