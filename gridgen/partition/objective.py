"""The region objective: the graph it is computed on and its weights.

``Σ band_penalty(h_g) + λ Σ_cut c_e`` (plus a shape term in the local search), shared by
the bisection and repair of :mod:`gridgen.partition.regions`, the local search of
:mod:`gridgen.partition.local_search` and the ejection chains of
:func:`gridgen.partition.moves.chain_moves`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

OUT_OF_BAND_WEIGHT = 4.0
"""Penalty per region outside the band, plus ``OUT_DISTANCE_WEIGHT`` per target outside."""
OUT_DISTANCE_WEIGHT = 8.0
DEVIATION_WEIGHT = 1.0
"""Weight of the squared relative deviation from the target."""
CUT_WEIGHT = 0.6
"""Weight of boundary cost, in units of one typical region perimeter."""
SPLIT_DEVIATION_WEIGHT = 1.0
"""Weight of the deviation from target of a split's two sides (band misses weigh 10)."""
MOMENT_WEIGHT = 0.3
"""Weight of the shape term 2πI/A² per region (1 for a disk) in the local search."""


@dataclass(frozen=True)
class RegionProblem:
    """Graph data for :func:`best_regions`.

    Attributes
    ----------
    households
        Households per unit.
    edges
        ``(m, 2)`` unit index pairs.
    cut_cost
        Cost of cutting each edge in metres (shared length, lowered along main roads;
        may be negative where a main road makes the edge a natural boundary).
    xy
        ``(n, 2)`` unit centroids (metres).
    area
        Unit areas (m²).
    """

    households: IntArray
    edges: IntArray
    cut_cost: FloatArray
    xy: FloatArray
    area: FloatArray

    @property
    def n(self) -> int:
        """Return the number of units."""
        return len(self.households)


def local_edges(edges: IntArray, nodes: IntArray, n: int) -> tuple[IntArray, NDArray[np.bool_]]:
    """Return the edges between ``nodes`` (of ``n`` units) numbered by position in ``nodes``,
    and which rows of ``edges`` they are."""
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    e = local[edges].reshape(-1, 2)
    keep: NDArray[np.bool_] = np.all(e >= 0, axis=1)
    return e[keep], keep


def subproblem(prob: RegionProblem, nodes: IntArray) -> RegionProblem:
    """Return the problem restricted to ``nodes`` (numbered by position in ``nodes``)."""
    edges, keep = local_edges(prob.edges, nodes, prob.n)
    return RegionProblem(
        households=prob.households[nodes],
        edges=edges,
        cut_cost=prob.cut_cost[keep],
        xy=prob.xy[nodes],
        area=prob.area[nodes],
    )


def band_penalty(h: FloatArray | float, *, target: float, lo: float, hi: float) -> FloatArray:
    """Return the balance penalty of regions with ``h`` households (0 is best)."""
    h = np.asarray(h, dtype=float)
    out = np.maximum(0.0, np.maximum(lo - h, h - hi)) / target
    dev = (h - target) / target
    return np.asarray(
        DEVIATION_WEIGHT * dev * dev
        + OUT_DISTANCE_WEIGHT * out
        + OUT_OF_BAND_WEIGHT * (out > 0).astype(float),
        dtype=float,
    )
