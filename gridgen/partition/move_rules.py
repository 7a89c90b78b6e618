"""The rules a planner's move of a building or compound can break (:class:`Violation`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.rules import RuleKind

__all__ = ["UNSAVABLE", "Violation", "grid_violations", "split_compound_violations"]


@dataclass(frozen=True)
class Violation:
    """A planning rule an edit breaks.

    ``kind`` is one of ``multipart``, ``empty_grid``, ``not_adjacent``, ``below_band`` or
    ``above_band`` (a grid in the band that the move takes out of it) and
    ``split_compound`` (:class:`gridgen.rules.RuleKind`).
    """

    kind: RuleKind
    grid_id: str
    message: str


UNSAVABLE = frozenset({RuleKind.MULTIPART, RuleKind.EMPTY_GRID, RuleKind.NOT_ADJACENT})
"""Violations that leave a grid that is not one polygon: such a move is not saved."""


def grid_violations(
    new_geom: dict[str, BaseGeometry],
    grid_ids: list[str],
    before_hh: dict[str, Any],
    after_hh: dict[str, Any],
    *,
    band: tuple[int, int],
) -> list[Violation]:
    """Return the grids a move empties, breaks into pieces or takes out of the band."""
    lo, hi = band
    violations: list[Violation] = []
    for g in grid_ids:
        shape = new_geom[g]
        if shapely.is_empty(shape) or shapely.area(shape) <= 0:
            violations.append(
                Violation(RuleKind.EMPTY_GRID, g, f"grid {g} would have no area left")
            )
        elif shape.geom_type != "Polygon":
            violations.append(
                Violation(
                    RuleKind.MULTIPART,
                    g,
                    f"grid {g} would fall into {len(shapely.get_parts(shape))} separate pieces",
                )
            )
        h0, h1 = int(before_hh[g]), int(after_hh.get(g, 0))
        if lo <= h0 <= hi and not lo <= h1 <= hi:
            side = "below" if h1 < lo else "above"
            violations.append(
                Violation(
                    RuleKind.BELOW_BAND if h1 < lo else RuleKind.ABOVE_BAND,
                    g,
                    f"grid {g} would have {h1} households, {side} the band {lo}-{hi} (now {h0})",
                )
            )
    return violations


def split_compound_violations(
    dataset: Dataset, new_a: pd.DataFrame, building_id: str, *, to_grid: str, hi: int
) -> list[Violation]:
    """Return the compound-split violation when moving one building splits its compound."""
    bld = dataset.buildings
    comp = bld.loc[bld["building_id"].astype(str) == str(building_id), "compound_id"]
    cid = comp.iloc[0] if len(comp) else None
    if cid is None or pd.isna(cid):
        return []
    members = bld.loc[bld["compound_id"].astype(str) == str(cid)]
    total = int(pd.to_numeric(members["households"]).sum())
    grids_now = {
        str(x)
        for x in new_a.loc[new_a["building_id"].isin(members["building_id"].astype(str)), "grid_id"]
    }
    if total <= hi and len(grids_now) > 1:
        return [
            Violation(
                RuleKind.SPLIT_COMPOUND,
                str(to_grid),
                f"compound {cid} ({total} households, not above the band maximum {hi}) "
                f"would be split between grids {', '.join(sorted(grids_now))}",
            )
        ]
    return []
