"""Which footprint each group of ledger rows goes to: names first, then a likelihood assignment.

1. **Address**: a group whose (place, building) is the name of exactly one footprint takes it
   (``both`` when its coordinates agree, else ``address``).
2. **Coordinates**: every usable door-plate point ``p`` supports a footprint ``f`` by the
   log-likelihood of a Gaussian error with an outlier floor,
   ``b = log(1 + exp(-d²/2σ²) / ε)`` (:data:`SIGMA_M`, ``ε = exp(-`` :data:`FLOOR` ``)``):
   about 8 on the footprint, 6 at 8 m, 3.5 at 12 m, nothing past 20 m, so a few stray
   points cannot outvote the many. The remaining groups and free footprints are then
   matched one to one for the largest total support (a sparse minimum-weight full bipartite
   matching, :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`), where each
   group may also stay unmatched, which is worth :data:`UNMATCHED_SUPPORT` per point: a
   group takes a footprint only when its points lie on or close to it (on average within
   about 10 m), and two groups whose points straddle two buildings share them the way
   that fits both best. A footprint named for another building is never given by
   coordinates, nor one outside the group's compound outline; a match whose support
   another free footprint nearly equals (within :data:`MARGIN`) is undone as ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse
import shapely
from numpy.typing import NDArray
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from gridgen.ingest.placement import Footprints, Groups

SIGMA_M = 4.0
"""Spread of door-plate positions around their building (GPS noise, entrances)."""
FLOOR = 8.0
"""Support of a point on its footprint; ``exp(-FLOOR)`` is the outlier floor."""
REACH_M = 25.0
"""Points farther than this give a footprint no support."""
UNMATCHED_SUPPORT = 2.0
"""Support per point of leaving a group unmatched (a point ~10 m off gives as much)."""
MARGIN = 1.25
"""A match is ambiguous when another free footprint gets 1/MARGIN of its support."""


def support(d: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the support of points at distance ``d`` (m) from a footprint."""
    return np.log1p(np.exp(FLOOR - d * d / (2 * SIGMA_M * SIGMA_M)))


@dataclass
class Outcome:
    """Each group's footprint (-1: none), how it was placed, and why not (cause, reason)."""

    footprint: NDArray[np.int64]
    how: list[str]
    reason: list[str | None]
    cause: list[str | None]


def coordinate_votes(groups: Groups, fps: Footprints) -> pd.DataFrame:
    """Return the support of each group for each footprint within :data:`REACH_M`.

    Returns
    -------
    DataFrame
        ``g`` (group), ``f`` (footprint), ``score`` (summed support), ``nearest`` (metres).
    """
    empty = pd.DataFrame({"g": [], "f": [], "score": [], "nearest": []})
    if len(groups.points) == 0 or len(fps.geometry) == 0:
        return empty
    tree = shapely.STRtree(fps.geometry)
    pi, fj = tree.query(groups.points, predicate="dwithin", distance=REACH_M)
    g = groups.point_group[pi]
    outline = groups.outline[g]
    ok = (outline < 0) | (fps.aoi[fj] == outline)
    pi, fj, g = pi[ok], fj[ok], g[ok]
    d = shapely.distance(groups.points[pi], fps.geometry[fj])
    votes = pd.DataFrame({"g": g, "f": fj, "b": support(d), "d": d})
    out = votes.groupby(["g", "f"], sort=False).agg(score=("b", "sum"), nearest=("d", "min"))
    return out.reset_index()


def contradicts(groups: Groups, g: int, fps: Footprints, f: int) -> bool:
    """Return whether footprint ``f``'s own name names another building than group ``g``."""
    fb, fp = fps.building[f], fps.place[f]
    if fb is not None and fb != groups.building[g]:
        return True
    gp = groups.place[g]
    return fp is not None and gp is not None and fp != gp and fp not in gp and gp not in fp


def label(groups: Groups, g: int) -> str:
    """Return a group's name for messages (锦绣花园 3号楼, or 胜利街12号)."""
    place, building = groups.place[g], groups.building[g]
    if building == "":
        return str(place)
    number = building if not str(building)[-1:].isdigit() else f"{building}号楼"
    return f"{place} {number}"


def _address_index(fps: Footprints) -> dict[tuple[str, str], int]:
    seen: dict[tuple[str, str], list[int]] = {}
    for f, (p, b) in enumerate(zip(fps.place, fps.building, strict=True)):
        if p is not None and b is not None:
            seen.setdefault((p, b), []).append(f)
    return {k: v[0] for k, v in seen.items() if len(v) == 1}


def _by_group(votes: pd.DataFrame) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = {}
    for g, f, s in zip(
        votes["g"].tolist(), votes["f"].tolist(), votes["score"].tolist(), strict=True
    ):
        out.setdefault(int(g), {})[int(f)] = float(s)
    return out


