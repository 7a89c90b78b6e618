"""Buildings a coverage result leaves uncovered (one definition for every output).

The service's ``uncovered_buildings`` layer (buildings outside every station's walking
radius) and the ``uncovered_buildings`` layer of ``gridgen site`` (buildings still
uncovered after the proposed sites) are both :func:`uncovered_buildings` of a coverage
frame; only the coverage they are given differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import geopandas as gpd
import pandas as pd

from gridgen.dataset import Dataset

CARRIED_COLUMNS: tuple[str, ...] = ("distance_m", "station_id")
"""Coverage columns copied onto the uncovered buildings when the coverage has them."""


def uncovered_buildings(
    dataset: Dataset, coverage: pd.DataFrame, *, columns: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Return the buildings ``coverage`` does not mark covered (EPSG:4326, rows renumbered).

    Parameters
    ----------
    dataset
        The dataset whose buildings are selected.
    coverage
        One row per building with ``building_id`` and ``covered`` (as returned by
        :func:`gridgen.coverage.stations.station_coverage`); a building missing from it,
        or with ``covered`` unknown, counts as uncovered.
    columns
        Building columns to keep (default: all); ``distance_m`` and ``station_id`` are
        added when ``coverage`` has them.
    """
    b = dataset.buildings
    by_id = coverage.set_index(coverage["building_id"].astype(str))
    ids = b["building_id"].astype(str)
    flag = ids.map(by_id["covered"]).astype("boolean").fillna(False).to_numpy(dtype=bool)
    keep = list(b.columns) if columns is None else [c for c in columns if c in b.columns]
    out = pd.DataFrame(b[[c for c in keep if c != b.geometry.name]])
    if "distance_m" in by_id.columns:
        out["distance_m"] = ids.map(by_id["distance_m"]).astype("Float64")
    if "station_id" in by_id.columns:
        out["station_id"] = ids.map(by_id["station_id"])
    out = out.loc[~flag].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=b.geometry[~flag].reset_index(drop=True), crs=b.crs)


def coverage_of_uncovered_ids(dataset: Dataset, uncovered_ids: Iterable[str]) -> pd.DataFrame:
    """Return a coverage frame marking every building covered except ``uncovered_ids``."""
    ids = dataset.buildings["building_id"].astype(str)
    return pd.DataFrame({"building_id": ids, "covered": ~ids.isin(set(uncovered_ids))})
