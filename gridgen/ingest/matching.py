"""The vote and the assignment of :mod:`gridgen.ingest.placement`, and what each row became.

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
from numpy.typing import NDArray

from gridgen.coverage.compound import text_or_none
from gridgen.ingest.addresses import texts
from gridgen.ingest.placement import (
    MARGIN,
    MIN_SHARE,
    NEAR_M,
    NEAR_SHARE,
    ON_M,
    REACH_M,
    TIE_M,
    Footprints,
    Groups,
    Outlines,
    row_groups,
)

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


def coordinate_votes(groups: Groups, fps: Footprints) -> pd.DataFrame:
    """Return the vote of each group for each footprint within reach.

    A point gives at most one vote: all of it when it lies on a footprint (within
    :data:`ON_M`), less the farther its nearest footprint is (none at :data:`REACH_M`),
    shared between the footprints within reach by ``exp(-(d - d_nearest) / TIE_M)``, so
    a footprint a few metres farther than the nearest gets little.

    Returns
    -------
    DataFrame
        ``g`` (group), ``f`` (footprint), ``score`` (votes), ``nearest`` (metres),
        ``near`` (points within :data:`NEAR_M`).
    """
    empty = pd.DataFrame({"g": [], "f": [], "score": [], "nearest": [], "near": []})
    if len(groups.points) == 0 or len(fps.geometry) == 0:
        return empty
    tree = shapely.STRtree(fps.geometry)
    pi, fj = tree.query(groups.points, predicate="dwithin", distance=REACH_M)
    g = groups.point_group[pi]
    outline = groups.outline[g]
    ok = (outline < 0) | (fps.aoi[fj] == outline)
    pi, fj, g = pi[ok], fj[ok], g[ok]
    d = shapely.distance(groups.points[pi], fps.geometry[fj])
    nearest = pd.Series(d).groupby(pi).transform("min").to_numpy()
    closeness = np.exp(-(d - nearest) / TIE_M)
    share = closeness / pd.Series(closeness).groupby(pi).transform("sum").to_numpy()
    reach = np.clip((REACH_M - nearest) / (REACH_M - ON_M), 0.0, 1.0)
    votes = pd.DataFrame({"g": g, "f": fj, "w": reach * share, "d": d, "near": d <= NEAR_M})
    out = votes.groupby(["g", "f"], sort=False).agg(
        score=("w", "sum"), nearest=("d", "min"), near=("near", "sum")
    )
    return out.reset_index()


def _contradicts(groups: Groups, g: int, fps: Footprints, f: int) -> bool:
    """Return whether footprint ``f``'s own name names another building than group ``g``."""
    fb, fp = fps.building[f], fps.place[f]
    if fb is not None and fb != groups.building[g]:
        return True
    gp = groups.place[g]
    return fp is not None and gp is not None and fp != gp and fp not in gp and gp not in fp


def _label(groups: Groups, g: int) -> str:
    place, building = groups.place[g], groups.building[g]
    return f"{place}{building}" if building == "" else f"{place} {building}"


@dataclass
class _Outcome:
    footprint: NDArray[np.int64]
    how: list[str]
    reason: list[str | None]
    cause: list[str | None]


def _address_index(fps: Footprints) -> dict[tuple[str, str], int]:
    seen: dict[tuple[str, str], list[int]] = {}
    for f, (p, b) in enumerate(zip(fps.place, fps.building, strict=True)):
        if p is not None and b is not None:
            seen.setdefault((p, b), []).append(f)
    return {k: v[0] for k, v in seen.items() if len(v) == 1}


def _candidate_pairs(
    groups: Groups, fps: Footprints, votes: pd.DataFrame
) -> tuple[list[tuple[int, float, int, int]], dict[int, dict[int, float]]]:
    """Return (priority, -score, group, footprint) pairs to take in order, and votes by group."""
    by_group: dict[int, dict[int, float]] = {}
    for g, f, s in zip(votes["g"].to_numpy(), votes["f"].to_numpy(), votes["score"], strict=True):
        by_group.setdefault(int(g), {})[int(f)] = float(s)
    pairs: list[tuple[int, float, int, int]] = []
    named = _address_index(fps)
    for g in range(len(groups.place)):
        f = named.get((str(groups.place[g]), str(groups.building[g])), -1)
        if f < 0:
            continue
        cand = by_group.get(g, {})
        best = max(cand, key=lambda k: cand[k]) if cand else -1
        agrees = best == f and cand[f] >= MIN_SHARE * max(1, int(groups.point_count[g]))
        pairs.append((_BOTH if agrees else _ADDRESS, -cand.get(f, 0.0), g, f))
    for g, cand in by_group.items():
        pairs.extend(
            (_COORD, -s, g, f) for f, s in cand.items() if not _contradicts(groups, g, fps, f)
        )
    pairs.sort()
    return pairs, by_group


