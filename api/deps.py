"""`Annotated` dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.auth import Principal, anonymous, hash_secret, secret_from_headers
from api.service import ServiceState
from api.store import Store
from gridgen.errors import AuthenticationError


def get_state(request: Request) -> ServiceState:
    """Return the service state of the app."""
    state: ServiceState = request.app.state.gridgen
    return state


def get_store(request: Request) -> Store:
    """Return the store of the app."""
    return get_state(request).store


StateDep = Annotated[ServiceState, Depends(get_state)]
StoreDep = Annotated[Store, Depends(get_store)]


def get_principal(
    state: StateDep,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
) -> Principal:
    """Return the caller identified by ``X-API-Key`` or ``Authorization: Bearer``."""
    secret = secret_from_headers(x_api_key, authorization)
    if secret is None:
        return anonymous(state.settings.anonymous_role)
    key = state.store.find_key(hash_secret(secret))
    if key is None:
        raise AuthenticationError("API key not recognised (unknown or revoked): ask an admin")
    return Principal(key.id, key.name, key.role, key.community_id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_planner(who: PrincipalDep) -> Principal:
    """Return the caller if it may create and edit plans (planner, admin)."""
    who.require("planner", "admin", action="creating or editing plans")
    return who


def get_admin(who: PrincipalDep) -> Principal:
    """Return the caller if it is an admin."""
    who.require("admin", action="this operation")
    return who


PlannerDep = Annotated[Principal, Depends(get_planner)]
AdminDep = Annotated[Principal, Depends(get_admin)]
