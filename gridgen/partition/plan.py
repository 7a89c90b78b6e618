"""The grid plan value (:class:`Plan`) and its quality measures (docs/rules.md).

:func:`plan_metrics` measures a plan from its geometry and assignment only, so a plan that
a planner edited by hand, or one read from a file, is measured exactly like a fresh one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84
from gridgen.partition.codes import CODE_COLUMNS, CodeBook
from gridgen.partition.measures import grid_main_road_crossings, polsby_popper
from gridgen.partition.tiling import OVERLAP_TOLERANCE, TILING_AREA_TOLERANCE, tiling_errors
from gridgen.rules import RuleKind, rule_kind

DEFAULT_TARGET = 300
"""Households per grid when a plan names no target (one grid worker's ~300 households)."""

GRID_COLUMNS: tuple[str, ...] = (
    "grid_id",
    "community_id",
    "households",
    "party_org",
    "workers",
    "buildings",
    "polsby_popper",
    "deviation",
    "in_band",
    "main_road_crossings",
    *CODE_COLUMNS,
)


@dataclass(frozen=True)
class Problem:
    """A rule that cannot be met (or was broken), with where and why.

    Attributes
    ----------
    kind
        The rule (:class:`gridgen.rules.RuleKind`; a name saved by an earlier version is
        read as the rule it meant).
    community_id, grid_id, building_id
        Where (empty string when not applicable).
    reason
        A sentence for the planner.
    """

    kind: RuleKind
    community_id: str
    reason: str
    grid_id: str = ""
    building_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", rule_kind(self.kind))


@dataclass(frozen=True)
class PlanMetrics:
    """Quality of a plan (the measures of docs/rules.md)."""

    n_grids: int
    households: int
    band_compliance: float
    mean_polsby_popper: float
    max_abs_deviation: float
    cut_edges: int
    main_road_crossings: int
    contiguous_share: float
    tiling_ok: bool
    max_tiling_error: float
    max_overlap_m2: float
    infeasible: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the metrics as plain JSON-ready values."""
        out = asdict(self)
        for key, val in out.items():
            if isinstance(val, float) and not math.isfinite(val):
                out[key] = None
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PlanMetrics:
        """Return the metrics written by :meth:`to_dict` (None back to NaN)."""
        known = {f.name for f in fields(cls)}
        clean: dict[str, Any] = {
            k: (math.nan if v is None else v) for k, v in values.items() if k in known
        }
        return cls(**clean)

    @classmethod
    def unmeasured(cls) -> PlanMetrics:
        """Return metrics of a plan not measured yet (NaN figures, zero counts)."""
        nan = math.nan
        return cls(0, 0, nan, nan, nan, 0, 0, nan, False, nan, nan)


@dataclass(frozen=True, eq=False)
class Plan:
    """A grid plan: grids (EPSG:4326), building assignment, metrics, problems, parameters.

    A plan is also what the service stores as one version: :meth:`record` gives the
    JSON-ready parameters, metrics and problems, :meth:`from_record` reads them back, and
    ``locked`` names the grids re-partitioning keeps.

    Attributes
    ----------
    grids
        One row per grid (:data:`GRID_COLUMNS` and the geometry), EPSG:4326.
    assignment
        ``building_id`` → ``grid_id``, one row per building, sorted by building id.
    metrics, problems
        Quality measures and the rules that could not be met.
    target, band, seed
        The partitioning parameters (band already normalised by :func:`default_band`).
    locked
        Grid ids that re-partitioning keeps as they are (sorted, unique).
    codes
        Code scheme and retired codes (:mod:`gridgen.partition.codes`).
    """

    grids: gpd.GeoDataFrame
    assignment: pd.DataFrame
    metrics: PlanMetrics
    problems: tuple[Problem, ...]
    target: int
    band: tuple[int, int]
    seed: int
    locked: tuple[str, ...] = ()
    codes: CodeBook = field(default_factory=CodeBook)

    def __post_init__(self) -> None:
        """Keep ``locked`` sorted and unique (so equal plans store equal records)."""
        object.__setattr__(self, "locked", tuple(sorted({str(g) for g in self.locked})))

    def community_ids(self) -> list[str]:
        """Return the communities the plan covers, sorted."""
        return sorted({str(c) for c in self.grids["community_id"]})

    def with_locked(self, locked: Iterable[str]) -> Plan:
        """Return this plan with ``locked`` as its locked grids."""
        return replace(self, locked=tuple(locked))

    def record(self) -> dict[str, Any]:
        """Return the plan's parameters, metrics and problems as JSON-ready values."""
        return {
            "target": int(self.target),
            "band": [int(self.band[0]), int(self.band[1])],
            "seed": int(self.seed),
            "metrics": self.metrics.to_dict(),
            "problems": [asdict(p) for p in self.problems],
            "codes": self.codes.to_dict(),
        }

    @classmethod
    def from_record(
        cls,
        grids: gpd.GeoDataFrame,
        assignment: pd.DataFrame,
        record: Mapping[str, Any],
        *,
        locked: Iterable[str] = (),
    ) -> Plan:
        """Return the plan stored as its two tables and :meth:`record`.

        A record without parameters gets :data:`DEFAULT_TARGET` and :func:`default_band`;
        one without metrics gets :meth:`PlanMetrics.unmeasured`.
        """
        target = int(record.get("target", DEFAULT_TARGET))
        band = record.get("band")
        metrics = record.get("metrics")
        return cls(
            grids=grids,
            assignment=assignment,
            metrics=PlanMetrics.from_dict(metrics) if metrics else PlanMetrics.unmeasured(),
            problems=tuple(Problem(**p) for p in record.get("problems", ())),
            target=target,
            band=default_band(target, None if band is None else (int(band[0]), int(band[1]))),
            seed=int(record.get("seed", 0)),
            locked=tuple(locked),
            codes=CodeBook.from_dict(record.get("codes")),
        )


class Band(NamedTuple):
    """A households band ``(lo, hi)`` already checked against its target.

    Only :func:`default_band` makes one (at the entry point: a CLI command, an API route,
    or a library entry given a plain tuple); functions below the entry point take it as is
    and never check or derive it again. It is a tuple, so ``Band(240, 360) == (240, 360)``.
    """

    lo: int
    hi: int


def default_band(target: int, band: tuple[int, int] | None = None) -> Band:
    """Return ``band`` checked, or target ±20% (rounded) when it is None.

    Call it once, where options enter (see :class:`Band`, :func:`checked_band`).
    """
    if target <= 0:
        msg = f"target must be a positive number of households, got {target}"
        raise ParameterError(msg)
    if band is None:
        return Band(round(0.8 * target), round(1.2 * target))
    lo, hi = int(band[0]), int(band[1])
    if not (0 < lo <= target <= hi):
        msg = (
            f"band {lo},{hi} must satisfy 0 < MIN <= target ({target}) <= MAX: "
            "give the band (--band, API: band) as MIN,MAX around the target, e.g. 240,360 for 300"
        )
        raise ParameterError(msg)
    return Band(lo, hi)


def parse_band(text: str | None, *, option: str = "--band") -> tuple[int, int] | None:
    """Return ``(min, max)`` from ``"MIN,MAX"`` (None stays None), for the CLI and the API.

    ``option`` names the option or field in the message (``--band``, ``band``).
    """
    if text is None:
        return None
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        msg = f"{option} {text!r} must be two whole numbers MIN,MAX, 0 < MIN ≤ MAX, e.g. 240,360"
        raise ParameterError(msg)
    return int(parts[0]), int(parts[1])


def checked_band(target: int, band: tuple[int, int] | None) -> Band:
    """Return ``band`` as is when an entry point already checked it, else :func:`default_band`.

    For the library entries (:func:`gridgen.partition.community.partition_dataset`,
    rebalance, merge, import) that a CLI command or API route calls with a :class:`Band`
    it made, and that a library user calls with a plain tuple or None.
    """
    return band if isinstance(band, Band) else default_band(target, band)


DEFAULT_BAND: Band = default_band(DEFAULT_TARGET)
"""The band of :data:`DEFAULT_TARGET` (240-360)."""


def grid_table(
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    *,
    target: int,
    band: tuple[int, int],
    metric: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Return ``grids`` (EPSG:4326) with households and every metric column recomputed
    (``metric``: the grids in the metric CRS, when the caller has them)."""
    lo, hi = band
    geoms = grids.to_crs(dataset.metric_crs).geometry.to_numpy() if metric is None else metric
    hh_by_b = households_by_building(dataset)
    a = assignment.astype({"building_id": str, "grid_id": str})
    hh = a["building_id"].map(hh_by_b).fillna(0).groupby(a["grid_id"]).sum()
    nb = a.groupby("grid_id").size()
    ids = grids["grid_id"].astype(str)
    out = grids.copy()
    out["households"] = ids.map(hh).fillna(0).astype(np.int64).to_numpy()
    out["buildings"] = ids.map(nb).fillna(0).astype(np.int64).to_numpy()
    out["polsby_popper"] = polsby_popper(geoms)
    out["deviation"] = out["households"].to_numpy() / float(target) - 1.0
    out["in_band"] = (out["households"] >= lo) & (out["households"] <= hi)
    out["main_road_crossings"] = grid_main_road_crossings(dataset, geoms)
    defaults = {"party_org": False, "workers": 1, **dict.fromkeys(CODE_COLUMNS)}
    out = out.assign(**{c: v for c, v in defaults.items() if c not in out.columns})
    cols = list(GRID_COLUMNS) + [c for c in out.columns if c not in GRID_COLUMNS]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=grids.crs)


def households_by_building(dataset: Dataset) -> pd.Series:
    """Return households (0 where blank) by building id, computed once per dataset (shared:
    do not modify)."""
    return dataset.derived("plan.households_by_building", _households_by_building)


def _households_by_building(dataset: Dataset) -> pd.Series:
    bld = dataset.buildings
    return pd.Series(
        pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(dtype=float),
        index=bld["building_id"].astype(str).to_numpy(),
    )


def cut_edge_count(dataset: Dataset, assignment: pd.DataFrame, *, band_max: float) -> int:
    """Return the number of unit-graph edges whose two units lie in different grids."""
    from gridgen.partition.units import build_units

    grid_of = dict(
        zip(assignment["building_id"].astype(str), assignment["grid_id"].astype(str), strict=True)
    )
    bld = dataset.buildings
    comm_of_b = dict(
        zip(bld["building_id"].astype(str), bld.get("community_id", pd.Series()), strict=False)
    )
    total = 0
    for cid in sorted({str(comm_of_b.get(b)) for b in grid_of if comm_of_b.get(b) is not None}):
        ug = build_units(dataset, cid, band_max=band_max)
        unit_grid = np.full(ug.n, "", dtype=object)
        for b, u in zip(ug.building_ids.tolist(), ug.building_unit.tolist(), strict=True):
            unit_grid[u] = grid_of.get(b, "")
        ea, eb = ug.edges[:, 0], ug.edges[:, 1]
        known = (unit_grid[ea] != "") & (unit_grid[eb] != "")
        total += int(np.sum(known & (unit_grid[ea] != unit_grid[eb])))
    return total


def plan_metrics(
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    *,
    target: int,
    band: tuple[int, int],
    cut_edges: int | None = None,
    infeasible: dict[str, str] | None = None,
    measured: bool = False,
    metric: np.ndarray | None = None,
) -> PlanMetrics:
    """Return the metrics of a plan, measured from its geometry and assignment.

    Parameters
    ----------
    dataset
        The dataset the plan was drawn on.
    grids
        Grid polygons (any CRS) with ``grid_id`` and ``community_id``.
    assignment
        ``building_id`` → ``grid_id``.
    target, band
        Households target and band.
    cut_edges
        Cut edges if already known (otherwise the unit graph is rebuilt to count them).
    infeasible
        Per-community notes on what could not be met.
    measured
        ``grids`` already holds the columns of :func:`grid_table` for this assignment.
    metric
        The grids in the metric CRS, when the caller has them.
    """
    table = grids if measured else grid_table(dataset, grids, assignment, target=target, band=band)
    geoms = table.geometry.to_numpy()
    single = np.asarray(
        [g is not None and g.geom_type == "Polygon" and not g.is_empty for g in geoms]
    )
    tiling = tiling_errors(dataset, table, metric)
    max_err = max((e for e, _ in tiling.values()), default=0.0)
    max_ov = max((o for _, o in tiling.values()), default=0.0)
    if cut_edges is None:
        cut_edges = cut_edge_count(dataset, assignment, band_max=band[1])
    n = len(table)
    return PlanMetrics(
        n_grids=n,
        households=int(table["households"].sum()),
        band_compliance=float(table["in_band"].mean()) if n else 0.0,
        mean_polsby_popper=float(table["polsby_popper"].mean()) if n else 0.0,
        max_abs_deviation=float(np.abs(table["deviation"]).max()) if n else 0.0,
        cut_edges=int(cut_edges),
        main_road_crossings=int((table["main_road_crossings"] > 0).sum()),
        contiguous_share=float(single.mean()) if n else 1.0,
        tiling_ok=bool(max_err <= TILING_AREA_TOLERANCE and max_ov <= OVERLAP_TOLERANCE),
        max_tiling_error=float(max_err),
        max_overlap_m2=float(max_ov),
        infeasible=dict(infeasible or {}),
    )


def merge_plans(
    plans: Iterable[Plan],
    *,
    target: int | None = None,
    band: tuple[int, int] | None = None,
    seed: int | None = None,
) -> Plan:
    """Return one plan joining per-community plans (metrics combined exactly).

    The plans must not share communities; options default to the first plan's.
    """
    plans = list(plans)
    if not plans:
        msg = "merge_plans needs at least one plan"
        raise ParameterError(msg)
    first = plans[0]
    target = first.target if target is None else target
    band = first.band if band is None else band
    seed = first.seed if seed is None else seed
    grids = gpd.GeoDataFrame(
        pd.concat([p.grids for p in plans], ignore_index=True), geometry="geometry", crs=WGS84
    )
    grids = grids[[*GRID_COLUMNS, "geometry"]]
    assignment = pd.concat([p.assignment for p in plans], ignore_index=True)
    assignment = assignment.sort_values("building_id", kind="stable").reset_index(drop=True)
    return Plan(
        grids=grids,
        assignment=assignment,
        metrics=combine_metrics([p.metrics for p in plans]),
        problems=tuple(q for p in plans for q in p.problems),
        target=int(target),
        band=(int(band[0]), int(band[1])),
        seed=int(seed),
        codes=CodeBook(first.codes.scheme, tuple(r for p in plans for r in p.codes.retired)),
    )


def combine_metrics(parts: list[PlanMetrics]) -> PlanMetrics:
    """Return the metrics of a union of disjoint plans from theirs."""
    n = sum(m.n_grids for m in parts)

    def wmean(attr: str) -> float:
        return sum(getattr(m, attr) * m.n_grids for m in parts) / n if n else 0.0

    infeasible: dict[str, str] = {}
    for m in parts:
        infeasible.update(m.infeasible)
    return PlanMetrics(
        n_grids=n,
        households=sum(m.households for m in parts),
        band_compliance=wmean("band_compliance"),
        mean_polsby_popper=wmean("mean_polsby_popper"),
        max_abs_deviation=max((m.max_abs_deviation for m in parts), default=0.0),
        cut_edges=sum(m.cut_edges for m in parts),
        main_road_crossings=sum(m.main_road_crossings for m in parts),
        contiguous_share=wmean("contiguous_share") if n else 1.0,
        tiling_ok=all(m.tiling_ok for m in parts),
        max_tiling_error=max((m.max_tiling_error for m in parts), default=0.0),
        max_overlap_m2=max((m.max_overlap_m2 for m in parts), default=0.0),
        infeasible=infeasible,
    )
