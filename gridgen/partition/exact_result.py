"""The outcome of the exhaustive searches (:mod:`gridgen.partition.exact`,
:mod:`gridgen.partition.fewest_out`): a result type, and regions turned into labels with the
land left between them joined to a neighbour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.bits import set_bits

IntArray = NDArray[np.int64]

SEARCHED = "search"
""":attr:`ExactResult.by` of a proof by the exhaustive search."""


@dataclass(frozen=True)
class ExactResult:
    """The outcome of :func:`gridgen.partition.exact.in_band_partition`.

    Attributes
    ----------
    status
        ``"found"`` (``labels`` holds a partition into connected in-band regions),
        ``"none"`` (proven: no such partition exists) or ``"unknown"`` (gave up).
    labels
        Region per unit (0..k-1) when found; land without households of its own takes the
        region of a neighbour.
    """

    status: str
    labels: IntArray | None = None
    by: str = SEARCHED
    """What proved ``"none"``: :data:`SEARCHED`, or a cut unit or pair of units
    (:data:`gridgen.partition.cut_proofs.CUT_PROOF`), tried before the whole search."""


def found_result(regions: list[int], n: int, nbrs: list[int]) -> ExactResult:
    """Return the found result of ``regions`` (bit sets) over ``n`` units."""
    labels = np.full(n, -1, dtype=np.int64)
    for r, region in enumerate(regions):
        labels[set_bits(region)] = r
    return ExactResult("found", land_joined(labels, nbrs))


def land_joined(labels: IntArray, nbrs: list[int]) -> IntArray:
    """Return labels where units without a region (land) take a neighbour's region."""
    labels = labels.copy()
    if not (labels >= 0).any():
        return np.zeros(len(labels), dtype=np.int64)
    while (labels < 0).any():
        joined = 0
        for v in np.flatnonzero(labels < 0).tolist():
            near = [labels[w] for w in set_bits(nbrs[v]) if labels[w] >= 0]
            if near:
                labels[v] = min(near)
                joined += 1
        if not joined:  # land cut off from every region (a part given in pieces)
            labels[labels < 0] = int(labels.max())
    return labels
