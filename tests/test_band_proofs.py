"""Grids left out of band by partition, rebalance and merge-grids carry a proof naming them:
a connected part no plan divides into in-band grids has one grid out of band whatever the
plan, and when the plan has exactly one there, the proof is that grid's (``unsplittable``)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from partition_helpers import UTM49, at, row_of_compounds
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gridgen.partition.community import partition_community
from gridgen.partition.merge import merge_layers
from gridgen.partition.plan import Plan
from gridgen.partition.proofs import part_proof, proven_part_grid
from gridgen.partition.rebalance import rebalance
from gridgen.rules import RuleKind

BAND = (240, 360)


def layer(*grids: tuple[str, BaseGeometry]) -> gpd.GeoDataFrame:
    """Return a WGS84 grid layer from (code, local-metre polygon) pairs."""
    return gpd.GeoDataFrame(
        {"grid_id": [c for c, _ in grids]}, geometry=[at(g) for _, g in grids], crs=UTM49
    ).to_crs(4326)


def out_of_band(plan: Plan) -> set[str]:
    g = plan.grids
    return set(g.loc[~g["in_band"], "grid_id"].astype(str))


def named(plan: Plan) -> dict[str, str]:
    return {p.grid_id: p.reason for p in plan.problems if p.kind == RuleKind.UNSPLITTABLE}


def test_part_proof_by_count_and_by_search() -> None:
    path = np.asarray([(0, 1), (1, 2)])
    # 417 = 139 x 3: one grid is too big, two too small
    assert part_proof(np.asarray([139, 139, 139]), path, lo=240, hi=360) == "count"
    # 540 fits two grids, but 180 | 180 | 180 in a row has no cut into 240-360 sides: the
    # middle unit cuts it into two pieces of 180 that no grid count fits, and its grid
    # would have to take both (540)
    assert part_proof(np.asarray([180, 180, 180]), path, lo=240, hi=360) == "cut"
    # the same three in a triangle: no cut unit, the exhaustive search proves it (any two
    # make 360, the third is left with 180)
    triangle = np.asarray([(0, 1), (1, 2), (0, 2)])
    assert part_proof(np.asarray([180, 180, 180]), triangle, lo=240, hi=360) == "search"
    # 150 - 150 - 300: 300 | 300
    assert part_proof(np.asarray([150, 150, 300]), path, lo=240, hi=360) == ""


def test_the_one_grid_out_of_band_of_a_proven_part_is_named() -> None:
    hh = np.asarray([180, 180, 180])
    nodes = np.arange(3)
    free = np.zeros(3, dtype=bool)
    # 360 | 180: the 180 grid is the only one out of band
    assert proven_part_grid(hh, np.asarray([0, 0, 1]), nodes, lo=240, hi=360, forced=free) == 1
    # three grids of 180: the proof covers one of them only, so it names none
    assert proven_part_grid(hh, np.asarray([0, 1, 2]), nodes, lo=240, hi=360, forced=free) == -1
    # a unit out of band for its own reason may be that same grid: no name
    forced = np.asarray([False, False, True])
    assert proven_part_grid(hh, np.asarray([0, 0, 1]), nodes, lo=240, hi=360, forced=forced) == -1


def test_partition_names_the_grid_of_an_unsplittable_part() -> None:
    plan = partition_community(row_of_compounds([180, 180, 180]), "C1")
    out = out_of_band(plan)
    assert len(out) == 1
    assert set(named(plan)) == out
    (gid,) = out
    assert f"grid {gid} is the one out of band" in named(plan)[gid]
    assert "exhaustive search of its" in named(plan)[gid]


def test_rebalance_names_the_grid_it_cannot_bring_in() -> None:
    ds = row_of_compounds([180, 180, 180])
    grids = layer(("G1", box(0, 0, 250, 140)), ("G2", box(250, 0, 380, 140)))
    r = rebalance(ds, grids, band=BAND)
    out = out_of_band(r.plan)
    assert len(out) == 1
    assert set(named(r.plan)) == out  # was above_band / below_band: "no fix found"
    (gid,) = out
    assert not any(p.kind in (RuleKind.BELOW_BAND, RuleKind.ABOVE_BAND) for p in r.plan.problems)
    assert "whatever the plan" in named(r.plan)[gid]
    assert r.summary["unfixable"] == [named(r.plan)[gid]]


def test_rebalance_names_a_grid_no_count_of_grids_fits() -> None:
    ds = row_of_compounds([139, 139, 139])
    grids = layer(("G1", box(0, 0, 380, 140)))
    r = rebalance(ds, grids, band=BAND)
    assert out_of_band(r.plan) == {"G1"}
    assert "no number of grids fits" in named(r.plan)["G1"]


def test_merge_names_the_grid_of_an_unsplittable_part() -> None:
    ds = row_of_compounds([180, 180, 180])
    a = layer(("A1", box(0, 0, 250, 140)), ("A2", box(250, 0, 380, 140)))
    b = layer(("B1", box(0, 0, 130, 140)), ("B2", box(130, 0, 380, 140)))
    plan = merge_layers(ds, [a, b], band=BAND).plan
    out = out_of_band(plan)
    assert len(out) == 1
    assert set(named(plan)) == out


def test_settle_takes_the_exhaustive_partition_when_it_fixes_grids_cheaply() -> None:
    from gridgen.partition.exact_fixes import exact_if_better
    from gridgen.partition.units import build_units

    # 150 | 150 150 | 150: two grids below the band; the search finds 300 | 300
    units = build_units(row_of_compounds([150, 150, 150, 150]), "C1", band_max=360)
    assert units.unit_ids[:4] == ("K00", "K01", "K02", "K03")
    start = np.asarray([0, 1, 1, 2, 1, 1], dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    fixed = exact_if_better(units, start, stuck=none, band=BAND, cost_per_fix=800)
    h = np.bincount(fixed, weights=units.households)
    assert ((h[h > 0] >= 240) & (h[h > 0] <= 360)).all()
    assert fixed[0] == fixed[1] != fixed[2] == fixed[3]
    # moving 150 households per grid fixed is too dear at 10 per grid: left as it was
    kept = exact_if_better(units, start, stuck=none, band=BAND, cost_per_fix=10)
    assert kept.tolist() == start.tolist()
