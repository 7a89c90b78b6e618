"""Rebalance moves no more households than needed: of the chains that bring grids into the
band, the one moving the fewest households per grid brought in is taken (hand-checkable)."""

from __future__ import annotations

import numpy as np

from gridgen.partition.moves import PHASES, Moves, balance, pieces
from gridgen.partition.repairs import changed_households


def test_the_cheapest_chain_over_all_grids_out_of_band_is_taken() -> None:
    # a row of units: grid 0 = 160 (80 below 240), grid 1 = 80 80 40 200 160 (560, 200
    # above 360), grid 2 = 160 (80 below). Grid 1 handing one 80 to grid 0 and its 160 to
    # grid 2 brings all three into the band with 240 households changed (240 / 320 / 320).
    # Starting from the grid furthest out (grid 1) and its best chain first, both 80s go to
    # grid 0 and the 160 to grid 2 (320 / 240 / 320): 320 households changed for the same
    # three grids in band.
    hh = np.array([160, 80, 80, 40, 200, 160, 160])
    edges = np.array([(i, i + 1) for i in range(len(hh) - 1)])
    g = Moves.from_edges(hh, edges, np.ones(len(edges)))
    start = np.array([0, 1, 1, 1, 1, 1, 2])
    labels, _ = balance(g, start, lo=240, hi=360)
    assert np.bincount(labels, weights=hh).tolist() == [240, 320, 320]
    assert changed_households(hh, start, labels) == 240
    for lab in range(3):
        assert len(pieces(g, labels, lab)) == 1
    # the partitioner's searches (largest excess first, reductions of the excess too) are
    # unchanged: they find the dearer plan
    old, _ = balance(g, start, lo=240, hi=360, phases=PHASES, cheapest=False)
    assert np.bincount(old, weights=hh).tolist() == [320, 240, 320]
    assert changed_households(hh, start, old) == 320
