"""The tiling check: do a community's grids cover it exactly, without overlaps?

Every producer's output passes it (``gridgen partition``, ``rebalance`` and ``merge-grids``
exit 0 only when the tiling holds: :func:`require_tiling`); the plan metrics report it.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.partition.geometry_memo import remembered

TILING_AREA_TOLERANCE = 1e-4
"""Largest |area(union of grids) Δ area(community)| / area(community) (0.01%)."""
OVERLAP_TOLERANCE = 1.0
"""Largest overlap between two grids of a community, m²."""


def tiling_errors(
    dataset: Dataset, grids: gpd.GeoDataFrame, metric: np.ndarray | None = None
) -> dict[str, tuple[float, float]]:
    """Return per community (relative area error of the union, largest pairwise overlap m²)
    (``metric``: the grids in the metric CRS, when the caller has them)."""
    geoms = grids.to_crs(dataset.metric_crs).geometry.to_numpy() if metric is None else metric
    cid_col = grids["community_id"].astype(str).to_numpy()
    # a plan's metrics and the check before writing it measure the same grids
    return remembered(
        dataset, "tiling errors", geoms, lambda: _errors(dataset, geoms, cid_col), also=cid_col
    )


def _errors(
    dataset: Dataset, geoms: np.ndarray, cid_col: np.ndarray
) -> dict[str, tuple[float, float]]:
    """Return :func:`tiling_errors` of the grids ``geoms`` (metric CRS) of ``cid_col``."""
    comms = dataset.metric("communities")
    out: dict[str, tuple[float, float]] = {}
    comm_ids = comms["community_id"].astype(str).to_numpy()
    for cid in sorted(set(cid_col)):
        g = geoms[cid_col == cid]
        hit = np.flatnonzero(comm_ids == cid)
        if len(hit) == 0:
            out[cid] = (math.inf, 0.0)
            continue
        comm = shapely.make_valid(comms.geometry.iloc[int(hit[0])])
        union, overlap = _union_and_overlap(g)
        err = float(shapely.area(shapely.symmetric_difference(union, comm))) / max(
            float(shapely.area(comm)), 1e-9
        )
        out[cid] = (err, overlap)
    return out


def _union_and_overlap(grids: np.ndarray) -> tuple[BaseGeometry, float]:
    """Return the union of ``grids`` and the largest overlap of two of them (m²).

    Grids whose shared edges match vertex for vertex (a valid coverage, as the finishing
    step draws them: ``shapely.coverage_is_valid``) overlap nowhere and are unioned as a
    coverage, ~3x faster than the overlay union and the pairwise overlaps they need else.
    """
    if shapely.coverage_is_valid(grids):
        return shapely.coverage_union_all(grids), 0.0
    tree = shapely.STRtree(grids)
    a, b = tree.query(grids, predicate="overlaps")
    sel = a < b
    ov = shapely.area(shapely.intersection(grids[a[sel]], grids[b[sel]])) if sel.any() else [0.0]
    return shapely.union_all(grids), float(np.max(ov))


def require_tiling(dataset: Dataset, grids: gpd.GeoDataFrame) -> None:
    """Raise :class:`gridgen.errors.TilingError` naming every community the grids fail to tile.

    The tolerances are :data:`TILING_AREA_TOLERANCE` (relative area of the symmetric
    difference between the union of a community's grids and the community) and
    :data:`OVERLAP_TOLERANCE` (largest overlap of two of its grids, m²).
    """
    from gridgen.errors import TilingError

    bad = {
        cid: (err, ov)
        for cid, (err, ov) in tiling_errors(dataset, grids).items()
        if err > TILING_AREA_TOLERANCE or ov > OVERLAP_TOLERANCE
    }
    if bad:
        detail = "; ".join(
            f"community {cid}: area off by {err:.2%}, overlap {ov:.1f} m²"
            for cid, (err, ov) in sorted(bad.items())[:10]
        )
        msg = (
            f"the grids do not tile {len(bad)} communit{'y' if len(bad) == 1 else 'ies'} "
            f"({detail}); nothing was written: check those communities' outlines "
            "(gridgen validate) and report the case"
        )
        raise TilingError(msg)
