"""The parts of a community searched apart, and the search of one part.

:func:`searched_parts`: the connected parts of the unit graph, where rivers and railways
divide a community as its outline does: a piece between them that can hold grids in the
band by its households is searched on its own (so no grid reaches across), one that
cannot (or holds no households) joins its neighbours across them.

The search of one connected part: heuristic starts, then exhaustive.

:func:`part_regions` runs the region search (:func:`gridgen.partition.regions.
best_regions`); while regions stay out of band that no proof excuses, a small part is
settled by exhaustive search (:func:`gridgen.partition.exact.in_band_partition`: a
partition into in-band regions, polished by the local search, or the proof that none
exists), and a larger one gets up to :data:`RESTARTS` searches in all (a small one the
exhaustive search gave up on gets no more). A small part holding units out of band whatever
the plan (``forced``) is searched with them free: a partition keeping every other region in
band, the forced unit's region taking up what they cannot, is kept when it leaves fewer
regions out of band that a plan could bring in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.cut_proofs import CUT_PROOF, cut_proof
from gridgen.partition.exact import EXACT_UNITS, in_band_partition, one_free_partition
from gridgen.partition.ground import KINDS
from gridgen.partition.objective import RegionProblem
from gridgen.partition.regions import avoidable_out, best_regions, components, fits_band, polished
from gridgen.partition.units import UnitGraph

IntArray = NDArray[np.int64]

RESTARTS = 4
"""Region searches per connected part while grids stay out of band (the fewest kept):
on the walled city, 22 grids out of band with one search, 14 with four, 13 with ten.
A part the exhaustive search gave up on (:data:`gridgen.partition.exact.EXACT_BUDGET`
connected sets without an in-band partition) gets no restarts: on the three bench cities
they never brought such a part closer to the band (walled city: parts of 37, 40 and 51
units, one region out in each of four searches) and cost ~0.3 s CPU of ~7."""

LARGE_RESTARTS = 12
"""Region searches of a part too large for the exhaustive search
(:data:`gridgen.partition.exact.EXACT_UNITS`) and without a proof, while a region stays out
of band (a part settled sooner stops sooner): walled43's part of 225 units and 3,222
households (two compounds of 192 and 211 that each need a few dozen households more, from
tiny buildings behind land) is divided in band by 6 of 30 searches (seeded 0-29), and by
the partition's eighth; each costs 0.1-0.4 s there, none where every grid is in band or
proven out (walled, city31)."""

BARRIER_SHARE = 0.5
"""Share of a shared boundary on a river or railway above which two units lie across it."""


def searched_parts(units: UnitGraph, *, lo: int, hi: int) -> IntArray:
    """Return the part of each unit: connected parts of the unit graph without the edges
    across a river or railway, but for pieces that cannot hold grids in the band by their
    households (or hold none): such a piece keeps its edges to the one neighbouring part it
    shares the most river or railway with (a river's water joins one bank, not both)."""
    e = units.edges
    across = units.edge_kinds[:, KINDS.index("barrier")]
    keep = ~((across > 0) & (across >= BARRIER_SHARE * units.shared_length))
    while True:
        comp = components(units.n, e[keep])
        totals = np.bincount(comp, weights=units.households).astype(float)
        bad = np.asarray([t <= 0 or not fits_band(t, lo=lo, hi=hi) for t in totals.tolist()])
        ca, cb = comp[e[:, 0]], comp[e[:, 1]]
        cand = np.flatnonzero(~keep & (ca != cb) & (bad[ca] | bad[cb]))
        if len(cand) == 0:
            return comp
        piece = np.where(bad[ca[cand]], ca[cand], cb[cand])  # the piece that must join
        other = np.where(bad[ca[cand]], cb[cand], ca[cand])
        first = int(piece.min())
        mine = piece == first
        length = np.bincount(other[mine], weights=across[cand[mine]])
        keep[cand[mine & (other == int(np.argmax(length)))]] = True


NO_PROOF = ""
COUNT_PROOF = "count"
"""No number of grids fits the part's households (``k * lo <= total <= k * hi``)."""
SEARCH_PROOF = "search"
"""The exhaustive search found no partition into in-band grids."""
BARRIER_SEARCH_PROOF = "search between barriers"
"""As :data:`SEARCH_PROOF`, for a part a river or railway bounds (:func:`searched_parts`):
no division into in-band grids keeps them off the river or railway."""
BARRIER_CUT_PROOF = "cut between barriers"
"""As :data:`gridgen.partition.cut_proofs.CUT_PROOF` (a cut unit or pair of units), for a
part a river or railway bounds."""
BARRIER_PROOFS = {SEARCH_PROOF: BARRIER_SEARCH_PROOF, CUT_PROOF: BARRIER_CUT_PROOF}
"""The proof of a part a river or railway bounds, per proof of the part alone."""


def part_regions(
    prob: RegionProblem,
    *,
    target: int,
    band: tuple[int, int],
    rng: np.random.Generator,
    forced: NDArray[np.bool_],
) -> tuple[IntArray, str]:
    """Return the labels that leave the fewest regions out of band, and the proof (if any)
    that one region of the part is out of band whatever the plan.

    Searches stop as soon as every region is in band but those proven out of band whatever
    the plan (``forced`` units, one region of a part proven unsplittable): more searches
    cannot bring those in.
    """
    lo, hi = band
    proof = NO_PROOF if fits_band(float(prob.households.sum()), lo=lo, hi=hi) else COUNT_PROOF

    def out_of_band(labels: IntArray) -> tuple[int, int]:
        h = np.bincount(labels, weights=prob.households)
        total = int(np.sum((h < lo) | (h > hi)))
        unsplittable = proof != NO_PROOF
        avoid = avoidable_out(labels, prob, lo=lo, hi=hi, forced=forced, unsplittable=unsplittable)
        return avoid, total

    best = best_regions(prob, target=target, lo=lo, hi=hi, rng=rng, forced=forced)
    best_out = out_of_band(best)
    restarts = RESTARTS - 1
    if best_out[0] and not forced.any() and proof == NO_PROOF and prob.n <= EXACT_UNITS:
        exact = in_band_partition(prob.households, prob.edges, lo=lo, hi=hi)
        if exact.status == "unknown":
            restarts = 0
        if exact.status == "none":
            proof = CUT_PROOF if exact.by == CUT_PROOF else SEARCH_PROOF
            best_out = out_of_band(best)
            one = _one_out(prob, best, band=band) if best_out[0] else None
            if one is not None:  # two or more out where one will do (walled 140106003010)
                labels = polished(one, prob, target=target, lo=lo, hi=hi, rng=rng)
                best, best_out = _fewest_out(out_of_band, best, labels, one)
        elif exact.labels is not None:
            labels = polished(exact.labels, prob, target=target, lo=lo, hi=hi, rng=rng)
            if out_of_band(labels) < best_out:
                best, best_out = labels, out_of_band(labels)
    if best_out[0] and forced.any() and prob.n <= EXACT_UNITS:
        # the others in band, a forced unit's grid taking what they cannot (filled41)
        exact = in_band_partition(prob.households, prob.edges, lo=lo, hi=hi, free=forced)
        if exact.labels is not None:
            labels = polished(exact.labels, prob, target=target, lo=lo, hi=hi, rng=rng)
            best, best_out = _fewest_out(out_of_band, best, labels, exact.labels)
    # a part too large for the exhaustive search (which tries the cut proofs itself) may
    # still be settled by a cut unit or pair of units, in milliseconds
    if (
        best_out[0]
        and not forced.any()
        and proof == NO_PROOF
        and prob.n > EXACT_UNITS
        and cut_proof(prob.households, prob.edges, band=band)
    ):
        proof = CUT_PROOF
        best_out = out_of_band(best)
    if prob.n > EXACT_UNITS and proof == NO_PROOF:
        restarts = LARGE_RESTARTS - 1  # no search settles it: only more tries can
    for _ in range(restarts):
        if best_out[0] == 0:
            break
        labels = best_regions(prob, target=target, lo=lo, hi=hi, rng=rng, forced=forced)
        if out_of_band(labels) < best_out:
            best, best_out = labels, out_of_band(labels)
    return best, proof


def _fewest_out(
    out_of_band: Callable[[IntArray], tuple[int, int]], best: IntArray, *found: IntArray
) -> tuple[IntArray, tuple[int, int]]:
    """Return the labels among ``best`` and ``found`` (in that order) with the fewest
    regions out of band by ``out_of_band``, the first on a tie, and that count."""
    best_out = out_of_band(best)
    for labels in found:
        if out_of_band(labels) < best_out:
            best, best_out = labels, out_of_band(labels)
    return best, best_out


ONE_OUT_TRIES = 2
"""Grids out of band whose largest unit :func:`_one_out` makes free in turn."""


def _one_out(prob: RegionProblem, labels: IntArray, *, band: tuple[int, int]) -> IntArray | None:
    """Return labels of a part proven to have no in-band division with one region out of
    band (the others in band), or None: the largest unit of a region out of band in
    ``labels`` is made free (:func:`gridgen.partition.exact.one_free_partition`), the
    regions whose largest unit is largest first, :data:`ONE_OUT_TRIES` of them.

    Such a plan is as good as any by its grids out of band (one, which the proof that the
    part has no in-band division names); the region search, restarted, rarely finds it:
    the walled city's 32-unit part of 2,424 households kept grids of 230 and 224, where one
    of 408 (the 224 with a compound of 184) leaves the others in band (25 ms).
    """
    lo, hi = band
    h = np.bincount(labels, weights=prob.households)
    out = np.flatnonzero((h < lo) | (h > hi))
    largest = []
    for r in out.tolist():
        mine = np.flatnonzero(labels == r)
        largest.append(int(mine[np.argmax(prob.households[mine])]))
    tries = sorted(largest, key=lambda u: (-int(prob.households[u]), u))[:ONE_OUT_TRIES]
    for u in tries:
        free = np.zeros(prob.n, dtype=bool)
        free[u] = True
        found = one_free_partition(prob.households, prob.edges, lo=lo, hi=hi, free=free)
        if found.labels is not None:
            return found.labels
    return None
