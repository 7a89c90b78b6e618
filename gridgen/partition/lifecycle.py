"""The code rules of :mod:`gridgen.partition.codes` applied to whole plans and layers.

:func:`first_issue` dates a fresh plan; :func:`successor` makes a plan derived from
another one (an editor assignment, a move, a re-partition) follow the rules: every grid
keeps the code of the old grid whose households it mostly holds, other grids take codes
never used in their community (a planner's new code is kept when it is one), the grids
are dated and the codes no grid carries any more are retired. Renamed codes are renamed
in the assignment, the problems and the locked grids too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.errors import InfeasibleError
from gridgen.partition.codes import (
    CARRIED_COLUMNS,
    EMPTY_WEIGHT,
    CodeBook,
    CodeScheme,
    RetiredCode,
    blank,
    community_codes,
    kept_by_area,
    kept_codes,
    new_codes,
    prefixes,
    unit_codes,
    used_codes,
)
from gridgen.partition.plan import Plan, Problem
from gridgen.partition.units import UnitGraph

NEW_CODES = 20
"""Codes never used in a community that the editor offers for new grids."""


def first_issue(plan: Plan, *, on: date, scheme: CodeScheme | None = None) -> Plan:
    """Return a fresh plan with every grid dated ``on`` (and ``scheme`` recorded)."""
    book = plan.codes if scheme is None else CodeBook(scheme, plan.codes.retired)
    grids, book = dated_grids(plan.grids, before=None, book=book, on=on)
    return replace(plan, grids=grids, codes=book)


def changed_communities(before: Plan, after: Plan) -> set[str]:
    """Return the communities whose grid codes or building assignment differ."""
    ga = before.grids[["grid_id", "community_id"]].astype(str)
    gb = after.grids[["grid_id", "community_id"]].astype(str)
    out = set(pd.concat([ga, gb]).drop_duplicates(keep=False)["community_id"].tolist())
    a = before.assignment.astype({"building_id": str, "grid_id": str})
    b = after.assignment.astype({"building_id": str, "grid_id": str})
    both = a.merge(b, on="building_id", how="outer", suffixes=("_a", "_b"))
    diff = both[both["grid_id_a"].fillna("") != both["grid_id_b"].fillna("")]
    comm = dict(zip(gb["grid_id"], gb["community_id"], strict=True))
    comm.update(dict(zip(ga["grid_id"], ga["community_id"], strict=True)))
    for col in ("grid_id_a", "grid_id_b"):
        out |= {comm[g] for g in diff[col].dropna().tolist() if g in comm}
    return out


def successor(
    after: Plan,
    *,
    before: Plan,
    dataset: Dataset,
    on: date | None = None,
    communities: Iterable[str] | None = None,
) -> Plan:
    """Return ``after`` with codes that follow the rules against ``before``, dated ``on``
    (default: today).

    ``communities``: the only communities that may differ (default: found by comparing).
    """
    book = before.codes
    touched = (
        changed_communities(before, after) if communities is None else {str(c) for c in communities}
    )
    rename: dict[str, str] = {}
    pre = prefixes(dataset.communities, book.scheme)
    for cid in sorted(touched):
        rename.update(_community_renames(before, after, dataset, cid, pre.get(cid, cid)))
    out = renamed(after, rename) if rename else after
    grids, new_book = dated_grids(out.grids, before=before.grids, book=book, on=on or date.today())
    return replace(out, grids=grids, codes=new_book)


def _community_renames(
    before: Plan, after: Plan, dataset: Dataset, community_id: str, prefix: str
) -> dict[str, str]:
    """Return ``{current code: code it must carry}`` for one community's grids."""
    scheme = before.codes.scheme
    new_rows = after.grids[after.grids["community_id"].astype(str) == community_id]
    if new_rows.empty:
        return {}
    current = new_rows["grid_id"].astype(str).tolist()
    label = {c: i for i, c in enumerate(current)}
    bld = dataset.buildings
    in_comm = bld["community_id"].astype(str) == community_id
    ids = bld.loc[in_comm, "building_id"].astype(str)
    hh = pd.to_numeric(bld.loc[in_comm, "households"], errors="coerce").fillna(0)
    old_of = _grid_of(before.assignment)
    new_of = _grid_of(after.assignment)
    new_lab = np.asarray([label.get(new_of.get(b, ""), -1) for b in ids], dtype=np.int64)
    keep = new_lab >= 0
    old = [old_of.get(b, "") for b in ids[keep]]
    weight = hh.to_numpy(dtype=float)[keep] + EMPTY_WEIGHT
    kept = kept_codes(old, new_lab[keep], weight, k=len(current))
    old_rows = before.grids[before.grids["community_id"].astype(str) == community_id]
    empty = old_rows[~old_rows["grid_id"].astype(str).isin(set(old))]
    metric_new = new_rows.to_crs(dataset.metric_crs).geometry.to_numpy()
    if len(empty):
        kept = kept_by_area(
            empty["grid_id"].astype(str).tolist(),
            empty.to_crs(dataset.metric_crs).geometry.to_numpy(),
            metric_new,
            kept,
        )
    used = used_codes(before.grids, before.codes, community_id)
    taken = {c for c in kept if c is not None}
    for i, code in enumerate(current):
        # a planner's new code stands when it was never used and spells a code of here
        fresh = kept[i] is None and code not in used and code not in taken
        if fresh and scheme.sequence(code, prefix) is not None:
            kept[i] = code
            taken.add(code)
    area = _community_area(dataset, community_id, metric_new)
    final = community_codes(
        scheme, prefix, kept=kept, geoms=metric_new, area=area, used=used | taken
    )
    return {c: f for c, f in zip(current, final, strict=True) if c != f}


