"""The history of one grid code in a stored plan, read from its immutable versions.

Every version of a plan is kept as written, so a code's history is exact without a log of
its own: the code's grid row in each version (one indexed look-up by layer key and code,
the same on SQLite and PostGIS) gives when it was created, each version that changed its
households, buildings or boundary, and the version that retired it.
"""

from __future__ import annotations

from typing import Any

from api.store.base import FeatureRow, Store, VersionInfo, grids_key, version_date
from gridgen.errors import NotFoundError
from gridgen.partition.codes import CodeBook

TRACKED = ("households", "buildings", "community_id")
"""Grid properties whose change makes a version a ``changed`` event (besides the boundary)."""


def _row(store: Store, plan_id: str, version: int, code: str) -> FeatureRow | None:
    try:
        return store.get_feature(grids_key(plan_id, version), code)
    except NotFoundError:
        return None


def _event(kind: str, info: VersionInfo, row: FeatureRow | None) -> dict[str, Any]:
    props = row.properties if row is not None else {}
    return {
        "event": kind,
        "version": info.version,
        "date": version_date(info.created_at).isoformat(),
        "at": info.created_at,
        "author": info.author,
        "message": info.message,
        **{k: props.get(k) for k in TRACKED},
        "valid_from": props.get("valid_from"),
    }


def code_history(
    store: Store, plan_id: str, code: str, *, versions: list[VersionInfo]
) -> dict[str, Any]:
    """Return the history of ``code`` over ``versions`` of a plan (oldest first).

    ``events``: ``created`` (the first version holding the code), ``changed`` (households,
    buildings, community or boundary differ from the version before), ``retired`` (the
    first version without it), ``reappeared`` (a plan made before codes were never reused).
    The top level gives the code's community, ``valid_from``, ``valid_to`` and ``status``
    as of the last of ``versions``. NotFoundError when no version holds the code.
    """
    events: list[dict[str, Any]] = []
    prev: FeatureRow | None = None
    last: FeatureRow | None = None
    seen = False
    for info in versions:
        row = _row(store, plan_id, info.version, code)
        if row is not None and prev is None:
            events.append(_event("reappeared" if seen else "created", info, row))
            seen = True
        elif row is None and prev is not None:
            events.append(_event("retired", info, prev))
            events[-1]["valid_to"] = _retired_on(info, code)
        elif row is not None and prev is not None and _differs(prev, row):
            events.append(_event("changed", info, row))
            events[-1]["households_before"] = prev.properties.get("households")
        prev = row
        last = row or last
    if last is None:
        msg = f"grid code {code!r} is in no version of plan {plan_id}: check the code"
        raise NotFoundError(msg)
    props = last.properties
    return {
        "plan_id": plan_id,
        "code": code,
        "community_id": props.get("community_id"),
        "status": "active" if prev is not None else "retired",
        "valid_from": props.get("valid_from"),
        "valid_to": None if prev is not None else events[-1].get("valid_to"),
        "events": events,
    }


def _differs(a: FeatureRow, b: FeatureRow) -> bool:
    if a.wkb != b.wkb:
        return True
    return any(a.properties.get(k) != b.properties.get(k) for k in TRACKED)


def _retired_on(info: VersionInfo, code: str) -> str:
    """Return the ``valid_to`` the version that retired ``code`` recorded (its date else)."""
    book = CodeBook.from_dict(info.metrics.get("codes"))
    hit = next((r.valid_to for r in book.retired if r.code == code), None)
    return hit or version_date(info.created_at).isoformat()


__all__ = ["code_history"]
