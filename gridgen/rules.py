"""The planning rules a grid layer can break: one vocabulary for every producer and reader.

A breach has one :class:`RuleKind`, whoever finds it: the partitioner and the rebalance
(:class:`gridgen.partition.plan.Problem`), the editor's moves
(:class:`gridgen.partition.move_rules.Violation`), the audit of an existing layer
(:func:`gridgen.partition.audit.audit_grids`: the summary counts each kind under its value)
and the reports that list them. The README's "Rule kinds" table lists them all; a new rule
is a new member here, with its label and where it is found.

The rules come from how cities draw grids (docs/rules.md): grids tile their community
without gaps or overlaps, each is one polygon inside one community, holds a band of
households around the target, never splits a compound that fits in the band, is not
crossed by a main road, and every building lies in exactly one grid.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RULE_LABELS", "RULE_SOURCES", "RuleKind", "rule_kind"]


class RuleKind(StrEnum):
    """A planning rule a grid breaks (the value is the stable English key)."""

    BELOW_BAND = "below_band"
    """A grid has fewer households than the band minimum."""
    ABOVE_BAND = "above_band"
    """A grid has more households than the band maximum."""
    BUILDING_ABOVE_BAND = "building_above_band"
    """One building alone has more households than the band maximum."""
    UNBALANCEABLE = "unbalanceable"
    """Proven out of band: a unit below the minimum whose every neighbour takes it above the
    maximum (or a unit above the maximum), so no plan brings its grid into the band."""
    NO_HOUSEHOLDS = "no_households"
    """A community (or a part of it that touches no other) without households: one empty grid."""
    MULTIPART = "multipart"
    """A grid is not one polygon (in several pieces)."""
    DETACHED_PART = "detached_part"
    """A separate piece of a community too small to form a grid: it belongs to the nearest
    grid of the community, which is then a MultiPolygon (every square metre in some grid)."""
    UNSPLITTABLE = "unsplittable"
    """Proven out of band: a connected part of a community that no plan divides into in-band
    grids (no number of grids fits its households, 417 in a band of 240-360; or an
    exhaustive search of its units finds no division). Names the grid when the plan has
    exactly one out of band in that part."""
    EMPTY_GRID = "empty_grid"
    """A grid has no area left."""
    NOT_ADJACENT = "not_adjacent"
    """A unit was given to a grid it does not border."""
    SPLIT_COMPOUND = "split_compound"
    """A compound that fits in the band (households at most the band maximum) lies in more
    than one grid (a larger one may be split: 大小区单独建)."""
    UNASSIGNED_BUILDING = "unassigned_building"
    """A building lies in no grid."""
    GAP = "gap"
    """Community area covered by no grid."""
    OVERLAP = "overlap"
    """Area covered by two grids."""
    CROSSES_COMMUNITY = "crosses_community"
    """A grid reaches outside the community it lies in most."""
    MAIN_ROAD_CROSSING = "main_road_crossing"
    """A main road runs through a grid's interior."""
    BARRIER_CROSSING = "barrier_crossing"
    """A grid holds buildings on both sides of a river or railway (the ``barriers`` layer)."""
    INVALID_GEOMETRY = "invalid_geometry"
    """A grid's polygon is not valid for GEOS."""
    DUPLICATE_CODE = "duplicate_code"
    """Two grids share one code."""
    BAD_CODE = "bad_code"
    """A code does not follow the grid standard (audit ``--standard``): its length, its prefix
    (the community's code), its sequence, or the west→east, north→south order."""
    MISSING_ATTRIBUTE = "missing_attribute"
    """A grid lacks an attribute the grid standard requires (start date, 责任主体)."""

    @property
    def label(self) -> str:
        """Return the Chinese label of the rule (reports, pages)."""
        return RULE_LABELS[self]


