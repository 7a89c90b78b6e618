"""Property management, party chain, staffing and snapshot comparison on the small dataset."""

from __future__ import annotations

import pytest
from coverage_helpers import SmallPlan, small_dataset, small_layers

from gridgen.coverage.figure_changes import report_figures
from gridgen.coverage.governance import (
    compound_party_chain,
    party_stats,
    property_stats,
    staffing_stats,
)
from gridgen.errors import ParameterError


def test_property_stats_per_level_add_up() -> None:
    ds = small_dataset()
    comm = property_stats(ds).set_index("community_id")
    assert comm.loc["C1", "compounds_company"] == 1 and comm.loc["C1", "households_company"] == 180
    assert comm.loc["C2", "compounds_none"] == 1 and comm.loc["C2", "households_none"] == 200
    assert comm.loc["C1", "company_party_share"] == 1.0
    district = property_stats(ds, level="district").iloc[0]
    assert district["professional_share"] == 0.5
    mode_cols = [c for c in comm.columns if c.startswith("compounds_")]
    assert (comm[mode_cols].sum(axis=1) == comm["compounds"]).all()
    street = property_stats(ds, level="street")
    assert street["households"].sum() == comm["households"].sum() == 380  # B3 is scattered


def test_party_chain_per_compound() -> None:
    ds = small_dataset()
    chain = compound_party_chain(ds).set_index("compound_id")
    # K1: branch, B1 has 4 members (party group), 5 members in all -> complete
    assert bool(chain.loc["K1", "chain_complete"]) and chain.loc["K1", "party_members"] == 5
    assert not chain.loc["K2", "chain_complete"]
    # with a threshold of 5 members, B1 no longer has a party group
    strict = compound_party_chain(ds, party_group_min_members=5).set_index("compound_id")
    assert not strict.loc["K1", "chain_complete"]
    with pytest.raises(ParameterError, match="party_group_min_members"):
        compound_party_chain(ds, party_group_min_members=0)


def test_grid_party_org_counts_as_branch() -> None:
    layers = small_layers()
    layers["compounds"]["party_branch"] = False
    ds = small_dataset(layers)
    assert not compound_party_chain(ds).set_index("compound_id").loc["K1", "branch"]
    with_plan = compound_party_chain(ds, plan=SmallPlan()).set_index("compound_id")
    assert with_plan.loc["K1", "branch"]  # G1 has a party organisation and holds K1
    stats = party_stats(ds, plan=SmallPlan()).set_index("community_id")
    assert stats.loc["C1", "grids"] == 2 and stats.loc["C1", "grids_with_party_org"] == 1
    assert stats.loc["C1", "grid_party_share"] == 0.5


def test_staffing() -> None:
    ds = small_dataset()
    staff = staffing_stats(ds, plan=SmallPlan()).set_index("community_id")
    # B1 and B4 have leaders, B3's leader name is empty
    assert staff.loc["C1", "buildings_with_leader"] == 2 and staff.loc["C1", "buildings"] == 3
    assert staff.loc["C1", "households_per_worker"] == 115.0
    assert staff.loc["C2", "grid_workers"] == 0
    import pandas as pd

    assert pd.isna(staff.loc["C2", "households_per_worker"])
    no_plan = staffing_stats(ds, level="district").iloc[0]
    assert no_plan["grids"] == 0 and no_plan["buildings_with_leader"] == 2


def test_snapshot_changes_count_eliminated_no_property_compounds() -> None:
    # the one before/after comparison (figure_changes), on the small dataset
    before = small_dataset()
    layers = small_layers()
    layers["compounds"].loc[layers["compounds"]["compound_id"] == "K2", "property_mode"] = "subsidy"
    after = small_dataset(layers)
    _, changes = report_figures(after, before=before, radius=500)
    assert changes is not None
    c2 = next(c for c in changes["communities"] if c["id"] == "C2")
    assert c2["no_property_compounds_eliminated"] == {"count": 1, "denominator": 1, "share": 1.0}
    none = c2["no_property_compounds"]
    assert (none["before"], none["after"], none["difference"]) == (1, 0, -1)
    c1 = next(c for c in changes["communities"] if c["id"] == "C1")
    assert c1["compounds_with_property"]["difference"] == 0
    assert c1["covered_households"]["before"] == c1["covered_households"]["after"] == 100


def test_bad_level() -> None:
    with pytest.raises(ParameterError, match="level"):
        property_stats(small_dataset(), level="grid")
