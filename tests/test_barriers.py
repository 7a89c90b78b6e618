"""Rivers, railways and walls (the ``barriers`` layer): grids are drawn along them.

Hand-checkable: a 400 x 200 m community with four compounds in a 2 x 2 layout, two grids'
worth of households. Without a barrier the shorter cut (north-south, 200 m of open land)
divides it; with a river along the long axis the grids meet exactly on the river.
"""

from __future__ import annotations

import sqlite3
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from finish_checks import assert_finished
from handmade import raw_layers
from partition_helpers import (
    UTM49,
    at,
    inner_boundary,
    make_dataset,
    row_of_compounds,
    with_barriers,
)
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.errors import SchemaError
from gridgen.io.read import read_dataset
from gridgen.io.write import write_dataset
from gridgen.partition.audit import audit_grids
from gridgen.partition.community import partition_community
from gridgen.partition.ground import KINDS
from gridgen.partition.measures import grid_barrier_crossings, grid_barrier_straddles
from gridgen.partition.merge import merge_layers
from gridgen.partition.rebalance import rebalance
from gridgen.partition.river_sides import walkable
from gridgen.partition.units import build_units
from gridgen.rules import RuleKind
from gridgen.schema import BARRIER_KIND_LABELS
from gridgen.validate.layers import validate_layers


def quad(barrier: tuple[str, BaseGeometry] | None) -> Dataset:
    """Return the 400 x 200 m community with four 150-household compounds (2 x 2) and,
    when given, one barrier ``(kind, geometry)`` in local metres."""
    comm = box(0, 0, 400, 200)
    compounds: list[tuple[str, str, BaseGeometry]] = []
    buildings: list[tuple[str, str | None, int, BaseGeometry, str]] = []
    for i, (x, y) in enumerate(((20, 20), (220, 20), (20, 120), (220, 120))):
        compounds.append((f"K{i}", "C1", box(x, y, x + 160, y + 60)))
        buildings.append((f"B{i}", f"K{i}", 150, box(x + 60, y + 20, x + 100, y + 40), "C1"))
    ds = make_dataset([("C1", comm)], compounds, buildings)
    return ds if barrier is None else with_barriers(ds, [("H1", *barrier)])


RIVER = LineString([(0, 100), (400, 100)])


def test_without_a_barrier_the_short_cut_divides_the_community() -> None:
    ds = quad(None)
    grids = partition_community(ds, "C1").grids.to_crs(ds.metric_crs)
    assert len(grids) == 2
    inner = inner_boundary(ds, grids)
    assert shapely.hausdorff_distance(inner, at(RIVER)) > 50  # not along the long axis


@pytest.mark.parametrize("kind", ["river", "railway"])
def test_grids_meet_exactly_on_a_river_or_railway(kind: str) -> None:
    ds = quad((kind, RIVER))
    plan = partition_community(ds, "C1")
    grids = plan.grids.to_crs(ds.metric_crs)
    assert len(grids) == 2
    inner = inner_boundary(ds, grids)
    assert abs(inner.length - 400.0) < 0.1
    assert shapely.hausdorff_distance(inner, at(RIVER)) < 0.01
    assert grid_barrier_crossings(ds, grids.geometry.to_numpy()).tolist() == [0, 0]
    assert grid_barrier_straddles(ds, plan.assignment).empty
    assert_finished(ds, plan)


def test_a_river_drawn_as_water_cuts_by_both_banks() -> None:
    water = Polygon([(0, 95), (400, 95), (400, 105), (0, 105)])
    ds = quad(("river", water))
    plan = partition_community(ds, "C1")
    grids = plan.grids.to_crs(ds.metric_crs)
    assert len(grids) == 2
    # the grids meet on one bank or the other (the water strip is land of one of them)
    inner = inner_boundary(ds, grids)
    banks = [at(LineString([(0, y), (400, y)])) for y in (95, 105)]
    assert min(shapely.hausdorff_distance(inner, b) for b in banks) < 0.01
    assert_finished(ds, plan)


def test_unit_edges_on_a_river_are_of_kind_barrier_and_a_wall_line_is_a_wall() -> None:
    river = build_units(quad(("river", RIVER)), "C1", band_max=360)
    across = river.edge_kinds[:, KINDS.index("barrier")]
    # the compounds' cells on either bank meet along the river's 400 m, all of it barrier
    assert across.sum() == pytest.approx(400.0, abs=1.0)
    assert sorted(np.round(across[across > 0])) == [200.0, 200.0]
    wall = build_units(quad(("wall", RIVER)), "C1", band_max=360)
    assert wall.edge_kinds[:, KINDS.index("barrier")].sum() == 0.0
    on_wall = wall.edge_kinds[:, KINDS.index("wall")]
    assert on_wall[across > 0].sum() == pytest.approx(400.0, abs=1.0)


