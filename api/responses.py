"""Response bodies (pydantic) of the plans and coverage routes, for the OpenAPI document.

The store's record dataclasses (:class:`api.store.base.PlanInfo`, ``VersionInfo``,
``JobInfo`` ...) are response models as they are; these models describe the bodies the
routes assemble around them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.store.base import PlanInfo, VersionInfo
from gridgen.rules import RuleKind


class ProblemModel(BaseModel):
    """A planning rule that could not be met, with where and why."""

    kind: RuleKind
    community_id: str
    reason: str
    grid_id: str = ""
    building_id: str = ""


class PlanDetail(BaseModel):
    """A plan and the versions the caller may see."""

    plan: PlanInfo
    versions: list[VersionInfo]


class VersionMetrics(BaseModel):
    """Quality of one version: parameters, plan metrics, problems and per-grid figures."""

    model_config = ConfigDict(extra="allow")

    version: int
    target: int | None = None
    band: tuple[int, int] | None = None
    seed: int | None = None
    metrics: dict[str, Any] = Field(
        default_factory=dict,
        description="n_grids, households, band_compliance, mean_polsby_popper, "
        "max_abs_deviation, cut_edges, main_road_crossings, contiguous_share, tiling_ok ...",
    )
    problems: list[ProblemModel] = Field(default_factory=list)
    grids: list[dict[str, Any]] = Field(
        description="One row per grid: grid_id, community_id, households, deviation, in_band ..."
    )


class Comparison(BaseModel):
    """What changed from version ``a`` to version ``b``."""

    a: int
    b: int
    buildings_changed: int
    buildings: list[dict[str, Any]] = Field(description="building_id, grid_a, grid_b")
    compounds_changed: list[str]
    grids_added: list[str]
    grids_removed: list[str]
    grids_reshaped: list[str]
    metric_deltas: dict[str, float | None]


class SavedVersion(BaseModel):
    """The version an edit saved (its number is also the ETag), and what a move did."""

    version: VersionInfo
    move: dict[str, Any] | None = Field(
        default=None, description="For moves: ok, metrics, violations, moved_buildings ..."
    )


class VersionGeoJSON(BaseModel):
    """A plan version as a GeoJSON FeatureCollection of grids, with its assignment."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]
    version: VersionInfo
    assignment: dict[str, str] = Field(description="building_id → grid_id")


class TableRows(BaseModel):
    """A table as JSON records (``f=csv`` gives the same rows as CSV)."""

    rows: list[dict[str, Any]]
    count: int


class SitingResponse(BaseModel):
    """Proposed station sites (GeoJSON points) and what they add."""

    sites: dict[str, Any] = Field(description="GeoJSON FeatureCollection of the sites")
    newly_covered_households: int
    covered_share_before: float
    covered_share_after: float
    method: str
    status: str
    gap: float | None
    bound: float | None
    bound_kind: str
    uncovered_buildings: int


TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": TableRows, "content": {"text/csv": {}}}
}
"""``responses=`` of a route returning :class:`TableRows` as JSON or the rows as CSV."""


class LedgerSaved(BaseModel):
    """What ``POST /datasets/{id}/ledger`` stored and how the ledger matched the layer."""

    dataset: dict[str, Any]
    previous: str
    layer: str
    columns: list[str]
    ignored: list[str]
    matched: int
    changed: int
    cells_changed: int
    unmatched_layer: int
    unmatched_ledger: int


class AssignSaved(BaseModel):
    """The version an assign edit saved, and what it did (units moved, grids rebuilt)."""

    version: dict[str, Any]
    assign: dict[str, Any] = Field(description="moved units and buildings, touched grids ...")
