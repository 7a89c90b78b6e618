"""Conformance of a grid layer to a grid standard (DB11/T 2157, CJ/T 349): the list of fixes.

The ``standard`` section of ``gridgen audit --standard`` holds one check per rule, each
with ``count`` and ``items`` (``code``, ``where``, ``problem``, ``fix``, and figures):

- ``bad_codes``: a code of the wrong length or not all digits, a prefix that is not the
  code of the community the grid lies in (DB11: its 12 digits; CJ/T 349: the object code
  and then the 12 digits), a sequence the standard does not allow (``000``; CJ/T 349's
  ``00`` in a subdivided community), a sequence out of the standard's order (west→east,
  north→south among the grids that started on the same date, as
  :func:`gridgen.partition.codes.standard_order` numbers them, for the group's size ± a
  few grids, and with :data:`gridgen.records.code_checks.ORDER_TOLERANCE_M` of slack
  for moved boundaries; :func:`gridgen.records.code_checks.order_items`), and codes given
  to more than one grid;
- ``gaps`` and ``overlaps`` (pieces above :data:`gridgen.partition.audit.MIN_AREA_M2`),
  ``outside_community`` (a grid reaching out of its community), ``not_closed`` (a grid that
  is not one valid closed polygon: invalid rings, several parts, empty);
- ``missing_attributes``: no ``valid_from`` (or not a date, or after ``valid_to``) and no
  responsible party (责任主体; by 属地兜底 the community answers for its land).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84
from gridgen.partition.audit import Audit
from gridgen.partition.codes import CodeScheme, blank, community_codes_of
from gridgen.records.code_checks import Prefixes, code_items, item, order_items, whole_items
from gridgen.rules import RuleKind

ATTRIBUTES = ("valid_from", "valid_to", "responsible")
"""Grid attributes the standards require (责任主体 is ``responsible``)."""
CHECKS: tuple[str, ...] = (
    "bad_codes",
    "gaps",
    "overlaps",
    "outside_community",
    "not_closed",
    "missing_attributes",
)
CHECK_LABELS = {
    "bad_codes": "编码不规范",
    "gaps": "缺口",
    "overlaps": "重叠",
    "outside_community": "跨社区",
    "not_closed": "非闭合多边形",
    "missing_attributes": "属性缺失",
}
"""Chinese name of each check (the list of fixes, 整改清单)."""


@dataclass(frozen=True)
class Standard:
    """A grid standard: its name, the scheme its codes follow."""

    name: str
    scheme: str


STANDARDS: dict[str, Standard] = {
    "DB11/T2157": Standard("DB11/T 2157-2023", "db11"),
    "CJ/T349": Standard("CJ/T 349-2010", "cjt349"),
}


def standard_named(text: str) -> Standard:
    """Return the standard ``text`` names: ``DB11/T2157``, ``DB11/T 2157-2023``, ``db11``,
    ``CJ/T349``, ``CJ/T 349-2010``, ``cjt349`` (case, spaces and punctuation aside)."""
    key = re.sub(r"[^0-9A-Z]", "", text.upper())
    for name, std in STANDARDS.items():
        base = re.sub(r"[^0-9A-Z]", "", name)
        rest = key[len(base) :] if key.startswith(base) else None
        if key == std.scheme.upper() or rest == "" or (rest is not None and len(rest) == 4):
            return std
    msg = f"--standard {text!r} is unknown: use one of {', '.join(STANDARDS)}"
    raise ParameterError(msg)


def _where(community: str, names: dict[str, str], point: Any) -> str:
    """Return 'name (id) at lon, lat' for an item."""
    label = f"{names.get(community, '')}（{community}）" if community else "社区外"
    if point is None or shapely.is_empty(point):
        return label
    return f"{label} {point.x:.6f},{point.y:.6f}"


def _points(frame: gpd.GeoDataFrame) -> list[Any]:
    """Return a representative point of every row in WGS84."""
    if frame.empty:
        return []
    pts = gpd.GeoSeries(shapely.point_on_surface(frame.geometry.to_numpy()), crs=frame.crs)
    return list(pts.to_crs(WGS84))


def standard_section(
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    audit: Audit,
    *,
    standard: Standard,
    object_code: str | None = None,
) -> dict[str, Any]:
    """Return the ``standard`` section of an audit of ``grids`` (WGS84, ``grid_id``).

    ``audit`` is :func:`gridgen.partition.audit.audit_grids` of the same layer (its gaps,
    overlaps and grid table are reused); ``grids`` may carry ``valid_from``, ``valid_to``
    and ``responsible`` (责任主体).
    """
    scheme = CodeScheme(standard.scheme, object_code or "")
    comms = dataset.metric("communities")
    names = dict(zip(comms["community_id"].astype(str), comms["name"].astype(str), strict=False))
    any_object = scheme.name == "cjt349" and not object_code
    prefix_of = Prefixes(scheme, community_codes_of(comms), any_object)
    table = audit.grids
    where_of = dict(
        zip(
            table["grid_id"].astype(str),
            [
                _where(c, names, p)
                for c, p in zip(table["community_id"].astype(str), _points(table), strict=True)
            ],
            strict=True,
        )
    )
    codes, comm_ids = (
        table["grid_id"].astype(str).tolist(),
        table["community_id"].astype(str).tolist(),
    )
    bad = code_items(codes, comm_ids, scheme, prefix_of, [where_of[c] for c in codes])
    bad += whole_items(table, scheme, prefix_of, where_of)
    placed = table[["grid_id", "community_id", "geometry"]].merge(
        _attributes(grids), on="grid_id", how="left"
    )
    bad += order_items(
        gpd.GeoDataFrame(placed, geometry="geometry", crs=table.crs),
        comms,
        scheme,
        prefix_of,
        where_of,
    )
    bad += [
        item(
            c,
            where_of.get(c, ""),
            "编码重复（多个网格共用）",
            "为每个网格分配唯一编码",
            rule=RuleKind.DUPLICATE_CODE,
        )
        for c in audit_duplicates(grids)
    ]
    checks = {
        "bad_codes": bad,
        "gaps": _gap_items(audit, names),
        "overlaps": _overlap_items(audit, names),
        "outside_community": _outside_items(table, where_of),
        "not_closed": _closed_items(table, where_of, _enclave_grids(table, comms)),
        "missing_attributes": _attribute_items(grids, where_of, names, table),
    }
    return {
        "standard": standard.name,
        "scheme": scheme.name,
        "clean": not any(checks.values()),
        "checks": {k: {"count": len(v), "items": v} for k, v in checks.items()},
    }


def audit_duplicates(grids: gpd.GeoDataFrame) -> list[str]:
    """Return codes given to more than one row of a layer."""
    counts = grids["grid_id"].astype(str).value_counts()
    return sorted(counts[counts > 1].index.tolist())


def _attributes(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return per code the first row's valid_from, valid_to and responsible (None: absent)."""
    empty = pd.Series([None] * len(grids), index=grids.index, dtype=object)
    cols = {c: grids[c] if c in grids.columns else empty for c in ATTRIBUTES}
    frame = pd.DataFrame({"grid_id": grids["grid_id"].astype(str), **cols})
    return frame.drop_duplicates("grid_id")


