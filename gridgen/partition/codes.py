"""Grid codes (网格编码) and their lifecycle: the one module every producer asks.

Partition, rebalance, merge-grids, re-partition and the editor's assignments all get their
codes here, so a code means the same thing whoever made the plan:

- **Schemes** (:class:`CodeScheme`). ``db11`` (DB11/T 2157): the community's 12-digit code
  (6-digit county per GB/T 2260 + 3-digit street + 3-digit community) + a 3-digit
  sequence, 15 digits. ``cjt349`` (CJ/T 349): a configurable 6-digit object code + the
  12-digit community code + a 2-digit sequence, 20 digits, ``00`` for a community that is
  not subdivided (one grid). ``plain``: the community id + 3 digits, whatever the id
  looks like (gridgen's original codes). The 12-digit community code is the
  communities' ``code`` column when it holds 12 digits, else the community id when it is
  12 digits (the sample's ids are).
- **Order** (:func:`standard_order`): sequences are numbered west→east, north→south within
  the community. Exactly: with ``h = sqrt(area / k)`` (community area, k grids numbered
  together) and ``y0`` the community's northern edge, a grid is in row
  ``floor((y0 - y) / h)`` of its representative point; grids are sorted by (row, x, -y).
- **Keep by households** (:func:`kept_codes`): a new grid keeps an old grid's code when it
  is that grid by households (it holds more than half of the old grid's households, or
  more than half of its own come from it), one-to-one with the most households shared.
  Grids without buildings are judged by area.
- **Never reuse** (:func:`new_codes`): a new grid takes the next sequence never used in its
  community (after the highest used; the lowest never used once the sequence space ends),
  so a retired code never names another grid. The codes ever used travel with the plan
  (:class:`CodeBook`: the retired codes; the live ones are the grids).
- **Lifecycle** (:func:`dated_grids`): every grid carries ``valid_from`` (the date of the
  version that created its code) and retired codes ``valid_to`` (the date of the version
  that retired them), as ISO dates.

:mod:`gridgen.partition.lifecycle` applies these rules to whole plans (rename, date) and
holds the register of every code ever used (the plan file's ``codes`` layer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.errors import InfeasibleError, ParameterError
from gridgen.partition.units import UnitGraph

SCHEMES: tuple[str, ...] = ("db11", "cjt349", "plain")
"""Code schemes: DB11/T 2157 (15 digits), CJ/T 349 (20 digits), community id + 3 digits."""
COMMUNITY_CODE_DIGITS = 12
"""Digits of a community's statistical code: county (6) + street (3) + community (3)."""
OBJECT_CODE_DIGITS = 6
"""Digits of CJ/T 349's object code (the first six of its 20)."""
DEFAULT_OBJECT_CODE = "000000"
"""CJ/T 349 object code used when none is configured."""
KEPT_CODE_BONUS = 0.5
"""Households a kept code is worth besides those it shares (:func:`kept_codes`)."""
NOT_SUBDIVIDED = 0
"""CJ/T 349 sequence of the one grid of a community that is not subdivided (``00``)."""
CODE_COLUMNS: tuple[str, ...] = ("valid_from", "valid_to")
"""Lifecycle columns every grid carries (ISO dates; ``valid_to`` empty while in use)."""
CARRIED_COLUMNS: dict[str, Any] = {
    "workers": 1,
    "party_org": None,
    "party_org_name": None,
    "responsible": None,
    "grid_worker": None,
    "worker_phone": None,
}
"""Grid attributes that follow the code (a kept code keeps them) and their value for a new
code (``party_org`` None: unknown until an office's sheet says;
:mod:`gridgen.records.attributes`)."""
EMPTY_WEIGHT = 1e-3
"""Weight of a building in the households match, so grids of empty buildings match too."""
SAME_X_M = 1e-3
"""Metres to which a grid's x is rounded in the code order (:func:`standard_x`): grids of
one row at the same rounded x lie one above the other and go north first, whatever the
float noise of their points (a reprojection moves a point by about 1e-9 m)."""

