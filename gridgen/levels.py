"""The administrative levels (district → street → community → grid) and how rows roll up to them.

Coverage roll-ups (:func:`gridgen.coverage.stations.coverage_by_level`), the governance
tables (:mod:`gridgen.coverage.governance`) and the report (:mod:`gridgen.coverage.figures`)
group by these functions only, so one rule holds everywhere:

- a community's street is its ``street_id``; a community without one (no column, or an
  empty value) is in no street;
- the streets of a dataset are those of the ``streets`` layer, then the street ids that
  communities name and the layer lacks (in the order first named);
- a row whose key is missing at a level (a building in no community, a community in no
  street, a building in no grid of the plan) is counted in one more row whose key is empty
  (NA), after the groups, so every level adds up to the district; that row is there only
  when it holds something;
- a dataset without streets (none in the layer, none named by a community) has no street
  level: its street tables are empty (and asking for that level alone is an error).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from gridgen.dataset import Dataset
from gridgen.errors import InputError, ParameterError
from gridgen.partition.plan import Plan

Level = Literal["district", "street", "community", "grid"]
LEVELS: tuple[str, ...] = ("district", "street", "community", "grid")
"""The administrative levels, from the top."""
LEVEL_LABELS: dict[str, str] = {
    "district": "区",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
}
"""Chinese name of each level (report sheets and headers)."""
KEY_COLUMNS: dict[str, str] = {
    "district": "district",
    "street": "street_id",
    "community": "community_id",
    "grid": "grid_id",
}
"""Name of each level's key column in a rolled-up table."""


def street_of_community(dataset: Dataset) -> pd.Series:
    """Return the street id of every community (index: community id; NA: in no street)."""
    comm = dataset.communities
    ids = comm["community_id"].astype("string").to_numpy()
    if "street_id" not in comm.columns:
        return pd.Series(pd.NA, index=ids, dtype="string")
    streets = comm["street_id"].astype("string").str.strip().replace("", pd.NA)
    return pd.Series(streets.to_numpy(), index=ids, dtype="string")


def street_ids(dataset: Dataset) -> pd.Series:
    """Return the dataset's street ids: the streets layer's, then those only communities name."""
    layer = (
        dataset.streets["street_id"].astype("string")
        if not dataset.streets.empty
        else pd.Series(dtype="string")
    )
    named = street_of_community(dataset).dropna()
    ids = pd.unique(pd.concat([layer.dropna(), named]).to_numpy())
    return pd.Series(pd.array(ids, dtype="string"))


def community_keys(dataset: Dataset, community: pd.Series, level: str) -> pd.Series:
    """Return the key at ``level`` (district, street or community) of rows given their community.

    The result has ``community``'s index; NA where the row has no key at that level.
    """
    community = community.astype("string")
    if level == "community":
        return community
    if level == "street":
        return community.map(street_of_community(dataset)).astype("string")
    if level == "district":
        return pd.Series(dataset.name, index=community.index, dtype="string")
    msg = f"level={level!r}: rows are keyed by community only at district, street or community"
    raise ParameterError(msg)


def grid_of_building(plan: Plan) -> pd.Series:
    """Return the grid id of every building the plan assigns (index: building id)."""
    assign = plan.assignment.astype({"building_id": "string", "grid_id": "string"})
    if assign["building_id"].duplicated().any():
        dup = assign.loc[assign["building_id"].duplicated(), "building_id"].iloc[0]
        msg = f"plan assignment lists building {dup!r} more than once: fix the plan"
        raise InputError(msg)
    return pd.Series(assign["grid_id"].to_numpy(), index=assign["building_id"].to_numpy())


def level_groups(dataset: Dataset, level: str, *, plan: Plan | None = None) -> pd.DataFrame:
    """Return every group of ``level``, key column (:data:`KEY_COLUMNS`) first.

    Communities carry their ``street_id`` and grids their ``community_id``; the district is
    the dataset's name. Empty at street level for a dataset without streets.
    """
    if level == "district":
        return pd.DataFrame({"district": pd.array([dataset.name], dtype="string")})
    if level == "street":
        return pd.DataFrame({"street_id": street_ids(dataset).to_numpy()})
    if level == "community":
        out = pd.DataFrame(
            {"community_id": dataset.communities["community_id"].astype("string").to_numpy()}
        )
        out["street_id"] = out["community_id"].map(street_of_community(dataset)).astype("string")
        return out
    if level == "grid":
        if plan is None:
            msg = "level 'grid' needs a plan: pass plan=... (gridgen coverage --plan PLAN.gpkg)"
            raise ParameterError(msg)
        return pd.DataFrame(
            {
                "grid_id": plan.grids["grid_id"].astype("string").to_numpy(),
                "community_id": plan.grids["community_id"].astype("string").to_numpy(),
            }
        )
    msg = f"level={level!r}: use one of {', '.join(LEVELS)}"
    raise ParameterError(msg)


def require_level(dataset: Dataset, level: str) -> None:
    """Raise InputError when ``dataset`` has no ``level`` (a street level without streets)."""
    if level == "street" and street_ids(dataset).empty:
        msg = (
            "level 'street' needs streets: add street_id to the communities layer "
            "(or a streets layer)"
        )
        raise InputError(msg)


def rolled_up(groups: pd.DataFrame, agg: pd.DataFrame, *, counts: tuple[str, ...]) -> pd.DataFrame:
    """Return every group of ``groups`` with its row of ``agg`` (indexed by group key).

    Rows are in key order; groups without rows get 0 in the ``counts`` columns (int64). Keys
    of ``agg`` that name no group, and the NA key (rows in no group at this level, see the
    module's rule), get rows of their own, the NA key last. Without any group (a level the
    dataset does not have), the result is empty.
    """
    key = groups.columns[0]
    agg = agg.copy()
    agg.index = pd.Index(agg.index, dtype="string", name=key)
    if groups.empty:
        agg = agg.iloc[0:0]
    groups = groups.drop_duplicates(key).astype({key: "string"})
    out = groups.merge(agg.reset_index(), on=key, how="outer", sort=False)
    out = out.sort_values(key, na_position="last", kind="stable")
    for col in counts:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col]).fillna(0).astype(np.int64)
    return out.reset_index(drop=True)
