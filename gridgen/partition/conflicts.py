"""Concurrent edits of one plan: the units an edit names that another version changed.

An edit is made on a base version; when others have saved since, each unit (or building)
the edit names is either untouched by them (the edit applies as it is: merged without
asking) or moved by them to another grid than the edit wants: a conflict, reported with
the grid the edit wants (``mine``), the grid at the base, the grid at the head
(``theirs``) and who moved it last, in which version and when. A unit both sides moved to
the same grid is no conflict.

Grids are followed by membership, not by code: a save may retire a grid's code when the
grid lost most of its households (:mod:`gridgen.partition.codes`), so a grid of one
version is read in the next as the grid it is matched to by shared households
(:func:`gridgen.partition.matching.successors`). A unit whose grid was only renamed was
not moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from gridgen.dataset import Dataset
from gridgen.partition.assign import resolve_keys
from gridgen.partition.matching import building_households, successors
from gridgen.partition.plan import Plan


@dataclass(frozen=True)
class VersionStep:
    """A version saved after the base: its number, author, time and plan."""

    version: int
    author: str
    created_at: str
    plan: Plan


@dataclass(frozen=True)
class UnitConflict:
    """A unit the edit moves that another version moved elsewhere since the base."""

    unit: str
    mine: str
    base: str | None
    theirs: str | None
    version: int
    author: str
    created_at: str
    merged: tuple[str, ...] = ()  # codes retired into ``theirs`` when the unit stayed put

    def to_dict(self) -> dict[str, str | int | list[str] | None]:
        """Return a JSON-ready record."""
        out: dict[str, str | int | list[str] | None] = asdict(self)
        out["merged"] = list(self.merged)
        return out


def _key_grids(
    plan: Plan, members: Mapping[str, list[str]], households: pd.Series
) -> dict[str, str | None]:
    """Return key → the grid holding most of its households in ``plan``."""
    wanted = {b for ids in members.values() for b in ids}
    a = plan.assignment
    a = a[a["building_id"].astype(str).isin(wanted)]
    grid_of = dict(zip(a["building_id"].astype(str), a["grid_id"].astype(str), strict=True))
    out: dict[str, str | None] = {}
    for key, ids in members.items():
        weight: dict[str, float] = {}
        for b in ids:
            if b in grid_of:
                g = grid_of[b]
                weight[g] = weight.get(g, 0.0) + float(households.get(b, 0)) + 1e-6
        out[key] = max(sorted(weight), key=lambda g: weight[g]) if weight else None
    return out


def _absorbing(
    before: Plan, after: Plan, households: pd.Series, communities: set[str]
) -> dict[str, list[str]]:
    """Return code of ``after`` → codes of ``before`` (in ``communities``) it took in: grids
    whose code ``after`` retired and whose households it holds most of."""
    g = before.grids[before.grids["community_id"].astype(str).isin(communities)]
    retired = set(g["grid_id"].astype(str)) - set(after.grids["grid_id"].astype(str))
    if not retired:
        return {}
    a, b = before.assignment, after.assignment
    old = a[a["grid_id"].astype(str).isin(retired)]
    now = dict(zip(b["building_id"].astype(str), b["grid_id"].astype(str), strict=True))
    frame = pd.DataFrame(
        {
            "old": old["grid_id"].astype(str).to_numpy(),
            "new": [now.get(x) for x in old["building_id"].astype(str)],
            "hh": households.reindex(old["building_id"].astype(str)).fillna(0).to_numpy() + 1e-6,
        }
    ).dropna()
    out: dict[str, list[str]] = {}
    for code, rows in frame.groupby("old"):
        out.setdefault(str(rows.groupby("new")["hh"].sum().idxmax()), []).append(str(code))
    return out


def edit_conflicts(
    dataset: Dataset, base: Plan, later: Sequence[VersionStep], assign: Mapping[str, str]
) -> list[UnitConflict]:
    """Return the units of ``assign`` that the versions ``later`` moved to another grid.

    Parameters
    ----------
    dataset
        The plan's dataset (unit and building ids are resolved in it).
    base
        The version the edit was made on.
    later
        Every version saved after ``base``, oldest first (the last is the head).
    assign
        The edit: ``{unit_or_building_id: grid_id}`` in the base's codes; unknown ids are
        left to the save, which names them.

    Returns
    -------
    list of UnitConflict
        In the order of ``assign``: units whose grid at the head is not the one they had at
        the base (followed through renames) and not the one the edit wants.
    """
    members, _ = resolve_keys(dataset, assign)
    if not members or not later:
        return []
    hh = building_households(dataset)
    bld = dataset.buildings
    named = bld["building_id"].astype(str).isin({b for ids in members.values() for b in ids})
    comms = set(bld.loc[named, "community_id"].astype(str))
    start = _key_grids(base, members, hh)
    follow = {c: c for c in base.grids["grid_id"].astype(str)}  # base code → code now
    grids, prev_plan, last = dict(start), base, {}
    merged: dict[str, list[str]] = {}  # key → codes retired into its grid by another version
    for step in later:
        succ = successors(prev_plan, step.plan, hh, communities=comms)
        absorbing = _absorbing(prev_plan, step.plan, hh, comms)
        now = _key_grids(step.plan, members, hh)
        for key in members:
            if now[key] != succ.get(str(grids[key]), grids[key]):
                last[key] = step  # moved in this version, not only renamed
            elif now[key] in absorbing:
                last[key] = step  # its grid took in a grid whose code was retired
                merged[key] = absorbing[str(now[key])]
        follow = {c: succ.get(g, g) for c, g in follow.items()}
        grids, prev_plan = now, step.plan
    out: list[UnitConflict] = []
    for key in members:
        head, was = grids[key], start[key]
        mine = follow.get(str(assign[key]), str(assign[key]))
        same = head == follow.get(str(was), was) and key not in merged
        if same or key not in last or head == mine:
            continue
        by = last[key]
        out.append(
            UnitConflict(
                key,
                str(assign[key]),
                was,
                head,
                by.version,
                by.author,
                by.created_at,
                tuple(merged.get(key, ())),
            )
        )
    return out


@dataclass(frozen=True)
class Renames:
    """The base's grid codes the head knows by another code.

    Attributes
    ----------
    codes
        Base code → head code: the grids known by another code now, and the codes retired
        since (their grid merged into another), each to the head grid holding most of their
        households (an edit naming a retired code is re-applied to that grid).
    merged
        The codes of ``codes`` that were retired because their grid went into another one
        (the others were only renumbered).
    """

    codes: dict[str, str]
    merged: frozenset[str]


def renamed_codes(
    dataset: Dataset, base: Plan, head: Plan, *, communities: set[str] | None = None
) -> Renames:
    """Return the base's codes the head knows by another code (:class:`Renames`)."""
    hh = building_households(dataset)
    succ = successors(base, head, hh, communities=communities)
    comms = set(base.grids["community_id"].astype(str)) if communities is None else communities
    out = {old: new for old, new in succ.items() if old != new}
    merged: set[str] = set()
    for new, olds in _absorbing(base, head, hh, comms).items():
        gone = {old for old in olds if old not in succ}
        out.update({old: new for old in gone})
        merged |= gone
    return Renames(dict(sorted(out.items())), frozenset(merged))


__all__ = [
    "Renames",
    "UnitConflict",
    "VersionStep",
    "edit_conflicts",
    "renamed_codes",
]
