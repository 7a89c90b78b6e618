"""Refreshing a dataset's households from a population ledger (一标三实), by placement.

A 楼栋台账 names buildings by id (:mod:`gridgen.validate.ledger`); a 一标三实 ledger has one
row per household and no ids of ours. :func:`refresh_households` places its rows on the
dataset's own buildings exactly as ``gridgen ingest`` places them on footprints (compound
outlines by name, door-plate coordinates; :mod:`gridgen.ingest.matching`), and sets the
households (distinct rooms) and residents of every building the ledger reaches. Buildings
it does not reach keep their values (they are counted). The result is validated again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.errors import LedgerError
from gridgen.ingest.addresses import compound_key, texts
from gridgen.ingest.ledger import Ledger
from gridgen.ingest.matching import match_ledger
from gridgen.ingest.placement import Footprints, Outlines
from gridgen.ingest.report import MatchReport, match_report
from gridgen.schema import DERIVED_COLUMNS


@dataclass(frozen=True)
class HouseholdRefresh:
    """A dataset refreshed from a household ledger, the match report, buildings not reached."""

    dataset: Dataset
    report: MatchReport
    not_reached: int


def refresh_households(
    dataset: Dataset, ledger: Ledger, *, name: str | None = None
) -> HouseholdRefresh:
    """Return ``dataset`` with households and residents from ``ledger``, validated again.

    Raises
    ------
    LedgerError
        No row of the ledger reaches a building (nothing would change).
    """
    from gridgen.validate.layers import validate_layers

    metric = dataset.metric_crs
    buildings = dataset.buildings.reset_index(drop=True)
    compounds = dataset.compounds.reset_index(drop=True)
    outlines = Outlines(
        np.asarray(compounds.to_crs(metric).geometry.values, dtype=object),
        [compound_key(n) for n in texts(compounds["name"])] if "name" in compounds else [],
    )
    position = {cid: i for i, cid in enumerate(compounds["compound_id"].astype(str))}
    aoi = np.array([position.get(str(c), -1) for c in buildings["compound_id"]], dtype=np.int64)
    none: list[str | None] = [None] * len(buildings)
    fps = Footprints(
        ids=buildings["building_id"].astype(str).to_numpy(dtype=object),
        geometry=np.asarray(buildings.to_crs(metric).geometry.values, dtype=object),
        place=none,
        building=list(none),
        aoi=aoi,
    )
    district = shapely.union_all(dataset.communities.to_crs(metric).geometry.values)
    matching = match_ledger(ledger.frame, fps, outlines, district=district, metric=metric)
    if matching.buildings.empty:
        msg = (
            f"ledger {name or ''}: none of its {ledger.rows} rows reaches a building of the "
            "dataset (no coordinates on a building, no compound name of the dataset); check "
            "--ledger-crs and the compound names"
        ).replace("ledger : ", "ledger: ")
        raise LedgerError(msg)
    totals = matching.buildings.set_index("building_id")
    ids = buildings["building_id"].astype(str)
    reached = ids.isin(totals.index).to_numpy()
    out = buildings.copy()
    for col in ("households", "residents"):
        new = totals[col].reindex(ids).to_numpy()
        old = (
            pd.to_numeric(out[col], errors="coerce").to_numpy()
            if col in out
            else np.full(len(out), np.nan)
        )
        values = np.round(np.where(reached, new, old).astype(float))
        out[col] = pd.array(np.where(np.isnan(values), 0, values).astype(np.int64), dtype="Int64")
        out.loc[np.isnan(values), col] = pd.NA
    raw = {
        lname: (out if lname == "buildings" else frame).drop(
            columns=list(DERIVED_COLUMNS.get(lname, ())), errors="ignore"
        )
        for lname, frame in dataset.layers.items()
    }
    checked = validate_layers(raw, source=name or dataset.name)
    report = match_report(
        matching,
        footprints=len(buildings),
        ledger={"rows": ledger.rows, "header_row": ledger.header_row, "columns": ledger.columns,
                "ignored": list(ledger.ignored), "crs": ledger.crs},
    )  # fmt: skip
    return HouseholdRefresh(checked, report, int((~reached).sum()))
