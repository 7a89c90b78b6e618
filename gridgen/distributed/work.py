"""Partitioning and coverage computed one community (or street) per task.

:func:`coverage_distributed` returns the same result as
:func:`gridgen.coverage.stations.station_coverage` on the whole dataset; the tasks are mapped
with :func:`gridgen.distributed.executor.map_communities` (in process, a local process pool
or a Dask cluster) over the subsets of :mod:`gridgen.distributed.subsets`.
:func:`run_coverage` is the entry point callers use. Task functions
(:func:`coverage_of_block`) are module-level, so they pickle by reference. Partitioning
is :func:`gridgen.partition.community.partition_dataset` with ``executor=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.dataset import Dataset
from gridgen.distributed.executor import Executor, ProgressFn, map_communities
from gridgen.distributed.subsets import (
    CommunityRows,
    SpatialIndex,
    check_halo,
    community_rows,
    coverage_blocks,
    subset_dataset,
    without_restricted,
)
from gridgen.errors import ClusterError, ParameterError

HALO_GROWTH = 4.0
"""Factor by which the halo grows for buildings not settled by the previous one."""


COVERAGE_LAYERS: tuple[str, ...] = ("buildings", "stations", "roads")
"""The layers :func:`gridgen.coverage.stations.station_coverage` reads."""


@dataclass
class HaloInput:
    """What coverage tasks receive: the whole dataset and each community's rows."""

    dataset: Dataset
    rows: dict[str, CommunityRows]
    _index: SpatialIndex | None = field(default=None, repr=False)

    def index(self) -> SpatialIndex:
        """Return the spatial index of the dataset (built on first use, per process)."""
        if self._index is None:
            self._index = SpatialIndex.of(self.dataset)
        return self._index

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the index: rebuilding it is cheaper than sending it."""
        return {"dataset": self.dataset, "rows": self.rows, "_index": None}


def coverage_rows(
    dataset: Dataset, rows: CommunityRows, *, radius: float, mode: str
) -> gpd.GeoDataFrame:
    """Return the station coverage of the subset ``rows``, indexed by row."""
    from gridgen.coverage.stations import station_coverage

    sub = subset_dataset(dataset, rows, layers=COVERAGE_LAYERS)
    cov = station_coverage(sub, radius=radius, mode=mode)
    cov.index = pd.Index(rows.buildings)
    return cov


def coverage_of_block(
    payload: HaloInput, community_id: str, *, radius: float, mode: str
) -> gpd.GeoDataFrame:
    """Return the coverage of one task's buildings, equal to the whole-dataset result.

    ``community_id`` is a key of ``payload.rows``: a community or a block of them.

    Buildings not settled within the halo (distance above it, or no station reached) are
    recomputed with a halo :data:`HALO_GROWTH` times larger around just them.
    """
    ds = payload.dataset
    rows = payload.rows[community_id]
    cov = coverage_rows(ds, rows, radius=radius, mode=mode)
    halo = rows.halo_m
    complete = rows.complete
    while True:
        dist = cov["distance_m"].to_numpy(dtype=float, na_value=np.inf)
        pending = cov.index.to_numpy()[~(dist <= halo)]
        if complete or len(pending) == 0:
            return cov
        halo = max(halo, 1.0) * HALO_GROWTH
        again = community_rows(
            ds,
            [community_id],
            halo_m=halo,
            index=payload.index(),
            buildings={community_id: pending},
        )[community_id]
        redo = coverage_rows(ds, again, radius=radius, mode=mode)
        cov = pd.concat([cov.drop(index=pending), redo]).loc[cov.index]
        complete = again.complete


def default_halo(radius: float) -> float:
    """Return the default coverage halo: twice the radius (settles most uncovered buildings too)."""
    return 2.0 * float(radius)


def coverage_distributed(
    dataset: Dataset,
    *,
    radius: float = DEFAULT_RADIUS_M,
    mode: str = "walk",
    halo_m: float | None = None,
    by: str = "street",
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
) -> gpd.GeoDataFrame:
    """Return :func:`gridgen.coverage.stations.station_coverage`, computed one street at a time.

    Parameters
    ----------
    dataset
        A validated dataset.
    radius, mode
        As for :func:`~gridgen.coverage.stations.station_coverage`.
    halo_m
        Halo around each community (metres, at least ``radius``; default
        :func:`default_halo`). It only changes the speed, not the result.
    by
        One task per ``street`` (default) or per ``community`` (:func:`coverage_blocks`);
        only the speed changes.
    executor, progress
        As for :func:`~gridgen.distributed.executor.map_communities` (default in process).

    Returns
    -------
    geopandas.GeoDataFrame
        Aligned to ``dataset.buildings``, the same columns and values as
        ``station_coverage(dataset, radius=radius, mode=mode)``.
    """
    from gridgen.coverage.stations import MODES, check_choice, check_radius

    radius = check_radius(radius)
    check_choice(mode, MODES, name="mode")
    halo = default_halo(radius) if halo_m is None else check_halo(halo_m)
    if halo < radius:
        msg = f"halo_m ({halo:g} m) must be at least the radius ({radius:g} m)"
        raise ParameterError(msg)
    blocks = coverage_blocks(dataset, by=by)
    shipped = without_restricted(dataset)
    payload = HaloInput(shipped, community_rows(shipped, blocks, halo_m=halo))
    parts = map_communities(
        coverage_of_block,
        payload,
        list(blocks),
        executor=executor,
        progress=progress,
        radius=radius,
        mode=mode,
    )
    return assemble_coverage(dataset, parts)


def assemble_coverage(dataset: Dataset, parts: Sequence[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Return the per-community coverage frames as one frame aligned to ``dataset.buildings``."""
    n = len(dataset.buildings)
    kept = [p for p in parts if len(p)]
    if not kept:
        from gridgen.coverage.stations import station_coverage

        return station_coverage(dataset, radius=1.0, mode="line").iloc[0:0]
    cov = pd.concat(kept)
    positions = cov.index.to_numpy()
    if len(cov) != n or len(np.unique(positions)) != n:
        msg = f"coverage parts hold {len(cov)} rows for {n} buildings: a community task is wrong"
        raise ClusterError(msg)
    cov = cov.sort_index()
    cov.index = dataset.buildings.index
    return gpd.GeoDataFrame(cov, geometry="geometry", crs=dataset.buildings.crs)


def run_coverage(
    dataset: Dataset,
    *,
    radius: float = DEFAULT_RADIUS_M,
    mode: str = "walk",
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
) -> gpd.GeoDataFrame:
    """Return the station coverage of ``dataset`` computed on ``executor``.

    The entry point of the CLI, the service and the demo: in this process it is
    :func:`gridgen.coverage.stations.station_coverage` on the whole dataset (one walking
    network, no halo to settle); on a process pool or a Dask cluster it is
    :func:`coverage_distributed` (one task per street). The result is the same.
    """
    from gridgen.coverage.stations import station_coverage

    if executor is None or executor.kind == "in_process":
        return station_coverage(dataset, radius=radius, mode=mode)
    return coverage_distributed(
        dataset, radius=radius, mode=mode, executor=executor, progress=progress
    )