def test_a_grid_straddles_a_river_when_its_buildings_lie_on_both_sides() -> None:
    ds = quad(("river", RIVER))
    # one grid holding the whole community straddles the river once
    one = ds.buildings[["building_id"]].assign(grid_id="G1")
    found = grid_barrier_straddles(ds, one)
    assert found.to_dict("index") == {"G1": {"parts": 2, "households_across": 300}}
    # a railway ending at x = 150 still parts B0 from B2, but B1 and B3 (east, beyond its
    # end) join them both around its end: one part
    short = quad(("railway", LineString([(0, 100), (150, 100)])))
    assert grid_barrier_straddles(short, one).empty
    # a grid of B0 and B2 alone wraps around the track's end: the straight line between
    # them crosses the track, but the track divides nothing (a terminal track), one side
    west = one.iloc[[0, 2]]
    assert grid_barrier_straddles(short, west).empty
    assert grid_barrier_straddles(quad(("railway", RIVER)), west)["parts"].to_dict() == {"G1": 2}
    # a river drawn as water parts the grid by either bank; two grids along it: none
    water = quad(("river", Polygon([(0, 95), (400, 95), (400, 105), (0, 105)])))
    assert grid_barrier_straddles(water, one)["parts"].to_dict() == {"G1": 2}
    halves = one.assign(grid_id=["S", "S", "N", "N"])
    assert grid_barrier_straddles(water, halves).empty


def test_a_grid_over_two_pieces_of_a_community_straddles_only_a_river_within_a_piece() -> None:
    # a community in two pieces (west, east); a river across the west piece only
    comm = MultiPolygon([box(0, 0, 400, 200), box(500, 0, 900, 200)])
    spots = {"S": (180, 40), "N": (180, 140), "E": (680, 40)}
    buildings = [
        (f"B{k}", None, 100, box(x, y, x + 40, y + 20), "C1") for k, (x, y) in spots.items()
    ]
    ds = with_barriers(make_dataset([("C1", comm)], [], buildings), [("H1", "river", RIVER)])
    # south of the river and in the east piece: two pieces, no river between them
    apart = pd.DataFrame({"building_id": ["BS", "BE"], "grid_id": ["G1", "G1"]})
    assert grid_barrier_straddles(ds, apart).empty
    # both banks of the west piece and the east piece: straddles once, 100 across
    every = pd.DataFrame({"building_id": ["BS", "BN", "BE"], "grid_id": ["G1"] * 3})
    found = grid_barrier_straddles(ds, every)
    assert found.to_dict("index") == {"G1": {"parts": 2, "households_across": 100}}


def test_a_barrier_row_with_an_unknown_kind_is_named() -> None:
    raw = raw_layers()
    bad = gpd.GeoDataFrame(
        {"barrier_id": ["H1", "H2"], "kind": ["river", "canyon"]},
        geometry=[LineString([(116.40, 39.90), (116.41, 39.90)])] * 2,
        crs=4326,
    )
    ds = validate_layers({**raw, "barriers": bad})
    found = [f for f in ds.report.findings if f.layer == "barriers"]
    assert found and any("canyon" in f.message for f in found), found
    assert list(ds.layer("barriers")["barrier_id"]) == ["H1"]


def test_a_barriers_layer_without_kind_is_refused_naming_the_column() -> None:
    raw = raw_layers()
    bad = gpd.GeoDataFrame(
        {"barrier_id": ["H1"]}, geometry=[LineString([(116.40, 39.9), (116.41, 39.9)])], crs=4326
    )
    with pytest.raises(SchemaError, match="'barriers' has no column 'kind'"):
        validate_layers({**raw, "barriers": bad})


def test_absent_barriers_are_empty_without_a_finding() -> None:
    ds = validate_layers(raw_layers())
    assert ds.layer("barriers").empty
    assert not [f for f in ds.report.findings if f.layer == "barriers"]
    old = Dataset(
        layers={k: v for k, v in ds.layers.items() if k != "barriers"}, metric_crs=ds.metric_crs
    )
    assert old.metric("barriers").empty and list(old.layer("barriers").columns) == [
        "barrier_id",
        "kind",
        "name",
        "geometry",
    ]