_DIGITS = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class CodeScheme:
    """How codes are spelled: ``db11``, ``cjt349`` (with its object code) or ``plain``."""

    name: str = "plain"
    object_code: str = ""

    def __post_init__(self) -> None:
        """Check the name and, for ``cjt349``, the 6-digit object code."""
        if self.name not in SCHEMES:
            msg = f"code scheme {self.name!r} is unknown: use one of {', '.join(SCHEMES)}"
            raise ParameterError(msg)
        if self.name == "cjt349":
            obj = self.object_code or DEFAULT_OBJECT_CODE
            if not (_DIGITS.match(obj) and len(obj) == OBJECT_CODE_DIGITS):
                msg = (
                    f"object code {self.object_code!r}: CJ/T 349 needs {OBJECT_CODE_DIGITS} "
                    "digits (e.g. --object-code 110000)"
                )
                raise ParameterError(msg)
            object.__setattr__(self, "object_code", obj)
        elif self.object_code:
            msg = f"object code {self.object_code!r}: only --code-scheme cjt349 takes one"
            raise ParameterError(msg)

    @property
    def width(self) -> int:
        """Return the digits of the sequence (2 for CJ/T 349, 3 otherwise)."""
        return 2 if self.name == "cjt349" else 3

    @property
    def length(self) -> int | None:
        """Return the length of every code (None for ``plain``: it depends on the id)."""
        return {"db11": 15, "cjt349": 20}.get(self.name)

    @property
    def label(self) -> str:
        """Return the standard the scheme follows, as people write it."""
        return {"db11": "DB11/T 2157", "cjt349": "CJ/T 349", "plain": "plain"}[self.name]

    def prefix(self, community_id: str, community_code: str | None) -> str:
        """Return the part of every code of a community before its sequence."""
        if self.name == "plain":
            return str(community_id)
        if community_code is None:
            msg = (
                f"community {community_id} has no {COMMUNITY_CODE_DIGITS}-digit code (GB/T 2260 "
                "county + street + community) that --code-scheme "
                f"{self.name} needs: add a 'code' column to communities or use "
                "--code-scheme plain"
            )
            raise ParameterError(msg)
        return community_code if self.name == "db11" else self.object_code + community_code

    def code(self, prefix: str, sequence: int) -> str:
        """Return the code of ``sequence`` in a community with ``prefix``."""
        return f"{prefix}{sequence:0{self.width}d}"

    def sequence(self, code: str, prefix: str) -> int | None:
        """Return the sequence of ``code`` if it is a code of this prefix, else None."""
        tail = str(code)[len(prefix) :]
        if not str(code).startswith(prefix) or len(tail) != self.width or not _DIGITS.match(tail):
            return None
        return int(tail)

    @property
    def capacity(self) -> int:
        """Return the highest sequence a community may use."""
        return int(10**self.width - 1)

    def to_dict(self) -> dict[str, str]:
        """Return the scheme as JSON-ready values."""
        return {"name": self.name, "object_code": self.object_code}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> CodeScheme:
        """Return the scheme stored by :meth:`to_dict` (``plain`` when absent)."""
        if not values:
            return cls()
        return cls(str(values.get("name", "plain")), str(values.get("object_code") or ""))


@dataclass(frozen=True)
class RetiredCode:
    """A code no grid carries any more: never given to another grid."""

    code: str
    community_id: str
    valid_from: str | None
    valid_to: str


