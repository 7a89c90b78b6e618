"""Codes of a merged plan (多网合一): the first layer's kept, or a fresh numbering.

Without ``recode`` a merged grid keeps the code of the first layer's grid it is by
households (:func:`gridgen.partition.codes.kept_codes`) and the others take codes never used
in the community. With ``recode`` (``gridgen merge-grids --recode``: a city filing its
official layer) every merged grid takes a new code of the city's scheme, numbered west→east,
north→south per community (:func:`gridgen.partition.codes.community_codes` with nothing
kept) and valid from the merge date; no department code names a merged grid, even one that
already spells a code of the scheme (``--recode`` means one clean official numbering).

The department codes stay traceable:

- the crosswalk maps every input grid of every layer to the merged grids it went into, with
  the share of its households (of its land for a grid without buildings,
  :func:`gridgen.partition.merge.merge_crosswalk`);
- the code book retires every first-layer code on the merge date (as a merge without
  ``recode`` retires the codes no grid keeps), and the codes of the other layers that spell
  a code of the scheme in their community, so none of them is ever given to a grid later;
- a merged grid that *is* a first-layer grid by households (the grid that would have kept
  its code) takes that grid's attributes (grid worker, responsible party...,
  :data:`gridgen.partition.codes.CARRIED_COLUMNS`) under its new code: the renumbering
  changes the code, not who works the grid.

New codes never take a sequence that an input layer's code spells in the community (it would
name two grids in the crosswalk), so the numbering starts at 001 (CJ/T 349: 01, or 00 for a
community that is one grid) unless a department already used codes of the scheme there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.errors import ParameterError
from gridgen.partition.codes import (
    NOT_SUBDIVIDED,
    CodeBook,
    CodeScheme,
    RetiredCode,
    community_codes,
)
from gridgen.partition.existing import GridLayer
from gridgen.partition.lifecycle import dated_grids, layer_codes
from gridgen.partition.plan import Plan


def free_sequences(scheme: CodeScheme, prefix: str, used: Iterable[str]) -> int:
    """Return how many sequences of a community (prefix) no code in ``used`` spells."""
    taken = {s for s in (scheme.sequence(c, prefix) for c in used) if s is not None}
    return scheme.capacity - len({s for s in taken if 1 <= s <= scheme.capacity})


def require_room(
    scheme: CodeScheme, prefix: str, k: int, *, used: set[str], community_id: str
) -> None:
    """Raise :class:`ParameterError` naming ``--recode`` and ``--code-scheme`` when a
    community's ``k`` grids cannot all take a new code (sequences ``used`` spell excluded)."""
    room = free_sequences(scheme, prefix, used)
    whole = scheme.name == "cjt349" and k == 1 and scheme.code(prefix, NOT_SUBDIVIDED) not in used
    if k <= room or whole:
        return
    other = "db11 or plain (999 per community)" if scheme.width < 3 else "a longer one"
    msg = (
        f"--recode: community {community_id} has {k} merged grids but --code-scheme "
        f"{scheme.name} ({scheme.label}) has only {room} of its {scheme.capacity} sequence "
        "numbers free there (the input layers' codes that spell codes of the scheme are "
        f"never reused): use --code-scheme {other}, a larger --target, or merge without "
        "--recode"
    )
    raise ParameterError(msg)


def recoded(
    scheme: CodeScheme,
    prefix: str,
    *,
    community_id: str,
    kept: Sequence[str],
    first_codes: Iterable[str],
    geoms: NDArray[np.object_],
    area: shapely.Geometry,
    used: Iterable[str],
) -> tuple[list[str], dict[str, str]]:
    """Return a fresh code per merged grid (label order) and ``{new code: first-layer code}``.

    Parameters
    ----------
    scheme, prefix
        The city's scheme and the community's prefix under it.
    community_id
        The community (named in errors).
    kept
        Per grid the code it would keep without recoding
        (:func:`gridgen.partition.codes.unit_codes`).
    first_codes
        The community's first-layer codes: a grid whose ``kept`` code is one of them
        succeeds that grid.
    geoms, area
        The grids and the community in one metric CRS (for the standard's order).
    used
        Every code a new code must not spell: the input layers' and those already given.

    Raises
    ------
    ParameterError
        When the scheme has fewer unused sequences in the community than it has grids.
    """
    used = set(used)
    k = len(kept)
    require_room(scheme, prefix, k, used=used, community_id=community_id)
    fresh = community_codes(scheme, prefix, kept=[None] * k, geoms=geoms, area=area, used=used)
    first = set(first_codes)
    return fresh, {new: old for new, old in zip(fresh, kept, strict=True) if old in first}


