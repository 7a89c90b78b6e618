"""How well an ingest recovered a raw district: the figures of issue 21, against the truth.

The truth (``truth/`` beside the raw files, see :mod:`gridgen.sample.raw_files`) says which
building every ledger row belongs to, which buildings have no footprint, which rows are
duplicates and where the communities are. :func:`ingest_accuracy` compares an ingest's
dataset and match report with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridgen.dataset import Dataset

MATCHED = ("coordinate", "address", "both")


def ingest_accuracy(dataset: Dataset, rows: pd.DataFrame, truth: str | Path) -> dict[str, Any]:
    """Return the accuracy figures of an ingest (``rows``: the match report's rows).

    Keys: ``rows``, ``wrong_building_share`` (rows matched to another building than their
    own, of all rows), ``buildings``, ``buildings_exact_share`` (buildings with a footprint
    and households whose households are exactly right), ``missing_rows``,
    ``missing_unmatched_share``, ``duplicates``, ``duplicates_found_share``,
    ``community_max_offset_m`` and the matched/unmatched shares.
    """
    folder = Path(truth)
    t_rows = pd.read_csv(folder / "rows.csv", dtype=str, keep_default_na=False)
    t_build = pd.read_csv(folder / "buildings.csv", dtype={"building_id": str, "footprint": str})
    footprint_of = dict(zip(t_build["building_id"], t_build["footprint"], strict=True))
    merged = t_rows.merge(rows, left_on=t_rows["row"].astype(int), right_on="row", how="left")
    truth_fp = merged["building_id_x"].map(footprint_of)
    got = merged["building_id_y"].astype(object)
    matched = merged["how"].isin(MATCHED).to_numpy()
    own = (merged["kind"] == "household").to_numpy() & (truth_fp.to_numpy() == got.to_numpy())
    wrong = matched & ~own
    missing = (merged["kind"] == "missing_building").to_numpy()
    dup = (merged["kind"] == "duplicate").to_numpy()
    b = dataset.buildings.set_index("building_id")["households"]
    present = t_build[t_build["present"].astype(str).str.lower() == "true"]
    present = present[present["households"] > 0]
    got_hh = b.reindex(present["footprint"]).fillna(-1).astype(int).to_numpy()
    exact = got_hh == present["households"].to_numpy()
    return {
        "rows": len(merged),
        "matched_share": float(matched.mean()),
        "unmatched_share": float((merged["how"] == "unmatched").mean()),
        "wrong_building_rows": int(wrong.sum()),
        "wrong_building_share": float(wrong.mean()),
        "buildings": len(present),
        "buildings_exact_share": float(exact.mean()) if len(present) else 1.0,
        "missing_rows": int(missing.sum()),
        "missing_unmatched_share": float((merged["how"][missing] == "unmatched").mean())
        if missing.any()
        else 1.0,
        "duplicates": int(dup.sum()),
        "duplicates_found_share": float((merged["how"][dup] == "duplicate").mean())
        if dup.any()
        else 1.0,
        "community_max_offset_m": community_offset(dataset, folder / "communities.gpkg"),
    }


def community_offset(dataset: Dataset, truth_path: Path) -> float:
    """Return the largest Hausdorff distance (m) between a community and its true shape."""
    truth = pyogrio.read_dataframe(truth_path)
    metric = dataset.metric_crs
    got = dataset.communities.to_crs(metric).set_index("community_id").geometry
    want = truth.to_crs(metric).set_index("community_id").geometry
    common = want.index.intersection(got.index)
    if len(common) != len(want):
        return float("inf")
    d = shapely.hausdorff_distance(got.loc[common].values, want.loc[common].values)
    return float(np.max(d))
