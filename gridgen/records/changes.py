"""Change orders (变更单): what changed between two plans, grid by grid, by code.

A building's households *moved* when its grid code differs between the plans (no grid
counts as the code ``""``). Per code of either plan: households before and after (the
buildings the plan assigns to it), households in and out, the buildings in (with the
grid they come from) and out (with the grid they go to), and a status:

- ``kept``: the code is in both plans with the same buildings and the same boundary
  (within :data:`AREA_TOLERANCE_M2`);
- ``changed``: in both plans, with buildings in or out or a boundary moved;
- ``new`` / ``retired``: in the new plan only / in the old plan only.

The workbook and the PDF (the handover sheets, 交接单) are written from :meth:`ChangeOrder.to_dict`
by :mod:`gridgen.io.changes_xlsx` and :mod:`maps.handover`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.partition.codes import blank
from gridgen.partition.plan import Plan

AREA_TOLERANCE_M2 = 1.0
"""Area (m²) by which a kept code's boundary may differ and still count as unchanged."""
STATUSES: tuple[str, ...] = ("kept", "changed", "new", "retired")
WORKER_COLUMN = "grid_worker"
"""The grid attribute naming a grid's worker(s) (restricted, like leaders' phones)."""
WITHHELD = "（不公开）"
"""What stands for a restricted value a reader may not see."""