def test_lines_and_water_areas_round_trip_through_a_geopackage_with_styles(
    tmp_path: Path,
) -> None:
    water = Polygon([(0, 95), (400, 95), (400, 105), (0, 105)])
    ds = quad(("river", water))
    rail = gpd.GeoDataFrame(
        {"barrier_id": ["T1"], "kind": ["railway"], "name": ["铁路"]},
        geometry=[at(LineString([(200, 0), (200, 200)]))],
        crs=ds.metric_crs,
    ).to_crs(4326)
    both = pd.concat([ds.layer("barriers"), rail], ignore_index=True)
    ds = Dataset(layers={**ds.layers, "barriers": both}, metric_crs=ds.metric_crs)
    path = write_dataset(ds, tmp_path / "d.gpkg")
    # GDAL and QGIS take one geometry type per layer: the water stays "barriers"
    # (polygons), the railway goes to "barriers_lines"; each has our default style
    assert dict(pyogrio.list_layers(path).tolist())["barriers"] == "Polygon"
    assert dict(pyogrio.list_layers(path).tolist())["barriers_lines"] == "LineString"
    with sqlite3.connect(path) as con:
        styled = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles").fetchall())
    assert "<renderer-v2" in styled["barriers"] and 'type="fill"' in styled["barriers"]
    assert 'type="line"' in styled["barriers_lines"]
    back = read_dataset(path).layer("barriers")
    assert sorted(back["barrier_id"]) == ["H1", "T1"]
    assert sorted(back.geometry.geom_type) == ["LineString", "Polygon"]


def test_the_audit_flags_a_grid_across_a_river() -> None:
    ds = quad(("river", RIVER))
    whole = gpd.GeoDataFrame(
        {"grid_id": ["G1"], "community_id": ["C1"]},
        geometry=[at(box(0, 0, 400, 200))],
        crs=ds.metric_crs,
    ).to_crs(4326)
    found = audit_grids(ds, whole)
    assert found.summary["barrier_crossing"] == 1
    assert found.grids.set_index("grid_id")["barrier_straddles"].to_dict() == {"G1": 1}
    halves = gpd.GeoDataFrame(
        {"grid_id": ["S", "N"], "community_id": ["C1", "C1"]},
        geometry=[at(box(0, 0, 400, 100)), at(box(0, 100, 400, 200))],
        crs=ds.metric_crs,
    ).to_crs(4326)
    assert audit_grids(ds, halves).summary["barrier_crossing"] == 0


def test_a_part_between_a_river_and_the_outline_proven_apart_says_so() -> None:
    # west of the river 250 | 250 | 230 (730: three grids by count, but 230 is below the
    # band and its neighbours hold 250): no in-band division keeps grids off the river;
    # east of it 20 | 300 | 300 divides fine. Across the river the 230 and the 20 would fit.
    ds = with_barriers(
        row_of_compounds([250, 250, 230, 20, 300, 300]),
        [("H1", "river", LineString([(370, 0), (370, 140)]))],
    )
    plan = partition_community(ds, "C1")
    proofs = [p.reason for p in plan.problems if p.kind == RuleKind.UNSPLITTABLE]
    assert len(proofs) == 1, plan.problems
    assert "730 households" in proofs[0]
    assert "keeps grids off the river or railway" in proofs[0]
    assert grid_barrier_straddles(ds, plan.assignment).empty


def test_a_compound_sheet_draws_the_river_beside_it(tmp_path: Path) -> None:
    from gridgen.io.read import load_sample
    from gridgen.sample.railway import with_railway_and_river
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.render import render_sheet_png

    ds = validate_layers(with_railway_and_river(dict(load_sample().layers)))
    comps = ds.metric("compounds").set_index("compound_id").geometry
    river = ds.metric("barriers").set_index("kind").geometry["river"]
    near, far = comps.distance(river).idxmin(), comps.distance(river).idxmax()
    data = compound_sheet_data(ds, str(near))
    assert [k for k, _ in data.context_barriers] == ["river"]
    assert compound_sheet_data(ds, str(far)).context_barriers == ()
    out = render_sheet_png(data, tmp_path / "sheet.png", dpi=60)
    assert out.stat().st_size > 10_000


