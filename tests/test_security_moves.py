"""Consecutive moves never raise GEOS "mixed-dimension" (issue 11, class 6).

Forty moves of random buildings to a neighbouring grid, each on the plan the previous one
returned: before the fix the snapped intersection of a moved cell with a grid it only
touched along an edge was a collection holding lines, and the next union raised
``IllegalArgumentException: Overlay input is mixed-dimension`` (a 500 in the service).
"""

from __future__ import annotations

import random

import shapely

from gridgen.io.read import load_sample
from gridgen.partition.community import partition_dataset
from gridgen.partition.planner import move_unit


def test_forty_consecutive_moves_keep_valid_polygonal_grids() -> None:
    ds = load_sample()
    cid = str(ds.communities["community_id"].iloc[0])
    plan = partition_dataset(ds, target=300, communities=[cid])
    rng = random.Random(1)
    moves = 0
    for _ in range(40):
        grids = plan.grids.to_crs(ds.metric_crs)
        grid_of = plan.assignment.astype(str).set_index("building_id")["grid_id"]
        building = rng.choice(sorted(grid_of.index))
        src = grids[grids["grid_id"].astype(str) == grid_of[building]].geometry.iloc[0]
        near = [
            str(g)
            for g, geom in zip(grids["grid_id"], grids.geometry, strict=True)
            if str(g) != grid_of[building] and geom.intersects(src.buffer(1.0))
        ]
        if not near:
            continue
        plan = move_unit(ds, plan, to_grid=rng.choice(near), building_id=building).plan
        moves += 1
        geoms = plan.grids.geometry
        assert set(geoms.geom_type) <= {"Polygon", "MultiPolygon"}
        assert bool(shapely.is_valid(geoms.to_numpy()).all())
    assert moves >= 30
