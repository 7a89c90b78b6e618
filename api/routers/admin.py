"""``/keys`` and ``/audit``: API keys and the audit log (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import hash_secret, new_secret
from api.deps import AdminDep, PrincipalDep, StateDep
from api.models import KeyCreate, KeyCreated
from api.scopes import check_key_scope
from api.store.base import AuditEntry, KeyInfo

router = APIRouter(tags=["admin"])


@router.get("/me", summary="Who am I")
def me(who: PrincipalDep) -> dict[str, str | None]:
    """Return the caller's key id, name, role and community."""
    return {
        "key_id": who.key_id,
        "name": who.name,
        "role": who.role,
        "community_id": who.community_id,
        "street_id": who.street_id,
    }


@router.post("/keys", status_code=201, summary="Create an API key")
def create_key(state: StateDep, who: AdminDep, body: KeyCreate) -> KeyCreated:
    """Create a key; its secret is returned once."""
    scope = check_key_scope(
        state, role=body.role, community_id=body.community_id, street_id=body.street_id
    )
    secret = new_secret()
    info = state.store.add_key(
        name=body.name,
        role=body.role,
        community_id=scope.community_id if scope else None,
        street_id=scope.street_id if scope else None,
        secret_hash=hash_secret(secret),
        actor=who.label,
    )
    return KeyCreated(
        id=info.id,
        name=info.name,
        role=info.role,
        community_id=info.community_id,
        street_id=info.street_id,
        secret=secret,
    )


@router.get("/keys", summary="List API keys")
def list_keys(state: StateDep, who: AdminDep) -> list[KeyInfo]:
    """Return every key (without secrets)."""
    return state.store.list_keys()


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(state: StateDep, who: AdminDep, key_id: str) -> None:
    """Revoke a key."""
    state.store.revoke_key(key_id, actor=who.label)
    state.principals.clear()


@router.get("/audit", summary="Audit log")
def audit(
    state: StateDep,
    who: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEntry]:
    """Return audit entries (who did what, when), newest first."""
    return state.store.list_audit(limit=limit, offset=offset)