@dataclass(frozen=True)
class CodeBook:
    """The codes of a plan beyond its grids: the scheme and every retired code."""

    scheme: CodeScheme = field(default_factory=CodeScheme)
    retired: tuple[RetiredCode, ...] = ()

    def retired_in(self, community_id: str) -> set[str]:
        """Return the retired codes of one community."""
        return {r.code for r in self.retired if r.community_id == community_id}

    def to_dict(self) -> dict[str, Any]:
        """Return the book as JSON-ready values."""
        return {
            "scheme": self.scheme.to_dict(),
            "retired": [[r.code, r.community_id, r.valid_from, r.valid_to] for r in self.retired],
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> CodeBook:
        """Return the book stored by :meth:`to_dict` (empty, ``plain`` when absent)."""
        if not values:
            return cls()
        retired = tuple(
            RetiredCode(str(c), str(k), None if f is None else str(f), str(t))
            for c, k, f, t in values.get("retired", ())
        )
        return cls(CodeScheme.from_dict(values.get("scheme")), retired)


def community_codes_of(communities: pd.DataFrame) -> dict[str, str | None]:
    """Return per community id its 12-digit statistical code (None when it has none)."""
    ids = communities["community_id"].astype(str).tolist()
    given = communities["code"].tolist() if "code" in communities.columns else [None] * len(ids)
    out: dict[str, str | None] = {}
    for cid, code in zip(ids, given, strict=True):
        text = "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code)
        text = text.strip()
        if _is_community_code(text):
            out[cid] = text
        else:
            out[cid] = cid if _is_community_code(cid) else None
    return out


def _is_community_code(text: str) -> bool:
    return len(text) == COMMUNITY_CODE_DIGITS and bool(_DIGITS.match(text))


def scheme_for(
    communities: pd.DataFrame, name: str | None = None, *, object_code: str | None = None
) -> CodeScheme:
    """Return the scheme to code ``communities`` with, checked against them.

    ``name`` None picks ``db11`` when every community carries a 12-digit code, else
    ``plain``. A named ``db11``/``cjt349`` scheme with a community lacking a 12-digit code
    raises :class:`ParameterError` naming it.
    """
    codes = community_codes_of(communities)
    if name is None:
        name = "db11" if codes and all(v is not None for v in codes.values()) else "plain"
        if object_code:
            name = "cjt349"
    scheme = CodeScheme(name, object_code or "")
    if scheme.name != "plain":
        for cid, code in codes.items():
            scheme.prefix(cid, code)
    return scheme


def prefixes(communities: pd.DataFrame, scheme: CodeScheme) -> dict[str, str]:
    """Return per community id the prefix of its codes under ``scheme``."""
    return {cid: scheme.prefix(cid, code) for cid, code in community_codes_of(communities).items()}


def standard_order(geoms: NDArray[np.object_], area: shapely.Geometry) -> NDArray[np.int64]:
    """Return grid indices in code order: rows north to south, west to east (module doc).

    ``geoms`` and ``area`` (the community) in one metric CRS.
    """
    if len(geoms) == 0:
        return np.zeros(0, dtype=np.int64)
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    row = standard_rows(pts[:, 1], area, len(geoms))
    return np.lexsort((-pts[:, 1], standard_x(pts[:, 0]), row)).astype(np.int64)


def standard_x(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return x (metres) as :func:`standard_order` compares it: rounded to :data:`SAME_X_M`."""
    return np.round(np.asarray(x, dtype=np.float64) / SAME_X_M)


def standard_rows(
    y: NDArray[np.float64], area: shapely.Geometry, k: int, *, shift: float = 0.0
) -> NDArray[np.float64]:
    """Return the row (0: northernmost) of points at heights ``y`` when ``k`` grids of the
    community ``area`` are numbered (:func:`standard_order`): rows as high as the side of a
    square of a ``k``-th of its area, from its northern edge; ``shift`` metres are added to
    each point's distance from that edge (the audit's slack for moved boundaries)."""
    h = math.sqrt(max(float(shapely.area(area)), 1.0) / k)
    y0 = float(shapely.bounds(area)[3])
    return np.asarray(np.floor((y0 - y + shift) / h), dtype=np.float64)


def new_codes(
    scheme: CodeScheme, prefix: str, n: int, *, used: Iterable[str] = (), whole: bool = False
) -> list[str]:
    """Return ``n`` codes never used in a community, in the order they are given out.

    Sequences follow the highest one in ``used`` (the lowest never used once the sequence
    space is spent). ``whole``: the community is one grid, which CJ/T 349 codes ``00``
    (when ``00`` was never used).
    """
    taken = {s for s in (scheme.sequence(c, prefix) for c in used) if s is not None}
    if n == 0:
        return []
    if whole and n == 1 and scheme.name == "cjt349" and NOT_SUBDIVIDED not in taken:
        return [scheme.code(prefix, NOT_SUBDIVIDED)]
    start = max(taken, default=0) + 1
    seqs = [s for s in range(max(start, 1), scheme.capacity + 1)][:n]
    if len(seqs) < n:
        seqs += [s for s in range(1, start) if s not in taken][: n - len(seqs)]
    if len(seqs) < n:
        msg = (
            f"community with codes {prefix}…: {n} new grids need sequence numbers but only "
            f"{len(seqs)} of {scheme.capacity} were never used ({scheme.label} never reuses a "
            "retired code): merge grids or use a scheme with a longer sequence"
        )
        raise InfeasibleError(msg)
    return [scheme.code(prefix, s) for s in seqs]


def kept_codes(
    old: Sequence[str],
    new: NDArray[np.int64],
    weight: NDArray[np.float64],
    *,
    k: int,
) -> list[str | None]:
    """Return per new label (0..k-1) the old code it keeps, or None.

    ``old`` (old code, ``""`` for none), ``new`` (label) and ``weight`` (households) per
    building. A new grid may keep an old grid's code when it is that grid by households:
    it holds more than half of the old grid's households, or more than half of its own
    come from the old grid (a grid that gave a compound away stays itself). Among those
    pairs, codes go one-to-one so that the households shared are the most (the assignment
    problem, :func:`scipy.optimize.linear_sum_assignment`; ties: the lower label, then the
    lower code). Each code kept counts half a household more, so near ties keep more codes.
    """
    # imported here: scipy.optimize adds 0.09 s to partition's start-up, and partition,
    # which imports this module for its codes, never keeps one (rebalance imports it anyway)
    from scipy.optimize import linear_sum_assignment

    out: list[str | None] = [None] * k
    o = np.asarray(old, dtype=object).astype(str)
    w = np.asarray(weight, dtype=float)
    use = (o != "") & (w > 0)
    if not use.any() or k == 0:
        return out
    # households shared by each (old code, new label) pair: numpy keys and bincount, about
    # 10x faster than the pandas groupby it replaces (it ran once per rebalanced community)
    code_of, oi = np.unique(o[use], return_inverse=True)
    label_of, ni = np.unique(np.asarray(new)[use], return_inverse=True)
    pair, at = np.unique(oi * len(label_of) + ni, return_inverse=True)
    po, pn = pair // len(label_of), pair % len(label_of)
    # sums in thousandths of a household, exact, so that "more than half" is decided the
    # same whatever order the buildings come in (a float sum can tip an exact tie)
    milli = np.rint(w[use] * 1000.0).astype(np.int64)
    twice = 2 * np.bincount(at, weights=milli).astype(np.int64)
    of_old = np.bincount(po, weights=twice / 2).astype(np.int64)[po]
    of_new = np.bincount(pn, weights=twice / 2).astype(np.int64)[pn]
    sel = (twice > of_old) | (twice > of_new)
    shared = twice / 2000.0
    if not sel.any():
        return out
    codes = sorted(set(code_of[po[sel]].tolist()))
    labels = sorted(set(label_of[pn[sel]].astype(int).tolist()))
    gain = np.zeros((len(labels), len(codes)))
    rows = np.searchsorted(labels, label_of[pn[sel]].astype(int))
    cols = np.searchsorted(codes, code_of[po[sel]])
    # ties go to the lower label and code: a nudge far below one household
    nudge = 1e-6 * (1.0 - (rows * len(codes) + cols) / gain.size)
    gain[rows, cols] = shared[sel] + KEPT_CODE_BONUS + nudge
    for r, c in zip(*linear_sum_assignment(gain, maximize=True), strict=True):
        if gain[r, c] > 0:
            out[labels[r]] = codes[c]
    return out


def kept_by_area(
    old_codes: Sequence[str],
    old_geoms: NDArray[np.object_],
    new_geoms: NDArray[np.object_],
    kept: list[str | None],
) -> list[str | None]:
    """Return ``kept`` where old grids without buildings go to the new grid covering most of
    them (more than half their area), when that grid keeps no code yet."""
    out = list(kept)
    taken = {c for c in out if c is not None}
    if not len(new_geoms):
        return out
    for code, geom in zip(old_codes, old_geoms, strict=True):
        if code in taken or geom is None or shapely.is_empty(geom):
            continue
        share = shapely.area(shapely.intersection(new_geoms, geom)) / max(geom.area, 1e-9)
        lab = int(np.argmax(share))
        if share[lab] > 0.5 and out[lab] is None:
            out[lab] = str(code)
            taken.add(str(code))
    return out


def community_codes(
    scheme: CodeScheme,
    prefix: str,
    *,
    kept: list[str | None],
    geoms: NDArray[np.object_],
    area: shapely.Geometry,
    used: Iterable[str],
) -> list[str]:
    """Return the code of every new grid (label order): kept codes, then new ones.

    Grids that keep no code take :func:`new_codes` in :func:`standard_order` among
    themselves. Under CJ/T 349 a ``00`` code is not kept by a subdivided community.
    """
    k = len(kept)
    out = list(kept)
    if scheme.name == "cjt349" and k > 1:
        out = [
            None if c is not None and scheme.sequence(c, prefix) == NOT_SUBDIVIDED else c
            for c in out
        ]
    free = [lab for lab in range(k) if out[lab] is None]
    if free:
        order = standard_order(np.asarray(geoms, dtype=object)[free], area)
        fresh = new_codes(scheme, prefix, len(free), used=used, whole=k == 1)
        for rank, idx in enumerate(order.tolist()):
            out[free[idx]] = fresh[rank]
    return [str(c) for c in out]


def unit_codes(
    scheme: CodeScheme,
    prefix: str,
    *,
    units: UnitGraph,
    labels: NDArray[np.int64],
    geoms: NDArray[np.object_],
    old_code: Mapping[str, str],
    households: Mapping[str, float],
    old_grids: Mapping[str, Any],
    used: Iterable[str],
) -> list[str]:
    """Return the code of every grid (label) drawn over a community's units.

    For the producers that redraw a community from its units (rebalance, merge,
    re-partition): ``labels`` per unit, ``geoms`` per label (metric CRS), ``old_code`` the
    building → code of the plan before, ``old_grids`` the community's old grids (code →
    metric geometry; only their codes can be kept), ``used`` every code ever used there.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    b_ids = [str(b) for b in units.building_ids]
    old = [old_code.get(b, "") for b in b_ids]
    old = [c if c in old_grids else "" for c in old]
    weight = np.asarray([households.get(b, 0.0) for b in b_ids], dtype=float) + EMPTY_WEIGHT
    lab = labels[units.building_unit] if b_ids else np.zeros(0, dtype=np.int64)
    kept = kept_codes(old, lab, weight, k=k)
    empty = [c for c in old_grids if c not in set(old)]
    if empty:
        kept = kept_by_area(
            empty, np.asarray([old_grids[c] for c in empty], dtype=object), geoms, kept
        )
    return community_codes(scheme, prefix, kept=kept, geoms=geoms, area=units.area, used=used)


def blank(value: Any) -> bool:
    """Return whether a date cell is empty (None, NA, NaN, empty text)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip() in ("", "NaT", "None", "nan")


def used_codes(grids: pd.DataFrame, book: CodeBook, community_id: str) -> set[str]:
    """Return every code ever used in a community: its grids' and its retired codes."""
    live = grids.loc[grids["community_id"].astype(str) == community_id, "grid_id"]
    return set(live.astype(str)) | book.retired_in(community_id)


__all__ = [
    "CODE_COLUMNS",
    "SCHEMES",
    "CodeBook",
    "CodeScheme",
    "RetiredCode",
    "blank",
    "community_codes",
    "community_codes_of",
    "kept_by_area",
    "kept_codes",
    "new_codes",
    "prefixes",
    "scheme_for",
    "standard_order",
    "unit_codes",
    "used_codes",
]
