"""Audit of an existing grid layer against the rules planners follow (docs/rules.md).

What is checked, and where it is found:

- **gaps**: community area covered by no grid (parts above :data:`MIN_AREA_M2`), with the
  households of buildings whose representative point lies in them;
- **overlaps**: area covered by two grids (pairwise), with the households counted twice
  (a building whose representative point lies in ``k`` grids is counted ``k - 1`` times);
- **crossing**: grids with more than :data:`CROSS_SHARE` of their area (and more than
  :data:`MIN_AREA_M2`) outside the community they overlap most;
- **split compounds**: compounds whose buildings (each in the grid holding most of its
  footprint) lie in more than one grid, with households per grid; compounds above the band
  maximum may be split (大小区单独建) and are listed with ``allowed`` true;
- **out of band**, **multipart**, **invalid** and **empty** grids, **duplicate codes**,
  **main-road crossings** (as in the plan metrics) and **buildings in no grid**.
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.partition.existing import GridLayer, building_grids, grid_layer
from gridgen.partition.measures import grid_barrier_straddles, grid_main_road_crossings
from gridgen.rules import RuleKind

MIN_AREA_M2 = 1.0
"""Gap and overlap pieces smaller than this (m²) are digitising noise and not reported."""
CROSS_SHARE = 0.01
"""Share of a grid's area outside its community above which it crosses the boundary."""


