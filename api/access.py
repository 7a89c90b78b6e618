"""Who may see what: the access level of a caller and the filtering of restricted columns.

Restricted columns (``gridgen.schema.restricted_columns``) reach a caller only when its
access is ``full`` (admin) or the feature lies in one of the caller's own communities (grid
worker: its community, or every community of its street in the dataset served).
Every output path (features, tiles, CSV, sheets) filters through :func:`visible_properties`
or :func:`visible_frame`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from gridgen.schema import restricted_columns


@dataclass(frozen=True)
class Access:
    """What a caller may see of restricted columns.

    Attributes
    ----------
    full
        Sees restricted columns everywhere (admin).
    communities
        Sees restricted columns of features in these communities only (grid worker: its
        community, or the communities of its street).
    """

    full: bool = False
    communities: frozenset[str] = frozenset()

    @property
    def cache_class(self) -> str:
        """Return a key separating cached outputs that differ between access levels."""
        if self.full:
            return "full"
        if self.communities:
            return "communities:" + ",".join(sorted(self.communities))
        return "public"


PUBLIC = Access()
FULL = Access(full=True)

RESTRICTED_ALL: tuple[str, ...] = tuple(
    sorted({c for layer in ("buildings", "uncovered_buildings") for c in restricted_columns(layer)})
    or ("key_persons", "leader_phone")
)
"""Every restricted column name (used where a layer's origin is not known)."""


def restricted_of(layer: str) -> tuple[str, ...]:
    """Return the restricted columns of a served layer (derived layers inherit buildings')."""
    if layer in ("uncovered_buildings", "building_points", "uncovered_building_points"):
        return restricted_columns("buildings")
    return restricted_columns(layer)


def may_see_restricted(access: Access, feature_community: str | None) -> bool:
    """Return whether ``access`` sees restricted columns of a feature in ``feature_community``."""
    if access.full:
        return True
    return feature_community is not None and str(feature_community) in access.communities


def visible_properties(
    props: dict[str, Any], *, layer: str, feature_community: str | None, access: Access
) -> dict[str, Any]:
    """Return ``props`` without the restricted columns ``access`` may not see."""
    if may_see_restricted(access, feature_community):
        return props
    hidden = restricted_of(layer) or RESTRICTED_ALL
    return {k: v for k, v in props.items() if k not in hidden}


def visible_frame(frame: pd.DataFrame, *, layer: str, access: Access) -> pd.DataFrame:
    """Return ``frame`` with restricted columns blanked or dropped for ``access``.

    Rows in the caller's own communities keep their values (grid worker); when no row may
    show a restricted column the column is dropped altogether.
    """
    hidden = [c for c in (restricted_of(layer) or RESTRICTED_ALL) if c in frame.columns]
    if not hidden or access.full:
        return frame
    out = frame.copy()
    if access.communities and "community_id" in out.columns:
        own = out["community_id"].astype("string").isin(access.communities).fillna(False)
        if bool(own.any()):
            for col in hidden:
                out[col] = out[col].astype(object).where(own.to_numpy(), None)
            return out
    return out.drop(columns=hidden)
