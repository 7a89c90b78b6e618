"""The governance figures the cities publish, for the district, every street and every community.

:func:`governance_figures` gathers, per group, the counts behind every figure (households,
grids, stations, compounds by property mode, property companies, party organisations,
grid workers, building leaders, covered households) from :mod:`gridgen.coverage.governance`
and :mod:`gridgen.coverage.stations`; :data:`FIGURES` says how each figure is made from
them: a count, a count with its share of a denominator, or a ratio of two counts.
:func:`figures_dict` turns the result into the JSON object of ``gridgen report``, each
figure with its numerator and denominator; :func:`figure_changes` compares two snapshots
(before, after, difference, and no-property compounds eliminated).

Grid figures need a plan; without one, ``grids`` is 0 and every ratio over grids is
``None``. Households per grid are the households of the buildings the plan assigns to the
grid (so a refreshed ledger shows at once). Groups are keyed ``id`` with ``name`` (and
``street_id`` for communities), grouped by :mod:`gridgen.levels`: what lies in no street (or
no community) is counted in a last row whose ``id`` is empty, so every level adds up to the
district.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from gridgen.coverage import governance as gov
from gridgen.coverage.network import walkable_roads
from gridgen.coverage.stations import (
    DEFAULT_RADIUS_M,
    check_radius,
    coverage_by_level,
    station_coverage,
)
from gridgen.dataset import Dataset
from gridgen.levels import KEY_COLUMNS, community_keys, level_groups, rolled_up
from gridgen.partition.plan import DEFAULT_BAND, Plan
from gridgen.schema import PROPERTY_MODE_LABELS, PROPERTY_MODES, STATION_KINDS

FigureKind = Literal["count", "share", "ratio"]
REPORT_LEVELS: tuple[str, ...] = ("district", "street", "community")


@dataclass(frozen=True)
class Figure:
    """How one figure is made from the per-group counts.

    Attributes
    ----------
    name
        Stable English key (JSON key, column name).
    label
        Chinese label used in the Excel and HTML reports.
    section
        Chinese section heading (基本情况, 网格, 党群服务站点, 物业管理, 党组织, 队伍, 覆盖).
    kind
        ``count`` (value is the count ``name``), ``share`` (value is the count ``name``,
        with its share of ``denominator``) or ``ratio`` (value is ``numerator`` /
        ``denominator``).
    numerator, denominator
        Count columns (``numerator`` of a share is the figure itself).
    """

    name: str
    label: str
    section: str
    kind: FigureKind = "count"
    numerator: str | None = None
    denominator: str | None = None


def _mode_figures() -> tuple[Figure, ...]:
    return tuple(
        Figure(
            f"compounds_{m}",
            f"{PROPERTY_MODE_LABELS[m]}小区",
            "物业管理",
            "share",
            None,
            "compounds",
        )
        for m in PROPERTY_MODES
        if m != "none"
    )


FIGURES: tuple[Figure, ...] = (
    Figure("households", "户数", "基本情况"),
    Figure("residents", "人数", "基本情况"),
    Figure("buildings", "楼栋数", "基本情况"),
    Figure("compounds", "小区数", "基本情况"),
    Figure("grids", "网格数", "网格"),
    Figure(
        "households_per_grid", "平均每网格户数", "网格", "ratio", "households_in_grids", "grids"
    ),
    Figure("households_per_grid_min", "每网格最少户数", "网格"),
    Figure("households_per_grid_max", "每网格最多户数", "网格"),
    Figure("grids_in_band", "户数在标准区间的网格", "网格", "share", None, "grids"),
    Figure("grids_with_party_org", "建立党组织的网格", "网格", "share", None, "grids"),
    Figure("stations", "党群服务站点", "党群服务站点"),
    Figure("center_stations", "党群服务中心", "党群服务站点"),
    Figure("micro_stations", "网格党群服务微站", "党群服务站点"),
    Figure("red_front_stations", "红色阵地", "党群服务站点"),
    Figure("stations_per_grid", "每网格站点数", "党群服务站点", "ratio", "stations", "grids"),
    Figure(
        "micro_stations_per_grid",
        "每网格微站数",
        "党群服务站点",
        "ratio",
        "micro_stations",
        "grids",
    ),
    *_mode_figures(),
    Figure("compounds_with_property", "有物业服务的小区", "物业管理", "share", None, "compounds"),
    Figure("no_property_compounds", "无物业小区", "物业管理", "share", None, "compounds"),
    Figure("property_companies", "物业企业", "物业管理"),
    Figure(
        "companies_with_party_org",
        "建立党组织的物业企业",
        "物业管理",
        "share",
        None,
        "property_companies",
    ),
    Figure("compounds_with_party_branch", "建立党支部的小区", "党组织", "share", None, "compounds"),
    Figure(
        "compounds_chain_complete", "四级组织体系健全的小区", "党组织", "share", None, "compounds"
    ),
    Figure("grid_workers", "网格员", "队伍"),
    Figure("workers_per_grid", "每网格网格员数", "队伍", "ratio", "grid_workers", "grids"),
    Figure(
        "households_per_worker", "每名网格员服务户数", "队伍", "ratio", "households", "grid_workers"
    ),
    Figure("buildings_with_leader", "配备楼栋长的楼栋", "队伍", "share", None, "buildings"),
    Figure("covered_households", "站点服务半径覆盖户数", "覆盖", "share", None, "households"),
)
"""Every figure of the report, in report order."""

FIGURE_BY_NAME: dict[str, Figure] = {f.name: f for f in FIGURES}


@dataclass(frozen=True)
class GovernanceFigures:
    """The counts behind every figure, per level, and how they were computed.

    Attributes
    ----------
    tables
        ``district``, ``street``, ``community``: one row per group with ``id``, ``name``
        (``street_id`` for communities) and one integer column per count.
    radius, mode
        Station coverage radius (metres) and mode (``walk`` or ``line``).
    band
        Households band of ``grids_in_band``.
    with_plan
        Whether a grid plan was given.
    dataset
        The dataset's name.
    """

    tables: dict[str, pd.DataFrame]
    radius: float
    mode: str
    band: tuple[int, int]
    with_plan: bool
    dataset: str
    meta: dict[str, Any] = field(default_factory=dict)


def _names(dataset: Dataset, layer: str, key: str) -> pd.Series:
    frame = dataset.layer(layer)
    if frame.empty or "name" not in frame.columns:
        return pd.Series(dtype="string")
    return pd.Series(
        frame["name"].astype("string").to_numpy(), index=frame[key].astype("string").to_numpy()
    )


def _count(keys: pd.Series, mask: Any = None) -> pd.Series:
    frame = pd.DataFrame({"key": keys.to_numpy()})
    frame["n"] = 1 if mask is None else np.asarray(mask, dtype=np.int64)
    return frame.groupby("key", dropna=False)["n"].sum()


def _sum(keys: pd.Series, values: Any) -> pd.Series:
    frame = pd.DataFrame({"key": keys.to_numpy(), "v": np.asarray(values, dtype=np.int64)})
    return frame.groupby("key", dropna=False)["v"].sum()


def _grid_counts(dataset: Dataset, plan: Plan, level: str, band: tuple[int, int]) -> pd.DataFrame:
    """Return per group: households in grids, min/max households per grid, grids in band."""
    b = dataset.buildings
    hh_of = pd.Series(
        pd.to_numeric(b["households"]).fillna(0).to_numpy(dtype=np.int64),
        index=b["building_id"].astype("string").to_numpy(),
    )
    assign = plan.assignment
    per_grid = (
        pd.Series(
            assign["building_id"].astype("string").map(hh_of).fillna(0).to_numpy(np.int64),
            index=assign["grid_id"].astype("string").to_numpy(),
        )
        .groupby(level=0)
        .sum()
    )
    grids = plan.grids
    ids = grids["grid_id"].astype("string")
    hh = ids.map(per_grid).fillna(0).to_numpy(dtype=np.int64)
    keys = community_keys(dataset, grids["community_id"], level)
    frame = pd.DataFrame({"key": keys.to_numpy(), "hh": hh})
    frame["in_band"] = (frame["hh"] >= band[0]) & (frame["hh"] <= band[1])
    g = frame.groupby("key", dropna=False)
    return pd.DataFrame(
        {
            "households_in_grids": g["hh"].sum(),
            "households_per_grid_min": g["hh"].min(),
            "households_per_grid_max": g["hh"].max(),
            "grids_in_band": g["in_band"].sum(),
        }
    )


def _governance_counts(dataset: Dataset, plan: Plan | None, level: str) -> pd.DataFrame:
    """Return the property, party and staffing counts per group, indexed by key."""
    key = KEY_COLUMNS[level]
    prop = gov.property_stats(dataset, level=level).set_index(key)
    party = gov.party_stats(dataset, plan=plan, level=level).set_index(key)
    staff = gov.staffing_stats(dataset, plan=plan, level=level).set_index(key)
    out = pd.DataFrame(index=prop.index.union(party.index).union(staff.index))
    out["compounds"] = prop["compounds"]
    for mode in PROPERTY_MODES:
        out[f"compounds_{mode}"] = prop[f"compounds_{mode}"]
    out["property_companies"] = prop["property_companies"]
    out["companies_with_party_org"] = prop["companies_with_party_org"]
    out["grids"] = party["grids"]
    out["grids_with_party_org"] = party["grids_with_party_org"]
    out["grids_party_org_known"] = party["grids_party_org_known"]
    out["compounds_with_party_branch"] = party["compounds_with_branch"]
    out["compounds_chain_complete"] = party["compounds_chain_complete"]
    out["households"] = staff["households"]
    out["buildings"] = staff["buildings"]
    out["buildings_with_leader"] = staff["buildings_with_leader"]
    out["grid_workers"] = staff["grid_workers"]
    out.index = out.index.astype("string")
    return out


COUNT_COLUMNS: tuple[str, ...] = (
    "households",
    "residents",
    "buildings",
    "compounds",
    "grids",
    "households_in_grids",
    "households_per_grid_min",
    "households_per_grid_max",
    "grids_in_band",
    "grids_with_party_org",
    "grids_party_org_known",
    "stations",
    *(f"{k}_stations" for k in STATION_KINDS),
    *(f"compounds_{m}" for m in PROPERTY_MODES),
    "compounds_with_property",
    "no_property_compounds",
    "property_companies",
    "companies_with_party_org",
    "compounds_with_party_branch",
    "compounds_chain_complete",
    "grid_workers",
    "buildings_with_leader",
    "covered_households",
)
"""The integer columns of every level table."""


def _groups(dataset: Dataset, level: str) -> pd.DataFrame:
    """Return the groups of ``level`` (:func:`gridgen.levels.level_groups`) as ``id``, ``name``."""
    groups = level_groups(dataset, level).rename(columns={KEY_COLUMNS[level]: "id"})
    layer = {"street": ("streets", "street_id"), "community": ("communities", "community_id")}
    if level == "district":
        names = groups["id"]
    else:
        names = groups["id"].map(_names(dataset, *layer[level]))
    groups.insert(1, "name", names.astype("string").to_numpy())
    return groups


def _level_table(
    dataset: Dataset,
    plan: Plan | None,
    level: str,
    band: tuple[int, int],
    coverage: pd.DataFrame,
) -> pd.DataFrame:
    groups = _groups(dataset, level)
    counts = _governance_counts(dataset, plan, level)
    b = dataset.buildings
    b_comm = b["community_id"] if "community_id" in b.columns else pd.Series(pd.NA, index=b.index)
    b_keys = community_keys(dataset, b_comm, level)
    residents = (
        pd.to_numeric(b["residents"], errors="coerce").fillna(0)
        if "residents" in b.columns
        else pd.Series(0, index=b.index)
    )
    counts["residents"] = _sum(b_keys, residents)
    if not groups.empty:  # no streets: communities without street_id
        cov = coverage_by_level(dataset, coverage, level=level)
        cov = cov.rename(columns={cov.columns[0]: "key"}).set_index("key")
        counts["covered_households"] = cov["covered_households"]
    st = dataset.stations
    if not st.empty:
        s_comm = (
            st["community_id"] if "community_id" in st.columns else pd.Series(pd.NA, index=st.index)
        )
        s_keys = community_keys(dataset, s_comm, level)
        counts["stations"] = _count(s_keys)
        for kind in STATION_KINDS:
            counts[f"{kind}_stations"] = _count(s_keys, st["kind"].astype("string").eq(kind))
    if plan is not None:
        counts = counts.join(_grid_counts(dataset, plan, level, band))
    out = rolled_up(groups, counts, counts=tuple(counts.columns))
    for col in COUNT_COLUMNS:
        if col not in out.columns:
            out[col] = 0
        out[col] = pd.to_numeric(out[col]).fillna(0).astype(np.int64)
    out["compounds_with_property"] = out["compounds"] - out["compounds_none"]
    out["no_property_compounds"] = out["compounds_none"]
    if level == "district":
        out["id"] = dataset.name
    keys = ["id", "name", *(["street_id"] if level == "community" else [])]
    return out[[*keys, *COUNT_COLUMNS]].reset_index(drop=True)


def governance_figures(
    dataset: Dataset,
    *,
    plan: Plan | None = None,
    radius: float = DEFAULT_RADIUS_M,
    mode: str | None = None,
    band: tuple[int, int] | None = None,
    coverage: pd.DataFrame | None = None,
) -> GovernanceFigures:
    """Return the counts behind every figure for the district, each street and each community.

    Parameters
    ----------
    dataset
        A validated dataset.
    plan
        A grid plan (grids, workers, party organisations); without one grid figures are 0.
    radius
        Station service radius in metres (default 500, the 10-minute life circle).
    mode
        ``walk`` or ``line``; default walking where the dataset has roads, else straight line.
    band
        Households band for ``grids_in_band``; default the plan's band, else 240-360.
    coverage
        A precomputed :func:`~gridgen.coverage.stations.station_coverage` of ``dataset``.
    """
    radius = check_radius(radius)
    if mode is None:
        mode = "walk" if not walkable_roads(dataset.roads).empty else "line"
    if band is None:
        band = DEFAULT_BAND if plan is None else plan.band
    if coverage is None:
        coverage = station_coverage(dataset, radius=radius, mode=mode)
    tables = {level: _level_table(dataset, plan, level, band, coverage) for level in REPORT_LEVELS}
    return GovernanceFigures(
        tables=tables,
        radius=radius,
        mode=mode,
        band=(int(band[0]), int(band[1])),
        with_plan=plan is not None,
        dataset=dataset.name,
    )


def _num(value: Any) -> int:
    return int(value)


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else float(num) / float(den)


def figure_value(row: pd.Series, fig: Figure) -> dict[str, Any]:
    """Return one figure of one group: ``value``, and ``numerator``/``denominator``/``share``."""
    if fig.kind == "count":
        value: Any = _num(row[fig.name])
        if fig.name.startswith("households_per_grid_") and _num(row["grids"]) == 0:
            value = None
        return {"value": value}
    if fig.kind == "share":
        assert fig.denominator is not None
        n, d = _num(row[fig.name]), _num(row[fig.denominator])
        out: dict[str, Any] = {"value": n, "numerator": n, "denominator": d, "share": _ratio(n, d)}
        if fig.name == "grids_with_party_org":
            unknown = d - _num(row["grids_party_org_known"])
            if unknown and unknown == d:  # no office's sheet said: not 0, unknown
                out.update(value=None, numerator=None, share=None)
            out["unknown_grids"] = unknown
        return out
    assert fig.numerator is not None and fig.denominator is not None
    n, d = _num(row[fig.numerator]), _num(row[fig.denominator])
    return {"value": _ratio(n, d), "numerator": n, "denominator": d}


def group_figures(row: pd.Series) -> dict[str, dict[str, Any]]:
    """Return every figure of one group (a row of a level table), keyed by figure name."""
    return {fig.name: figure_value(row, fig) for fig in FIGURES}


def _group_entry(row: pd.Series, level: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": None if pd.isna(row["id"]) else str(row["id"]),
        "name": None if pd.isna(row["name"]) else str(row["name"]),
    }
    if level == "community":
        entry["street_id"] = None if pd.isna(row["street_id"]) else str(row["street_id"])
    entry.update(group_figures(row))
    return entry


def figures_dict(
    figures: GovernanceFigures, *, changes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the report as a JSON-ready object.

    Returns
    -------
    dict
        ``dataset``, ``radius_m``, ``mode``, ``band``, ``with_plan``, ``district`` (figure
        name → ``{"value", "numerator", "denominator", "share"}`` as applicable, plus ``id``
        and ``name``), ``streets`` and ``communities`` (lists of the same), ``labels``
        (figure name → Chinese label) and ``changes`` when given.
    """
    district = figures.tables["district"].iloc[0]
    out: dict[str, Any] = {
        "dataset": figures.dataset,
        "radius_m": figures.radius,
        "mode": figures.mode,
        "band": list(figures.band),
        "with_plan": figures.with_plan,
        "district": _group_entry(district, "district"),
        "streets": [_group_entry(r, "street") for _, r in figures.tables["street"].iterrows()],
        "communities": [
            _group_entry(r, "community") for _, r in figures.tables["community"].iterrows()
        ],
        "labels": {f.name: f.label for f in FIGURES},
    }
    if changes is not None:
        out["changes"] = changes
    return out


def round_share(value: float | None, digits: int = 1) -> str:
    """Return a share as a percentage string (``"78.2%"``), or ``"—"`` for ``None``/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.{digits}f}%"
