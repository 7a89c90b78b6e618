"""The rules a planner's move of a building or compound can break (:class:`Violation`), and
the result of a move (:class:`MoveResult`)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.errors import InfeasibleError
from gridgen.partition.plan import Plan, PlanMetrics
from gridgen.rules import RuleKind

__all__ = [
    "UNSAVABLE",
    "MoveResult",
    "Violation",
    "grid_violations",
    "recoded_violations",
    "split_compound_violations",
]


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


@dataclass(frozen=True, eq=False)
class MoveResult:
    """The plan after a move (not saved), its metrics and the rules the move breaks."""

    plan: Plan
    metrics: PlanMetrics
    violations: tuple[Violation, ...]
    moved_buildings: tuple[str, ...]
    from_grids: tuple[str, ...]
    to_grid: str

    @property
    def ok(self) -> bool:
        """Return whether the move breaks no rule."""
        return not self.violations

    def require_savable(self) -> None:
        """Raise InfeasibleError when a grid of the moved plan is not one polygon.

        A plan is stored and served only with every grid one valid Polygon: a move that
        cuts a grid into pieces, empties it or lands units away from their new grid is
        refused (the other rules are reported with the saved version).
        """
        broken = [v for v in self.violations if v.kind in UNSAVABLE]
        if broken:
            reasons = "; ".join(v.message for v in broken)
            msg = (
                f"{reasons}: move a set of units that keeps every grid in one piece (paint "
                "them together in the editor and save them as one assignment)"
            )
            raise InfeasibleError(msg)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (metrics, violations, what moved)."""
        return {
            "ok": self.ok,
            "metrics": self.metrics.to_dict(),
            "violations": [asdict(v) for v in self.violations],
            "moved_buildings": list(self.moved_buildings),
            "from_grids": list(self.from_grids),
            "to_grid": self.to_grid,
        }


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


def recoded_violations(
    violations: list[Violation], *, before: Plan, after: Plan
) -> tuple[Violation, ...]:
    """Return ``violations`` found on ``before`` naming the grids by their codes in ``after``.

    ``after`` is ``before`` with grid codes assigned by the codes rules (a grid that kept
    too few of its households takes a new code), so each grid is found again by its exact
    shape; grid ids and codes inside the messages are renamed alike.
    """
    found = dict(
        zip(
            shapely.to_wkb(after.grids.geometry.to_numpy()).tolist(),
            after.grids["grid_id"].astype(str),
            strict=True,
        )
    )
    shapes = shapely.to_wkb(before.grids.geometry.to_numpy()).tolist()
    codes = {
        g: found[w]
        for g, w in zip(before.grids["grid_id"].astype(str), shapes, strict=True)
        if w in found and found[w] != g
    }
    if not codes:
        return tuple(violations)
    pattern = re.compile(r"\b(" + "|".join(re.escape(c) for c in codes) + r")\b")
    return tuple(
        Violation(
            v.kind,
            codes.get(v.grid_id, v.grid_id),
            pattern.sub(lambda m: codes[m.group(1)], v.message),
        )
        for v in violations
    )