def _by_address(
    groups: Groups, fps: Footprints, by_group: dict[int, dict[int, float]], out: Outcome
) -> set[int]:
    """Give named footprints to the groups of their name; return the footprints taken."""
    named = _address_index(fps)
    taken: set[int] = set()
    for g in range(len(groups.place)):
        f = named.get((str(groups.place[g]), str(groups.building[g])), -1)
        if f < 0 or f in taken:
            continue
        cand = by_group.get(g, {})
        best = max(cand, key=lambda k: cand[k]) if cand else -1
        possible = max(1, int(groups.point_count[g]))
        agrees = best == f and cand[f] >= UNMATCHED_SUPPORT * possible
        out.footprint[g] = f
        out.how[g] = "both" if agrees else "address"
        taken.add(f)
    return taken


def _solve(
    groups: Groups,
    fps: Footprints,
    by_group: dict[int, dict[int, float]],
    out: Outcome,
    taken: set[int],
) -> None:
    """Match the remaining groups to free footprints for the largest total support."""
    left = [g for g in by_group if out.footprint[g] < 0]
    if not left:
        return
    rows, cols, vals = [], [], []
    n_fp = len(fps.geometry)
    for r, g in enumerate(left):
        for f, s in by_group[g].items():
            if f not in taken and not contradicts(groups, g, fps, f):
                rows.append(r)
                cols.append(f)
                vals.append(s + 1e-9)
        rows.append(r)
        cols.append(n_fp + r)  # the group's own "unmatched" column
        vals.append(UNMATCHED_SUPPORT * max(1, int(groups.point_count[g])) + 1e-9)
    matrix = scipy.sparse.csr_array(
        (np.asarray(vals), (np.asarray(rows), np.asarray(cols))),
        shape=(len(left), n_fp + len(left)),
    )
    r_ind, c_ind = min_weight_full_bipartite_matching(matrix, maximize=True)
    chosen = dict(zip(r_ind.tolist(), c_ind.tolist(), strict=True))
    assigned = {c for c in c_ind.tolist() if c < n_fp} | taken
    for r, g in enumerate(left):
        f = chosen.get(r, n_fp + r)
        if f >= n_fp:
            continue
        rival = max(
            (
                s
                for k, s in by_group[g].items()
                if k not in assigned and not contradicts(groups, g, fps, k)
            ),
            default=0.0,
        )
        if by_group[g][f] < MARGIN * rival:
            possible = max(1, int(groups.point_count[g]))
            out.cause[g] = "split"
            out.reason[g] = (
                f"its coordinates fit {fps.ids[f]} and another footprint about as well "
                f"({by_group[g][f] / possible:.1f} against {rival / possible:.1f} per point)"
            )
            continue
        out.footprint[g] = f
        out.how[g] = "coordinate"


def _explain(groups: Groups, fps: Footprints, votes: pd.DataFrame, out: Outcome) -> None:
    """Fill the cause and reason of every unmatched group that has none yet."""
    holder = {int(f): int(g) for g, f in enumerate(out.footprint.tolist()) if f >= 0}
    top = votes.sort_values("score", ascending=False).drop_duplicates("g")
    best = {
        int(g): (int(f), float(s), float(d))
        for g, f, s, d in zip(top["g"], top["f"], top["score"], top["nearest"], strict=True)
    }
    for g in np.flatnonzero(out.footprint < 0).tolist():
        if out.reason[g] is not None:
            continue
        name = label(groups, g)
        possible = max(1, int(groups.point_count[g]))
        if groups.point_count[g] == 0:
            out.cause[g] = "no_coordinates"
            out.reason[g] = f"no usable coordinates and no footprint named {name}"
        elif g not in best:
            out.cause[g] = "no_footprint_near"
            where = " inside its compound's outline" if groups.outline[g] >= 0 else ""
            out.reason[g] = f"no footprint{where} within {REACH_M:.0f} m of its coordinates"
        else:
            f, score, nearest = best[g]
            if contradicts(groups, g, fps, f):
                out.cause[g] = "named_other"
                out.reason[g] = (
                    f"its coordinates fall on {fps.ids[f]}, whose name says "
                    f"{fps.place[f] or ''}{fps.building[f] or ''}, not {name}"
                )
            elif f in holder:
                out.cause[g] = "taken"
                other = label(groups, holder[f])
                out.reason[g] = f"its coordinates fall on {fps.ids[f]}, which holds {other}"
            else:
                out.cause[g] = "far"
                per_point = score / possible
                out.reason[g] = (
                    f"its coordinates lie too far from the footprints (nearest {fps.ids[f]}, "
                    f"{nearest:.0f} m; support {per_point:.1f} per point, {UNMATCHED_SUPPORT} "
                    "needed)"
                )


def place_groups(groups: Groups, fps: Footprints) -> Outcome:
    """Return each group's footprint (-1: none), how it was placed, and why not."""
    n = len(groups.place)
    out = Outcome(np.full(n, -1, dtype=np.int64), ["unmatched"] * n, [None] * n, [None] * n)
    votes = coordinate_votes(groups, fps)
    by_group = _by_group(votes)
    taken = _by_address(groups, fps, by_group, out)
    _solve(groups, fps, by_group, out, taken)
    _explain(groups, fps, votes, out)
    return out
