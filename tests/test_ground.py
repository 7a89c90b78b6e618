"""Units from the ground (enclosures, open land, edge kinds) and the finishing step."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import shapely
from finish_checks import assert_finished
from partition_helpers import at, inner_boundary, make_dataset
from shapely.geometry import LineString, box

from gridgen.dataset import Dataset
from gridgen.partition.community import partition_community
from gridgen.partition.ground import KIND_COST, KINDS, enclosures, ground_cut_costs
from gridgen.partition.overlaps import overlap_hosts
from gridgen.partition.plan import Plan
from gridgen.partition.units import build_units


def two_by_two(households: int = 300, *, kind: str = "minor") -> Dataset:
    """Return a 400 x 400 m community cut by a cross of roads into four blocks.

    Each block holds one walled compound (140 x 140 m, set back 30 m from every road)
    with one building of ``households``.
    """
    comm = box(0, 0, 400, 400)
    roads = [
        ("R1", kind, LineString([(200, 0), (200, 400)])),
        ("R2", kind, LineString([(0, 200), (400, 200)])),
    ]
    compounds, buildings = [], []
    for i, (x, y) in enumerate(((30, 30), (230, 30), (30, 230), (230, 230))):
        compounds.append((f"K{i}", "C1", box(x, y, x + 140, y + 140)))
        buildings.append((f"B{i}", f"K{i}", households, box(x + 50, y + 50, x + 90, y + 70), "C1"))
    return make_dataset([("C1", comm)], compounds, buildings, roads)


def test_two_by_two_blocks_give_grids_bounded_exactly_by_the_roads() -> None:
    ds = two_by_two()
    plan = partition_community(ds, "C1")
    grids = plan.grids.to_crs(ds.metric_crs)
    assert len(grids) == 4
    blocks = [at(box(x, y, x + 200, y + 200)) for x in (0, 200) for y in (0, 200)]
    for geom in grids.geometry:
        # each grid is exactly one road block (to the millimetre)
        best = min(blocks, key=lambda b: shapely.area(shapely.symmetric_difference(b, geom)))
        assert shapely.area(shapely.symmetric_difference(best, geom)) < 0.01
        assert shapely.hausdorff_distance(best, geom) < 0.01
    # so the interior boundary is exactly the two roads
    roads = ds.metric("roads").geometry.to_numpy()
    inner = inner_boundary(ds, grids)
    assert abs(inner.length - 800.0) < 0.1
    assert shapely.hausdorff_distance(inner, shapely.union_all(roads)) < 0.01
    assert_finished(ds, plan)


def test_enclosures_cut_by_roads_and_close_a_near_miss() -> None:
    square = box(0, 0, 100, 100)
    cross = np.asarray([LineString([(50, 0), (50, 100)]), LineString([(0, 50), (100, 50)])])
    assert len(enclosures(square, cross)) == 4
    # a dangling road cuts nothing; a road stopping 1 m short of the edge still closes
    dangle = np.asarray([LineString([(50, 0), (50, 60)])])
    assert len(enclosures(square, dangle)) == 1
    short = np.asarray([LineString([(50, 1.0), (50, 99.0)])])
    parts = enclosures(square, short)
    assert len(parts) == 2
    assert abs(shapely.area(parts).sum() - 10_000.0) < 1e-6
    # no road: the community is one enclosure (sparse peripheral communities)
    assert len(enclosures(square, np.zeros(0, dtype=object))) == 1


def test_open_land_stays_in_its_enclosure_and_edges_know_their_kind() -> None:
    # block west of the road holds a compound; the block east of it is empty
    comm = box(0, 0, 300, 100)
    roads = [("R1", "minor", LineString([(150, 0), (150, 100)]))]
    ds = make_dataset(
        [("C1", comm)],
        [("K0", "C1", box(20, 20, 80, 80))],
        [("B0", "K0", 100, box(30, 30, 60, 60), "C1")],
        roads,
    )
    units = build_units(ds, "C1", band_max=360)
    cells = dict(zip(units.unit_ids, units.cells, strict=True))
    west, east = at(box(0, 0, 150, 100)), at(box(150, 0, 300, 100))
    # the compound's cell stays west of the road: it holds the compound and the open land
    # within 12 m of it; the rest of the west block, and the whole east block, are land
    assert shapely.area(shapely.difference(cells["K0"], west)) < 1e-6
    assert shapely.contains(cells["K0"], at(box(9, 20, 91, 80)))
    assert shapely.contains(cells["K0"], at(box(20, 9, 80, 91)))
    empty = [c for c, k in zip(units.cells, units.kinds, strict=True) if k == "empty"]
    assert len(empty) == 2
    east_unit = min(empty, key=lambda c: shapely.area(shapely.symmetric_difference(c, east)))
    assert shapely.area(shapely.symmetric_difference(east_unit, east)) < 0.01
    # the edge across the road is all of kind "minor"; the K0 cell meets its far land
    # within 15 m of the compound wall ("wall")
    road = [
        k
        for (a, b), k in zip(units.edges.tolist(), units.edge_kinds, strict=True)
        if units.cells[a] is east_unit or units.cells[b] is east_unit
    ]
    assert road and all(r[KINDS.index("minor")] == pytest.approx(r.sum()) for r in road)
    k0 = units.unit_ids.index("K0")
    wall = [
        k for (a, b), k in zip(units.edges.tolist(), units.edge_kinds, strict=True) if k0 in (a, b)
    ]
    assert wall and all(w[KINDS.index("wall")] == pytest.approx(w.sum()) for w in wall)
    # cut costs: open land > wall > path > minor > main = river or railway ("barrier")
    one = np.eye(len(KINDS))
    cost = ground_cut_costs(one, np.zeros(len(KINDS), dtype=bool))
    order = [KINDS.index(k) for k in ("open", "wall", "path", "minor", "main", "barrier")]
    assert list(np.argsort(-cost, kind="stable")) == order
    assert cost[KINDS.index("main")] == cost[KINDS.index("barrier")] < 0


def test_detached_empty_piece_joins_the_nearest_grid() -> None:
    # a community of two pieces: a block with two compounds, and an empty park apart
    main = box(0, 0, 300, 120)
    park = box(0, 200, 80, 260)
    comm = shapely.union(main, park)
    compounds = [("K0", "C1", box(10, 10, 140, 110)), ("K1", "C1", box(160, 10, 290, 110))]
    buildings = [
        ("B0", "K0", 300, box(40, 40, 80, 70), "C1"),
        ("B1", "K1", 290, box(200, 40, 240, 70), "C1"),
    ]
    ds = make_dataset([("C1", comm)], compounds, buildings)
    plan = partition_community(ds, "C1")
    assert len(plan.grids) == 2
    detached = [p for p in plan.problems if p.kind == "detached_part"]
    assert len(detached) == 1
    holder = plan.grids.set_index("grid_id").loc[detached[0].grid_id]
    assert holder.geometry.geom_type == "MultiPolygon"
    # the park went to the grid nearest to it (the west one, holding B0)
    grid_of = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    assert grid_of["B0"] == detached[0].grid_id
    assert plan.metrics.tiling_ok
    assert not any(p.kind in ("no_households", "not_contiguous") for p in plan.problems)
    assert_finished(ds, plan)


def test_partition_cli_fails_naming_the_community_when_the_tiling_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gridgen.io.write import write_frames
    from gridgen.partition import community
    from gridgen_cli.main import main

    ds = two_by_two()
    data = tmp_path / "two.gpkg"
    write_frames({k: v for k, v in ds.layers.items() if len(v)}, data)
    out = tmp_path / "plan.gpkg"
    assert main(["partition", str(data), "--out", str(out)]) == 0
    assert out.exists()
    real = community.partition_dataset

    def one_grid_lost(*args: object, **kwargs: object) -> Plan:
        plan = real(*args, **kwargs)
        return replace(plan, grids=plan.grids.iloc[1:].reset_index(drop=True))

    monkeypatch.setattr(community, "partition_dataset", one_grid_lost)
    out2 = tmp_path / "broken.gpkg"
    assert main(["partition", str(data), "--out", str(out2)]) == 1
    err = capsys.readouterr().err
    assert "community C1" in err and "do not tile" in err
    assert not out2.exists()


def test_overlapping_footprints_share_the_unit_of_the_largest() -> None:
    fps = np.asarray(
        [
            box(0, 0, 10, 10),  # 0: hosts 1 (inside it) and 2 (overlapping 1 m²)
            box(2, 2, 4, 4),
            box(-1, 9, 1, 11),
            box(10, 0, 20, 10),  # 3: touches 0 along a wall only: its own unit
            box(30, 0, 40, 10),  # 4 and 5: one outline drawn twice, the lower index hosts
            box(30, 0, 40, 10),
            shapely.Point(3, 3),  # a point overlaps nothing
        ],
        dtype=object,
    )
    loose = np.full(len(fps), "", dtype=object)
    assert overlap_hosts(fps, loose).tolist() == [0, 0, 0, 3, 4, 4, 6]
    # buildings of two compounds keep their compounds' units even where they overlap
    two = np.asarray(["K1", "K2", "K1", "", "K3", "K3", ""], dtype=object)
    assert overlap_hosts(fps, two).tolist() == [0, 1, 0, 3, 4, 4, 6]


def test_a_building_drawn_inside_another_lies_in_the_same_grid() -> None:
    # two scattered buildings of 300 households, and a gatehouse (0 households) drawn inside
    # the east one near its west wall, closer to the west building's seed than the east's
    comm = box(0, 0, 400, 200)
    buildings = [
        ("B0", None, 300, box(40, 60, 120, 140), "C1"),
        ("B1", None, 300, box(180, 20, 380, 180), "C1"),
        ("G", None, 0, box(182, 95, 186, 105), "C1"),
    ]
    ds = make_dataset([("C1", comm)], [], buildings)
    units = build_units(ds, "C1", band_max=360)
    unit_of = dict(zip(units.building_ids, units.building_unit.tolist(), strict=True))
    assert unit_of["G"] == unit_of["B1"] != unit_of["B0"]
    assert units.kinds.count("building") == 2
    plan = partition_community(ds, "C1")
    grid_of = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    assert grid_of["G"] == grid_of["B1"] != grid_of["B0"]
    assert_finished(ds, plan)


def lane_compound() -> Dataset:
    """Return a 400 x 300 m community filled by one compound of 600 households (4 x 150)
    with one internal lane (kind ``path``) from its west wall to its east wall at y = 150.

    The buildings of the two rows are set off along the row, so the Voronoi ridges of
    their centres are slanted and cross the lane.
    """
    comm = box(0, 0, 400, 300)
    lane = LineString([(0, 150), (400, 150)])
    south = [(60, 80), (260, 80)]
    north = [(140, 200), (340, 200)]
    buildings = [
        (f"B{i}", "K0", 150, box(x, y, x + 60, y + 14), "C1")
        for i, (x, y) in enumerate(south + north)
    ]
    return make_dataset([("C1", comm)], [("K0", "C1", comm)], buildings, [("L1", "path", lane)])


def test_a_big_compound_is_split_along_its_internal_road() -> None:
    ds = lane_compound()
    units = build_units(ds, "C1", band_max=360)
    assert units.big_compounds == ("K0",)
    # every building's cell stays on its own side of the lane
    lane = ds.metric("roads").geometry.iloc[0]
    south_side = at(box(0, 0, 400, 150))
    for b, u in zip(units.building_ids, units.building_unit.tolist(), strict=True):
        inside = shapely.area(shapely.intersection(units.cells[u], south_side))
        share = inside / shapely.area(units.cells[u])
        assert share == pytest.approx(1.0 if b in ("B0", "B1") else 0.0, abs=1e-6)
    # two grids of 300 households: the grid boundary is exactly the lane
    plan = partition_community(ds, "C1")
    grids = plan.grids.to_crs(ds.metric_crs)
    assert sorted(grids["households"].tolist()) == [300, 300]
    inner = inner_boundary(ds, grids)
    assert abs(inner.length - 400.0) < 0.1
    assert shapely.hausdorff_distance(inner, lane) < 0.01
    assert_finished(ds, plan)


def test_open_land_around_a_compound_is_shared_out_where_its_lanes_meet_the_wall() -> None:
    # lane_compound's compound inset 10 m from the community outline: the lane stops at its
    # walls, the open land around it goes with the piece beside it, cut where the lane
    # meets the wall, so the cells (and the grids) meet on the lane carried to the outline
    comm = box(0, 0, 400, 300)
    compound = box(10, 10, 390, 290)
    lane = LineString([(10, 150), (390, 150)])
    spots = [(60, 80), (260, 80), (140, 200), (300, 200)]
    buildings = [
        (f"B{i}", "K0", 150, box(x, y, x + 60, y + 14), "C1") for i, (x, y) in enumerate(spots)
    ]
    ds = make_dataset([("C1", comm)], [("K0", "C1", compound)], buildings, [("L1", "path", lane)])
    units = build_units(ds, "C1", band_max=360)
    south_side = at(box(0, 0, 400, 150))
    for b, u in zip(units.building_ids, units.building_unit.tolist(), strict=True):
        share = shapely.area(shapely.intersection(units.cells[u], south_side))
        share /= shapely.area(units.cells[u])
        assert share == pytest.approx(1.0 if b in ("B0", "B1") else 0.0, abs=1e-6), b
    plan = partition_community(ds, "C1")
    inner = inner_boundary(ds, plan.grids.to_crs(ds.metric_crs))
    assert shapely.hausdorff_distance(inner, at(LineString([(0, 150), (400, 150)]))) < 0.01


def test_cutting_inside_a_piece_between_internal_roads_costs_more_than_inside_a_compound() -> None:
    from gridgen.partition.community import region_problem
    from gridgen.partition.ground import SAME_COMPOUND_FACTOR, SAME_PIECE_FACTOR

    def cost_between(ds: Dataset, a: str, b: str) -> tuple[float, float]:
        units = build_units(ds, "C1", band_max=360)
        unit = dict(zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True))
        pair = sorted((unit[a], unit[b]))
        e = int(np.flatnonzero((units.edges == pair).all(axis=1))[0])
        base = sum(float(units.edge_kinds[e, k]) * KIND_COST[n] for k, n in enumerate(KINDS))
        return float(region_problem(units).cut_cost[e]), base

    # B0 and B1: one row, one piece between the lane and the wall
    cost, base = cost_between(lane_compound(), "B0", "B1")
    assert base > 0 and cost == pytest.approx(base * SAME_COMPOUND_FACTOR * SAME_PIECE_FACTOR)
    assert cost >= 5 * SAME_COMPOUND_FACTOR * base
    # without the lane the compound is one piece: only the compound factor
    no_lane = lane_compound()
    no_lane = Dataset(
        layers={**no_lane.layers, "roads": no_lane.layers["roads"].iloc[:0]},
        metric_crs=no_lane.metric_crs,
    )
    cost, base = cost_between(no_lane, "B0", "B1")
    assert base > 0 and cost == pytest.approx(base * SAME_COMPOUND_FACTOR)


def test_a_dead_end_lane_does_not_cut_a_compound() -> None:
    from gridgen.partition.inner_roads import inner_pieces

    poly = box(0, 0, 100, 100)
    through = np.asarray([LineString([(0, 50), (100, 50)])], dtype=object)
    short = np.asarray([LineString([(0.5, 50), (99.5, 50)])], dtype=object)
    dead_end = np.asarray([LineString([(0, 50), (60, 50)])], dtype=object)
    assert len(inner_pieces({0: poly}, through)[0]) == 2
    assert len(inner_pieces({0: poly}, short)[0]) == 2  # 0.5 m short of the walls: closes
    assert inner_pieces({0: poly}, dead_end) == {}
