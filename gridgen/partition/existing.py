"""Existing grids (polygons with codes, no assignment) turned into assignments and plans.

Buildings go to the grid that holds the majority of their footprint (points: the grid
that contains them); a compound goes, whole, to the grid holding the majority of its
households (compounds above the band maximum may span grids, building by building). A
grid belongs to the community it overlaps most.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.errors import UnknownCRSError
from gridgen.io.crs import WGS84, frame_to_wgs84, parse_crs
from gridgen.partition.codes import CodeBook, CodeScheme, scheme_for
from gridgen.partition.lifecycle import dated_grids, layer_codes
from gridgen.partition.plan import Plan, Problem, checked_band, grid_table, plan_metrics
from gridgen.rules import RuleKind

MIN_FIT = 0.5
"""Share of a grid layer's area that must fall inside the communities (else wrong CRS)."""

IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class GridLayer:
    """A grid layer placed on a dataset (metric CRS, one row per code).

    Attributes
    ----------
    codes
        Grid codes (unique; polygons sharing a code are one, possibly multipart, grid).
    geoms
        Grid geometry in the dataset's metric CRS, made valid.
    valid, reasons
        Whether the input geometry of each grid was valid, and why not (GEOS's reason).
    duplicates
        Codes that appeared on more than one row.
    community
        The community each grid overlaps most (empty string when none).
    """

    codes: NDArray[np.object_]
    geoms: NDArray[np.object_]
    valid: NDArray[np.bool_]
    reasons: tuple[str, ...]
    duplicates: tuple[str, ...]
    community: NDArray[np.object_]
    pairs: tuple[IntArray, IntArray, NDArray[np.float64]] = field(
        default=(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    )
    """(grid, community row, area m²) for every grid and community that intersect."""


def community_overlaps(
    geoms: NDArray[np.object_], c_geom: NDArray[np.object_]
) -> tuple[IntArray, IntArray, NDArray[np.float64]]:
    """Return (grid, community, shared area) pairs; grids inside a community skip overlays."""
    tree = shapely.STRtree(c_geom)
    gi, ci = tree.query(geoms, predicate="intersects")
    area = np.zeros(len(gi))
    wg, wc = tree.query(geoms, predicate="within")
    inside = set(zip(wg.tolist(), wc.tolist(), strict=True))
    mask = np.fromiter(
        ((g, c) in inside for g, c in zip(gi.tolist(), ci.tolist(), strict=True)),
        dtype=bool,
        count=len(gi),
    )
    area[mask] = shapely.area(geoms[gi[mask]])
    rest = ~mask
    if rest.any():
        area[rest] = shapely.area(shapely.intersection(geoms[gi[rest]], c_geom[ci[rest]]))
    return gi.astype(np.int64), ci.astype(np.int64), area


def _fit(dataset: Dataset, grids: gpd.GeoDataFrame) -> float:
    """Return the share of the grid layer's area inside the dataset's communities."""
    metric = grids.to_crs(dataset.metric_crs).geometry.to_numpy()
    merged = shapely.union_all(shapely.make_valid(metric))
    total = float(shapely.area(merged))
    if total <= 0:
        return 1.0
    comms = shapely.union_all(shapely.make_valid(dataset.metric("communities").geometry.to_numpy()))
    inside = float(shapely.area(shapely.intersection(merged, comms)))
    return inside / total


def check_grid_extent(dataset: Dataset, grids: gpd.GeoDataFrame, *, source: str = "grids") -> None:
    """Refuse a grid layer (WGS84) that does not lie on the dataset (a wrong CRS).

    Raises
    ------
    UnknownCRSError
        When less than :data:`MIN_FIT` of the layer's area lies inside the communities, or
        when reading it as GCJ-02/BD-09 would fit the dataset much better.
    """
    _check_lon_lat(grids, source=source)
    if len(grids):
        _check_fit(dataset, grids, _fit(dataset, grids), source=source)


def placed_layer(dataset: Dataset, grids: gpd.GeoDataFrame, *, source: str = "grids") -> GridLayer:
    """Return :func:`grid_layer` of a layer :func:`check_grid_extent` accepts (else raise).

    The share of the layer inside the communities comes from the areas the layer shares
    with each community (:attr:`GridLayer.pairs`), which placing it computes anyway, instead
    of the two unions of :func:`check_grid_extent`: the same check for about nothing.
    """
    _check_lon_lat(grids, source=source)
    layer = grid_layer(dataset, grids)
    if len(grids):
        total = float(np.sum(shapely.area(layer.geoms)))
        fit = float(np.sum(layer.pairs[2])) / total if total > 0 else 1.0
        _check_fit(dataset, grids, fit, source=source)
    return layer


def _check_lon_lat(grids: gpd.GeoDataFrame, *, source: str) -> None:
    """Refuse a layer whose coordinates are not longitude/latitude."""
    x0, y0, x1, y1 = grids.total_bounds if len(grids) else (0.0, 0.0, 0.0, 0.0)
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        msg = (
            f"{source}: coordinates ({x0:.0f}, {y0:.0f}) are not longitude/latitude: the layer "
            "has no CRS or a wrong one; declare it (an EPSG code, gcj02 or bd09)"
        )
        raise UnknownCRSError(msg)


def _check_fit(dataset: Dataset, grids: gpd.GeoDataFrame, fit: float, *, source: str) -> None:
    """Refuse a layer with ``fit`` of its area inside the communities (see
    :func:`check_grid_extent`)."""
    for name in ("gcj02", "bd09") if fit < 0.95 else ():
        alt = _fit(dataset, frame_to_wgs84(grids, parse_crs(name)))
        if alt >= max(fit + 0.2, MIN_FIT):
            msg = (
                f"{source}: only {fit:.0%} of the grid layer lies inside the dataset's "
                f"communities, {alt:.0%} if it is read as {name}: declare its CRS as {name}"
            )
            raise UnknownCRSError(msg)
    if fit < MIN_FIT:
        comms = dataset.communities.total_bounds
        dist = _km_between(grids.total_bounds, comms)
        msg = (
            f"{source}: only {fit:.0%} of the grid layer lies inside the dataset's communities "
            f"(its extent is {dist:.1f} km from theirs): it is in another CRS or of another "
            "place; declare its CRS (an EPSG code, gcj02 or bd09)"
        )
        raise UnknownCRSError(msg)


def _km_between(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    ca = np.array([(a[0] + a[2]) / 2, (a[1] + a[3]) / 2])
    cb = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
    dx = (ca[0] - cb[0]) * 111.32 * np.cos(np.radians((ca[1] + cb[1]) / 2))
    return float(np.hypot(dx, (ca[1] - cb[1]) * 110.57))


def grid_layer(dataset: Dataset, grids: gpd.GeoDataFrame) -> GridLayer:
    """Return the grid layer (WGS84, ``grid_id``) placed on the dataset, one row per code."""
    # validity is judged on the layer as given; the projected copy is made valid quietly
    given = grids.geometry.to_numpy()
    valid_rows = np.asarray(shapely.is_valid(given), dtype=bool)
    fixed_given = given.copy()
    fixed_given[~valid_rows] = _polygonal(shapely.make_valid(given[~valid_rows]))
    metric = gpd.GeoDataFrame(
        {"grid_id": grids["grid_id"].to_numpy()},
        geometry=gpd.GeoSeries(fixed_given, crs=grids.crs),
    ).to_crs(dataset.metric_crs)
    raw = given
    fixed = _polygonal(shapely.make_valid(metric.geometry.to_numpy()))
    codes = metric["grid_id"].astype(str).to_numpy(dtype=object)
    uniq, inv = np.unique(codes, return_inverse=True)
    counts = np.bincount(inv)
    geoms = np.empty(len(uniq), dtype=object)
    valid = np.ones(len(uniq), dtype=bool)
    reasons = [""] * len(uniq)
    for k in range(len(uniq)):
        rows = np.flatnonzero(inv == k)
        geoms[k] = fixed[rows[0]] if len(rows) == 1 else shapely.union_all(fixed[rows])
        valid[k] = bool(valid_rows[rows].all())
        if not valid[k]:
            bad = rows[~valid_rows[rows]]
            reasons[k] = "; ".join(str(shapely.is_valid_reason(raw[r])) for r in bad)
    comms = dataset.metric("communities")
    c_geom = shapely.make_valid(comms.geometry.to_numpy())
    c_ids = comms["community_id"].astype(str).to_numpy(dtype=object)
    gi, ci, area = community_overlaps(geoms, c_geom)
    community = np.full(len(uniq), "", dtype=object)
    best = np.zeros(len(uniq))
    for g, c, a in zip(gi.tolist(), ci.tolist(), area.tolist(), strict=True):
        if a > best[g]:
            best[g], community[g] = a, c_ids[c]
    return GridLayer(
        pairs=(gi, ci, area),
        codes=uniq.astype(object),
        geoms=geoms,
        valid=valid,
        reasons=tuple(reasons),
        duplicates=tuple(str(c) for c in uniq[counts > 1]),
        community=community,
    )


def _polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            out[i] = shapely.Polygon()
        elif g.geom_type in ("Polygon", "MultiPolygon"):
            out[i] = g
        else:
            polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
            out[i] = shapely.union_all(polys) if polys else shapely.Polygon()
    return out


def building_grids(dataset: Dataset, layer: GridLayer) -> tuple[IntArray, NDArray[np.float64]]:
    """Return per building the grid index holding most of its footprint (-1: none) and share.

    Points go to the first grid containing them (share 1). The share is the part of the
    footprint inside that grid (for the audit's gap and overlap households).
    """
    bld = dataset.metric("buildings")
    geoms = bld.geometry.to_numpy()
    n = len(geoms)
    out = np.full(n, -1, dtype=np.int64)
    share = np.zeros(n)
    if n == 0 or len(layer.geoms) == 0:
        return out, share
    # the index holds the footprints and each grid is the query: the grid is prepared once
    # for the footprints near it (2x faster than one prepared footprint per grid nearby)
    tree = shapely.STRtree(geoms)
    gi, bi = tree.query(layer.geoms, predicate="intersects")
    if len(bi) == 0:
        return out, share
    poly = np.isin(shapely.get_type_id(geoms), (3, 6))
    b_area = np.asarray(shapely.area(geoms), dtype=float)
    inter = np.ones(len(bi))
    # most footprints lie inside one grid: only the others need an overlay
    wg, wi = tree.query(layer.geoms, predicate="contains")
    inside = np.zeros(len(bi), dtype=bool)
    if len(wi):
        pair = set(zip(wi.tolist(), wg.tolist(), strict=True))
        inside = np.fromiter(
            ((b, g) in pair for b, g in zip(bi.tolist(), gi.tolist(), strict=True)),
            dtype=bool,
            count=len(bi),
        )
    pp = poly[bi] & ~inside
    if pp.any():
        inter[pp] = shapely.area(shapely.intersection(geoms[bi[pp]], layer.geoms[gi[pp]]))
        inter[pp] /= np.maximum(b_area[bi[pp]], 1e-12)
    order = np.lexsort((gi, -inter, bi))
    first = np.ones(len(order), dtype=bool)
    first[1:] = bi[order][1:] != bi[order][:-1]
    pick = order[first]
    keep = inter[pick] > 0
    out[bi[pick[keep]]] = gi[pick[keep]]
    share[bi[pick[keep]]] = np.minimum(inter[pick[keep]], 1.0)
    return out, share


def compound_majority(dataset: Dataset, grid_of: IntArray, *, band_max: int) -> IntArray:
    """Return ``grid_of`` with every compound (≤ ``band_max`` households) in its majority grid."""
    bld = dataset.buildings
    out = grid_of.copy()
    comp = bld["compound_id"].astype(object).to_numpy()
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(dtype=float)
    frame = pd.DataFrame({"c": comp, "g": grid_of, "h": hh, "n": 1.0})
    frame = frame[frame["c"].notna() & (frame["c"].astype(str) != "")]
    if frame.empty:
        return out
    total = frame.groupby("c")["h"].sum()
    ok = frame[frame["g"] >= 0].groupby(["c", "g"])[["h", "n"]].sum().reset_index()
    ok = ok.sort_values(["c", "h", "n", "g"], ascending=[True, False, False, True])
    major = ok.drop_duplicates("c").set_index("c")["g"]
    small = total[total <= band_max].index
    major = major[major.index.isin(small)]
    sel = frame.index[frame["c"].isin(major.index)]
    out[sel] = frame.loc[sel, "c"].map(major).to_numpy(dtype=np.int64)
    return out


def _duplicate_code_problems(layer: GridLayer) -> list[Problem]:
    """Return one ``duplicate_code`` problem per code found on several polygons of the layer
    (they were taken as one grid: said, never silently)."""
    where = dict(zip(layer.codes.astype(str).tolist(), layer.community.tolist(), strict=True))
    return [
        Problem(
            RuleKind.DUPLICATE_CODE,
            str(where.get(code, "")),
            f"code {code} is on more than one polygon of the layer: they are taken as one grid;"
            " give each grid its own code, or name a column of unique codes (--id-column)",
            grid_id=code,
        )
        for code in layer.duplicates
    ]


def import_grids(
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    *,
    target: int = 300,
    band: tuple[int, int] | None = None,
    source: str = "grids",
    scheme: CodeScheme | None = None,
    on: date | None = None,
) -> Plan:
    """Return an existing grid layer (WGS84, ``grid_id``) as an ordinary :class:`Plan`.

    Buildings in no grid are left out of the assignment and reported (``unassigned``).
    Codes are kept as given, each valid from the layer's ``valid_from`` or else from
    ``on`` (default: today); ``scheme`` (default: the dataset's) is the scheme of codes
    later producers give out.
    """
    lo, hi = checked_band(target, band)
    layer = placed_layer(dataset, grids, source=source)
    raw, _ = building_grids(dataset, layer)
    grid_of = compound_majority(dataset, raw, band_max=hi)
    bld_ids = dataset.buildings["building_id"].astype(str).to_numpy()
    has = grid_of >= 0
    assignment = pd.DataFrame(
        {"building_id": bld_ids[has], "grid_id": layer.codes[grid_of[has]].astype(str)}
    )
    frame = gpd.GeoDataFrame(
        {
            "grid_id": layer.codes.astype(str),
            "community_id": layer.community.astype(str),
            "party_org": False,
            "workers": 1,
        },
        geometry=gpd.GeoSeries(layer.geoms, crs=dataset.metric_crs),
    ).to_crs(WGS84)
    table = grid_table(dataset, frame, assignment, target=target, band=(lo, hi))
    metrics = plan_metrics(
        dataset, table, assignment, target=target, band=(lo, hi), cut_edges=None, measured=True
    )
    comm = dataset.buildings["community_id"].astype(str).to_numpy()
    problems = [
        Problem(
            RuleKind.UNASSIGNED_BUILDING,
            str(comm[i]),
            f"building {bld_ids[i]} lies in no grid of the imported layer",
            building_id=str(bld_ids[i]),
        )
        for i in np.flatnonzero(~has).tolist()
    ]
    problems += _duplicate_code_problems(layer)
    prior = layer_codes(layer.codes, layer.community, grids)
    book = CodeBook(scheme or scheme_for(dataset.communities))
    table, book = dated_grids(table, before=prior, book=book, on=on or date.today())
    return Plan(
        grids=table.sort_values("grid_id", kind="stable").reset_index(drop=True),
        assignment=assignment.sort_values("building_id", kind="stable").reset_index(drop=True),
        metrics=metrics,
        problems=tuple(problems),
        target=int(target),
        band=(lo, hi),
        seed=0,
        codes=book,
    )