def _verdict(
    g: int, f: int, score: float, *, strict: bool, ctx: _Context
) -> tuple[str, str] | None:
    """Return (cause, reason) why group ``g`` may not take free footprint ``f``, or None.

    Strict (first pass): ``f`` needs :data:`MIN_SHARE` of the group's possible vote.
    Second pass, for groups left over once the strong claims are taken: ``f`` needs
    :data:`NEAR_SHARE` of the group's points within :data:`NEAR_M` (door plates in the
    yard in front of it). Both need :data:`MARGIN` times the next free footprint's vote.
    """
    groups, fps = ctx.groups, ctx.fps
    possible = max(1, int(groups.point_count[g]))
    runner = max(
        (
            s
            for k, s in ctx.by_group[g].items()
            if k != f and k not in ctx.taken and not _contradicts(groups, g, fps, k)
        ),
        default=0.0,
    )
    near = ctx.near.get((g, f), 0)
    if score < MIN_SHARE * possible and (strict or near < NEAR_SHARE * possible):
        return "far", (
            f"its coordinates lie too far from the footprints (best {fps.ids[f]}: "
            f"{score / possible:.0%} of the vote, {near} of {possible} points within "
            f"{NEAR_M:.0f} m)"
        )
    if score < MARGIN * runner:
        return "split", (
            f"its coordinates split between {fps.ids[f]} and another footprint "
            f"({score / possible:.0%} against {runner / possible:.0%} of the vote)"
        )
    return None


@dataclass
class _Context:
    groups: Groups
    fps: Footprints
    by_group: dict[int, dict[int, float]]
    near: dict[tuple[int, int], int]
    taken: dict[int, int]


def place_groups(groups: Groups, fps: Footprints) -> _Outcome:
    """Return each group's footprint (-1: none), how it was placed and why not."""
    n = len(groups.place)
    out = _Outcome(np.full(n, -1, dtype=np.int64), ["unmatched"] * n, [None] * n, [None] * n)
    votes = coordinate_votes(groups, fps)
    pairs, by_group = _candidate_pairs(groups, fps, votes)
    near = {
        (int(g), int(f)): int(k)
        for g, f, k in zip(votes["g"], votes["f"], votes["near"], strict=True)
    }
    ctx = _Context(groups, fps, by_group, near, {})
    for strict in (True, False):
        for prio, neg, g, f in pairs:
            if out.footprint[g] >= 0:
                continue
            if f in ctx.taken:
                if not strict:
                    out.cause[g] = "taken"
                    holder = _label(groups, ctx.taken[f])
                    out.reason[g] = f"its coordinates fall on {fps.ids[f]}, which holds {holder}"
                continue
            if prio == _COORD:
                verdict = _verdict(g, f, -neg, strict=strict, ctx=ctx)
                if verdict is not None:
                    if not strict and out.cause[g] is None:
                        out.cause[g], out.reason[g] = verdict
                    continue
            ctx.taken[f] = g
            out.footprint[g] = f
            out.how[g] = ("both", "address", "coordinate")[prio]
            out.reason[g] = out.cause[g] = None
    _explain(groups, fps, votes, by_group, out)
    return out


def _nearest(votes: pd.DataFrame, g: int) -> float:
    sel = votes["g"].to_numpy() == g
    return float(votes["nearest"].to_numpy()[sel].min()) if sel.any() else REACH_M


def _explain(
    groups: Groups,
    fps: Footprints,
    votes: pd.DataFrame,
    by_group: dict[int, dict[int, float]],
    out: _Outcome,
) -> None:
    """Fill the reason of every unmatched group that has none yet."""
    for g in np.flatnonzero(out.footprint < 0):
        if out.reason[g] is not None:
            continue
        label = _label(groups, int(g))
        cand = by_group.get(int(g), {})
        if groups.point_count[g] == 0:
            out.cause[g] = "no_coordinates"
            out.reason[g] = f"no usable coordinates and no footprint named {label}"
        elif not cand:
            out.cause[g] = "no_footprint_near"
            out.reason[g] = f"no footprint within {REACH_M:.0f} m of its coordinates"
        else:
            out.cause[g] = "named_other"
            best = max(cand, key=lambda k: cand[k])
            name = fps.place[best] or ""
            out.reason[g] = (
                f"its coordinates fall on {fps.ids[best]}, whose name says "
                f"{name}{fps.building[best] or ''}, not {label}"
            )


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
