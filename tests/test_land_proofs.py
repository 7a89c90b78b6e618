"""The proof by households first (gridgen.partition.land_proofs): a hand-checkable part of
two compounds that reach everything through one unit of land, and soundness against brute
force over every division of thousands of random parts with land and tiny buildings."""

from __future__ import annotations

import numpy as np
from test_exact import _exists_by_subsets

from gridgen.partition.bits import neighbour_masks
from gridgen.partition.exact import in_band_partition
from gridgen.partition.land_proofs import land_proof

LAND = np.asarray(
    [(0, 2), (1, 2)]  # two compounds of 200, each touching only the land unit 2
    + [(2, 3 + i) for i in range(8)]  # a ring of eight buildings of 5 around that land
    + [(3 + i, 3 + (i + 1) % 8) for i in range(8)]
    + [(10, 11)]  # and a building of 100 next to the ring
)
LAND_HH = [200, 200, 0] + [5] * 8 + [100]


def test_two_compounds_reaching_everything_through_one_land_unit_have_no_division() -> None:
    # 540 households (two grids could hold them), but the grid holding the land unit holds
    # at most one of the 200s: the other is a grid of 200 on its own. The exhaustive search
    # grows the land's grid through the ring's subsets and needs ~3,000 sets (main gives up
    # with 300); by households first the 200 goes with the 100 (through the land) or with
    # the ring, and the other 200 is then cut off: a few dozen steps
    nbrs = neighbour_masks(len(LAND_HH), LAND)
    assert land_proof(LAND_HH, nbrs, lo=240, hi=360) is True
    hh = np.asarray(LAND_HH)
    assert in_band_partition(hh, LAND, lo=240, hi=360, budget=300).status == "none"
    assert not _exists_by_subsets(LAND_HH, nbrs, (1 << len(LAND_HH)) - 1, (240, 360))
    # the second 200 next to the 100 as well: 200 + 100, and 200 + land + ring (240)
    edges = np.vstack([LAND, [(1, 11)]])
    nbrs = neighbour_masks(len(LAND_HH), edges)
    assert land_proof(LAND_HH, nbrs, lo=240, hi=360) is False
    assert in_band_partition(hh, edges, lo=240, hi=360).status == "found"


def test_land_proofs_agree_with_brute_force() -> None:
    # random connected parts of 4-10 units, a third of them land, some tiny buildings
    # (counted as land by the proof, with the minimum lowered): a proof is never wrong
    rng = np.random.default_rng(17)
    sizes = [0, 0, 0, 2, 5, 10, 40, 60, 80, 100, 120, 150, 200, 250, 300]
    proven = 0
    for _ in range(1_500):
        n = int(rng.integers(4, 11))
        hh = [int(h) for h in rng.choice(sizes, n).tolist()]
        tree = [(int(rng.integers(0, v)), v) for v in range(1, n)]
        extra = [tuple(sorted(rng.choice(n, 2, replace=False).tolist())) for _ in range(n // 3)]
        edges = np.asarray(sorted({*tree, *extra}), dtype=np.int64)
        nbrs = neighbour_masks(n, edges)
        if land_proof(hh, nbrs, lo=240, hi=360):
            proven += 1
            assert not _exists_by_subsets(hh, nbrs, (1 << n) - 1, (240, 360)), (hh, edges)
    assert proven > 300
