"""Assembling a plan from the communities a producer redrew and the grids it kept.

Rebalance and merge-grids (多网合一) redraw some communities (:class:`Redrawn`: units,
labels, codes, problems and the finished grids) and keep the others' grids as given;
:func:`assemble` joins them into one :class:`~gridgen.partition.plan.Plan` with its grid
table and metrics. Redrawn grids come from the one finishing step (:func:`finished`,
:mod:`gridgen.partition.finish`); kept grids are made valid where they are not, in
EPSG:4326 or after a conversion to an output CRS.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.io.crs import WGS84
from gridgen.partition.audit import Audit, audit_grids
from gridgen.partition.existing import GridLayer
from gridgen.partition.finish import FinishedGrids, finish_grids
from gridgen.partition.lower_bound import ZERO, MoveBound
from gridgen.partition.plan import Plan, Problem, grid_table, plan_metrics
from gridgen.partition.units import UnitGraph
from gridgen.partition.valid_everywhere import to_wgs84, valid_everywhere
from gridgen.rules import RuleKind

IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Redrawn:
    """One touched community after the rebalance (metric CRS)."""

    community_id: str
    units: UnitGraph
    old: IntArray
    labels: IntArray
    codes: list[str]
    problems: list[Problem]
    moved: int
    shapes: NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, dtype=object))
    """The finished grids in EPSG:4326 (index = label; :mod:`gridgen.partition.finish`)."""
    bound: MoveBound = ZERO
    """Households that must change grid for the old grids to reach the band
    (:mod:`gridgen.partition.lower_bound`)."""


def finished(
    dataset: Dataset, units: UnitGraph, labels: IntArray, *, band: tuple[int, int]
) -> FinishedGrids:
    """Return the finished grids of a settled labelling (the one finishing path)."""
    return finish_grids(dataset, units, labels, band=band)


def detached_part_problems(
    units: UnitGraph, done: FinishedGrids, codes: list[str]
) -> list[Problem]:
    """Return a ``detached_part`` problem for every separate community piece a grid holds."""
    return [
        Problem(
            RuleKind.DETACHED_PART,
            units.community_id,
            f"a separate piece of community {units.community_id} ({d.area_m2:.0f} m²) is too "
            f"small for a grid of its own: it belongs to grid {codes[d.label]}, the nearest, "
            "which is therefore in several parts",
            grid_id=codes[d.label],
        )
        for d in done.detached
    ]


def _extra_columns(grids: gpd.GeoDataFrame, codes: list[str]) -> dict[str, list[Any]]:
    """Return party_org / workers of kept codes (defaults for new grids)."""
    out: dict[str, list[Any]] = {}
    for col, default in (("party_org", False), ("workers", 1)):
        if col in grids.columns:
            by = dict(zip(grids["grid_id"].astype(str), grids[col], strict=False))
            out[col] = [by.get(c, default) for c in codes]
        else:
            out[col] = [default] * len(codes)
    return out


def assemble(  # noqa: PLR0917
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    layer: GridLayer,
    redrawn: list[Redrawn],
    dirty: set[str],
    old_code: dict[str, str],
    target: int,
    band: tuple[int, int],
    *,
    cut_before: int | None = None,
) -> tuple[Plan, Audit]:
    """Return the plan joining untouched grids and the redrawn communities, and its audit.

    Untouched grids keep their geometry as given, made valid where it is not, in EPSG:4326
    or after a conversion to an output CRS (:func:`valid_everywhere.valid_everywhere`).
    ``cut_before``: cut edges of the plan before (see :func:`rebalance`). The audit
    (:func:`gridgen.partition.audit.audit_grids`) runs on a second thread while the plan is
    measured: GEOS, which does most of both, releases the GIL, and the processes that
    redrew the communities have stopped, so it takes a core that would idle.
    """
    frame, assignment, cut = _joined(
        dataset, grids, layer, redrawn, dirty, old_code, band, cut_before=cut_before
    )
    frame = frame.sort_values("grid_id", kind="stable").reset_index(drop=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        audited = pool.submit(audit_grids, dataset, frame[["grid_id", "geometry"]], band=band)
        table = grid_table(dataset, frame, assignment, target=target, band=band)
        metrics = plan_metrics(
            dataset, table, assignment, target=target, band=band, cut_edges=cut, measured=True
        )
        audit = audited.result()
    plan = Plan(
        grids=table,
        assignment=assignment.sort_values("building_id", kind="stable").reset_index(drop=True),
        metrics=metrics,
        problems=tuple(p for r in redrawn for p in r.problems),
        target=int(target),
        band=band,
        seed=0,
    )
    return plan, audit


def _joined(  # noqa: PLR0917
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    layer: GridLayer,
    redrawn: list[Redrawn],
    dirty: set[str],
    old_code: dict[str, str],
    band: tuple[int, int],
    *,
    cut_before: int | None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int]:
    """Return the grids (EPSG:4326, valid everywhere), the assignment and the cut edges."""
    from gridgen.partition.plan import cut_edge_count

    keep = np.asarray([c not in dirty and c != "" for c in layer.community], dtype=bool)
    codes = [str(c) for c in layer.codes[keep]]
    comms = [str(c) for c in layer.community[keep]]
    geoms = list(to_wgs84(layer.geoms[keep], dataset.metric_crs))
    kept_codes = set(codes)
    bld = dataset.buildings
    comm_of = bld["community_id"].astype(str).to_numpy()
    clean_a = [
        (b, old_code[b])
        for b, c in zip(bld["building_id"].astype(str).tolist(), comm_of.tolist(), strict=True)
        if c not in dirty and old_code.get(b) in kept_codes
    ]
    rows: list[tuple[str, str]] = list(clean_a)
    cut = 0
    old_cut = 0
    for r in redrawn:
        if r.units.n == 0:
            continue
        codes.extend(r.codes)
        comms.extend([r.community_id] * len(r.codes))
        geoms.extend(list(r.shapes))
        unit_code = np.asarray(r.codes, dtype=object)[r.labels]
        rows.extend(
            zip(
                [str(b) for b in r.units.building_ids],
                unit_code[r.units.building_unit].tolist(),
                strict=True,
            )
        )
        e = r.units.edges
        cut += int(np.sum(r.labels[e[:, 0]] != r.labels[e[:, 1]]))
        oa, ob = r.old[e[:, 0]], r.old[e[:, 1]]
        old_cut += int(np.sum((oa != ob) & (oa >= 0) & (ob >= 0)))
    assignment = pd.DataFrame(rows, columns=["building_id", "grid_id"]).astype(str)
    clean_frame = pd.DataFrame(clean_a, columns=["building_id", "grid_id"]).astype(str)
    if cut_before is not None:
        cut = max(0, cut_before - old_cut + cut)
    elif len(clean_frame):
        cut += cut_edge_count(dataset, clean_frame, band_max=band[1])
    frame = gpd.GeoDataFrame(
        {"grid_id": codes, "community_id": comms, **_extra_columns(grids, codes)},
        geometry=gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=WGS84),
    )
    return _kept_as_given(dataset, grids, frame, int(keep.sum())), assignment, cut


def _kept_as_given(
    dataset: Dataset, grids: gpd.GeoDataFrame, frame: gpd.GeoDataFrame, n_clean: int
) -> gpd.GeoDataFrame:
    """Return ``frame`` whose first ``n_clean`` (untouched) grids have their geometry as
    given (no round trip through metres), made valid where it is not, in every CRS."""
    given = grids.assign(grid_id=grids["grid_id"].astype(str)).drop_duplicates(
        "grid_id", keep=False
    )
    given_geom = dict(zip(given["grid_id"], given.geometry, strict=True))
    codes = frame["grid_id"].tolist()
    frame.iloc[:n_clean, frame.columns.get_loc("geometry")] = [
        given_geom.get(c, g) for c, g in zip(codes[:n_clean], frame.geometry[:n_clean], strict=True)
    ]
    bad = ~frame.geometry.is_valid  # only untouched grids as given can be invalid
    if bad.any():
        frame.loc[bad, "geometry"] = [valid_polygon(x) for x in frame.geometry[bad]]
    if n_clean:
        given_wgs = frame.geometry.to_numpy()[:n_clean]
        frame.iloc[:n_clean, frame.columns.get_loc("geometry")] = list(
            valid_everywhere(given_wgs, dataset.metric_crs, what="grids kept as they were")
        )
    return frame


def valid_polygon(geom: Any) -> Any:
    """Return ``geom`` made valid, without the zero-area slivers make_valid can leave."""
    fixed = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    total = sum(p.area for p in parts)
    keep = [p for p in parts if p.area > 1e-9 * total]
    return shapely.union_all(keep) if keep else fixed
