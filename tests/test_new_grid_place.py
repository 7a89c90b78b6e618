"""Where a rebalance places the grid it must add: a peel of the overfull grid grown by
boundary moves (settling) and the relabelling's fixed units (least change), on one
hand-checkable community (the unseen filled41 city's, in small).

Band 240-360. Old grids (households):

- P = a 128 + b 310 = 438 (above the band: a must go; b alone is 310);
- Q = c 128 + d 128 + e 40 + f 42 = 338;
- R = g 160 + h 128 = 288;
- S = i 39 + j 300 = 339.

Edges: a-b, a-c, a-h, c-d, d-e, d-f, e-f, g-h, g-e, g-f, e-i, f-i, i-j. Unit a cannot
join a neighbouring grid (each would go above 360), and a and b cannot be split into two
grids in the band: a new grid of at least 240 must hold a. The cheapest is a + c (256):
Q keeps d, e, f (210) and takes i (39) from S: 128 + 128 + 39 = 295 households change
grid. Through R instead (a + h), R keeps g (160) and must take e and f (82) from Q:
128 + 128 + 82 = 338.
"""

from __future__ import annotations

import numpy as np

from gridgen.partition.least_change import least_change
from gridgen.partition.moves import Moves
from gridgen.partition.repairs import changed_households, cheapest_split, peel_trials

A, B, C, D, E, F, G, H, I_, J = range(10)
HH = np.array([128, 310, 128, 128, 40, 42, 160, 128, 39, 300], dtype=np.int64)
EDGES = np.array(
    [
        (A, B),
        (A, C),
        (A, H),
        (C, D),
        (D, E),
        (D, F),
        (E, F),
        (G, H),
        (G, E),
        (G, F),
        (E, I_),
        (F, I_),
        (I_, J),
    ],
    dtype=np.int64,
)
OLD = np.array([0, 0, 1, 1, 1, 1, 2, 2, 3, 3], dtype=np.int64)
BAND = (240, 360)
NONE = np.zeros(0, dtype=np.int64)


def _in_band(labels: np.ndarray) -> bool:
    size = np.bincount(labels, weights=HH)
    return bool(((size >= BAND[0]) & (size <= BAND[1])).all())


def test_a_peel_starts_the_new_grid_at_the_edge_of_the_overfull_grid() -> None:
    g = Moves.from_edges(HH, EDGES, np.ones(len(EDGES)))
    # b touches no other grid: only a peels off (a new grid, label 4)
    (peel,) = peel_trials(g, OLD, 0)
    assert peel.tolist() == [4, 0, 1, 1, 1, 1, 2, 2, 3, 3]


def test_the_overfull_grid_is_split_where_fewest_households_change() -> None:
    g = Moves.from_edges(HH, EDGES, np.ones(len(EDGES)))
    # the partitioner's split cannot divide a and b into two grids in the band (it leaves
    # the grid as it was); the peel of a, grown by boundary moves, takes c, and Q takes i
    out = cheapest_split(g, OLD, 0, OLD, stuck=NONE, lo=BAND[0], hi=BAND[1])
    assert _in_band(out)
    assert out[A] == out[C] != out[B]
    assert out[I_] == out[D]
    assert changed_households(HH, OLD, out) == 295


def test_the_grid_left_in_place_is_the_unit_inside_its_old_grid() -> None:
    # settled through R (a local redraw): new grid a + h, R = g + e + f, Q = c + d:
    # 338 households changed. Q's units c and d hold the same households; c, on the edge
    # of P, must be free to join the new grid (the cheaper plan, 295): the programme keeps
    # d in place, which has more neighbours that were in Q (c, e, f) than c has (d)
    settled = np.array([4, 0, 1, 1, 2, 2, 2, 4, 3, 3], dtype=np.int64)
    _, inv = np.unique(settled, return_inverse=True)
    settled = inv.astype(np.int64)
    assert _in_band(settled) and changed_households(HH, OLD, settled) == 338
    kept = np.zeros((len(HH), 4))
    kept[np.arange(len(HH)), OLD] = HH
    out = least_change(HH, EDGES, settled, kept, stuck=NONE, band=BAND)
    assert _in_band(out)
    assert changed_households(HH, OLD, out) == 295
