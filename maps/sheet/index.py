"""Look-ups every compound sheet of a dataset needs, built once per dataset.

A sheet needs its compound's row, its buildings, and the names of its community, street and
property company. Finding each with a boolean mask over the layers cost ~25 ms per sheet
(more than half of the sheet's data); :func:`sheet_index` builds dictionaries once and keeps
them on the dataset (:meth:`gridgen.dataset.Dataset.derived`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gridgen.coverage.compound import text_or_none
from gridgen.dataset import Dataset

__all__ = ["SheetIndex", "sheet_index"]


@dataclass(frozen=True)
class SheetIndex:
    """Look-ups every sheet of a dataset needs, built once per dataset."""

    compound_row: dict[str, int]
    """Compound id -> row of the metric compounds layer."""
    buildings_of: dict[str, np.ndarray]
    """Compound id -> rows of the metric buildings layer."""
    community: dict[str, tuple[str | None, Any]]
    """Community id -> (name, street id)."""
    street_name: dict[str, str | None]
    company: dict[str, tuple[str | None, bool | None]]
    """Property company id -> (name, has a party organisation)."""


def _names(frame: pd.DataFrame, id_col: str) -> dict[str, str | None]:
    if frame.empty or id_col not in frame:
        return {}
    names = frame["name"] if "name" in frame else pd.Series([None] * len(frame))
    out: dict[str, str | None] = {}
    for ident, name in zip(frame[id_col], names, strict=True):
        out.setdefault(str(ident), text_or_none(name))
    return out


def _build_index(dataset: Dataset) -> SheetIndex:
    compounds = dataset.metric("compounds")
    compound_row: dict[str, int] = {}
    for i, cid in enumerate(compounds["compound_id"].astype(str)):
        compound_row.setdefault(cid, i)
    owner = dataset.metric("buildings")["compound_id"].astype("string").fillna("").to_numpy()
    order = np.argsort(owner, kind="stable")
    keys, starts = np.unique(owner[order], return_index=True)
    groups = np.split(order, starts[1:])
    communities = dataset.communities
    streets_of: dict[str, Any] = {}
    if "street_id" in communities:
        for ident, street in zip(
            communities["community_id"], communities["street_id"], strict=True
        ):
            streets_of.setdefault(str(ident), street)
    community_names = _names(communities, "community_id")
    companies = dataset.property_companies
    party: dict[str, bool | None] = {}
    if "has_party_org" in companies:
        for ident, flag in zip(companies["company_id"], companies["has_party_org"], strict=True):
            party.setdefault(str(ident), None if pd.isna(flag) else bool(flag))
    return SheetIndex(
        compound_row=compound_row,
        buildings_of={str(k): g for k, g in zip(keys, groups, strict=True)},
        community={c: (n, streets_of.get(c)) for c, n in community_names.items()},
        street_name=_names(dataset.streets, "street_id"),
        company={c: (n, party.get(c)) for c, n in _names(companies, "company_id").items()},
    )


def sheet_index(dataset: Dataset) -> SheetIndex:
    """Return the sheet look-ups of ``dataset`` (built on first use, then cached on it)."""
    return dataset.derived("maps.sheet.index", _build_index)