@dataclass(frozen=True, eq=False)
class Audit:
    """What an audit found (frames in the dataset's metric CRS).

    Attributes
    ----------
    summary
        Counts and totals (see :func:`audit_grids`).
    grids
        One row per grid code: households, buildings, in_band, area_m2, parts, valid,
        valid_reason, outside_community_m2, communities, overlap_m2, main_road_crossings,
        split_compounds, barrier_straddles (parts beyond one that rivers and railways divide
        the grid's buildings into), geometry.
    gaps, overlaps, split_compounds
        Where: gap pieces (community_id, area_m2, households, buildings), overlap pieces
        (grid_a, grid_b, community_id, area_m2, households) and split compounds
        (compound_id, community_id, households, n_grids, grids as JSON code → households,
        allowed; geometry = compound polygon).
    unassigned
        Ids of buildings in no grid.
    """

    summary: dict[str, int | float]
    grids: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    overlaps: gpd.GeoDataFrame
    split_compounds: gpd.GeoDataFrame
    unassigned: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return the audit as JSON-ready values (no geometry)."""

        def rows(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
            plain = pd.DataFrame(frame.drop(columns="geometry"))
            return json.loads(plain.to_json(orient="records", force_ascii=False))  # type: ignore[no-any-return]

        return {
            "summary": dict(self.summary),
            "grids": rows(self.grids),
            "gaps": rows(self.gaps),
            "overlaps": rows(self.overlaps),
            "split_compounds": rows(self.split_compounds),
            "unassigned_buildings": list(self.unassigned),
        }


def audit_grids(
    dataset: Dataset, grids: gpd.GeoDataFrame, *, band: tuple[int, int] = (240, 360)
) -> Audit:
    """Return the audit of a grid layer (WGS84 frame with ``grid_id``) on ``dataset``.

    The ``summary`` counts the findings of every rule kind the audit checks under its name
    (:class:`gridgen.rules.RuleKind`): ``below_band``, ``above_band``, ``split_compound``
    (not allowed), ``unassigned_building``, ``multipart``, ``invalid_geometry``,
    ``empty_grid``, ``duplicate_code``, ``crosses_community``, ``main_road_crossing``,
    ``barrier_crossing``, ``gap`` and ``overlap`` (pieces); and the integers ``grids``,
    ``households``, ``band_min``, ``band_max``, ``out_of_band`` (below + above),
    ``split_compound_allowed``, ``unassigned_households``, ``gap_households``,
    ``overlap_households`` and the numbers ``gap_m2`` and ``overlap_m2``.
    """
    layer = grid_layer(dataset, grids)
    return audit_layer(dataset, layer, band=band)


def audit_layer(dataset: Dataset, layer: GridLayer, *, band: tuple[int, int]) -> Audit:
    """Return the audit of a grid layer already placed on the dataset."""
    lo, hi = band
    crs = dataset.metric_crs
    geoms = layer.geoms
    codes = layer.codes.astype(str)
    bld = dataset.metric("buildings")
    b_ids = bld["building_id"].astype(str).to_numpy()
    b_hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    b_pts = shapely.point_on_surface(bld.geometry.to_numpy())
    raw, _ = building_grids(dataset, layer)
    # grids holding each building's representative point (for gap/overlap households)
    _, pi = shapely.STRtree(b_pts).query(geoms, predicate="contains")
    in_count = np.bincount(pi, minlength=len(b_pts))

    # overlaps and gaps on a second thread while the grid table is made: GEOS does most of
    # both and releases the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        found_apart = pool.submit(_overlaps_and_gaps, dataset, layer, b_pts, b_hh, in_count)
        table = _grid_table(dataset, layer, raw, b_hh, band=band)
        splits = _split_compounds(dataset, layer, raw, b_hh, band_max=hi)
        overlaps, overlap_area, gaps = found_apart.result()
    table["overlap_m2"] = overlap_area
    n_split = np.zeros(len(codes), dtype=np.int64)
    code_index = {c: i for i, c in enumerate(codes)}
    for text in splits.loc[~splits["allowed"], "grids"] if len(splits) else []:
        for c in json.loads(text):
            if c in code_index:
                n_split[code_index[c]] += 1
    table["split_compounds"] = n_split
    table["barrier_straddles"] = _barrier_straddles(dataset, codes, raw, table["grid_id"])
    hh = table["households"].to_numpy()
    unassigned = raw < 0
    found: dict[RuleKind, int] = {
        RuleKind.BELOW_BAND: int(np.sum(hh < lo)),
        RuleKind.ABOVE_BAND: int(np.sum(hh > hi)),
        RuleKind.SPLIT_COMPOUND: int((~splits["allowed"]).sum()) if len(splits) else 0,
        RuleKind.UNASSIGNED_BUILDING: int(unassigned.sum()),
        RuleKind.MULTIPART: int((table["parts"] > 1).sum()),
        RuleKind.INVALID_GEOMETRY: int((~table["valid"]).sum()),
        RuleKind.EMPTY_GRID: int((table["parts"] == 0).sum()),
        RuleKind.DUPLICATE_CODE: len(layer.duplicates),
        RuleKind.CROSSES_COMMUNITY: int(table["crosses_community"].sum()),
        RuleKind.MAIN_ROAD_CROSSING: int((table["main_road_crossings"] > 0).sum()),
        RuleKind.BARRIER_CROSSING: int((table["barrier_straddles"] > 0).sum()),
        RuleKind.GAP: len(gaps),
        RuleKind.OVERLAP: len(overlaps),
    }
    summary: dict[str, int | float] = {
        "grids": len(codes),
        "households": int(b_hh.sum()),
        "band_min": int(lo),
        "band_max": int(hi),
        **{kind.value: n for kind, n in found.items()},
        "out_of_band": found[RuleKind.BELOW_BAND] + found[RuleKind.ABOVE_BAND],
        "split_compound_allowed": int(splits["allowed"].sum()) if len(splits) else 0,
        "unassigned_households": int(b_hh[unassigned].sum()),
        "gap_m2": float(gaps["area_m2"].sum()) if len(gaps) else 0.0,
        "gap_households": int(b_hh[in_count == 0].sum()),
        "overlap_m2": float(overlaps["area_m2"].sum()) if len(overlaps) else 0.0,
        "overlap_households": int((b_hh * np.maximum(in_count - 1, 0)).sum()),
    }
    return Audit(
        summary=summary,
        grids=gpd.GeoDataFrame(table, geometry="geometry", crs=crs),
        gaps=gaps,
        overlaps=overlaps,
        split_compounds=splits,
        unassigned=tuple(b_ids[unassigned].tolist()),
    )


def _overlaps_and_gaps(
    dataset: Dataset,
    layer: GridLayer,
    b_pts: NDArray[np.object_],
    b_hh: NDArray[np.int64],
    in_count: NDArray[np.int64],
) -> tuple[gpd.GeoDataFrame, NDArray[np.float64], gpd.GeoDataFrame]:
    """Return the overlap pieces, the overlap area per grid and the gap pieces."""
    overlaps, overlap_area = _overlaps(layer, b_pts, b_hh, crs=dataset.metric_crs)
    gaps = _gaps(dataset, layer, b_pts, b_hh, in_count, overlapping=overlap_area > 0)
    return overlaps, overlap_area, gaps


def _gaps(
    dataset: Dataset,
    layer: GridLayer,
    b_pts: NDArray[np.object_],
    b_hh: NDArray[np.int64],
    in_count: NDArray[np.int64],
    *,
    overlapping: NDArray[np.bool_],
) -> gpd.GeoDataFrame:
    comms = dataset.metric("communities")
    c_geom = shapely.make_valid(comms.geometry.to_numpy())
    c_ids = comms["community_id"].astype(str).to_numpy()
    tree = shapely.STRtree(layer.geoms)
    # without overlaps, the grids' areas inside a community add up to their union's: a
    # community they cover within MIN_AREA_M2 has no gap piece and needs no union
    gi, ci, inside = layer.pairs
    covered = np.bincount(ci, weights=inside, minlength=len(c_geom))
    mixed = np.zeros(len(c_geom), dtype=bool)
    np.logical_or.at(mixed, ci, overlapping[gi])
    full = (np.asarray(shapely.area(c_geom)) - covered <= MIN_AREA_M2) & ~mixed
    pieces: list[Any] = []
    owner: list[str] = []
    for k, comm in enumerate(c_geom):
        if full[k]:
            continue
        near = tree.query(comm, predicate="intersects")
        rest = shapely.difference(comm, shapely.union_all(layer.geoms[near])) if len(near) else comm
        for part in shapely.get_parts(rest):
            if part.geom_type == "Polygon" and part.area > MIN_AREA_M2:
                pieces.append(part)
                owner.append(str(c_ids[k]))
    geoms = np.asarray(pieces, dtype=object)
    hh = np.zeros(len(geoms), dtype=np.int64)
    nb = np.zeros(len(geoms), dtype=np.int64)
    if len(geoms):
        free = np.flatnonzero(in_count == 0)
        pi, gi = shapely.STRtree(geoms).query(b_pts[free], predicate="within")
        np.add.at(hh, gi, b_hh[free[pi]])
        np.add.at(nb, gi, 1)
    return gpd.GeoDataFrame(
        {
            "community_id": owner,
            "area_m2": shapely.area(geoms) if len(geoms) else np.zeros(0),
            "households": hh,
            "buildings": nb,
        },
        geometry=gpd.GeoSeries(geoms, crs=dataset.metric_crs),
        crs=dataset.metric_crs,
    )


def _overlaps(
    layer: GridLayer, b_pts: NDArray[np.object_], b_hh: NDArray[np.int64], *, crs: Any
) -> tuple[gpd.GeoDataFrame, NDArray[np.float64]]:
    geoms = layer.geoms
    # pairs whose interiors meet (overlapping, or one inside the other; touching is fine):
    # one index query and one relate per pair, ~3x faster than the "overlaps" and
    # "contains" queries it replaces (0.076 -> 0.027 s on 906 grids)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    a, b = a[a < b], b[a < b]
    if len(a):
        meet = np.asarray(shapely.relate_pattern(geoms[a], geoms[b], "T********"), dtype=bool)
        a, b = a[meet], b[meet]
    inter = shapely.intersection(geoms[a], geoms[b]) if len(a) else np.empty(0, dtype=object)
    area = np.asarray(shapely.area(inter), dtype=float) if len(a) else np.zeros(0)
    keep = area > MIN_AREA_M2
    a, b, inter, area = a[keep], b[keep], inter[keep], area[keep]
    per_grid = np.zeros(len(geoms))
    np.add.at(per_grid, a, area)
    np.add.at(per_grid, b, area)
    hh = np.zeros(len(a), dtype=np.int64)
    if len(a):
        pi, oi = shapely.STRtree(inter).query(b_pts, predicate="within")
        np.add.at(hh, oi, b_hh[pi])
    frame = gpd.GeoDataFrame(
        {
            "grid_a": layer.codes[a].astype(str),
            "grid_b": layer.codes[b].astype(str),
            "community_id": layer.community[a].astype(str),
            "area_m2": area,
            "households": hh,
        },
        geometry=gpd.GeoSeries(inter, crs=crs),
        crs=crs,
    )
    return frame, per_grid


def _grid_table(
    dataset: Dataset,
    layer: GridLayer,
    raw: NDArray[np.int64],
    b_hh: NDArray[np.int64],
    *,
    band: tuple[int, int],
) -> pd.DataFrame:
    lo, hi = band
    geoms = layer.geoms
    n = len(geoms)
    assigned = raw >= 0
    hh = np.bincount(raw[assigned], weights=b_hh[assigned], minlength=n).astype(np.int64)
    nb = np.bincount(raw[assigned], minlength=n).astype(np.int64)
    area = np.asarray(shapely.area(geoms), dtype=float)
    parts = np.asarray(shapely.get_num_geometries(geoms), dtype=np.int64)
    parts[shapely.is_empty(geoms)] = 0
    comms = dataset.metric("communities")
    c_ids = comms["community_id"].astype(str).to_numpy()
    gi, ci, inside = layer.pairs
    own = np.zeros(n)
    touched: list[list[str]] = [[] for _ in range(n)]
    for g, c, a in zip(gi.tolist(), ci.tolist(), inside.tolist(), strict=True):
        if c_ids[c] == layer.community[g]:
            own[g] = a
        if a > MIN_AREA_M2:
            touched[g].append(str(c_ids[c]))
    outside = np.maximum(area - own, 0.0)
    reasons = list(layer.reasons)
    return pd.DataFrame(
        {
            "grid_id": layer.codes.astype(str),
            "community_id": layer.community.astype(str),
            "households": hh,
            "buildings": nb,
            "in_band": (hh >= lo) & (hh <= hi),
            "area_m2": area,
            "parts": parts,
            "valid": layer.valid,
            "valid_reason": reasons,
            "outside_community_m2": outside,
            "crosses_community": (outside > MIN_AREA_M2) & (outside > CROSS_SHARE * area),
            "communities": [",".join(sorted(t)) for t in touched],
            "main_road_crossings": grid_main_road_crossings(dataset, geoms),
            "geometry": geoms,
        }
    )


def _barrier_straddles(
    dataset: Dataset, codes: NDArray[np.str_], raw: NDArray[np.int64], grid_ids: pd.Series
) -> NDArray[np.int64]:
    """Return per grid row how many more parts than one the rivers and railways divide its
    buildings into (:func:`gridgen.partition.measures.grid_barrier_straddles`; 0: none)."""
    if dataset.layer("barriers").empty:
        return np.zeros(len(grid_ids), dtype=np.int64)
    held = raw >= 0
    assignment = pd.DataFrame(
        {
            "building_id": dataset.buildings["building_id"].astype(str).to_numpy()[held],
            "grid_id": codes[raw[held]],
        }
    )
    parts = grid_barrier_straddles(dataset, assignment)["parts"]
    return np.asarray(grid_ids.astype(str).map(parts - 1).fillna(0), dtype=np.int64)


def _split_compounds(
    dataset: Dataset,
    layer: GridLayer,
    raw: NDArray[np.int64],
    b_hh: NDArray[np.int64],
    *,
    band_max: int,
) -> gpd.GeoDataFrame:
    bld = dataset.buildings
    comp = bld["compound_id"].astype(object).to_numpy()
    has = pd.notna(comp) & (raw >= 0)
    has &= np.asarray([str(c) != "" for c in comp], dtype=bool)
    frame = pd.DataFrame({"c": comp[has].astype(str), "g": raw[has], "h": b_hh[has]})
    total = pd.Series(b_hh[pd.notna(comp)], index=comp[pd.notna(comp)].astype(str))
    total_of = {str(k): int(v) for k, v in total.groupby(level=0).sum().items()}
    per = frame.groupby(["c", "g"])["h"].sum().reset_index()
    n_grids = per.groupby("c")["g"].nunique()
    split = set(n_grids[n_grids > 1].index)
    cmp = dataset.metric("compounds")
    geom_of = dict(zip(cmp["compound_id"].astype(str), cmp.geometry, strict=True))
    comm_of = (
        dict(zip(cmp["compound_id"].astype(str), cmp["community_id"].astype(str), strict=True))
        if "community_id" in cmp.columns
        else {}
    )
    rows: list[dict[str, Any]] = []
    sp = per[per["c"].isin(split)].sort_values(["c", "h", "g"], ascending=[True, False, True])
    cs = sp["c"].to_numpy()
    gs, hs = sp["g"].to_numpy().tolist(), sp["h"].to_numpy().tolist()
    starts = [0, *(np.flatnonzero(cs[1:] != cs[:-1]) + 1).tolist(), len(cs)]
    for a, b in itertools.pairwise(starts):
        if a == b:
            continue
        c = str(cs[a])
        shares = {str(layer.codes[gs[i]]): int(hs[i]) for i in range(a, b)}
        rows.append(
            {
                "compound_id": c,
                "community_id": comm_of.get(c, ""),
                "households": total_of.get(c, 0),
                "n_grids": len(shares),
                "grids": json.dumps(shares, ensure_ascii=False),
                "allowed": total_of.get(c, 0) > band_max,
                "geometry": geom_of.get(c, shapely.Polygon()),
            }
        )
    columns = ["compound_id", "community_id", "households", "n_grids", "grids", "allowed"]
    if not rows:
        empty = {k: pd.Series([], dtype=object) for k in columns}
        empty["allowed"] = pd.Series([], dtype=bool)
        return gpd.GeoDataFrame(
            empty, geometry=gpd.GeoSeries([], crs=dataset.metric_crs), crs=dataset.metric_crs
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=dataset.metric_crs)
