"""Governance figures: property management, party organisation, staffing.

Every table has one row per group at ``level`` (``community``, ``street`` or
``district``, grouped by :mod:`gridgen.levels`), with counts that add up across levels, and
shares as fractions (NA where the denominator is 0). Change over time is
:func:`gridgen.coverage.figure_changes.figure_changes`.

The four-level party chain (四级组织体系) of a compound is complete when all four levels
exist: the community party committee (every community is assumed to have one), a
compound or grid branch (``compounds.party_branch``, or ``party_org`` of a grid holding
the compound's buildings in the given plan), at least one building party group (a building
with at least ``party_group_min_members`` party members, 3 by default: the minimum for a
party group under the CPC's rules on grassroots organisations), and party-member
households (party members in the compound's buildings).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgen.coverage.stations import check_choice
from gridgen.dataset import Dataset
from gridgen.errors import InputError, ParameterError
from gridgen.levels import community_keys, level_groups, rolled_up
from gridgen.partition.plan import Plan
from gridgen.schema import PROPERTY_MODES

GOVERNANCE_LEVELS: tuple[str, ...] = ("community", "street", "district")
PARTY_GROUP_MIN_MEMBERS = 3
"""Party members a building needs to count as having a building party group (党小组)."""


def _share(num: pd.Series, den: pd.Series) -> pd.Series:
    """Return ``num / den`` as Float64 with NA where ``den`` is 0."""
    den_f = den.astype("Float64")
    return num.astype("Float64") / den_f.where(den_f > 0)


def _finish(dataset: Dataset, level: str, agg: pd.DataFrame) -> pd.DataFrame:
    """Return ``agg`` (indexed by group key) joined to every group, counts filled with 0."""
    counts = tuple(
        col
        for col in agg.columns
        if pd.api.types.is_integer_dtype(agg[col]) or pd.api.types.is_bool_dtype(agg[col])
    )
    return rolled_up(level_groups(dataset, level), agg, counts=counts)


def _compound_households(dataset: Dataset) -> pd.Series:
    b = dataset.buildings
    hh = pd.to_numeric(b["households"]).fillna(0).astype(np.int64)
    total: pd.Series = hh.groupby(b["compound_id"].astype("string")).sum()
    return total


def _compounds(dataset: Dataset) -> pd.DataFrame:
    comp = dataset.compounds
    out = pd.DataFrame({"compound_id": comp["compound_id"].astype("string").to_numpy()})
    out["community_id"] = (
        comp["community_id"].astype("string").to_numpy()
        if "community_id" in comp.columns
        else pd.NA
    )
    mode = (
        comp["property_mode"].astype("string").fillna("none")
        if "property_mode" in comp.columns
        else pd.Series("none", index=comp.index, dtype="string")
    )
    bad = ~mode.isin(PROPERTY_MODES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        msg = (
            f"compound {out['compound_id'].iloc[row]!r}: property_mode {mode.iloc[row]!r} is "
            f"not one of {', '.join(PROPERTY_MODES)}; validate the dataset first"
        )
        raise InputError(msg)
    out["property_mode"] = mode.to_numpy()
    out["property_company_id"] = (
        comp["property_company_id"].astype("string").to_numpy()
        if "property_company_id" in comp.columns
        else pd.NA
    )
    out["party_branch"] = (
        comp["party_branch"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "party_branch" in comp.columns
        else False
    )
    out["households"] = (
        out["compound_id"].map(_compound_households(dataset)).fillna(0).astype(np.int64)
    )
    return out


def property_stats(dataset: Dataset, *, level: str = "community") -> pd.DataFrame:
    """Return compounds and households per property mode, per group at ``level``.

    Returns
    -------
    pandas.DataFrame
        Per group: ``compounds``, ``households``, ``compounds_<mode>`` and
        ``households_<mode>`` for every mode of :data:`gridgen.schema.PROPERTY_MODES`
        (``none`` = no property service), ``professional_share`` (compounds served by a
        property company / compounds), ``property_companies`` (distinct companies serving
        the group's compounds), ``companies_with_party_org`` and ``company_party_share``.
    """
    check_choice(level, GOVERNANCE_LEVELS, name="level")
    comp = _compounds(dataset)
    comp["key"] = community_keys(dataset, comp["community_id"], level)
    g = comp.groupby("key", dropna=False, sort=False)
    agg = pd.DataFrame({"compounds": g.size(), "households": g["households"].sum()})
    for mode in PROPERTY_MODES:
        sel = comp["property_mode"] == mode
        agg[f"compounds_{mode}"] = sel.groupby(comp["key"], dropna=False).sum()
        agg[f"households_{mode}"] = (
            comp["households"].where(sel, 0).groupby(comp["key"], dropna=False).sum()
        )
    companies = dataset.property_companies
    party_org = pd.Series(dtype="boolean")
    if not companies.empty and "has_party_org" in companies.columns:
        party_org = pd.Series(
            companies["has_party_org"].astype("boolean").fillna(False).to_numpy(),
            index=companies["company_id"].astype("string").to_numpy(),
        )
    served = comp[comp["property_company_id"].notna() & (comp["property_mode"] != "none")]
    pairs = served[["key", "property_company_id"]].drop_duplicates()
    pairs = pairs.assign(
        party=pairs["property_company_id"].map(party_org).fillna(False).astype(bool)
    )
    pc = pairs.groupby("key", dropna=False)
    agg["property_companies"] = pc.size()
    agg["companies_with_party_org"] = pc["party"].sum()
    for col in agg.columns:
        agg[col] = agg[col].fillna(0).astype(np.int64)
    out = _finish(dataset, level, agg)
    out["professional_share"] = _share(out["compounds_company"], out["compounds"])
    out["company_party_share"] = _share(out["companies_with_party_org"], out["property_companies"])
    return out


def compound_party_chain(
    dataset: Dataset,
    *,
    plan: Plan | None = None,
    party_group_min_members: int = PARTY_GROUP_MIN_MEMBERS,
) -> pd.DataFrame:
    """Return, per compound, each level of the four-level party chain and whether it is complete.

    Parameters
    ----------
    dataset
        The dataset.
    plan
        A grid plan; a grid with ``party_org`` counts as the branch of compounds whose
        buildings it holds.
    party_group_min_members
        Party members a building needs for a building party group (default 3).

    Returns
    -------
    pandas.DataFrame
        ``compound_id``, ``community_id``, ``community_committee``, ``branch``,
        ``building_party_groups``, ``party_members``, ``chain_complete``.
    """
    if isinstance(party_group_min_members, bool) or int(party_group_min_members) < 1:
        msg = (
            "party_group_min_members must be a whole number ≥ 1 "
            f"(3 by party rules), got {party_group_min_members!r}"
        )
        raise ParameterError(msg)
    comp = _compounds(dataset)
    b = dataset.buildings
    members = pd.to_numeric(
        b["party_members"] if "party_members" in b.columns else pd.Series(0, index=b.index)
    ).fillna(0)
    bframe = pd.DataFrame(
        {
            "building_id": b["building_id"].astype("string").to_numpy(),
            "compound_id": b["compound_id"].astype("string").to_numpy(),
            "members": members.to_numpy(dtype=np.int64),
        }
    )
    bframe["group"] = bframe["members"] >= int(party_group_min_members)
    per = bframe.dropna(subset=["compound_id"]).groupby("compound_id")
    comp["building_party_groups"] = (
        comp["compound_id"].map(per["group"].sum()).fillna(0).astype(np.int64)
    )
    comp["party_members"] = comp["compound_id"].map(per["members"].sum()).fillna(0)
    comp["party_members"] = comp["party_members"].astype(np.int64)
    known = set(dataset.communities["community_id"].astype("string"))
    comp["community_committee"] = comp["community_id"].isin(known).to_numpy(dtype=bool)
    branch = comp["party_branch"].to_numpy(dtype=bool)
    if plan is not None:
        grid_org = pd.Series(
            plan.grids["party_org"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if "party_org" in plan.grids.columns
            else False,
            index=plan.grids["grid_id"].astype("string").to_numpy(),
        )
        assign = plan.assignment
        grid_of = pd.Series(
            assign["grid_id"].astype("string").to_numpy(),
            index=assign["building_id"].astype("string").to_numpy(),
        )
        bframe["grid_org"] = bframe["building_id"].map(grid_of).map(grid_org).fillna(False)
        org = bframe.dropna(subset=["compound_id"]).groupby("compound_id")["grid_org"].any()
        branch = branch | comp["compound_id"].map(org).fillna(False).to_numpy(dtype=bool)
    comp["branch"] = branch
    comp["chain_complete"] = (
        comp["community_committee"]
        & comp["branch"]
        & (comp["building_party_groups"] > 0)
        & (comp["party_members"] > 0)
    )
    cols = [
        "compound_id",
        "community_id",
        "community_committee",
        "branch",
        "building_party_groups",
        "party_members",
        "chain_complete",
    ]
    return comp[cols]


def _grid_community(plan: Plan) -> pd.DataFrame:
    grids = plan.grids
    out = pd.DataFrame(
        {
            "grid_id": grids["grid_id"].astype("string").to_numpy(),
            "community_id": grids["community_id"].astype("string").to_numpy(),
            "party_org": grids["party_org"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if "party_org" in grids.columns
            else False,
            # None: no office's sheet said whether the grid has a party organisation
            "party_known": grids["party_org"].notna().to_numpy(dtype=bool)
            if "party_org" in grids.columns
            else False,
            "workers": pd.to_numeric(grids["workers"]).fillna(0).to_numpy(dtype=np.int64)
            if "workers" in grids.columns
            else 0,
        }
    )
    return out


def party_stats(
    dataset: Dataset,
    *,
    plan: Plan | None = None,
    level: str = "community",
    party_group_min_members: int = PARTY_GROUP_MIN_MEMBERS,
) -> pd.DataFrame:
    """Return party organisation figures per group at ``level``.

    Returns
    -------
    pandas.DataFrame
        ``grids`` and ``grids_with_party_org`` (0 without a plan), ``grid_party_share``,
        ``compounds``, ``compounds_with_branch`` (own branch or grid organisation),
        ``branch_share``, ``building_party_groups``, ``party_members``,
        ``compounds_chain_complete`` and ``chain_share`` (see :func:`compound_party_chain`).
    """
    check_choice(level, GOVERNANCE_LEVELS, name="level")
    chain = compound_party_chain(
        dataset, plan=plan, party_group_min_members=party_group_min_members
    )
    chain["key"] = community_keys(dataset, chain["community_id"], level)
    g = chain.groupby("key", dropna=False, sort=False)
    agg = pd.DataFrame(
        {
            "compounds": g.size(),
            "compounds_with_branch": g["branch"].sum(),
            "building_party_groups": g["building_party_groups"].sum(),
            "party_members": g["party_members"].sum(),
            "compounds_chain_complete": g["chain_complete"].sum(),
        }
    )
    agg = _with_grid_counts(
        agg,
        dataset,
        plan,
        level=level,
        name="grids_with_party_org",
        column="party_org",
        known="grids_party_org_known",
    )
    out = _finish(dataset, level, agg)
    out["grid_party_share"] = _share(out["grids_with_party_org"], out["grids"])
    out["branch_share"] = _share(out["compounds_with_branch"], out["compounds"])
    out["chain_share"] = _share(out["compounds_chain_complete"], out["compounds"])
    return out


def staffing_stats(
    dataset: Dataset, *, plan: Plan | None = None, level: str = "community"
) -> pd.DataFrame:
    """Return staffing per group at ``level``.

    Returns
    -------
    pandas.DataFrame
        ``households``, ``buildings``, ``buildings_with_leader`` (non-empty
        ``leader_name``), ``leader_share``, ``grids`` and ``grid_workers`` (from the plan; 0
        without one), ``workers_per_grid`` and ``households_per_worker`` (NA without workers).
    """
    check_choice(level, GOVERNANCE_LEVELS, name="level")
    b = dataset.buildings
    leader = (
        b["leader_name"].astype("string").str.strip().fillna("")
        if "leader_name" in b.columns
        else pd.Series("", index=b.index, dtype="string")
    )
    community = (
        b["community_id"] if "community_id" in b.columns else pd.Series(pd.NA, index=b.index)
    )
    frame = pd.DataFrame(
        {
            "key": community_keys(dataset, community.astype("string"), level).to_numpy(),
            "households": pd.to_numeric(b["households"]).fillna(0).to_numpy(dtype=np.int64),
            "leader": (leader != "").to_numpy(dtype=bool),
        }
    )
    g = frame.groupby("key", dropna=False, sort=False)
    agg = pd.DataFrame(
        {
            "households": g["households"].sum(),
            "buildings": g.size(),
            "buildings_with_leader": g["leader"].sum(),
        }
    )
    agg = _with_grid_counts(agg, dataset, plan, level=level, name="grid_workers", column="workers")
    out = _finish(dataset, level, agg)
    out["leader_share"] = _share(out["buildings_with_leader"], out["buildings"])
    out["workers_per_grid"] = _share(out["grid_workers"], out["grids"])
    out["households_per_worker"] = _share(out["households"], out["grid_workers"])
    return out


def _with_grid_counts(
    agg: pd.DataFrame,
    dataset: Dataset,
    plan: Plan | None,
    *,
    level: str,
    name: str,
    column: str,
    known: str | None = None,
) -> pd.DataFrame:
    """Return ``agg`` (indexed by group key) with ``grids`` and ``name`` (the sum of the
    grids' ``column``) per group, 0 without a plan; every column as int64. ``known``: also
    the grids whose ``party_org`` a sheet gave, under that name."""
    extra = {} if known is None else {known: 0}
    if plan is not None:
        grids = _grid_community(plan)
        grids["key"] = community_keys(dataset, grids["community_id"], level)
        gg = grids.groupby("key", dropna=False)
        sums = {"grids": gg.size(), name: gg[column].sum()}
        if known is not None:
            sums[known] = gg["party_known"].sum()
        agg = agg.join(pd.DataFrame(sums), how="outer")
    else:
        agg = agg.assign(grids=0, **{name: 0}, **extra)
    return agg.fillna(0).astype(np.int64)
