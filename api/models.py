"""Request bodies (pydantic); responses are the store's record dataclasses or GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.params import nul_free

Households = Annotated[int, Field(gt=0, le=1_000_000)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1, description="Random seed (0 to 2^32-1).")]
Version = Annotated[int, Field(ge=1, le=2**63 - 1)]
Id = Annotated[str, Field(min_length=1, max_length=200)]


class RequestBody(BaseModel):
    """A request body: a field the route does not define is refused (422 naming it), never
    dropped (a typo such as ``lokc`` would otherwise save an edit without its locks), and
    so is text holding a NUL byte."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _nul_free(cls, value: Any) -> Any:
        """Refuse a NUL byte in any text of the body (PostgreSQL cannot store one)."""
        return nul_free(value)


class KeyCreate(RequestBody):
    """A new API key."""

    name: str = Field(min_length=1, max_length=200, description="Who holds the key.")
    role: Literal["viewer", "grid_worker", "planner", "admin"]
    community_id: str | None = Field(
        default=None,
        max_length=100,
        description="Scope: the grid worker's community (a grid_worker needs this or "
        "street_id), or the one community a planner may plan.",
    )
    street_id: str | None = Field(
        default=None,
        max_length=100,
        description="Scope: the one street a planner may plan, or whose communities a grid "
        "worker serves (restricted columns of every community of the street).",
    )


class KeyCreated(BaseModel):
    """A created key; ``secret`` is shown once and never again."""

    id: str
    name: str
    role: str
    community_id: str | None
    street_id: str | None = None
    secret: str


class PlanCreate(RequestBody):
    """Create a plan by running the partitioner on a dataset (a background job)."""

    dataset_id: Id
    name: str = Field(default="plan", max_length=200)
    target: Households = Field(default=300, description="Households per grid.")
    band: tuple[Households, Households] | None = Field(
        default=None, description="MIN, MAX households."
    )
    seed: Seed = 0
    communities: list[Id] | None = Field(
        default=None, max_length=10_000, description="Only these communities."
    )
    code_scheme: Literal["db11", "cjt349", "plain"] | None = Field(
        default=None,
        description="Grid codes: db11 (DB11/T 2157, 15 digits), cjt349 (CJ/T 349, 20 digits) "
        "or plain (community id + 3 digits); default db11 when every community has a "
        "12-digit code, else plain.",
    )
    object_code: str | None = Field(
        default=None, pattern=r"^[0-9]{6}$", description="CJ/T 349's 6-digit object code."
    )


class EditBase(RequestBody):
    """Fields shared by every edit: the version it was made on and a note."""

    base_version: Version | None = Field(
        default=None, description="Version the edit was made on (or If-Match header)."
    )
    message: str = Field(default="", max_length=1000)


class MoveUnit(EditBase):
    """Move a building or a whole compound to another grid."""

    building_id: Id | None = None
    compound_id: Id | None = None
    to_grid: Id


class LockGrids(EditBase):
    """Lock (or unlock) grids so that re-partitioning keeps them."""

    grid_ids: list[Id] = Field(min_length=1, max_length=10_000)
    locked: bool = True


class Repartition(EditBase):
    """Re-partition the unlocked grids of some communities."""

    communities: list[Id] | None = Field(
        default=None, min_length=1, max_length=10_000, description="Default: every community."
    )  # [] is refused: it read as 'every community'
    target: Households | None = None
    band: tuple[Households, Households] | None = None
    seed: Seed | None = None