def _parse(value: Any) -> date | None:
    if blank(value):
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _attribute_items(
    grids: gpd.GeoDataFrame, where: dict[str, str], names: dict[str, str], table: pd.DataFrame
) -> list[dict[str, Any]]:
    comm = dict(zip(table["grid_id"].astype(str), table["community_id"].astype(str), strict=True))
    out = []
    for r in _attributes(grids).itertuples(index=False):
        code, w = str(r.grid_id), where.get(str(r.grid_id), "")
        start, end = _parse(r.valid_from), _parse(r.valid_to)
        if start is None:
            what = (
                "缺少启用日期（valid_from）"
                if blank(r.valid_from)
                else f"启用日期 {r.valid_from!r} 不是日期"
            )
            out.append(
                item(
                    code, w, what, "填写网格启用日期（YYYY-MM-DD）", rule=RuleKind.MISSING_ATTRIBUTE
                )
            )
        elif end is not None and end < start:
            out.append(
                item(
                    code,
                    w,
                    f"停用日期 {end} 早于启用日期 {start}",
                    "更正起止日期",
                    rule=RuleKind.MISSING_ATTRIBUTE,
                )
            )
        if blank(r.responsible):
            holder = names.get(comm.get(code, ""), "") or comm.get(code, "所在社区")
            out.append(
                item(
                    code,
                    w,
                    "缺少责任主体",
                    f"填写责任主体；无明确主体时属地兜底：{holder}",
                    rule=RuleKind.MISSING_ATTRIBUTE,
                )
            )
    return out


def _gap_items(audit: Audit, names: dict[str, str]) -> list[dict[str, Any]]:
    gaps = audit.gaps
    rows = zip(
        gaps["community_id"].astype(str),
        gaps["area_m2"].astype(float),
        gaps["households"].astype(int),
        _points(gaps),
        strict=True,
    )
    return [
        item(
            "",
            _where(c, names, p),
            f"{a:,.0f} ㎡ 未划入任何网格（{h} 户）",
            "并入相邻网格，做到横向到边、纵向到底",
            rule=RuleKind.GAP,
            area_m2=round(a, 1),
            households=h,
        )
        for c, a, h, p in rows
    ]


