"""Change between two snapshots of the governance figures (before, after, difference).

The cities report change as two shares (物业党组织覆盖率 27.3% → 78.2%) and as the share of
no-property compounds eliminated (94%); :func:`figure_changes` gives both, per level.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gridgen.coverage.figures import (
    GovernanceFigures,
    _count,
    _ratio,
    governance_figures,
    group_figures,
)
from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.dataset import Dataset
from gridgen.levels import community_keys
from gridgen.partition.plan import Plan


def _difference(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    return b - a


def _group_id(value: Any) -> str | None:
    """Return a group's id as text (None: the row of what lies in no group)."""
    return None if pd.isna(value) else str(value)


def _change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out = {
        "before": before["value"],
        "after": after["value"],
        "difference": _difference(before["value"], after["value"]),
    }
    if "share" in after:
        out["share_before"] = before["share"]
        out["share_after"] = after["share"]
        out["share_difference"] = _difference(before["share"], after["share"])
    return out


def _eliminated_by_key(before: Dataset, after: Dataset, level: str) -> pd.Series:
    """Return per group of ``after`` the compounds with no property before and some after."""
    mode_before = pd.Series(
        before.compounds["property_mode"].astype("string").fillna("none").to_numpy(),
        index=before.compounds["compound_id"].astype("string").to_numpy(),
    )
    comp = after.compounds
    ids = comp["compound_id"].astype("string")
    now = comp["property_mode"].astype("string").fillna("none")
    was_none = ids.map(mode_before).eq("none").fillna(False).to_numpy(dtype=bool)
    eliminated = was_none & (now != "none").to_numpy(dtype=bool)
    comm = (
        comp["community_id"]
        if "community_id" in comp.columns
        else pd.Series(pd.NA, index=comp.index)
    )
    return _count(community_keys(after, comm, level), eliminated)


def figure_changes(
    before: GovernanceFigures,
    after: GovernanceFigures,
    *,
    before_dataset: Dataset,
    after_dataset: Dataset,
) -> dict[str, Any]:
    """Return every figure before, after and the difference, per level, and compounds eliminated.

    Groups are matched by id (the district by position). ``no_property_compounds_eliminated``
    counts compounds whose property mode was ``none`` before and is another mode after,
    with its share of the no-property compounds before (the cities' "94% eliminated").

    Returns
    -------
    dict
        ``district`` (figure name → ``before``, ``after``, ``difference`` and for shares
        ``share_before``, ``share_after``, ``share_difference``; plus
        ``no_property_compounds_eliminated``: ``count``, ``denominator``, ``share``),
        ``streets`` and ``communities`` (lists of the same with ``id``).
    """
    out: dict[str, Any] = {}
    for level, key in (
        ("district", "district"),
        ("street", "streets"),
        ("community", "communities"),
    ):
        rows_b = {_group_id(r["id"]): r for _, r in before.tables[level].iterrows()}
        elim = _eliminated_by_key(before_dataset, after_dataset, level)
        entries = []
        for _, row_a in after.tables[level].iterrows():
            gid = _group_id(row_a["id"])
            row_b = next(iter(rows_b.values())) if level == "district" else rows_b.get(gid)
            if row_b is None:
                continue
            fb, fa = group_figures(row_b), group_figures(row_a)
            entry: dict[str, Any] = {"id": gid}
            entry.update({name: _change(fb[name], fa[name]) for name in fa})
            mine = elim.index.isna() if gid is None else elim.index == gid
            count = int(elim.sum()) if level == "district" else int(elim[mine].sum())
            den = int(row_b["no_property_compounds"])
            entry["no_property_compounds_eliminated"] = {
                "count": count,
                "denominator": den,
                "share": _ratio(count, den),
            }
            entries.append(entry)
        out[key] = entries[0] if level == "district" else entries
    return out


def report_figures(
    dataset: Dataset,
    *,
    plan: Plan | None = None,
    before: Dataset | None = None,
    plan_before: Plan | None = None,
    radius: float = DEFAULT_RADIUS_M,
    mode: str | None = None,
) -> tuple[GovernanceFigures, dict[str, Any] | None]:
    """Return the figures of ``dataset`` and, with ``before``, their change since then.

    ``plan_before`` defaults to ``plan`` (the same grids, with the buildings of each
    snapshot). ``mode`` defaults to walking where the dataset has roads.
    """
    after = governance_figures(dataset, plan=plan, radius=radius, mode=mode)
    if before is None:
        return after, None
    old = governance_figures(
        before, plan=plan if plan_before is None else plan_before, radius=radius, mode=after.mode
    )
    return after, figure_changes(old, after, before_dataset=before, after_dataset=dataset)
