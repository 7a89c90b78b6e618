"""Request bodies (pydantic); responses are the store's record dataclasses or GeoJSON."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class KeyCreate(BaseModel):
    """A new API key."""

    name: str = Field(min_length=1, max_length=200, description="Who holds the key.")
    role: Literal["viewer", "grid_worker", "planner", "admin"]
    community_id: str | None = Field(
        default=None,
        max_length=100,
        description="Scope: the grid worker's community (required for grid_worker), or the "
        "one community a planner may plan.",
    )
    street_id: str | None = Field(
        default=None, max_length=100, description="Scope: the one street a planner may plan."
    )


class KeyCreated(BaseModel):
    """A created key; ``secret`` is shown once and never again."""

    id: str
    name: str
    role: str
    community_id: str | None
    street_id: str | None = None
    secret: str


class PlanCreate(BaseModel):
    """Create a plan by running the partitioner on a dataset (a background job)."""

    dataset_id: str
    name: str = Field(default="plan", max_length=200)
    target: int = Field(default=300, gt=0, description="Households per grid.")
    band: tuple[int, int] | None = Field(default=None, description="MIN, MAX households.")
    seed: int = 0
    communities: list[str] | None = Field(default=None, description="Only these communities.")


class EditBase(BaseModel):
    """Fields shared by every edit: the version it was made on and a note."""

    base_version: int | None = Field(
        default=None, ge=1, description="Version the edit was made on (or If-Match header)."
    )
    message: str = Field(default="", max_length=1000)


class MoveUnit(EditBase):
    """Move a building or a whole compound to another grid."""

    building_id: str | None = None
    compound_id: str | None = None
    to_grid: str


class LockGrids(EditBase):
    """Lock (or unlock) grids so that re-partitioning keeps them."""

    grid_ids: list[str] = Field(min_length=1)
    locked: bool = True


class Repartition(EditBase):
    """Re-partition the unlocked grids of some communities."""

    communities: list[str] | None = None
    target: int | None = Field(default=None, gt=0)
    band: tuple[int, int] | None = None
    seed: int | None = None