def _overlap_items(audit: Audit, names: dict[str, str]) -> list[dict[str, Any]]:
    ov = audit.overlaps
    rows = zip(
        ov["grid_a"].astype(str),
        ov["grid_b"].astype(str),
        ov["community_id"].astype(str),
        ov["area_m2"].astype(float),
        ov["households"].astype(int),
        _points(ov),
        strict=True,
    )
    return [
        item(
            f"{a}/{b}",
            _where(c, names, p),
            f"{a} 与 {b} 重叠 {m:,.0f} ㎡（{h} 户重复计入）",
            "沿共同边界修正，重叠部分只归一个网格",
            rule=RuleKind.OVERLAP,
            area_m2=round(m, 1),
            households=h,
        )
        for a, b, c, m, h, p in rows
    ]


def _outside_items(table: pd.DataFrame, where: dict[str, str]) -> list[dict[str, Any]]:
    hit = table[table["crosses_community"].astype(bool)]
    rows = zip(
        hit["grid_id"].astype(str),
        hit["outside_community_m2"].astype(float),
        hit["communities"].astype(str),
        strict=True,
    )
    return [
        item(
            c,
            where.get(c, ""),
            f"{m:,.0f} ㎡ 位于所属社区之外（涉及 {t}）",
            "网格不得跨社区：沿社区边界拆分或调整",
            rule=RuleKind.CROSSES_COMMUNITY,
            area_m2=round(m, 1),
        )
        for c, m, t in rows
    ]


def _enclave_grids(table: gpd.GeoDataFrame, comms: gpd.GeoDataFrame) -> set[str]:
    """Return the grids in several parts each lying in another piece of their community
    (a community with an enclave, 飞地, too small for a grid of its own: 属地兜底)."""
    pieces = dict(zip(comms["community_id"].astype(str), comms.geometry.to_numpy(), strict=False))
    out: set[str] = set()
    multi = table[table["parts"].astype(int) > 1]
    for code, cid, geom in zip(
        multi["grid_id"].astype(str), multi["community_id"].astype(str), multi.geometry, strict=True
    ):
        own = shapely.get_parts(pieces.get(cid, shapely.Polygon()))
        parts = shapely.get_parts(geom)
        if len(own) < len(parts):
            continue
        homes = {int(np.argmax(shapely.area(shapely.intersection(own, p)))) for p in parts}
        if len(homes) == len(parts):
            out.add(code)
    return out


def _closed_items(
    table: pd.DataFrame, where: dict[str, str], enclaves: set[str]
) -> list[dict[str, Any]]:
    out = []
    rows = zip(
        table["grid_id"].astype(str),
        table["parts"].astype(int),
        table["valid"].astype(bool),
        table["valid_reason"].astype(str),
        strict=True,
    )
    for code, parts, valid, reason in rows:
        w = where.get(code, "")
        if parts == 0:
            out.append(
                item(code, w, "网格没有面积", "补绘网格边界或撤销该编码", rule=RuleKind.EMPTY_GRID)
            )
        elif not valid:
            what = f"边界不是有效的闭合多边形：{reason}"
            out.append(
                item(code, w, what, "修正自相交或未闭合的边界", rule=RuleKind.INVALID_GEOMETRY)
            )
        elif code in enclaves:
            what = f"网格由 {parts} 块组成，分处所属社区不相连的 {parts} 块（飞地）"
            fix = (
                "飞地住户不足单独成网格时按属地兜底归入本网格（可保留，备注飞地）；"
                "否则将飞地单独设网格"
            )
            out.append(item(code, w, what, fix, rule=RuleKind.MULTIPART))
        elif parts > 1:
            what = f"网格由 {parts} 块组成"
            out.append(
                item(
                    code, w, what, "每个网格应为一个闭合多边形：合并或拆分", rule=RuleKind.MULTIPART
                )
            )
    return out


def fixes_rows(section: dict[str, Any]) -> Iterable[list[Any]]:
    """Yield the rows of the list of fixes (整改清单): number, check, code, where, problem, fix."""
    n = 0
    for check in CHECKS:
        for found in section["checks"][check]["items"]:
            n += 1
            yield [n, CHECK_LABELS[check], *(found[k] for k in ("code", "where", "problem", "fix"))]


__all__ = [
    "CHECKS",
    "CHECK_LABELS",
    "STANDARDS",
    "Standard",
    "fixes_rows",
    "order_items",
    "standard_named",
    "standard_section",
]