def recode_before(prior: pd.DataFrame, succession: Mapping[str, str]) -> pd.DataFrame:
    """Return the ``before`` of :func:`gridgen.partition.lifecycle.dated_grids` for a
    recoded merge.

    ``prior``: the first layer's codes (:func:`gridgen.partition.lifecycle.layer_codes`),
    all retired since no grid keeps them; ``succession``: new code → first-layer code whose
    attributes it takes (its ``valid_from`` is the merge date: it is a new code).
    """
    by_code = prior.drop_duplicates("grid_id").set_index(prior["grid_id"].astype(str).rename(None))
    rows = by_code.loc[[str(v) for v in succession.values()]].reset_index(drop=True)
    rows["grid_id"] = [str(k) for k in succession]
    if "valid_from" in rows.columns:
        rows["valid_from"] = None
    return pd.concat([prior, rows], ignore_index=True) if len(rows) else prior


def also_retired(
    book: CodeBook, others: pd.DataFrame, *, live: Iterable[str], on: date
) -> CodeBook:
    """Return ``book`` with the codes of ``others`` (``grid_id, community_id``) retired on
    ``on``, except those it lists already and the ``live`` grid codes."""
    skip = {r.code for r in book.retired} | {str(c) for c in live}
    seen: set[str] = set()
    extra = []
    for code, cid in zip(
        others["grid_id"].astype(str), others["community_id"].astype(str), strict=True
    ):
        if code not in skip and code not in seen:
            seen.add(code)
            extra.append(RetiredCode(code, cid, None, on.isoformat()))
    return CodeBook(book.scheme, book.retired + tuple(extra))


def scheme_codes(
    codes: Iterable[Any], communities: Iterable[Any], scheme: CodeScheme, prefix: Mapping[str, str]
) -> pd.DataFrame:
    """Return ``grid_id, community_id`` of the codes that spell a code of ``scheme`` in their
    community (``prefix``: community id → prefix)."""
    rows = [
        (str(c), str(k))
        for c, k in zip(codes, communities, strict=True)
        if str(k) in prefix and scheme.sequence(str(c), prefix[str(k)]) is not None
    ]
    return pd.DataFrame(rows, columns=["grid_id", "community_id"])


def dated_merge(
    plan: Plan,
    first: gpd.GeoDataFrame,
    placed: Sequence[GridLayer],
    *,
    scheme: CodeScheme,
    prefix: Mapping[str, str],
    succession: Mapping[str, str] | None,
    on: date | None,
) -> tuple[Plan, dict[str, Any]]:
    """Return the merged plan dated (code book, ``valid_from``) and the summary of its codes.

    ``first`` is the first layer as given (its ``valid_from`` and attributes), ``placed``
    every layer on the dataset; ``scheme`` and ``prefix`` (community id → prefix) the
    city's codes; ``succession`` (new code → first-layer code) when recoded,
    None otherwise; ``on`` the merge date (default: today). The summary has ``recode``,
    ``scheme``, ``valid_from`` and the counts of :func:`code_counts`.
    """
    prior = layer_codes(placed[0].codes, placed[0].community, first)
    before = prior if succession is None else recode_before(prior, succession)
    day = on or date.today()
    grids, book = dated_grids(plan.grids, before=before, book=CodeBook(scheme), on=day)
    if succession is not None:
        for lay in placed[1:]:
            others = scheme_codes(lay.codes, lay.community, scheme, prefix)
            book = also_retired(book, others, live=grids["grid_id"], on=day)
    counts = code_counts(grids, prior, book, renumbered=len(succession or {}))
    summary = {
        "recode": succession is not None,
        "scheme": book.scheme.name,
        "valid_from": day.isoformat(),
        **counts,
    }
    return replace(plan, grids=grids, codes=book), summary


def code_counts(
    grids: pd.DataFrame, prior: pd.DataFrame, book: CodeBook, *, renumbered: int
) -> dict[str, int]:
    """Return how many grid codes were kept from the first layer, are new, were retired, and
    how many new codes succeed a first-layer grid (``renumbered``, with ``--recode``)."""
    first = set(prior["grid_id"].astype(str))
    codes = grids["grid_id"].astype(str)
    kept = int(codes.isin(first).sum())
    return {
        "kept": kept,
        "new": len(codes) - kept,
        "retired": len(book.retired),
        "renumbered": renumbered,
    }


__all__ = [
    "also_retired",
    "code_counts",
    "dated_merge",
    "free_sequences",
    "recode_before",
    "recoded",
    "require_room",
    "scheme_codes",
]
