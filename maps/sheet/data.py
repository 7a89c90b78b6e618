"""The compound sheet (一小区一图示): what it shows, gathered from a dataset.

:func:`compound_sheet_data` is pure: it selects and summarises, and returns a frozen
:class:`SheetData` that the renderers (:mod:`maps.sheet.render` for PNG/PDF,
:mod:`maps.sheet.html` for HTML) draw without looking at the dataset again. Restricted
personal data (building leaders' phones, key persons, the three teams) is only copied into
the sheet when ``restricted=True``, so a renderer cannot leak what it was never given.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gridgen.coverage.compound import (
    STATION_SEARCH_FACTOR,
    CompoundGrids,
    CompoundSummary,
    NearestStation,
    compound_grids,
    compound_summary,
    nearest_station,
    text_or_none,
)
from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.dataset import Dataset
from gridgen.errors import NotFoundError, ParameterError
from gridgen.partition.plan import Plan
from maps.sheet.grids import grid_of_buildings, split_note
from maps.sheet.index import sheet_index
from maps.style import property_mode_label, station_kind_label, text_or_dash, yes_no

NO_BUILDINGS = "无楼栋数据"
NO_STATION = "附近无站点"


@dataclass(frozen=True)
class SheetBuilding:
    """One building of the sheet (geometry in the dataset's metric CRS)."""

    number: int
    building_id: str
    households: int
    residents: int | None
    floors: int | None
    leader_name: str | None
    party_members: int | None
    geometry: BaseGeometry
    covered: bool | None = None
    leader_phone: str | None = None
    key_persons: int | None = None
    grid_id: str | None = None

    @property
    def label(self) -> str:
        """Return the map label: number and households."""
        return f"{self.number}号 {self.households}户"


@dataclass(frozen=True)
class SheetStation:
    """The station nearest to the compound."""

    station_id: str
    name: str
    kind_label: str
    geometry: Point
    distance_m: float
    radius_m: float

    @property
    def reaches_compound(self) -> bool:
        """Return whether the compound lies (partly) within the station's reach."""
        return self.distance_m <= self.radius_m


@dataclass(frozen=True)
class ThreeTeams:
    """三支队伍: grid workers, building leaders and party members/volunteers."""

    grid_workers: int | None
    building_leaders: int
    party_members: int


@dataclass(frozen=True)
class SheetData:
    """Everything one compound sheet shows (geometries in :attr:`metric_crs`).

    Attributes
    ----------
    title, subtitle
        Heading lines: compound name, then street / community / grid.
    buildings
        The compound's buildings, numbered north to south, west to east.
    station
        The nearest station (``None`` when the dataset has none within reach search).
    summary
        (label, value) rows of the summary table, in display order.
    notes
        Sentences the sheet must print (e.g. 无楼栋数据, 附近无站点).
    """

    compound_id: str
    compound_name: str
    street_name: str
    community_name: str
    grid_ids: tuple[str, ...]
    title: str
    subtitle: str
    metric_crs: pyproj.CRS
    compound_geometry: BaseGeometry
    grid_geometries: tuple[BaseGeometry, ...]
    context_buildings: tuple[BaseGeometry, ...]
    context_roads: tuple[BaseGeometry, ...]
    buildings: tuple[SheetBuilding, ...]
    station: SheetStation | None
    property_mode: str
    property_label: str
    property_company: str | None
    company_party_org: bool | None
    party_branch: bool | None
    summary: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    restricted: bool
    three_teams: ThreeTeams | None = None
    context_barriers: tuple[tuple[str, BaseGeometry], ...] = ()  # (kind, river/railway/wall)
    made_on: str = field(default_factory=lambda: date.today().isoformat())

    @property
    def households(self) -> int:
        """Return the compound's households."""
        return sum(b.households for b in self.buildings)


def _int_or_none(value: Any) -> int | None:
    if value is None or pd.isna(value):
        return None
    return int(value)


def _numbered(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``buildings`` ordered north to south in ~40 m rows, west to east in a row."""
    if buildings.empty:
        return buildings
    pts = buildings.geometry.representative_point()
    row = np.floor(-pts.y.to_numpy() / 40.0)
    order = np.lexsort((pts.x.to_numpy(), row))
    return buildings.iloc[order]


def _coverage_by_building(coverage: pd.DataFrame | None) -> dict[str, Any]:
    if coverage is None or "building_id" not in coverage or "covered" not in coverage:
        return {}
    return dict(zip(coverage["building_id"].astype(str), coverage["covered"], strict=False))


def _sheet_station(found: NearestStation | None) -> SheetStation | None:
    if found is None:
        return None
    return SheetStation(
        station_id=found.station_id,
        name=found.name,
        kind_label=station_kind_label(found.kind),
        geometry=found.geometry,  # type: ignore[arg-type]
        distance_m=found.distance_m,
        radius_m=found.radius_m,
    )


def compound_sheet_data(
    dataset: Dataset,
    compound_id: str,
    *,
    plan: Plan | None = None,
    coverage: pd.DataFrame | None = None,
    radius: float | None = None,
    restricted: bool = False,
) -> SheetData:
    """Return what the sheet of compound ``compound_id`` shows.

    Parameters
    ----------
    dataset
        A validated dataset.
    compound_id
        The compound's id.
    plan
        A grid plan; without one the sheet has no grid boundary and no grid workers.
    coverage
        Per-building coverage (``building_id``, ``station_id``, ``distance_m``, ``covered``)
        from :func:`gridgen.coverage.stations.station_coverage`; marks uncovered buildings and picks
        the station. Without it the nearest station by straight line is shown.
    radius
        Station reach in metres drawn on the sheet (default 500; the coverage run's radius
        should be passed along with ``coverage``).
    restricted
        Include restricted personal data (leader phones, key persons, the three teams).
        Only roles allowed to see restricted data may ask for it.

    Raises
    ------
    NotFoundError
        When the dataset has no compound ``compound_id``.
    ParameterError
        When ``radius`` is not positive.
    """
    radius_m = DEFAULT_RADIUS_M if radius is None else float(radius)
    if not radius_m > 0:
        msg = f"radius must be a positive number of metres, got {radius!r}"
        raise ParameterError(msg)
    comp = _compound_row(dataset, compound_id)
    cid = str(comp["compound_id"])
    geom: BaseGeometry = comp.geometry
    name = text_or_none(comp.get("name")) or cid
    street_name, community_name = _place_names(dataset, comp.get("community_id"))

    rows = sheet_index(dataset).buildings_of.get(cid, np.empty(0, dtype=np.intp))
    mine = _numbered(dataset.metric("buildings").iloc[np.sort(rows)])
    ids = mine["building_id"].astype(str).tolist()
    buildings = _sheet_buildings(mine, ids, _coverage_by_building(coverage), restricted=restricted)
    grid_of = grid_of_buildings(plan, ids)
    buildings = [replace(b, grid_id=grid_of.get(b.building_id)) for b in buildings]
    grids = compound_grids(dataset, plan, ids, geom)
    near, near_roads, near_barriers = _context(dataset, rows, geom)
    station = _sheet_station(
        nearest_station(dataset, geom, ids, coverage=coverage, radius=radius_m)
    )
    prop = _property_facts(dataset, comp)
    totals = compound_summary(
        mine, covered=pd.Series([b.covered for b in buildings], dtype=object), restricted=restricted
    )
    summary = _summary_rows(totals, grid_ids=grids.grid_ids, station=station, prop=prop)
    three_teams = _three_teams(totals, grids, summary) if restricted else None
    grid_text = f"网格 {'、'.join(grids.grid_ids)}" if grids.grid_ids else "未划网格"
    parts = [p for p in (street_name, community_name, grid_text) if p]
    return SheetData(
        compound_id=cid,
        compound_name=name,
        street_name=street_name,
        community_name=community_name,
        grid_ids=grids.grid_ids,
        title=f"{name} 一小区一图示",
        subtitle=" · ".join(parts) + f" · 小区编号 {cid}",
        metric_crs=dataset.metric_crs,
        compound_geometry=geom,
        grid_geometries=grids.geometries,
        context_buildings=tuple(near),
        context_roads=tuple(near_roads),
        context_barriers=tuple(zip(near_barriers["kind"], near_barriers.geometry, strict=True)),
        buildings=tuple(buildings),
        station=station,
        property_mode=prop.mode,
        property_label=property_mode_label(prop.mode),
        property_company=prop.company,
        company_party_org=prop.company_party,
        party_branch=prop.party_branch,
        summary=tuple(summary),
        notes=_notes(buildings, station, radius_m),
        restricted=restricted,
        three_teams=three_teams,
    )


def _three_teams(
    totals: CompoundSummary, grids: CompoundGrids, summary: list[tuple[str, str]]
) -> ThreeTeams:
    """Return the three teams of a restricted sheet (and add its key-persons row)."""
    summary.append(("重点人员", text_or_dash(totals.key_persons)))
    return ThreeTeams(
        grid_workers=grids.workers,
        building_leaders=totals.leaders,
        party_members=totals.party_members,
    )


def _compound_row(dataset: Dataset, compound_id: str) -> pd.Series:
    """Return the compound's row of the metric compounds layer (NotFoundError when absent)."""
    compounds = dataset.metric("compounds")
    row = sheet_index(dataset).compound_row.get(str(compound_id))
    if row is None:
        sample = ", ".join(compounds["compound_id"].astype(str).head(5))
        msg = f"compound {compound_id!r} does not exist in dataset {dataset.name!r}" + (
            f" (ids look like: {sample})" if sample else " (it has no compounds)"
        )
        raise NotFoundError(msg)
    return compounds.iloc[row]


def _place_names(dataset: Dataset, community_id: Any) -> tuple[str, str]:
    """Return (street name, community name) of a community id (ids when unnamed)."""
    if community_id is None or pd.isna(community_id):
        return "", ""
    index = sheet_index(dataset)
    name, street_id = index.community.get(str(community_id), (None, None))
    street = ""
    if street_id is not None and not pd.isna(street_id):
        street = index.street_name.get(str(street_id)) or str(street_id)
    return street, name or str(community_id)


def _sheet_buildings(
    mine: gpd.GeoDataFrame, ids: list[str], covered: dict[str, Any], *, restricted: bool
) -> list[SheetBuilding]:
    """Return the numbered buildings of the sheet (restricted columns only when allowed)."""
    out = []
    for number, (bid, row) in enumerate(
        zip(ids, mine.itertuples(index=False), strict=True), start=1
    ):
        rec = row._asdict()
        cov = covered.get(bid)
        out.append(
            SheetBuilding(
                number=number,
                building_id=bid,
                households=int(rec["households"]),
                residents=_int_or_none(rec.get("residents")),
                floors=_int_or_none(rec.get("floors")),
                leader_name=text_or_none(rec.get("leader_name")),
                party_members=_int_or_none(rec.get("party_members")),
                geometry=rec["geometry"],
                covered=None if cov is None or pd.isna(cov) else bool(cov),
                leader_phone=text_or_none(rec.get("leader_phone")) if restricted else None,
                key_persons=_int_or_none(rec.get("key_persons")) if restricted else None,
            )
        )
    return out


def _context(
    dataset: Dataset, rows: NDArray[np.intp], geom: BaseGeometry
) -> tuple[gpd.GeoSeries, gpd.GeoSeries, gpd.GeoDataFrame]:
    """Return neighbouring footprints, roads and rivers, railways and walls around the
    compound (metric CRS), the compound's own buildings (``rows`` of the metric buildings
    layer) left out."""
    all_b = dataset.metric("buildings")
    in_compound = np.zeros(len(all_b), dtype=bool)
    in_compound[rows] = True
    window = shapely.box(*geom.buffer(max(60.0, 0.25 * _extent(geom))).bounds)
    # The spatial index of the (cached) metric layer is built once for every sheet.
    hits = all_b.sindex.query(window, predicate="intersects")
    hits = hits[~in_compound[hits]]
    near = all_b.geometry.iloc[np.sort(hits)]
    roads, barriers = (_within(dataset.metric(n), window) for n in ("roads", "barriers"))
    return near, roads.geometry, barriers


def _within(frame: gpd.GeoDataFrame, window: BaseGeometry) -> gpd.GeoDataFrame:
    """Return the rows of ``frame`` that intersect ``window``."""
    if frame.empty:
        return frame
    return frame.iloc[np.sort(frame.sindex.query(window, predicate="intersects"))]


class _PropertyFacts(NamedTuple):
    """A compound's property management: mode, company, its party organisation, branch."""

    mode: str
    company: str | None
    company_party: bool | None
    party_branch: bool | None


def _property_facts(dataset: Dataset, comp: pd.Series) -> _PropertyFacts:
    """Return the compound's property mode, company (name, whether it has a party
    organisation) and whether the compound has a party branch."""
    mode = text_or_none(comp.get("property_mode")) or "none"
    company_id = text_or_none(comp.get("property_company_id"))
    company, party = None, None
    if company_id is not None:
        name, party = sheet_index(dataset).company.get(company_id, (None, None))
        company = name or company_id
    branch_raw = comp.get("party_branch")
    branch = None if branch_raw is None or pd.isna(branch_raw) else bool(branch_raw)
    return _PropertyFacts(mode, company, party, branch)


def _notes(
    buildings: list[SheetBuilding], station: SheetStation | None, radius_m: float
) -> tuple[str, ...]:
    notes: list[str] = []
    if not buildings:
        notes.append(f"{NO_BUILDINGS}：本小区没有登记楼栋")
    if station is None:
        notes.append(f"{NO_STATION}：{STATION_SEARCH_FACTOR * radius_m:.0f} 米内没有党群服务站点")
    elif not station.reaches_compound:
        notes.append(
            f"最近站点 {station.name} 距小区 {station.distance_m:.0f} 米，"
            f"超出服务半径 {radius_m:.0f} 米"
        )
    if split := split_note((b.number, b.households, b.grid_id) for b in buildings):
        notes.append(split)
    return tuple(notes)


def _summary_rows(
    totals: CompoundSummary,
    *,
    grid_ids: tuple[str, ...],
    station: SheetStation | None,
    prop: _PropertyFacts,
) -> list[tuple[str, str]]:
    """Return the (label, value) rows of the summary table in display order."""
    rows: list[tuple[str, str]] = [
        ("楼栋数", str(totals.buildings)),
        ("户数", str(totals.households)),
        ("人数", text_or_dash(totals.residents)),
        ("楼栋长配备", f"{totals.leaders}/{totals.buildings}"),
        ("党员", str(totals.party_members)),
        ("物业模式", property_mode_label(prop.mode)),
        ("物业企业", prop.company or "—"),
        ("物业党组织", yes_no(prop.company_party)),
        ("小区党支部", yes_no(prop.party_branch)),
        ("所属网格", "、".join(grid_ids) if grid_ids else "—"),
    ]
    if station is not None:
        rows.append(("最近站点", f"{station.name}（{station.distance_m:.0f} 米）"))
    else:
        rows.append(("最近站点", NO_STATION))
    share = totals.covered_share
    if totals.covered_households is not None and share is not None:
        rows.append(
            ("站点覆盖户数", f"{totals.covered_households}/{totals.households}（{share:.0%}）")
        )
    return rows


def _extent(geom: BaseGeometry) -> float:
    """Return the larger side of ``geom``'s bounding box (metres)."""
    x0, y0, x1, y1 = geom.bounds
    return float(max(x1 - x0, y1 - y0))


def building_rows(data: SheetData) -> list[list[str]]:
    """Return the building table rows (header first); restricted columns only when allowed."""
    header = ["编号", "楼栋编码", "户数", "人数", "层数", "楼栋长", "党员"]
    split = len(data.grid_ids) > 1  # a compound split across grids: each building's grid
    header += ["网格"] if split else []
    if data.restricted:
        header += ["联系电话", "重点人员"]
    rows = [header]
    for b in data.buildings:
        row = [
            str(b.number),
            b.building_id,
            str(b.households),
            text_or_dash(b.residents),
            text_or_dash(b.floors),
            b.leader_name or "—",
            text_or_dash(b.party_members),
        ]
        row += [b.grid_id[-3:] if b.grid_id else "—"] if split else []
        if data.restricted:
            row += [b.leader_phone or "—", text_or_dash(b.key_persons)]
        rows.append(row)
    return rows


def compound_ids(
    dataset: Dataset, *, community_id: str | None = None, street_id: str | None = None
) -> list[str]:
    """Return the ids of compounds in a community or street (all when neither is given).

    Raises
    ------
    NotFoundError
        When the community or street does not exist.
    """
    compounds = dataset.compounds
    if community_id is not None:
        known = set(dataset.communities["community_id"].astype(str))
        if str(community_id) not in known:
            msg = f"community {community_id!r} does not exist; known ids: " + ", ".join(
                sorted(known)[:8]
            )
            raise NotFoundError(msg)
        compounds = compounds.loc[compounds["community_id"].astype(str) == str(community_id)]
    if street_id is not None:
        comms = dataset.communities
        if "street_id" not in comms or str(street_id) not in set(comms["street_id"].astype(str)):
            msg = f"street {street_id!r} does not exist or has no communities"
            raise NotFoundError(msg)
        ids = set(comms.loc[comms["street_id"].astype(str) == str(street_id), "community_id"])
        compounds = compounds.loc[compounds["community_id"].isin(ids)]
    return compounds["compound_id"].astype(str).tolist()
