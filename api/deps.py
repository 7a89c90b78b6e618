"""`Annotated` dependency aliases shared by the routers."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from api.auth import Principal, anonymous, hash_secret, secret_from_headers
from api.errors import AuthenticationError
from api.service import ServiceState
from api.store.base import Store

KEY_TTL_S = 10.0
"""Seconds a key found in the store is trusted without asking the store again."""


async def get_state(request: Request) -> ServiceState:
    """Return the service state of the app."""
    state: ServiceState = request.app.state.gridgen
    return state


async def get_store(request: Request) -> Store:
    """Return the store of the app."""
    store: Store = request.app.state.gridgen.store
    return store


StateDep = Annotated[ServiceState, Depends(get_state)]
StoreDep = Annotated[Store, Depends(get_store)]


async def principal_for(
    state: ServiceState, x_api_key: str | None, authorization: str | None
) -> Principal:
    """Return the caller identified by an ``X-API-Key`` or ``Authorization: Bearer`` value.

    Keys found are remembered for :data:`KEY_TTL_S` seconds (revoking a key through the
    service forgets them at once), so a tile request costs no database round trip.
    """
    secret = secret_from_headers(x_api_key, authorization)
    if secret is None:
        return anonymous(state.settings.anonymous_role)
    digest = hash_secret(secret)
    now = time.monotonic()
    hit = state.principals.get(digest)
    if hit is not None and now - hit[1] < KEY_TTL_S:
        who: Principal = hit[0]
        return who
    key = await run_in_threadpool(state.store.find_key, digest)
    if key is None:
        raise AuthenticationError("API key not recognised (unknown or revoked): ask an admin")
    who = Principal(key.id, key.name, key.role, key.community_id, key.street_id)
    state.principals[digest] = (who, now)
    return who


async def get_principal(
    state: StateDep,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
) -> Principal:
    """Return the caller identified by ``X-API-Key`` or ``Authorization: Bearer``."""
    return await principal_for(state, x_api_key, authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_planner(who: PrincipalDep) -> Principal:
    """Return the caller if it may create and edit plans (planner, admin)."""
    who.require("planner", "admin", action="creating or editing plans")
    return who


async def get_admin(who: PrincipalDep) -> Principal:
    """Return the caller if it is an admin."""
    who.require("admin", action="this operation")
    return who


PlannerDep = Annotated[Principal, Depends(get_planner)]
AdminDep = Annotated[Principal, Depends(get_admin)]