def test_a_sheet_legend_lists_only_the_barriers_its_frame_shows() -> None:
    # The sheet gathers rivers and railways from a window wider than its map frame: a
    # compound whose window reaches the railway but whose frame does not must not list it.
    from gridgen.io.read import load_sample
    from gridgen.sample.railway import with_railway_and_river
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.render import sheet_figure

    ds = validate_layers(with_railway_and_river(dict(load_sample().layers)))
    seen: dict[bool, int] = {True: 0, False: 0}
    for cid in ("XQ00001", "XQ00014", "XQ00020", "XQ00030"):
        data = compound_sheet_data(ds, cid)
        fig = sheet_figure(data, dpi=40)
        (x0, x1), (y0, y1) = fig.axes[0].get_xlim(), fig.axes[0].get_ylim()
        frame = box(x0, y0, x1, y1)
        labels = {t.get_text() for t in fig.legends[0].get_texts()}
        for kind, geom in data.context_barriers:
            shown = geom.intersects(frame)
            assert (BARRIER_KIND_LABELS[kind] in labels) == shown, (cid, kind)
            seen[shown] += 1
    assert seen[True] >= 2 and seen[False] >= 2, seen


def _row_with_river() -> Dataset:
    """The row 250 | 250 | 230 ‖ 20 | 300 | 300 with a river between the 230 and the 20."""
    return with_barriers(
        row_of_compounds([250, 250, 230, 20, 300, 300]),
        [("H1", "river", LineString([(370, 0), (370, 140)]))],
    )


def _columns(prefix: str, xs: list[float]) -> gpd.GeoDataFrame:
    """Return a WGS84 grid layer of full-height columns between the ``xs`` (local metres)."""
    return gpd.GeoDataFrame(
        {"grid_id": [f"{prefix}{i + 1}" for i in range(len(xs) - 1)]},
        geometry=[at(box(a, 0, b, 140)) for a, b in pairwise(xs)],
        crs=UTM49,
    ).to_crs(4326)


def _households_by_grid(ds: Dataset, assignment: pd.DataFrame) -> list[int]:
    hh = ds.buildings.set_index("building_id")["households"]
    per = assignment.set_index("building_id")["grid_id"]
    return sorted(hh.groupby(per.reindex(hh.index)).sum().astype(int).tolist())


def test_rebalance_keeps_grids_on_their_side_of_a_river() -> None:
    # one grid per compound: the 230 and the 20 are below the band 240-360. Joined across
    # the river they make 250 (in band): moves that know only shared lengths took that.
    # Kept off the river, as partition keeps it, the 20 joins the 300 on its own side and
    # the 230 stays out of band, proven so for plans that keep grids off the river.
    ds = _row_with_river()
    r = rebalance(ds, _columns("G", [0, 130, 250, 370, 490, 610, 740]), band=(240, 360))
    assert grid_barrier_straddles(ds, r.plan.assignment).empty
    assert _households_by_grid(ds, r.plan.assignment) == [230, 250, 250, 300, 320]
    # the proof: no connected set holding the 230 on its side of the river is in the band
    (problem,) = r.plan.problems
    assert problem.kind == RuleKind.UNBALANCEABLE
    assert "has 230 households" in problem.reason
    assert "keep grids off the river or railway" in problem.reason


def test_merge_grids_splits_an_input_grid_across_a_river_by_its_banks() -> None:
    # both departments draw the 230 and the 20 as one grid across the river (250, in band):
    # merge-grids keeps the 230 on its bank (out of band, proven) and the 20 joins the 300
    ds = _row_with_river()
    xs = [0, 130, 250, 490, 610, 740]
    r = merge_layers(ds, [_columns("A", xs), _columns("B", xs)], band=(240, 360))
    assert grid_barrier_straddles(ds, r.plan.assignment).empty
    assert _households_by_grid(ds, r.plan.assignment) == [230, 250, 250, 300, 320]
    (problem,) = r.plan.problems
    assert problem.kind == RuleKind.UNBALANCEABLE
    assert "keep grids off the river or railway" in problem.reason


def test_moves_walk_the_unit_graph_without_the_edges_across_a_river() -> None:
    # the quad: two compounds (300 households, a grid's worth) on each bank
    river = build_units(quad(("river", RIVER)), "C1", band_max=360)
    walk = walkable(river, lo=240, hi=360)
    across = river.edge_kinds[:, KINDS.index("barrier")] > 0
    assert across.any() and len(walk.edges) == int((~across).sum())
    assert not (walk.edge_kinds[:, KINDS.index("barrier")] > 0).any()
    # a bank too small for a grid of its own (150 households) keeps its edges across
    assert walkable(river, lo=400, hi=600) is river
    # without a barriers layer the graph is the same object (the same plans)
    plain = build_units(quad(None), "C1", band_max=360)
    assert walkable(plain, lo=240, hi=360) is plain