RULE_LABELS: dict[RuleKind, str] = {
    RuleKind.BELOW_BAND: "户数低于下限",
    RuleKind.ABOVE_BAND: "户数高于上限",
    RuleKind.BUILDING_ABOVE_BAND: "单栋楼户数超过上限",
    RuleKind.UNBALANCEABLE: "无法调入户数范围",
    RuleKind.NO_HOUSEHOLDS: "无住户",
    RuleKind.MULTIPART: "网格不连通",
    RuleKind.DETACHED_PART: "社区飞地并入邻近网格",
    RuleKind.UNSPLITTABLE: "无法划分为达标网格",
    RuleKind.EMPTY_GRID: "网格无面积",
    RuleKind.NOT_ADJACENT: "单元与网格不相邻",
    RuleKind.SPLIT_COMPOUND: "小区被拆分",
    RuleKind.UNASSIGNED_BUILDING: "楼栋不在任何网格",
    RuleKind.GAP: "缺口",
    RuleKind.OVERLAP: "重叠",
    RuleKind.CROSSES_COMMUNITY: "跨社区",
    RuleKind.MAIN_ROAD_CROSSING: "主干道穿越",
    RuleKind.BARRIER_CROSSING: "跨河流铁路",
    RuleKind.INVALID_GEOMETRY: "几何无效",
    RuleKind.DUPLICATE_CODE: "编码重复",
    RuleKind.BAD_CODE: "编码不规范",
    RuleKind.MISSING_ATTRIBUTE: "属性缺失",
}
"""Chinese label of every rule kind."""

RULE_SOURCES: dict[RuleKind, tuple[str, ...]] = {
    RuleKind.BELOW_BAND: ("partition", "rebalance", "editor", "audit"),
    RuleKind.ABOVE_BAND: ("partition", "rebalance", "editor", "audit"),
    RuleKind.BUILDING_ABOVE_BAND: ("partition",),
    RuleKind.UNBALANCEABLE: ("partition", "rebalance"),
    RuleKind.NO_HOUSEHOLDS: ("partition",),
    RuleKind.MULTIPART: ("partition", "editor", "audit"),
    RuleKind.DETACHED_PART: ("partition", "rebalance", "editor"),
    RuleKind.UNSPLITTABLE: ("partition", "rebalance"),
    RuleKind.EMPTY_GRID: ("editor", "audit"),
    RuleKind.NOT_ADJACENT: ("editor",),
    RuleKind.SPLIT_COMPOUND: ("editor", "audit"),
    RuleKind.UNASSIGNED_BUILDING: ("import", "audit"),
    RuleKind.GAP: ("audit",),
    RuleKind.OVERLAP: ("audit",),
    RuleKind.CROSSES_COMMUNITY: ("audit",),
    RuleKind.MAIN_ROAD_CROSSING: ("audit",),
    RuleKind.BARRIER_CROSSING: ("audit",),
    RuleKind.INVALID_GEOMETRY: ("audit",),
    RuleKind.DUPLICATE_CODE: ("import", "audit"),
    RuleKind.BAD_CODE: ("audit",),
    RuleKind.MISSING_ATTRIBUTE: ("audit",),
}
"""Who finds each rule kind: partition, rebalance, editor (a move or an assignment), audit,
import (an existing grid layer read as a plan)."""

_EARLIER_NAMES: dict[str, RuleKind] = {
    "not_contiguous": RuleKind.MULTIPART,
    "contiguity_broken": RuleKind.MULTIPART,
    "grid_emptied": RuleKind.EMPTY_GRID,
    "compound_split": RuleKind.SPLIT_COMPOUND,
    "unassigned": RuleKind.UNASSIGNED_BUILDING,
}
"""Names plans saved before the one vocabulary used (they are read as the rule they meant)."""


def rule_kind(text: str) -> RuleKind:
    """Return the rule kind named ``text`` (also a name saved by an earlier version).

    Raises
    ------
    ValueError
        For a name that is no rule kind.
    """
    if text in _EARLIER_NAMES:
        return _EARLIER_NAMES[text]
    return RuleKind(text)
