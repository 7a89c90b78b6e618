"""Partitioning and coverage computed one community (or street) per task.

:func:`coverage_distributed` and :func:`partition_distributed` return the same results as
:func:`gridgen.coverage.stations.station_coverage` and
:func:`gridgen.partition.community.partition_dataset` on the whole dataset;
the tasks are mapped with
:func:`gridgen.distributed.cluster.map_communities` (in process or on a Dask cluster) over the
subsets of :mod:`gridgen.distributed.subsets`. Task functions (:func:`coverage_of_block`,
:func:`gridgen.partition.community.partition_community`) are module-level, so Dask can pickle them
by reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgen.dataset import Dataset
from gridgen.distributed.cluster import ProgressFn, map_communities, scheduler_address
from gridgen.distributed.subsets import (
    CommunityRows,
    SpatialIndex,
    check_halo,
    community_rows,
    coverage_blocks,
    partition_shards,
    subset_dataset,
    without_restricted,
)
from gridgen.errors import ClusterError, ParameterError

if TYPE_CHECKING:
    from distributed import Client

    from gridgen.partition.plan import Plan

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
    radius: float = 500.0,
    mode: str = "walk",
    halo_m: float | None = None,
    by: str = "street",
    scheduler: str | None = None,
    client: Client | None = None,
    progress: ProgressFn | None = None,
) -> gpd.GeoDataFrame:
    """Return :func:`gridgen.coverage.stations.station_coverage`, computed one community at a time.

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
    scheduler, client, progress
        As for :func:`map_communities` (in process when neither is given).

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
        scheduler=scheduler,
        client=client,
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


SHIP_MODES: tuple[str, ...] = ("dataset", "street")
"""How partition_distributed sends its input: whole to every worker, or per street."""


def partition_distributed(
    dataset: Dataset,
    *,
    target: int = 300,
    band: tuple[int, int] | None = None,
    seed: int = 0,
    communities: Sequence[str] | None = None,
    ship: str = "street",
    scheduler: str | None = None,
    client: Client | None = None,
    progress: ProgressFn | None = None,
) -> Plan:
    """Return the grid plan of every community, one community per task, merged.

    Same result as :func:`gridgen.partition.community.partition_dataset` with the same options
    (communities sorted by id, each partitioned by
    :func:`gridgen.partition.community.partition_community` on the whole dataset, which is sent to
    each worker once; ``scheduler``, ``client`` and ``progress`` as for
    :func:`map_communities`).

    ``ship="street"`` (default) sends each street's subset (its communities' buildings,
    compounds and roads, :func:`partition_shards`) to one worker instead of the whole
    dataset to every worker: the network carries the dataset about once in all (it was
    also faster on 2 local workers, bench/RESULTS.md), and tasks run where their street
    is (Dask moves some to idle workers when streets are fewer than workers).
    ``ship="dataset"`` sends the whole dataset to every worker. The plan is the same
    either way, and in process the option changes nothing.
    """
    from gridgen.coverage.stations import check_choice
    from gridgen.partition.community import merge_plans, partition_community
    from gridgen.partition.plan import default_band

    lo_hi = default_band(target, band)
    ids = (
        sorted(dataset.communities["community_id"].astype(str))
        if communities is None
        else [str(c) for c in communities]
    )
    shipped = without_restricted(dataset)
    check_choice(ship, SHIP_MODES, name="ship")
    on_cluster = client is not None or scheduler_address(scheduler) is not None
    # in process there is nothing to ship: the split would only cost time
    payload: Any = partition_shards(shipped, ids) if ship == "street" and on_cluster else shipped
    plans = map_communities(
        partition_community,
        payload,
        ids,
        scheduler=scheduler,
        client=client,
        progress=progress,
        target=target,
        band=lo_hi,
        seed=seed,
    )
    return merge_plans(plans, target=target, band=lo_hi, seed=seed)
