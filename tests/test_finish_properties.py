"""Property tests: every producer's grids pass the finishing step's checks.

Random communities with roads (some dangling, some of every kind), sometimes a river (a
line or a water area), a railway or a wall across, walled compounds with open land between
them, scattered buildings and sometimes a detached empty piece; after a
partition, a rebalance, a merge of two lattices and every editor operation (assign, move,
repartition), the grids tile the community exactly (detached pieces included), every grid
is valid in every output CRS and every building lies inside its grid
(:func:`finish_checks.assert_finished`). Derandomized in CI (tests/conftest.py profile).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from finish_checks import assert_finished
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from partition_helpers import UTM49, at, make_dataset, with_barriers
from shapely.geometry import LineString, box

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError
from gridgen.partition.assign import assign_units
from gridgen.partition.community import partition_community
from gridgen.partition.merge import merge_layers
from gridgen.partition.plan import Plan
from gridgen.partition.planner import move_unit, repartition
from gridgen.partition.rebalance import rebalance
from gridgen.rules import RuleKind

SLOW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def communities(draw: st.DrawFn) -> Dataset:
    """Return a random community with roads, compounds, scattered buildings, maybe a piece."""
    w = draw(st.integers(300, 520))
    h = draw(st.integers(220, 400))
    outline = box(0, 0, w, h)
    if draw(st.booleans()):  # a detached empty piece (a park across a river)
        outline = shapely.union(outline, box(w + 40, 0, w + 120, 60))
    roads = []
    for i, x in enumerate(draw(st.lists(st.integers(60, w - 60), max_size=2, unique=True))):
        kind = draw(st.sampled_from(["main", "minor", "path"]))
        top = h if draw(st.booleans()) else draw(st.integers(h // 3, h - 20))  # dangling
        roads.append((f"V{i}", kind, LineString([(x, 0), (x, top)])))
    for i, y in enumerate(draw(st.lists(st.integers(60, h - 60), max_size=2, unique=True))):
        roads.append(
            (f"H{i}", draw(st.sampled_from(["main", "minor"])), LineString([(0, y), (w, y)]))
        )
    barriers = []
    if draw(st.booleans()):  # a river or railway across, sometimes a water area
        a, b = draw(st.integers(30, h - 30)), draw(st.integers(30, h - 30))
        line = LineString([(-5, a), (w + 5, b)])
        kind = draw(st.sampled_from(["river", "railway", "wall"]))
        water = kind == "river" and draw(st.booleans())
        barriers.append(("B1", kind, line.buffer(6, cap_style="flat") if water else line))
    linework = [r[2] for r in roads] + [g for _, _, g in barriers]
    lines = shapely.union_all(linework) if linework else shapely.GeometryCollection()
    compounds, buildings = [], []
    for cx in range(12, w - 70, 85):
        for cy in range(12, h - 70, 85):
            size = draw(st.integers(35, 62))
            comp = box(cx, cy, cx + size, cy + size)
            hh = draw(st.integers(0, 420))
            if hh == 0 or comp.buffer(6).intersects(lines):
                continue
            k = f"K{len(compounds):02d}"
            compounds.append((k, "C1", comp))
            n_b = draw(st.integers(1, 3))
            for j in range(n_b):
                fp = box(cx + 4 + j * 10, cy + 5, cx + 11 + j * 10, cy + size - 5)
                buildings.append((f"{k}B{j}", k, hh // n_b, fp, "C1"))
    for i in range(draw(st.integers(0, 4))):
        x, y = draw(st.integers(8, w - 8)), draw(st.integers(8, h - 8))
        fp = box(x - 3, y - 3, x + 3, y + 3)
        if any(fp.intersects(c[2].buffer(2)) for c in compounds) or fp.buffer(2).intersects(lines):
            continue
        buildings.append((f"S{i}", None, draw(st.integers(5, 90)), fp, "C1"))
    if not buildings:
        buildings.append(("S9", None, 40, box(w / 2 - 3, 4, w / 2 + 3, 10), "C1"))
    return with_barriers(make_dataset([("C1", outline)], compounds, buildings, roads), barriers)


def lattice(ds: Dataset, side: float, offset: float) -> gpd.GeoDataFrame:
    """Return squares of ``side`` metres (shifted by ``offset``) over the community."""
    comm = ds.metric("communities").geometry.iloc[0]
    x0, y0, x1, y1 = comm.bounds
    cells = []
    for x in np.arange(x0 - offset, x1, side):
        for y in np.arange(y0 - offset, y1, side):
            part = shapely.intersection(box(x, y, x + side, y + side), comm)
            if part.area > 1.0:
                cells.append(part)
    frame = gpd.GeoDataFrame(
        {"grid_id": [f"L{side:.0f}{i:03d}" for i in range(len(cells))]},
        geometry=cells,
        crs=UTM49,
    )
    return frame.to_crs(4326)


def _unit_and_neighbour_grid(plan: Plan, pick: int) -> tuple[str, str] | None:
    """Return (a building, a grid other than its own) of the community, or None."""
    grids = sorted(plan.grids["grid_id"].astype(str))
    if len(grids) < 2:
        return None
    a = plan.assignment.sort_values("building_id")
    row = a.iloc[pick % len(a)]
    other = [g for g in grids if g != row["grid_id"]]
    return str(row["building_id"]), other[pick % len(other)]


@SLOW
@given(ds=communities(), seed=st.integers(0, 3))
def test_partition_and_rebalance_and_merge_finish(ds: Dataset, seed: int) -> None:
    plan = partition_community(ds, "C1", seed=seed)
    assert_finished(ds, plan)
    assert plan.metrics.tiling_ok
    again = rebalance(ds, plan.grids, assignment=plan.assignment, target=230, band=(180, 280))
    assert_finished(ds, again.plan)
    merged = merge_layers(ds, [lattice(ds, 150.0, 0.0), lattice(ds, 110.0, 37.0)])
    assert_finished(ds, merged.plan)


@SLOW
@given(ds=communities(), pick=st.integers(0, 50))
def test_editor_operations_finish(ds: Dataset, pick: int) -> None:
    plan = partition_community(ds, "C1")
    chosen = _unit_and_neighbour_grid(plan, pick)
    if chosen is None:
        return
    building, grid = chosen
    try:
        edited = assign_units(ds, plan, {building: grid}).plan
    except ParameterError as exc:  # a grid left in pieces is refused, with the reason
        assert "one connected polygon" in str(exc)
    else:
        assert_finished(ds, edited, what="assign")
    moved = move_unit(ds, plan, building_id=building, to_grid=grid)
    if not any(v.kind == RuleKind.MULTIPART for v in moved.violations):
        assert_finished(ds, moved.plan, what="move")
    locked = sorted(plan.grids["grid_id"].astype(str))[:1]
    redrawn = repartition(ds, plan, "C1", locked=locked, seed=pick)
    assert_finished(ds, redrawn, what="repartition")


def test_walled_city_finishes(walled_small: tuple[Dataset, Plan]) -> None:
    ds, plan = walled_small
    assert_finished(ds, plan)
    assert plan.metrics.tiling_ok


@pytest.fixture(scope="module")
def walled_small() -> tuple[Dataset, Plan]:
    from gridgen.partition.community import partition_dataset
    from gridgen.sample.walled import make_walled_city
    from gridgen.validate.layers import validate_layers

    ds = validate_layers(make_walled_city(households=12_000, seed=5), source="walled")
    return ds, partition_dataset(ds)


__all__ = ["at"]
