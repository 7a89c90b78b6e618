"""Sets of units as Python integers (one bit per unit), shared by the exact searches.

The exhaustive search (:mod:`gridgen.partition.exact`), the fewest-out search
(:mod:`gridgen.partition.fewest_out`) and the cut proofs (:mod:`gridgen.partition.cut_proofs`)
hold sets of units as integers: unions, differences and neighbourhoods are single integer
operations. A leaf module, so that each of them may call the others.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray


def set_bits(mask: int) -> list[int]:
    """Return the indices of the set bits of ``mask``."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def subset_sums(values: Iterable[int], *, limit: int | None = None) -> int:
    """Return the bit set of the sums of the subsets of ``values`` (bit ``s`` set when some
    subset sums to ``s``; the empty one gives bit 0), up to ``limit`` when given."""
    mask = -1 if limit is None else (1 << (limit + 1)) - 1
    sums = 1
    for v in values:
        sums |= (sums << int(v)) & mask
    return sums


def neighbour_masks(n: int, edges: NDArray[np.int64]) -> list[int]:
    """Return per unit ``0..n-1`` the bit set of its neighbours (the searches' graph)."""
    nbrs = [0] * n
    for a, b in np.asarray(edges).tolist():
        nbrs[a] |= 1 << b
        nbrs[b] |= 1 << a
    return nbrs


def fits_some_count(total: int, *, lo: int, hi: int) -> bool:
    """Return whether some number ``k`` of regions has ``k * lo <= total <= k * hi``."""
    return total == 0 or any(k * lo <= total <= k * hi for k in range(1, total // lo + 2))


def fitting_totals(total: int, *, lo: int, hi: int) -> list[bool]:
    """Return :func:`fits_some_count` of every total ``0..total``, by marking each count's
    range once (the cut proofs ask it of every total of a part: ~30 ms a part by calls)."""
    fits = [False] * (total + 1)
    fits[0] = True
    for k in range(1, total // lo + 2):
        for t in range(k * lo, min(k * hi, total) + 1):
            fits[t] = True
    return fits


def shortfalls(fit: list[bool]) -> list[int]:
    """Return, per total ``t`` of ``fit`` (:func:`gridgen.partition.bits.fitting_totals`),
    ``t`` minus the largest ``f <= t`` that is 0 or that some number of regions fits."""
    out = []
    last = 0
    for t, fits in enumerate(fit):
        if fits:
            last = t
        out.append(t - last)
    return out