@dataclass(frozen=True)
class ChangeOrder:
    """The change order between two plans: a summary and one entry per code."""

    summary: dict[str, int]
    grids: list[dict[str, Any]]
    effective_date: str
    old: str = "old"
    new: str = "new"
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the change order as JSON-ready values."""
        return {
            "old": self.old,
            "new": self.new,
            "effective_date": self.effective_date,
            "summary": dict(self.summary),
            "grids": self.grids,
            **self.meta,
        }

    def handed_over(self) -> list[dict[str, Any]]:
        """Return the entries of the grids a handover sheet is printed for (not ``kept``)."""
        return [g for g in self.grids if g["status"] != "kept"]


def _code_of(plan: Plan) -> pd.Series:
    a = plan.assignment
    return pd.Series(a["grid_id"].astype(str).to_numpy(), index=a["building_id"].astype(str))


def building_codes(dataset: Dataset, old: Plan, new: Plan) -> pd.DataFrame:
    """Return per building its compound, households and old and new code (``""``: none)."""
    bld = dataset.buildings
    comp = dataset.compounds
    names = dict(zip(comp["compound_id"].astype(str), comp["name"], strict=False))
    ids = bld["building_id"].astype(str)
    compound = bld["compound_id"].astype(object).where(bld["compound_id"].notna(), None)
    frame = pd.DataFrame(
        {
            "building_id": ids.to_numpy(),
            "compound_id": [None if c is None else str(c) for c in compound],
            "households": pd.to_numeric(bld["households"], errors="coerce")
            .fillna(0)
            .astype(np.int64)
            .to_numpy(),
        }
    )
    frame["compound_name"] = [
        None if c is None else (None if blank(names.get(c)) else str(names[c]))
        for c in frame["compound_id"]
    ]
    frame["old"] = ids.map(_code_of(old)).fillna("").to_numpy()
    frame["new"] = ids.map(_code_of(new)).fillna("").to_numpy()
    return frame


def _boundary_changes(dataset: Dataset, old: Plan, new: Plan, codes: list[str]) -> dict[str, float]:
    """Return per code in both plans the area (m²) between its old and new boundary."""
    if not codes:
        return {}
    crs = dataset.metric_crs
    a = old.grids.set_index(old.grids["grid_id"].astype(str)).loc[codes].to_crs(crs)
    b = new.grids.set_index(new.grids["grid_id"].astype(str)).loc[codes].to_crs(crs)
    area = shapely.area(
        shapely.symmetric_difference(
            shapely.make_valid(a.geometry.to_numpy()), shapely.make_valid(b.geometry.to_numpy())
        )
    )
    return dict(zip(codes, area.tolist(), strict=True))


def _workers(plan: Plan, *, restricted: bool | Collection[str]) -> dict[str, str | None]:
    """Return code → grid worker(s) when the plan names them (withheld unless restricted is
    True, or names the grid's community)."""
    if WORKER_COLUMN not in plan.grids.columns:
        return {}
    out: dict[str, str | None] = {}
    g = plan.grids
    rows = zip(
        g["grid_id"].astype(str), g["community_id"].astype(str), g[WORKER_COLUMN], strict=True
    )
    for code, comm, name in rows:
        if not blank(name):
            shown = restricted is True or (not isinstance(restricted, bool) and comm in restricted)
            out[code] = str(name) if shown else WITHHELD
    return out


def _moves(rows: pd.DataFrame, *, other: str) -> list[dict[str, Any]]:
    cols = ["building_id", "compound_id", "compound_name", "households", other]
    out = rows[cols].rename(columns={other: "from_grid" if other == "old" else "to_grid"})
    records = [{str(k): v for k, v in r.items()} for r in out.to_dict("records")]
    for r in records:
        r["households"] = int(r["households"])
        for k in ("from_grid", "to_grid"):
            if r.get(k) == "":
                r[k] = None
    return records


def change_order(
    dataset: Dataset,
    old: Plan,
    new: Plan,
    *,
    effective: date | None = None,
    restricted: bool | Collection[str] = False,
    labels: tuple[str, str] = ("old", "new"),
) -> ChangeOrder:
    """Return the change order from plan ``old`` to plan ``new`` (module doc).

    Parameters
    ----------
    dataset
        The dataset both plans were drawn on (buildings, households, compounds).
    old, new
        The plans before and after.
    effective
        Effective date (default: the latest date a code of ``new`` starts or one of
        ``old`` ends, else today).
    restricted
        Whether grid workers' names may be shown (otherwise withheld): True, False, or the
        communities whose grids' workers may be shown.
    labels
        How the two plans are named in the output (file names, versions).
    """
    b = building_codes(dataset, old, new)
    moved = b[b["old"] != b["new"]]
    old_codes = old.grids["grid_id"].astype(str).tolist()
    new_codes = new.grids["grid_id"].astype(str).tolist()
    both = sorted(set(old_codes) & set(new_codes))
    area = _boundary_changes(dataset, old, new, both)
    before = b.groupby("old")["households"].sum()
    after = b.groupby("new")["households"].sum()
    comm = dict(zip(old_codes, old.grids["community_id"].astype(str), strict=True))
    comm.update(zip(new_codes, new.grids["community_id"].astype(str), strict=True))
    w_old, w_new = _workers(old, restricted=restricted), _workers(new, restricted=restricted)
    ins = {k: g for k, g in moved.groupby("new") if k != ""}
    outs = {k: g for k, g in moved.groupby("old") if k != ""}
    grids: list[dict[str, Any]] = []
    for code in sorted(set(old_codes) | set(new_codes)):
        gin = ins.get(code, moved.iloc[:0])
        gout = outs.get(code, moved.iloc[:0])
        entry: dict[str, Any] = {
            "code": code,
            "community_id": comm[code],
            "status": _status(code, old_codes, new_codes, len(gin) + len(gout), area),
            "households_before": int(before.get(code, 0)) if code in old_codes else 0,
            "households_after": int(after.get(code, 0)) if code in new_codes else 0,
            "households_in": int(gin["households"].sum()),
            "households_out": int(gout["households"].sum()),
            "boundary_change_m2": round(float(area[code]), 1) if code in area else None,
            "worker_before": w_old.get(code),
            "worker_after": w_new.get(code),
            "buildings_in": _moves(gin, other="old"),
            "buildings_out": _moves(gout, other="new"),
        }
        grids.append(entry)
    counts = {s: sum(g["status"] == s for g in grids) for s in STATUSES}
    summary = {
        **{f"grids_{s}": counts[s] for s in STATUSES},
        "households_moved": int(moved["households"].sum()),
        "buildings_moved": len(moved),
    }
    day = effective or _effective(old, new)
    return ChangeOrder(summary, grids, day.isoformat(), old=labels[0], new=labels[1])


def _status(code: str, old: list[str], new: list[str], moves: int, area: dict[str, float]) -> str:
    if code not in new:
        return "retired"
    if code not in old:
        return "new"
    return "changed" if moves or area.get(code, 0.0) > AREA_TOLERANCE_M2 else "kept"


def _effective(old: Plan, new: Plan) -> date:
    """Return the latest date a code of ``new`` starts or a code ``new`` retired ends."""
    days: list[str] = []
    if "valid_from" in new.grids.columns:
        fresh = ~new.grids["grid_id"].astype(str).isin(set(old.grids["grid_id"].astype(str)))
        days += [str(v) for v in new.grids.loc[fresh, "valid_from"] if not blank(v)]
    gone = {r.code for r in old.codes.retired}
    days += [r.valid_to for r in new.codes.retired if r.code not in gone]
    parsed = []
    for d in days:
        try:
            parsed.append(date.fromisoformat(d[:10]))
        except ValueError:
            continue
    return max(parsed, default=date.today())


__all__ = ["STATUSES", "ChangeOrder", "building_codes", "change_order"]
