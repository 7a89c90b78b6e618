"""A part proven to have no in-band division gets a plan with one grid out of band where
one exists (the walled city's 32-unit part of 2,424 households: 230 and 224 -> 408)."""

from __future__ import annotations

import numpy as np
import pytest

from gridgen.partition.objective import RegionProblem
from gridgen.partition.regions import components

LO, HI = 240, 360

# walled (273k households), community 140106003010: 32 units (6 of land), 2,424 households;
# the region search left grids of 230 and 224 out of band, where one of 408 leaves the
# others in band (the 224 with the pendant compound of 184)
WALLED_HH = [184, *[46] * 11, 224, 348, *[58] * 9, 315, 174, 151, 0, 0, 0, 0, 0, 0]
WALLED_EDGES = [
    (0, 26), (1, 2), (1, 5), (1, 27), (2, 3), (2, 6), (2, 27), (3, 4), (3, 7), (3, 27),
    (4, 8), (4, 27), (5, 6), (5, 9), (5, 27), (6, 7), (6, 9), (7, 8), (7, 10), (8, 11),
    (8, 27), (9, 10), (9, 27), (10, 11), (10, 27), (11, 27), (12, 13), (12, 27), (12, 30),
    (13, 14), (13, 15), (13, 16), (13, 27), (13, 31), (14, 15), (14, 17), (14, 31), (15, 16),
    (15, 18), (16, 19), (16, 23), (17, 18), (17, 20), (17, 31), (18, 19), (18, 21), (19, 22),
    (19, 23), (20, 21), (20, 31), (21, 22), (21, 31), (22, 23), (22, 31), (23, 24), (23, 29),
    (24, 29), (25, 28), (26, 27), (26, 30), (27, 28), (27, 30), (27, 31), (28, 29), (28, 31),
    (29, 31),
]  # fmt: skip


def _regions_out(labels: np.ndarray, hh: np.ndarray, edges: np.ndarray) -> list[int]:
    """Return the households of the regions out of band (every region must be connected)."""
    out = []
    for r in np.unique(labels).tolist():
        nodes = np.flatnonzero(labels == r)
        inside = np.isin(edges[:, 0], nodes) & np.isin(edges[:, 1], nodes)
        local = np.searchsorted(nodes, edges[inside])
        assert len(np.unique(components(len(nodes), local))) == 1, f"region {r} not connected"
        total = int(hh[nodes].sum())
        if not LO <= total <= HI:
            out.append(total)
    return out


def test_one_free_unit_finds_the_plan_with_one_grid_out() -> None:
    from gridgen.partition.exact import in_band_partition, one_free_partition

    hh, edges = np.asarray(WALLED_HH), np.asarray(WALLED_EDGES)
    assert in_band_partition(hh, edges, lo=LO, hi=HI).status == "none"
    free = np.zeros(len(hh), dtype=bool)
    free[12] = True  # the compound of 224
    found = one_free_partition(hh, edges, lo=LO, hi=HI, free=free)
    assert found.status == "found" and found.labels is not None
    assert _regions_out(found.labels, hh, edges) == [408]
    assert found.labels[12] == found.labels[0]  # with the compound of 184
    # a unit of 46 made free does not lead there within the budget: "unknown", never "none"
    free = np.zeros(len(hh), dtype=bool)
    free[1] = True
    assert one_free_partition(hh, edges, lo=LO, hi=HI, free=free, budget=500).status == "unknown"


def test_part_regions_leaves_one_grid_out_in_a_part_without_an_in_band_division() -> None:
    from gridgen.partition.search import SEARCH_PROOF, part_regions

    hh, edges = np.asarray(WALLED_HH, dtype=np.int64), np.asarray(WALLED_EDGES)
    n = len(hh)
    i = np.arange(n)
    prob = RegionProblem(
        households=hh,
        edges=edges,
        cut_cost=np.full(len(edges), 100.0),
        xy=np.column_stack([i % 6 * 100.0, i // 6 * 100.0]),
        area=np.full(n, 1e4),
    )
    labels, proof = part_regions(
        prob,
        target=300,
        band=(LO, HI),
        rng=np.random.default_rng(0),
        forced=np.zeros(n, dtype=bool),
    )
    assert proof == SEARCH_PROOF
    assert len(_regions_out(labels, hh, edges)) == 1


def test_a_large_part_without_a_proof_gets_more_region_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gridgen.partition import search

    # a part above EXACT_UNITS (none here) without a proof: the region search is the only
    # way in, so a plan with every region in band found by a later search is kept
    # (walled43's 225-unit part: the eighth search of the partition's divides it in band)
    hh = np.asarray([150, 150, 150, 150], dtype=np.int64)
    edges = np.asarray([(0, 1), (1, 2), (2, 3)])
    prob = RegionProblem(
        households=hh,
        edges=edges,
        cut_cost=np.ones(3),
        xy=np.column_stack([np.arange(4) * 100.0, np.zeros(4)]),
        area=np.ones(4),
    )
    bad, good = np.asarray([0, 1, 1, 2]), np.asarray([0, 0, 1, 1])  # 150-300-150, 300-300
    calls = []

    def searched(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return good if len(calls) == search.RESTARTS + 2 else bad

    monkeypatch.setattr(search, "EXACT_UNITS", 0)
    monkeypatch.setattr(search, "best_regions", searched)
    labels, proof = search.part_regions(
        prob, target=300, band=(LO, HI), rng=np.random.default_rng(0), forced=np.zeros(4, bool)
    )
    assert proof == search.NO_PROOF
    assert labels.tolist() == good.tolist()
    assert len(calls) == search.RESTARTS + 2  # no more once every region is in band
