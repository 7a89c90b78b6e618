"""One rule for grouping by level (gridgen.levels): coverage, governance tables and the report.

On the small dataset (C1: B1 100, B3 50, B4 80 households; C2: B2 200), with C2 taken out
of its street: at street level C2's households are in a last row with an empty street id,
in every table, so the street rows add up to the district.
"""

from __future__ import annotations

import pandas as pd
import pytest
from coverage_helpers import small_dataset, small_layers

from gridgen.coverage.figures import figures_dict, governance_figures
from gridgen.coverage.governance import property_stats, staffing_stats
from gridgen.coverage.stations import coverage_by_level, station_coverage
from gridgen.dataset import empty_layer
from gridgen.errors import InputError
from gridgen.levels import level_groups, street_ids, street_of_community


def c2_without_street() -> dict[str, pd.DataFrame]:
    layers = small_layers()
    layers["communities"]["street_id"] = layers["communities"]["street_id"].astype("string")
    layers["communities"].loc[layers["communities"]["community_id"] == "C2", "street_id"] = pd.NA
    return layers


def test_a_community_without_street_is_in_a_last_row_with_an_empty_key() -> None:
    ds = small_dataset(c2_without_street())
    streets = street_of_community(ds)
    assert streets["C1"] == "ST1" and pd.isna(streets["C2"])
    cov = coverage_by_level(ds, station_coverage(ds, radius=500), level="street")
    assert cov["street_id"].tolist()[0] == "ST1" and pd.isna(cov["street_id"].iloc[1])
    assert cov["households"].tolist() == [230, 200]
    staff = staffing_stats(ds, level="street")
    assert staff["households"].tolist() == [230, 200] and pd.isna(staff["street_id"].iloc[1])
    prop = property_stats(ds, level="street")
    assert prop["compounds"].tolist() == [1, 1]
    doc = figures_dict(governance_figures(ds, radius=500))
    assert [s["id"] for s in doc["streets"]] == ["ST1", None]
    assert [s["households"]["value"] for s in doc["streets"]] == [230, 200]
    assert doc["district"]["households"]["value"] == 430


def test_a_blank_street_id_is_no_street() -> None:
    layers = small_layers()
    layers["communities"]["street_id"] = ["ST1", " "]
    assert pd.isna(street_of_community(small_dataset(layers))["C2"])


def test_streets_are_the_layer_then_those_only_communities_name() -> None:
    layers = small_layers()
    layers["communities"]["street_id"] = ["ST9", "ST1"]
    ds = small_dataset(layers)
    assert street_ids(ds).tolist() == ["ST1", "ST9"]
    doc = figures_dict(governance_figures(ds, radius=500))
    assert [s["id"] for s in doc["streets"]] == ["ST1", "ST9"]
    assert [s["name"] for s in doc["streets"]] == ["街道一", None]


def test_a_dataset_without_streets_has_no_street_level() -> None:
    layers = small_layers()
    layers["streets"] = empty_layer("streets")
    layers["communities"] = layers["communities"].drop(columns="street_id")
    ds = small_dataset(layers)
    assert level_groups(ds, "street").empty
    with pytest.raises(InputError, match="street_id"):
        coverage_by_level(ds, station_coverage(ds, radius=500), level="street")
    assert property_stats(ds, level="street").empty
    assert figures_dict(governance_figures(ds, radius=500))["streets"] == []
    # the community level still carries street_id (empty), as with streets
    comm = coverage_by_level(ds, station_coverage(ds, radius=500), level="community")
    assert comm["street_id"].isna().all() and comm["households"].sum() == 430
