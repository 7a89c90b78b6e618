"""The last resort of :func:`gridgen.partition.settle.settle`: the exhaustive search of a part.

Where moves, repairs and a fresh drawing leave grids out of band in a connected part of
at most :data:`gridgen.partition.exact.EXACT_UNITS` units, :func:`exact_if_better` divides
it by the exhaustive search (:func:`gridgen.partition.exact.in_band_partition`) into grids
in the band, or, where there is no such division, into one with fewer grids out of band
(:func:`gridgen.partition.fewest_out.fewest_out_partition`), when that moves few enough
households per grid it brings into the band.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from gridgen.partition.cut_proofs import cut_proof
from gridgen.partition.exact import (
    EXACT_UNITS,
    REPAIR_EXACT_BUDGET,
    in_band_partition,
)
from gridgen.partition.exact_result import ExactResult
from gridgen.partition.fewest_out import FEWEST_OUT_UNITS, fewest_out_partition
from gridgen.partition.objective import local_edges
from gridgen.partition.regions import components
from gridgen.partition.repairs import changed_households
from gridgen.partition.units import UnitGraph

IntArray = NDArray[np.int64]
FIX_WINDOWS = ((0.9, 1.1), (0.75, 1.25))
"""Windows (shares of the band minimum and maximum) a grid left out of band, or one holding
a stuck unit, may take when that brings more grids into the band (:func:`_fewest_out`,
narrowest first: the division least out of band)."""
FIX_BUDGET = 10_000
"""Connected sets each window's search of :func:`_fewest_out` examines."""


def exact_if_better(
    units: UnitGraph,
    labels: IntArray,
    *,
    stuck: IntArray,
    band: tuple[int, int],
    cost_per_fix: float,
    budget: int = REPAIR_EXACT_BUDGET,
) -> IntArray:
    """Return labels where each connected part with grids out of band (other than those
    holding a ``stuck`` unit) is divided by the exhaustive search into grids in the band
    but those holding a stuck unit (:func:`gridgen.partition.exact.in_band_partition`,
    ``free`` units),
    when that moves at most ``cost_per_fix`` households per grid it brings into the band;
    the new grids take the labels they share most households with."""
    lo, hi = band
    if units.n == 0:
        return labels
    hh = units.households
    forced = np.zeros(units.n, dtype=bool)
    forced[stuck] = True
    comp = components(units.n, units.edges)
    out = labels.copy()
    for c in np.unique(comp).tolist():
        nodes = np.flatnonzero(comp == c)
        if len(nodes) > EXACT_UNITS:
            continue
        k = int(out.max()) + 1
        bad = _unexcused_out(hh, out, nodes, forced, band)
        if bad == 0:
            continue
        e, _ = local_edges(units.edges, nodes, units.n)
        found = in_band_partition(hh[nodes], e, lo=lo, hi=hi, budget=budget, free=forced[nodes])
        if found.labels is None and len(nodes) <= FEWEST_OUT_UNITS:
            found = _fewest_out(hh[nodes], e, stuck=forced[nodes], band=band, most=bad - 1)
        if found.labels is None:
            continue
        olds = np.unique(out[nodes])
        m = np.zeros((len(olds), int(found.labels.max()) + 1))
        np.add.at(m, (np.searchsorted(olds, out[nodes]), found.labels), hh[nodes] + 1e-3)
        r, cols = linear_sum_assignment(m, maximize=True)
        to = np.arange(k, k + m.shape[1], dtype=np.int64)
        to[cols] = olds[r]
        trial = out.copy()
        trial[nodes] = to[found.labels]
        fixed = bad - _unexcused_out(hh, trial, nodes, forced, band)
        if fixed > 0 and changed_households(hh, out, trial) <= fixed * cost_per_fix:
            out = trial
    return out


def _unexcused_out(
    hh: IntArray,
    labels: IntArray,
    nodes: IntArray,
    forced: NDArray[np.bool_],
    band: tuple[int, int],
) -> int:
    """Return how many grids of part ``nodes`` are out of band, those holding a ``forced``
    unit aside."""
    lo, hi = band
    h = np.bincount(labels, weights=hh, minlength=int(labels.max()) + 1)
    mine = np.setdiff1d(np.unique(labels[nodes[hh[nodes] > 0]]), labels[forced])
    return int(np.sum((h[mine] < lo) | (h[mine] > hi)))


def _fewest_out(
    hh: IntArray, edges: IntArray, *, stuck: NDArray[np.bool_], band: tuple[int, int], most: int
) -> ExactResult:
    """Return the division of a part with at most ``most`` grids out of band besides those
    holding a stuck unit whose grids are least out of band (:data:`FIX_WINDOWS`, narrowest
    first; :func:`gridgen.partition.fewest_out.fewest_out_partition`), or not found."""
    lo, hi = band
    for low, high in FIX_WINDOWS:
        window = (math.ceil(low * lo), math.floor(high * hi))
        if most == 0 and cut_proof(hh, edges, band=band, stuck=stuck, cap=window[1]):
            continue  # no such division: a cut proves it in milliseconds
        found = fewest_out_partition(
            hh, edges, stuck=stuck, band=band, most=most, window=window, budget=FIX_BUDGET
        )
        if found.labels is not None:
            return found
    return ExactResult("unknown")
