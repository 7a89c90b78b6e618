"""Grid attributes the offices keep (网格台账): grid workers, party organisations, the
responsible party and the dates, by grid code.

The vocabulary here is shared by every reader: a grid layer read for an audit keeps these
columns under their canonical names, and ``gridgen update --layer grids`` takes them from
an office's sheet (:mod:`gridgen.io.grid_sheet`).

``party_org`` is three-valued: True (the grid has a party organisation), False (it has
none) or None (unknown: no sheet said), so the governance report can say "unknown" instead
of counting a missing sheet as zero.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import geopandas as gpd
import pandas as pd

from gridgen.errors import SchemaError
from gridgen.partition.codes import CARRIED_COLUMNS, blank
from gridgen.partition.plan import Plan
from gridgen.validate.ledger import LedgerResult, apply_ledger

ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "grid_worker",
    "worker_phone",
    "workers",
    "party_org",
    "party_org_name",
    "responsible",
    "valid_from",
    "valid_to",
)
"""Canonical names of the grid attributes (``grid_worker`` and ``worker_phone`` restricted)."""
RESTRICTED_ATTRIBUTES: tuple[str, ...] = ("grid_worker", "worker_phone")
"""Attributes only admins and the grid's own community's workers see (like leaders' phones)."""
SHEET_ATTRIBUTES: tuple[str, ...] = tuple(CARRIED_COLUMNS)
"""Attributes an office's sheet may set (they follow the code; the dates belong to the
codes' lifecycle)."""

HEADERS: dict[str, tuple[str, ...]] = {
    "grid_id": ("grid_id", "code", "网格编码", "网格编号", "网格代码"),
    "grid_worker": ("grid_worker", "网格员", "网格员姓名", "专职网格员"),
    "worker_phone": ("worker_phone", "网格员电话", "网格员联系电话", "联系电话"),
    "workers": ("workers", "网格员人数", "网格员数"),
    "party_org": ("party_org", "网格党组织", "是否建立网格党组织", "有无网格党组织", "网格党支部"),
    "party_org_name": ("party_org_name", "网格党组织名称", "党组织名称", "党支部名称"),
    "responsible": ("responsible", "责任主体", "责任单位", "责任人单位"),
    "valid_from": ("valid_from", "启用日期", "起始日期", "开始日期", "设立日期"),
    "valid_to": ("valid_to", "停用日期", "终止日期", "结束日期", "撤销日期"),
}
"""Headers (English or Chinese) read as each canonical column."""

YES = frozenset({"是", "有", "已建", "已建立", "y", "yes", "true", "1", "√", "✓"})
NO = frozenset({"否", "无", "未建", "未建立", "没有", "n", "no", "false", "0", "×"})
UNKNOWN = frozenset({"未知", "不详", "待定", "unknown"})


def _key(text: str) -> str:
    return re.sub(r"[\s_（）()：:]", "", str(text)).lower()


_LOOKUP = {_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}


def canonical_column(header: Any) -> str | None:
    """Return the canonical column a header names (None for any other header)."""
    return _LOOKUP.get(_key(str(header)))


def attribute_frame(frame: pd.DataFrame, *, code_column: str | None = None) -> pd.DataFrame:
    """Return the known attribute columns of ``frame`` under their canonical names.

    The code column is ``code_column`` when given; a column of ``frame`` that is already
    canonical wins over an alias of the same attribute.
    """
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        name = canonical_column(col)
        if name is None or name == "grid_id" or (name in out and col != name):
            continue
        out[name] = frame[col]
    if code_column is not None:
        out["grid_id"] = frame[code_column]
    return pd.DataFrame(out, index=frame.index)


def yes_no(value: Any) -> bool | None:
    """Return True/False for 是/否 (有/无, yes/no, 1/0, ...), None for blank or 未知; raise
    ValueError for other text."""
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    if text in UNKNOWN:
        return None
    raise ValueError(text)


def _party_columns(sheet: pd.DataFrame) -> pd.DataFrame:
    """Return the sheet with ``party_org`` as true/false text; a name written in the 网格党组织
    column (not 是/否) means yes, and becomes the name where none is given."""
    if "party_org" not in sheet.columns:
        return sheet
    out = sheet.copy()
    flags: list[str | None] = []
    names = list(out["party_org_name"]) if "party_org_name" in out.columns else [None] * len(out)
    for i, value in enumerate(out["party_org"].tolist()):
        try:
            flag = yes_no(value)
        except ValueError:
            flag = True
            names[i] = names[i] if not blank(names[i]) else str(value).strip()
        flags.append(None if flag is None else str(flag).lower())
    out["party_org"] = flags
    if any(not blank(n) for n in names):
        out["party_org_name"] = names
    return out


def grid_sheet_updated(plan: Plan, sheet: pd.DataFrame) -> tuple[Plan, LedgerResult]:
    """Return ``plan`` with the grid attributes of an office's sheet (网格台账) applied by code.

    Headers in English or Chinese (:data:`HEADERS`); only :data:`SHEET_ATTRIBUTES` are
    taken (households and dates are the plan's own; other columns are listed as ignored).
    Blank cells keep the value; 网格党组织 takes 是/否 (有/无, ...), 未知, or the
    organisation's name. Codes not in the plan, duplicated or missing stop it with
    :class:`gridgen.errors.LedgerError` naming the sheet's rows, like a building ledger.
    """
    renames = {c: canonical_column(c) or str(c) for c in sheet.columns}
    named = sheet.rename(columns=renames)
    if "grid_id" not in named.columns:
        msg = "grid sheet has no code column: name one 网格编码 (or grid_id); found " + ", ".join(
            map(str, sheet.columns)
        )
        raise SchemaError(msg)
    take = [c for c in named.columns if c in SHEET_ATTRIBUTES]
    ignored = [str(c) for c, n in renames.items() if n not in (*take, "grid_id")]
    named = _party_columns(named[["grid_id", *take]])
    result = apply_ledger(pd.DataFrame(plan.grids), named, layer="grids", key="grid_id")
    grids = gpd.GeoDataFrame(result.frame, geometry="geometry", crs=plan.grids.crs)
    result = replace(result, ignored=(*result.ignored, *ignored))
    return replace(plan, grids=grids), result


__all__ = [
    "ATTRIBUTE_COLUMNS",
    "HEADERS",
    "RESTRICTED_ATTRIBUTES",
    "SHEET_ATTRIBUTES",
    "attribute_frame",
    "canonical_column",
    "grid_sheet_updated",
    "yes_no",
]
