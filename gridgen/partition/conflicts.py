"""Concurrent edits of one plan: the units an edit names that another version changed.

An edit is made on a base version; when others have saved since, each unit (or building)
the edit names is either untouched by them (the edit applies as it is: merged without
asking) or changed by them to another grid than the edit wants: a conflict, reported with
the grid the edit wants (``mine``), the grid at the base, the grid at the head
(``theirs``) and who moved it last, in which version and when. A unit both sides moved to
the same grid is no conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from gridgen.dataset import Dataset
from gridgen.partition.assign import resolve_keys
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

    def to_dict(self) -> dict[str, str | int | None]:
        """Return a JSON-ready record."""
        return asdict(self)


def _key_grids(
    plan: Plan, members: Mapping[str, list[str]], households: Mapping[str, int]
) -> dict[str, tuple[str | None, tuple[tuple[str, str], ...]]]:
    """Return key → (grid holding most of its households, its (building, grid) pairs)."""
    wanted = {b for ids in members.values() for b in ids}
    a = plan.assignment
    a = a[a["building_id"].astype(str).isin(wanted)]
    grid_of = dict(
        zip(a["building_id"].astype(str).tolist(), a["grid_id"].astype(str).tolist(), strict=True)
    )
    out: dict[str, tuple[str | None, tuple[tuple[str, str], ...]]] = {}
    for key, ids in members.items():
        pairs = tuple(sorted((b, grid_of[b]) for b in ids if b in grid_of))
        weight: dict[str, float] = {}
        for b, g in pairs:
            weight[g] = weight.get(g, 0.0) + households.get(b, 0) + 1e-6
        main = max(sorted(weight), key=lambda g: weight[g]) if weight else None
        out[key] = (main, pairs)
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
        The edit: ``{unit_or_building_id: grid_id}``; unknown ids are left to the save,
        which names them.

    Returns
    -------
    list of UnitConflict
        In the order of ``assign``: units whose buildings' grids at the head differ from
        the base and whose grid at the head is not the one the edit wants.
    """
    members, _ = resolve_keys(dataset, assign)
    if not members or not later:
        return []
    bld = dataset.buildings
    hh = dict(
        zip(
            bld["building_id"].astype(str).tolist(),
            bld["households"].fillna(0).astype(int).tolist(),
            strict=True,
        )
    )
    start = _key_grids(base, members, hh)
    prev = start
    last: dict[str, VersionStep] = {}
    for step in later:
        now = _key_grids(step.plan, members, hh)
        for key in members:
            if now[key][1] != prev[key][1]:
                last[key] = step
        prev = now
    out: list[UnitConflict] = []
    for key in members:
        (base_grid, before), (head_grid, after) = start[key], prev[key]
        mine = str(assign[key])
        if before == after or key not in last or head_grid == mine:
            continue
        by = last[key]
        out.append(
            UnitConflict(key, mine, base_grid, head_grid, by.version, by.author, by.created_at)
        )
    return out


__all__ = ["UnitConflict", "VersionStep", "edit_conflicts"]
