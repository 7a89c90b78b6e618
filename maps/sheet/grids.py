"""A compound split across grids on its sheet: each building's grid, and a note per grid.

A compound above the band maximum may be split between grids (大小区单独建); its sheet then
says which building belongs to which grid: the building table gets a 网格 column and a note
lists each grid with its buildings (by their number on the sheet) and households.
"""

from __future__ import annotations

from collections.abc import Iterable

from gridgen.partition.plan import Plan


def grid_of_buildings(plan: Plan | None, building_ids: Iterable[str]) -> dict[str, str]:
    """Return building id → grid id for the buildings ``plan`` assigns (empty without one)."""
    if plan is None:
        return {}
    ids = {str(b) for b in building_ids}
    a = plan.assignment
    a = a[a["building_id"].astype(str).isin(ids)]
    return dict(zip(a["building_id"].astype(str), a["grid_id"].astype(str), strict=True))


def split_note(rows: Iterable[tuple[int, int, str | None]]) -> str | None:
    """Return the note of a compound split across grids, from (number, households, grid)
    per building; None when the compound lies in one grid."""
    per: dict[str, list[tuple[int, int]]] = {}
    for number, households, grid in rows:
        if grid is not None:
            per.setdefault(grid, []).append((number, households))
    if len(per) < 2:
        return None
    parts = [
        f"{g}（{'、'.join(str(n) for n, _ in bs)} 号楼，{sum(h for _, h in bs)} 户）"
        for g, bs in sorted(per.items())
    ]
    return f"本小区分属 {len(per)} 个网格：" + "；".join(parts)
