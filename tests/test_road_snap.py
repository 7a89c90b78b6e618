"""Grid boundaries inside a large compound on its internal roads (gridgen.partition.road_snap)."""

from __future__ import annotations

import numpy as np
import shapely
from finish_checks import assert_finished
from partition_helpers import at, inner_boundary, make_dataset
from shapely.geometry import LineString, box

from gridgen.dataset import Dataset
from gridgen.partition.community import partition_community, region_problem
from gridgen.partition.objective import RegionProblem
from gridgen.partition.road_snap import contracted, piece_groups, road_pieces, snapped_to_roads
from gridgen.partition.units import build_units


def three_pieces() -> Dataset:
    """Return a 400 x 300 m community filled by one compound of 600 households, cut by two
    lanes (y = 100 and y = 200, kind ``path``) into three pieces: south (two buildings of
    75 households), middle (two of 75), north (two of 150).

    Two grids of 300: west and east halves would be more compact, but only the south and
    middle pieces against the north one keep every piece whole, the boundary on a lane.
    """
    comm = box(0, 0, 400, 300)
    lanes = [
        ("L1", "path", LineString([(0, 100), (400, 100)])),
        ("L2", "path", LineString([(0, 200), (400, 200)])),
    ]
    spots = [(50, 40, 75), (300, 40, 75), (100, 140, 75), (250, 140, 75)]
    spots += [(60, 240, 150), (310, 240, 150)]
    buildings = [
        (f"B{i}", "K0", hh, box(x, y, x + 50, y + 14), "C1") for i, (x, y, hh) in enumerate(spots)
    ]
    return make_dataset([("C1", comm)], [("K0", "C1", comm)], buildings, lanes)


def test_pieces_between_internal_roads_are_found_from_the_unit_graph() -> None:
    units = build_units(three_pieces(), "C1", band_max=360)
    pieces = road_pieces(units)
    held = sorted(
        sorted(str(units.building_ids[np.isin(units.building_unit, p)][k]) for k in range(2))
        for p in pieces
    )
    assert held == [["B0", "B1"], ["B2", "B3"], ["B4", "B5"]]


def test_grid_boundary_in_a_big_compound_runs_on_the_lane_between_pieces() -> None:
    ds = three_pieces()
    plan = partition_community(ds, "C1")
    grids = plan.grids.to_crs(ds.metric_crs)
    assert sorted(grids["households"].tolist()) == [300, 300]
    inner = inner_boundary(ds, grids)
    lane = ds.metric("roads").geometry.iloc[1]
    assert abs(inner.length - 400.0) < 0.1
    assert shapely.hausdorff_distance(inner, lane) < 0.01
    north = at(box(0, 200, 400, 300))
    assert min(shapely.area(shapely.symmetric_difference(g, north)) for g in grids.geometry) < 0.01
    assert_finished(ds, plan)


def test_snapping_moves_a_cut_piece_only_within_the_band() -> None:
    units = build_units(three_pieces(), "C1", band_max=360)
    prob = region_problem(units)
    unit_of = dict(zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True))
    west = {unit_of[b] for b in ("B0", "B2", "B4")}
    labels = np.asarray([0 if u in west else 1 for u in range(units.n)], dtype=np.int64)
    # west / east halves (300 each): moving any piece whole puts a grid out of the band
    assert snapped_to_roads(units, prob, labels, band=(240, 360)).tolist() == labels.tolist()
    # with a band of 150-450 the south and middle pieces go whole to one grid each side...
    out = snapped_to_roads(units, prob, labels, band=(150, 450))
    for piece in road_pieces(units):
        assert len(set(out[piece].tolist())) == 1
    hh = np.bincount(out, weights=units.households)
    assert ((hh >= 150) & (hh <= 450)).all()


def test_contracted_problem_sums_households_and_cut_costs() -> None:
    prob = RegionProblem(
        households=np.asarray([10, 20, 30, 40], dtype=np.int64),
        edges=np.asarray([[0, 1], [1, 2], [2, 3], [0, 2]], dtype=np.int64),
        cut_cost=np.asarray([1.0, 2.0, 4.0, 8.0]),
        xy=np.asarray([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]),
        area=np.ones(4),
    )
    group = piece_groups(4, [np.asarray([0, 1], dtype=np.int64)])
    assert group.tolist() == [0, 0, 1, 2]
    small = contracted(prob, group)
    assert small.households.tolist() == [30, 30, 40]
    assert small.edges.tolist() == [[0, 1], [1, 2]]
    assert small.cut_cost.tolist() == [10.0, 4.0]  # 1-2 (2) and 0-2 (8); 0-1 dropped
    assert small.xy[0].tolist() == [1.0, 0.0]


def test_a_second_search_over_whole_pieces_replaces_a_split_that_cuts_them() -> None:
    from gridgen.partition.road_snap import cut_cost, road_following

    units = build_units(three_pieces(), "C1", band_max=360)
    prob = region_problem(units)
    unit_of = dict(zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True))
    west = {unit_of[b] for b in ("B0", "B2", "B4")}
    halves = np.asarray([0 if u in west else 1 for u in range(units.n)], dtype=np.int64)
    forced = np.zeros(units.n, dtype=bool)
    pieces = road_pieces(units)
    out = road_following(
        prob,
        halves,
        pieces,
        target=300,
        band=(240, 360),
        rng=np.random.default_rng(0),
        forced=forced,
    )
    # the north piece is one grid, the south and middle pieces the other
    north = {unit_of["B4"], unit_of["B5"]}
    assert len({out[u] for u in north}) == 1
    assert all(out[u] != out[unit_of["B4"]] for u in range(units.n) if u not in north)
    assert cut_cost(prob, out) < cut_cost(prob, halves)
    # a split that already keeps every piece whole is returned as it is
    assert (
        road_following(
            prob,
            out,
            pieces,
            target=300,
            band=(240, 360),
            rng=np.random.default_rng(0),
            forced=forced,
        )
        is out
    )
