"""Callers and roles: API keys (``X-API-Key``) or bearer tokens, and what each role may do.

Roles:

- ``viewer``: published plans, map layers and aggregates; never restricted columns.
- ``grid_worker``: as viewer, plus restricted columns of features in the key's community, or
  in every community of the key's street (:func:`api.scopes.access_for`).
- ``planner``: as viewer, plus every plan version, creating plans and editing them.
- ``admin``: everything: datasets, keys, the audit log, restricted columns everywhere.

Secrets are never stored: the store keeps their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from api.access import FULL, PUBLIC, Access
from api.errors import AuthenticationError, PermissionDeniedError

ROLES: tuple[str, ...] = ("viewer", "grid_worker", "planner", "admin")


@dataclass(frozen=True)
class Principal:
    """The caller of a request."""

    key_id: str
    name: str
    role: str
    community_id: str | None = None
    street_id: str | None = None

    @property
    def label(self) -> str:
        """Return how the caller appears in the audit log (``name (role, key id)``)."""
        return f"{self.name} ({self.role}, key {self.key_id})"

    @property
    def access(self) -> Access:
        """Return the caller's access to restricted columns.

        A street-scoped grid worker gets :data:`PUBLIC` here: its communities depend on the
        dataset served, so outputs ask :func:`api.scopes.access_for` instead.
        """
        if self.role == "admin":
            return FULL
        if self.role == "grid_worker" and self.community_id:
            return Access(communities=frozenset({self.community_id}))
        return PUBLIC

    @property
    def sees_drafts(self) -> bool:
        """Return whether the caller sees unpublished plan versions (planner, admin)."""
        return self.role in ("planner", "admin")

    def require(self, *roles: str, action: str) -> None:
        """Raise PermissionDeniedError unless the caller has one of ``roles``."""
        if self.role not in roles:
            msg = f"{action} needs role {' or '.join(roles)}; this key has role {self.role}"
            raise PermissionDeniedError(msg)


def hash_secret(secret: str) -> str:
    """Return the SHA-256 hex digest of an API key secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """Return a new random API key secret."""
    return "gg_" + secrets.token_urlsafe(24)


def secret_from_headers(x_api_key: str | None, authorization: str | None) -> str | None:
    """Return the secret given by ``X-API-Key`` or ``Authorization: Bearer``, if any."""
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "Authorization header: use 'Bearer <token>' or send the key in X-API-Key"
            raise AuthenticationError(msg)
        return token.strip()
    return None


ANONYMOUS = "anonymous"


def anonymous(role: str | None) -> Principal:
    """Return the principal of requests without a key, or raise AuthenticationError."""
    if role is None:
        msg = "no API key: send X-API-Key: <key> or Authorization: Bearer <key>"
        raise AuthenticationError(msg)
    return Principal(ANONYMOUS, ANONYMOUS, role)