def _grid_of(assignment: pd.DataFrame) -> dict[str, str]:
    a = assignment.astype({"building_id": str, "grid_id": str})
    return dict(zip(a["building_id"].tolist(), a["grid_id"].tolist(), strict=True))


def _community_area(dataset: Dataset, community_id: str, grids: np.ndarray) -> shapely.Geometry:
    """Return the community (metric CRS), or the union of its grids when it is unknown."""
    comm = dataset.metric("communities")
    hit = comm[comm["community_id"].astype(str) == community_id]
    return hit.geometry.iloc[0] if len(hit) else shapely.union_all(grids)


def renamed(plan: Plan, mapping: Mapping[str, str]) -> Plan:
    """Return ``plan`` with grid codes renamed in grids, assignment, problems and locks."""
    if not mapping:
        return plan
    pattern = re.compile(r"\b(" + "|".join(re.escape(c) for c in mapping) + r")\b")

    def text(value: str) -> str:
        return pattern.sub(lambda m: mapping[m.group(1)], value)

    grids = plan.grids.copy()
    grids["grid_id"] = grids["grid_id"].astype(str).map(lambda g: mapping.get(g, g))
    grids = grids.sort_values("grid_id", kind="stable").reset_index(drop=True)
    assignment = plan.assignment.copy()
    assignment["grid_id"] = assignment["grid_id"].astype(str).map(lambda g: mapping.get(g, g))
    problems = tuple(
        replace(p, grid_id=mapping.get(p.grid_id, p.grid_id), reason=text(p.reason))
        if isinstance(p, Problem)
        else p
        for p in plan.problems
    )
    locked = tuple(mapping.get(g, g) for g in plan.locked)
    return replace(plan, grids=grids, assignment=assignment, problems=problems, locked=locked)


def layer_codes(
    codes: Iterable[Any], communities: Iterable[Any], grids: pd.DataFrame
) -> pd.DataFrame:
    """Return ``grid_id, community_id, valid_from`` and the carried attributes of a grid
    layer's codes, taken from ``grids`` (by code) where it has them (the ``before`` of
    :func:`dated_grids`)."""
    ids = [str(c) for c in codes]
    out = pd.DataFrame({"grid_id": ids, "community_id": [str(c) for c in communities]})
    keys = grids["grid_id"].astype(str)
    for col in ("valid_from", *CARRIED_COLUMNS):
        if col in grids.columns:
            by = dict(zip(keys, grids[col].astype(object), strict=False))
            out[col] = [None if blank(by.get(c)) else by[c] for c in ids]
    if "valid_from" in out.columns:
        out["valid_from"] = [None if blank(v) else str(v) for v in out["valid_from"]]
    return out


