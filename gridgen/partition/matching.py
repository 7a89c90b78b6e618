"""Grids of two plans matched by membership: which grid of one is which grid of the other.

A code alone does not say it: a save retires the code of a grid that is no longer that
grid by households, and versions made before the codes module
(:mod:`gridgen.partition.codes`) renumbered freely. Two plans' grids are matched
one-to-one: first a code present in both, when the two are the same grid by the codes
module's rule (the new one holds more than half of the old one's households, or more than
half of its own come from it); then the others so that matched pairs share as many
households as possible (the assignment problem,
:func:`scipy.optimize.linear_sum_assignment`). Buildings count a little each so that grids
without households still match by their buildings. The editor's comparison and its
conflict check read grids through this matching.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from gridgen.dataset import Dataset
from gridgen.partition.plan import Plan

BUILDING_WEIGHT = 1e-3
"""Weight of a building besides its households (grids without households still match)."""


@dataclass(frozen=True)
class GridMatch:
    """A grid of plan ``a`` and the grid of plan ``b`` it is (None: no partner)."""

    a: str | None
    b: str | None
    shared_households: int


def building_households(dataset: Dataset) -> pd.Series:
    """Return households per building id (text index) of ``dataset``."""
    bld = dataset.buildings
    return pd.Series(
        pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(),
        index=bld["building_id"].astype(str).to_numpy(),
    )


def _community_grids(plan: Plan, community_id: str | None) -> set[str]:
    g = plan.grids
    if community_id is not None:
        g = g[g["community_id"].astype(str) == community_id]
    return set(g["grid_id"].astype(str))


def matched_grids(
    a: Plan, b: Plan, households: pd.Series, *, community_id: str | None = None
) -> list[GridMatch]:
    """Return the grids of ``a`` and ``b`` (of one community, or all) matched one-to-one.

    Parameters
    ----------
    a, b
        The two plans.
    households
        Households per building id (text index).
    community_id
        Only this community's grids.

    Returns
    -------
    list of GridMatch
        Every grid of either plan once: matched pairs (sharing at least one building) and
        grids without a partner, sorted by the code in ``a`` then in ``b``.
    """
    ga, gb = _community_grids(a, community_id), _community_grids(b, community_id)
    left = a.assignment[a.assignment["grid_id"].astype(str).isin(ga)]
    right = b.assignment[b.assignment["grid_id"].astype(str).isin(gb)]
    both = pd.DataFrame(
        {"building_id": left["building_id"].astype(str), "a": left["grid_id"].astype(str)}
    ).merge(
        pd.DataFrame(
            {"building_id": right["building_id"].astype(str), "b": right["grid_id"].astype(str)}
        ),
        on="building_id",
    )
    both["w"] = households.reindex(both["building_id"]).fillna(0).to_numpy() + BUILDING_WEIGHT
    rows, cols = sorted(ga), sorted(gb)
    matrix = np.zeros((len(rows), len(cols)))
    if len(both):
        shared = both.groupby(["a", "b"], as_index=False)["w"].sum()
        ri = {g: i for i, g in enumerate(rows)}
        ci = {g: j for j, g in enumerate(cols)}
        matrix[shared["a"].map(ri).to_numpy(), shared["b"].map(ci).to_numpy()] = shared["w"]
    out: list[GridMatch] = []
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    if matrix.size:
        old_total, new_total = matrix.sum(axis=1), matrix.sum(axis=0)
        ci = {g: j for j, g in enumerate(cols)}
        for i, g in enumerate(rows):  # the same code, the same grid by households
            j = ci.get(g)
            if j is not None and matrix[i, j] > 0.5 * min(old_total[i], new_total[j]):
                out.append(GridMatch(g, g, round(float(matrix[i, j]))))
                seen_a.add(g)
                seen_b.add(g)
        free_r = [i for i, g in enumerate(rows) if g not in seen_a]
        free_c = [j for j, g in enumerate(cols) if g not in seen_b]
        rest = matrix[np.ix_(free_r, free_c)]
        for i, j in zip(*linear_sum_assignment(-rest), strict=True) if rest.size else ():
            if rest[i, j] > 0:
                a_code, b_code = rows[free_r[i]], cols[free_c[j]]
                out.append(GridMatch(a_code, b_code, round(float(rest[i, j]))))
                seen_a.add(a_code)
                seen_b.add(b_code)
    out += [GridMatch(g, None, 0) for g in rows if g not in seen_a]
    out += [GridMatch(None, g, 0) for g in cols if g not in seen_b]
    return sorted(out, key=lambda m: (m.a is None, m.a or "", m.b or ""))


def successors(
    a: Plan, b: Plan, households: pd.Series, *, communities: set[str] | None = None
) -> dict[str, str]:
    """Return code in ``a`` → code in ``b`` of every grid of ``a`` with a partner in ``b``.

    Matched community by community (grids never cross communities), all of them or only
    ``communities``.
    """
    if communities is None:
        communities = set(a.grids["community_id"].astype(str))
    out: dict[str, str] = {}
    for c in sorted(communities):
        out.update(
            {m.a: m.b for m in matched_grids(a, b, households, community_id=c) if m.a and m.b}
        )
    return out


__all__ = ["GridMatch", "building_households", "matched_grids", "successors"]
