"""What became of every ledger row: groups (:mod:`.placement`) placed (:mod:`.assignment`).

:func:`match_ledger` returns one result per ledger row (``building_id``, ``how``:
coordinate | address | both | duplicate | unmatched, ``reason``) and the households,
residents and rows of every building, so that rows in = matched + duplicates + unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgen.coverage.compound import text_or_none
from gridgen.ingest.addresses import texts
from gridgen.ingest.assignment import REACH_M, place_groups
from gridgen.ingest.placement import Footprints, Outlines, row_groups

HOWS = ("coordinate", "address", "both", "duplicate", "unmatched")
CAUSES: dict[str, str] = {
    "no_building": "no building number in the row or its address",
    "no_compound": "no compound, door plate or outline for the building",
    "no_coordinates": "no usable coordinates and no footprint of that name",
    "no_footprint_near": f"no footprint within {REACH_M:.0f} m of the coordinates",
    "far": "coordinates too far from any footprint",
    "split": "coordinates split between footprints",
    "taken": "the footprint under the coordinates holds another building",
    "named_other": "the footprint under the coordinates is named for another building",
    "blank": "blank row",
}
"""Why a row is unmatched: cause → what it means."""
_ADDRESS_FIRST, _BOTH, _ADDRESS, _COORD = 0, 0, 1, 2


@dataclass(frozen=True)
class Matching:
    """What became of every ledger row, and the buildings' totals.

    Attributes
    ----------
    rows
        One row per ledger row, in order: ``row`` (1-based data row), ``building_id`` (None
        when unmatched), ``how``, ``reason`` and, for unmatched rows, ``cause`` (one of
        :data:`CAUSES`).
    buildings
        Per matched footprint: ``building_id``, ``households`` (distinct rooms), ``residents``
        (summed), ``rows`` (matched rows, duplicates not counted).
    groups
        Number of (compound, building) groups the rows formed.
    """

    rows: pd.DataFrame
    buildings: pd.DataFrame
    groups: int


def match_ledger(
    frame: pd.DataFrame,
    fps: Footprints,
    outlines: Outlines,
    *,
    district: shapely.Geometry,
    metric: pyproj.CRS,
) -> Matching:
    """Return what became of every row of a normalised ledger frame.

    ``frame`` is :attr:`gridgen.ingest.ledger.Ledger.frame`; ``district`` the union of the
    communities (metric CRS ``metric``), outside which coordinates are ignored.
    """
    n = len(frame)
    notes = texts(frame["note"])
    duplicate = frame["duplicate_of"].notna().to_numpy()
    blank = np.array([note == "blank row" for note in notes], dtype=bool)
    active = ~duplicate & ~blank
    groups = row_groups(
        frame, active=active, district=district, outlines=outlines, metric=metric, notes=notes
    )
    outcome = place_groups(groups, fps)
    building = np.full(n, None, dtype=object)
    how = np.full(n, "unmatched", dtype=object)
    reason = np.array(notes, dtype=object)
    cause = np.full(n, None, dtype=object)
    g = groups.of_row
    grouped = g >= 0
    fp = np.where(grouped, outcome.footprint[np.maximum(g, 0)], -1)
    placed = fp >= 0
    building[placed] = fps.ids[fp[placed]]
    how[placed] = np.asarray(outcome.how, dtype=object)[g[placed]]
    for i in np.flatnonzero(grouped & ~placed):
        reason[i] = _why(outcome.reason[g[i]], notes[i])
        cause[i] = outcome.cause[g[i]]
    for i in np.flatnonzero(active & ~grouped):
        no_number = text_or_none(frame["building"].iat[int(i)]) is None
        missing = "building number (楼栋)" if no_number else "compound"
        reason[i] = _why(f"no {missing} in the row or its address", notes[i])
        cause[i] = "no_building" if no_number else "no_compound"
    cause[blank] = "blank"
    originals = frame["duplicate_of"].to_numpy(dtype=object)
    for i in np.flatnonzero(duplicate):
        first = int(originals[i]) - 1
        building[i] = building[first]
        how[i] = "duplicate"
        reason[i] = f"same as row {first + 1}"
    rows = pd.DataFrame(
        {
            "row": frame["row"].to_numpy(),
            "building_id": building,
            "how": how,
            "reason": reason,
            "cause": cause,
        }
    )
    return Matching(rows=rows, buildings=_building_totals(frame, rows), groups=len(groups.place))


def _why(reason: str | None, note: str | None) -> str:
    text = reason or "unmatched"
    return f"{text}; {note}" if note else text


def _building_totals(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Return households (distinct rooms), residents and rows per matched building."""
    matched = rows["how"].isin(["coordinate", "address", "both"]).to_numpy()
    sub = pd.DataFrame(
        {
            "building_id": rows["building_id"].to_numpy()[matched],
            "room": frame["room"].to_numpy(dtype=object)[matched],
            "residents": frame["residents"].to_numpy(dtype=object)[matched],
            "position": np.arange(len(frame))[matched],
        }
    )
    sub["residents"] = pd.to_numeric(sub["residents"], errors="coerce").fillna(0).astype(np.int64)
    has_room = sub["room"].notna()
    sub["household"] = np.where(
        has_room, sub["room"].astype(object), "#" + sub["position"].astype(str)
    )
    out = sub.groupby("building_id", sort=True).agg(
        households=("household", "nunique"),
        residents=("residents", "sum"),
        rows=("household", "size"),
    )
    return out.reset_index()
