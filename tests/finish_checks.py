"""Checks every producer's grids must pass (the finishing step's promises), for tests."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from gridgen.dataset import Dataset
from gridgen.io.crs import wgs84_to_bd09, wgs84_to_gcj02
from gridgen.partition.finish import FOOTPRINT_SLACK_M2, SPECK_M2
from gridgen.partition.plan import Plan


def _convert(geoms: np.ndarray, target: str, metric: object) -> np.ndarray:
    if target in ("gcj02", "bd09"):
        func = wgs84_to_gcj02 if target == "gcj02" else wgs84_to_bd09
    else:
        crs = metric if target == "metric" else target
        func = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform

    def apply(xy: np.ndarray) -> np.ndarray:
        x, y = func(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, apply), dtype=object)


def assert_finished(
    ds: Dataset, plan: Plan, communities: list[str] | None = None, *, what: str = ""
) -> None:
    """Assert exact tiling (detached pieces included), validity everywhere, footprints inside.

    Every community (or those named) is covered by its grids with no gap and no overlap
    (1e-4 of its area, 1 m²); no grid is a speck of under 1 m²; every grid is valid in
    EPSG:4326, the metric CRS, EPSG:3857, CGCS2000, GCJ-02 and BD-09; a grid in several
    parts has each part in a separate piece of its community; every building's footprint
    lies inside the grid it is assigned to.
    """
    comms = ds.metric("communities")
    grids = plan.grids.to_crs(ds.metric_crs)
    specks = grids["grid_id"][shapely.area(grids.geometry.to_numpy()) < SPECK_M2].tolist()
    assert not specks, (what, "grids of under 1 m² (rounding specks)", specks)
    ids = comms["community_id"].astype(str).to_numpy()
    for cid, comm in zip(ids, comms.geometry, strict=True):
        if communities is not None and cid not in communities:
            continue
        g = grids.geometry[grids["community_id"].astype(str) == cid].to_numpy()
        union = shapely.union_all(g)
        gap = shapely.area(shapely.symmetric_difference(union, comm)) / comm.area
        assert gap <= 1e-4, (cid, gap)
        assert float(shapely.area(g).sum() - union.area) <= 1.0, cid
        pieces = shapely.get_parts(comm)
        for geom in g:
            parts = shapely.get_parts(geom)
            if len(parts) > 1:
                homes = [
                    int(np.argmax(shapely.area(shapely.intersection(pieces, p)))) for p in parts
                ]
                assert len(set(homes)) == len(homes), (cid, "grid in pieces inside one piece")
    wgs = plan.grids.geometry.to_numpy()
    assert shapely.is_valid(wgs).all()
    for target in ("metric", "EPSG:3857", "EPSG:4490", "gcj02", "bd09"):
        bad = ~shapely.is_valid(_convert(wgs, target, ds.metric_crs))
        assert not bad.any(), (target, plan.grids["grid_id"][bad].tolist())
    bld = ds.metric("buildings")
    grid_geom = dict(zip(plan.grids["grid_id"].astype(str), grids.geometry, strict=True))
    a = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    comm_of = bld["community_id"].astype(str).to_numpy()
    for b, fp, c in zip(bld["building_id"].astype(str), bld.geometry, comm_of, strict=True):
        if communities is not None and c not in communities:
            continue
        g = grid_geom[a[b]]
        if fp.geom_type in ("Polygon", "MultiPolygon"):
            assert shapely.area(shapely.difference(fp, g)) <= FOOTPRINT_SLACK_M2 + 1e-6, (what, b)
        else:
            assert g.distance(fp) < 1e-6, (what, b)