def code_register(grids: pd.DataFrame, book: CodeBook) -> pd.DataFrame:
    """Return every code ever used: ``grid_id, community_id, valid_from, valid_to, status``."""
    live = pd.DataFrame(
        {
            "grid_id": grids["grid_id"].astype(str).to_numpy(),
            "community_id": grids["community_id"].astype(str).to_numpy(),
            "valid_from": grids["valid_from"].astype(object).to_numpy()
            if "valid_from" in grids.columns
            else [None] * len(grids),
            "valid_to": [None] * len(grids),
            "status": ["active"] * len(grids),
        }
    )
    gone = pd.DataFrame(
        [(r.code, r.community_id, r.valid_from, r.valid_to, "retired") for r in book.retired],
        columns=list(live.columns),
    )
    out = pd.concat([live, gone], ignore_index=True) if len(gone) else live
    return out.sort_values(["community_id", "grid_id"], kind="stable").reset_index(drop=True)


def book_from_register(register: pd.DataFrame, scheme: CodeScheme) -> CodeBook:
    """Return the book of a register read back (:func:`code_register`)."""
    if "valid_to" not in register.columns:
        return CodeBook(scheme)
    rows = register[[not blank(v) for v in register["valid_to"]]]
    retired = tuple(
        RetiredCode(
            str(r.grid_id),
            str(r.community_id),
            None if blank(r.valid_from) else str(r.valid_from),
            str(r.valid_to),
        )
        for r in rows.itertuples(index=False)
    )
    return CodeBook(scheme, retired)


def redrawn_codes(
    dataset: Dataset,
    plan: Plan,
    community_id: str,
    *,
    units: UnitGraph,
    labels: np.ndarray,
    geoms: np.ndarray,
    kept_out: Iterable[str] = (),
) -> list[str]:
    """Return the codes of grids (``labels`` over ``units``, ``geoms`` metric) redrawn in a
    community of ``plan``: a grid keeps the code of a grid of ``plan`` (not in ``kept_out``,
    the grids left as they are) whose households it mostly holds; the others take codes
    never used there (:func:`gridgen.partition.codes.unit_codes`)."""
    a = plan.assignment.astype({"building_id": str, "grid_id": str})
    old_code = dict(zip(a["building_id"], a["grid_id"], strict=True))
    rows = plan.grids[plan.grids["community_id"].astype(str) == community_id]
    rows = rows[~rows["grid_id"].astype(str).isin({str(g) for g in kept_out})]
    bld = dataset.buildings
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).astype(float)
    return unit_codes(
        plan.codes.scheme,
        prefixes(dataset.communities, plan.codes.scheme)[community_id],
        units=units,
        labels=labels,
        geoms=geoms,
        old_code=old_code,
        households=dict(zip(bld["building_id"].astype(str), hh, strict=True)),
        old_grids=dict(
            zip(rows["grid_id"].astype(str), rows.to_crs(dataset.metric_crs).geometry, strict=True)
        ),
        used=used_codes(plan.grids, plan.codes, community_id),
    )


def restamped(plan: Plan, *, before: tuple[Mapping[str, Any], set[str]] | None, on: date) -> Plan:
    """Return ``plan`` with the codes created since the version ``before`` valid from ``on``
    and those retired since valid to ``on`` (a store dates a version this way).

    ``before`` is (its grid codes → their ``valid_from``, its retired codes); a code it
    holds keeps its date. None for a first version, whose grids keep the ``valid_from``
    they have (an imported layer's) and get ``on`` where they have none.
    """
    day = on.isoformat()
    codes = plan.grids["grid_id"].astype(str).tolist()
    have = (
        plan.grids["valid_from"].tolist()
        if "valid_from" in plan.grids.columns
        else [None] * len(codes)
    )
    if before is None:
        dates = [day if blank(v) else str(v) for v in have]
    else:
        since = before[0]
        dates = [(day if blank(since[c]) else str(since[c])) if c in since else day for c in codes]
    was_retired = set() if before is None else before[1]
    retired = tuple(
        r if r.code in was_retired else replace(r, valid_to=day) for r in plan.codes.retired
    )
    if dates == have and retired == plan.codes.retired:
        return plan
    grids = plan.grids.copy()
    grids["valid_from"] = dates
    return replace(plan, grids=grids, codes=CodeBook(plan.codes.scheme, retired))


