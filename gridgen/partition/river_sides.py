"""The unit graph that rebalance and merge-grids move units on: rivers and railways apart.

The partitioner searches the pieces of a community between rivers and railways apart
(:func:`gridgen.partition.search.searched_parts`): a piece that can hold grids in the band
by its households gets grids of its own, so no grid reaches across; a piece that cannot
(or holds no households) joins the neighbour it shares the most river or railway with.

Rebalance and merge-grids (:func:`gridgen.partition.settle.settle`, the ejection chains of
:mod:`gridgen.partition.chains`, fill, repairs, the relabelling of
:mod:`gridgen.partition.least_change`, merge's refinement of the input layers) walk the
unit graph by its edges and know only their shared lengths: on the whole graph a river is
one more boundary, and a chain that joins a unit across it costs no more than one along a
road. :func:`walkable` returns the unit graph without the edges the partitioner keeps grids
off, so every move, fill and redraw of a rebalance or a merge joins units on one side only,
as partition does; a grid of an old plan or an input layer reaching across falls into its
sides, which join grids on their own side (a grid reaches across only where nothing on
its side brings it into the band: :func:`gridgen.partition.settle.settle`). Cities
without a ``barriers`` layer have no edge on a river or railway: the graph is returned as
it is (the same plans).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.ground import KINDS
from gridgen.partition.search import searched_parts
from gridgen.partition.units import UnitGraph

IntArray = NDArray[np.int64]
BARRIER = KINDS.index("barrier")
"""Column of a river or railway in :attr:`gridgen.partition.units.UnitGraph.edge_kinds`."""


def across_edges(units: UnitGraph, *, lo: int, hi: int) -> NDArray[np.bool_]:
    """Return per edge whether it lies across a river or railway between two pieces the
    partitioner searches apart for the band ``lo``-``hi``
    (:func:`gridgen.partition.search.searched_parts`)."""
    e = units.edges
    if len(e) == 0 or not (units.edge_kinds[:, BARRIER] > 0).any():
        return np.zeros(len(e), dtype=bool)
    parts = searched_parts(units, lo=lo, hi=hi)
    return np.asarray(parts[e[:, 0]] != parts[e[:, 1]], dtype=bool)


def walkable(units: UnitGraph, *, lo: int, hi: int) -> UnitGraph:
    """Return ``units`` without the edges across a river or railway (:func:`across_edges`);
    ``units`` itself when there are none."""
    return without_edges(units, across_edges(units, lo=lo, hi=hi))


def without_edges(units: UnitGraph, drop: NDArray[np.bool_]) -> UnitGraph:
    """Return ``units`` without the edges ``drop`` marks (``units`` itself when none)."""
    if not drop.any():
        return units
    keep = ~drop
    return replace(
        units,
        edges=units.edges[keep],
        shared_length=units.shared_length[keep],
        road_length=units.road_length[keep],
        edge_kinds=units.edge_kinds[keep],
    )


def settled_graph(units: UnitGraph, labels: IntArray, *, lo: int, hi: int) -> UnitGraph:
    """Return ``units`` without the edges across rivers and railways (:func:`across_edges`)
    but those inside one grid of ``labels`` (one :func:`gridgen.partition.settle.settle`
    brought into the band across a river): the graph later steps keep its grids on."""
    e = units.edges
    across = across_edges(units, lo=lo, hi=hi)
    return without_edges(units, across & (labels[e[:, 0]] != labels[e[:, 1]]))