def offered_codes(dataset: Dataset, plan: Plan, community_id: str, n: int = NEW_CODES) -> list[str]:
    """Return the next ``n`` codes never used in a community (new grids of the editor)."""
    scheme = plan.codes.scheme
    prefix = prefixes(dataset.communities, scheme)[community_id]
    used = used_codes(plan.grids, plan.codes, community_id)
    return new_codes(scheme, prefix, max(0, min(n, scheme.capacity - len(used))), used=used)


def new_code_refusal(dataset: Dataset, plan: Plan, community_id: str, code: str) -> str | None:
    """Return why ``code`` cannot name a new grid of a community (None when it can)."""
    scheme = plan.codes.scheme
    prefix = prefixes(dataset.communities, scheme).get(community_id, community_id)
    offer = ", ".join(offered_codes(dataset, plan, community_id, 1)) or "none left"
    if scheme.sequence(code, prefix) is None:
        return f"not a {scheme.label} code of community {community_id}; next new code {offer}"
    if code in used_codes(plan.grids, plan.codes, community_id):
        return f"used before and never given to another grid; next new code {offer}"
    return None


def dated_grids(
    after: gpd.GeoDataFrame,
    *,
    before: pd.DataFrame | None,
    book: CodeBook,
    on: date,
) -> tuple[gpd.GeoDataFrame, CodeBook]:
    """Return ``after`` with ``valid_from``/``valid_to`` set, and the book with new retirees.

    A code of ``before`` keeps its ``valid_from`` (``on`` when it had none) and the
    attributes of :data:`CARRIED_COLUMNS` ``before`` has; a new code gets ``on`` and the
    defaults; codes of ``before`` that ``after`` lacks are retired on ``on``. Raises
    :class:`InfeasibleError` when ``after`` names a retired code (never reused).
    """
    today = on.isoformat()
    ids = after["grid_id"].astype(str)
    reused = sorted(set(ids) & {r.code for r in book.retired})
    if reused:
        msg = (
            f"grid codes {', '.join(reused[:5])} were retired and are never given to another "
            "grid: take new codes (gridgen.partition.codes.new_codes)"
        )
        raise InfeasibleError(msg)
    since: dict[str, str | None] = {}
    community: dict[str, str] = {}
    if before is not None and len(before):
        old_from = before["valid_from"] if "valid_from" in before.columns else None
        for i, (code, cid) in enumerate(
            zip(before["grid_id"].astype(str), before["community_id"].astype(str), strict=True)
        ):
            value = None if old_from is None else old_from.iloc[i]
            since[code] = None if blank(value) else str(value)
            community[code] = cid
    out = carried(after.copy(), before)
    out["valid_from"] = [since.get(c) or today for c in ids]
    out["valid_to"] = pd.Series([None] * len(out), dtype=object, index=out.index)
    gone = sorted(set(since) - set(ids))
    retired = book.retired + tuple(RetiredCode(c, community[c], since[c], today) for c in gone)
    return out, CodeBook(book.scheme, retired)


def carried(after: pd.DataFrame, before: pd.DataFrame | None) -> pd.DataFrame:
    """Return ``after`` with the :data:`CARRIED_COLUMNS` of the codes ``before`` gives them
    for, the defaults elsewhere (a producer's own values do not count: attributes come
    from the offices, :mod:`gridgen.records.attributes`)."""
    ids = after["grid_id"].astype(str)
    for col, default in CARRIED_COLUMNS.items():
        values = [default] * len(after)
        if before is not None and col in before.columns:
            keys = before["grid_id"].astype(str)
            old = dict(zip(keys, before[col].astype(object), strict=False))
            values = [old.get(c, default) for c in ids]
        after[col] = pd.Series(
            [None if blank(v) else v for v in values], index=after.index, dtype=object
        )
    return after


__all__ = [
    "book_from_register",
    "carried",
    "changed_communities",
    "code_register",
    "dated_grids",
    "first_issue",
    "layer_codes",
    "new_code_refusal",
    "offered_codes",
    "redrawn_codes",
    "renamed",
    "restamped",
    "successor",
]
