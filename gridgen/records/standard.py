"""Conformance of a grid layer to a grid standard (DB11/T 2157, CJ/T 349): the list of fixes.

The ``standard`` section of ``gridgen audit --standard`` holds one check per rule, each
with ``count`` and ``items`` (``code``, ``where``, ``problem``, ``fix``, and figures):

- ``bad_codes``: a code of the wrong length or not all digits, a prefix that is not the
  code of the community the grid lies in (DB11: its 12 digits; CJ/T 349: the object code
  and then the 12 digits), a sequence the standard does not allow (``000``; CJ/T 349's
  ``00`` in a subdivided community), a sequence out of the standard's order (west→east,
  north→south among the grids that started on the same date, as
  :func:`gridgen.partition.codes.standard_order` numbers them, rows judged with
  :data:`ORDER_TOLERANCE_M` of slack), and codes given to more than one grid;
- ``gaps`` and ``overlaps`` (pieces above :data:`gridgen.partition.audit.MIN_AREA_M2`),
  ``outside_community`` (a grid reaching out of its community), ``not_closed`` (a grid that
  is not one valid closed polygon: invalid rings, several parts, empty);
- ``missing_attributes``: no ``valid_from`` (or not a date, or after ``valid_to``) and no
  responsible party (责任主体; by 属地兜底 the community answers for its land).
"""

from __future__ import annotations

import itertools
import math
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
from gridgen.partition.codes import NOT_SUBDIVIDED, CodeScheme, blank, community_codes_of

ATTRIBUTES = ("valid_from", "valid_to", "responsible")
"""Grid attributes the standards require (责任主体 is ``responsible``)."""
ORDER_TOLERANCE_M = 1.0
"""Metres by which a grid's representative point may sit on either side of a row boundary."""
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


@dataclass(frozen=True)
class Prefixes:
    """The code prefix each community's grids must carry under a scheme.

    ``any_object``: CJ/T 349 without a configured object code accepts any six digits
    before the community's code.
    """

    scheme: CodeScheme
    communities: dict[str, str | None]
    any_object: bool = False

    def of(self, code: str, community: str) -> str | None:
        """Return the prefix ``code`` must start with (None: the community has no code)."""
        twelve = self.communities.get(community)
        if twelve is None:
            return None
        if self.any_object and code[:6].isdigit() and len(code[:6]) == 6:
            return code[:6] + twelve
        return self.scheme.prefix(community, twelve)


def _item(code: str, where: str, problem: str, fix: str, **figures: Any) -> dict[str, Any]:
    return {"code": code, "where": where, "problem": problem, "fix": fix, **figures}


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


def _code_items(
    codes: list[str],
    communities: list[str],
    scheme: CodeScheme,
    prefix_of: Prefixes,
    where: list[str],
) -> list[dict[str, Any]]:
    """Return length, digit and prefix findings of every code."""
    out: list[dict[str, Any]] = []
    n = scheme.length
    for code, comm, w in zip(codes, communities, where, strict=True):
        expect = prefix_of.of(code, comm)
        if n is not None and (len(code) != n or not code.isdigit()):
            what = f"编码 {len(code)} 位（应为 {n} 位数字）"
            fix = f"按 {scheme.label} 重新编码：社区代码 + {scheme.width} 位顺序码"
            out.append(_item(code, w, what, fix))
        elif expect is None:
            out.append(_item(code, w, "所在社区无 12 位统计用区划代码", "为社区补录 12 位代码"))
        elif not code.startswith(expect):
            what = f"前缀不是所在社区的代码 {expect}"
            out.append(_item(code, w, what, f"改为 {expect} + {scheme.width} 位顺序码"))
        elif scheme.sequence(code, expect) in (0, None) and not (
            scheme.name == "cjt349" and scheme.sequence(code, expect) == NOT_SUBDIVIDED
        ):
            out.append(_item(code, w, "顺序码无效", f"顺序码从 {1:0{scheme.width}d} 起编"))
    return out


def _order_keys(
    geoms: np.ndarray, area: Any, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (lowest row, highest row, x, y) of each grid in the standard's order."""
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    h = math.sqrt(max(float(shapely.area(area)), 1.0) / len(geoms))
    y0 = float(shapely.bounds(area)[3])
    lo = np.floor((y0 - pts[:, 1] - tol) / h)
    hi = np.floor((y0 - pts[:, 1] + tol) / h)
    return lo, hi, pts[:, 0], pts[:, 1]


def _before(i: int, j: int, keys: tuple[np.ndarray, ...], tol: float) -> bool:
    """Return whether grid ``j`` surely comes before grid ``i`` in the standard's order."""
    lo, hi, x, _ = keys
    if hi[j] < lo[i]:
        return True
    if lo[j] == hi[j] == lo[i] == hi[i]:
        return bool(x[j] < x[i] - tol)  # within tol of each other in x: either order
    return False


def order_items(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    scheme: CodeScheme,
    prefix_of: Prefixes,
    where: dict[str, str],
) -> list[dict[str, Any]]:
    """Return the grids numbered out of the standard's order (metric frames).

    Grids of a community that started on the same date were numbered together; within
    such a group a grid whose sequence follows another's must not lie surely before it.
    """
    out: list[dict[str, Any]] = []
    comm_geom = dict(
        zip(communities["community_id"].astype(str), communities.geometry, strict=True)
    )
    start = grids["valid_from"] if "valid_from" in grids.columns else pd.Series([""] * len(grids))
    frame = grids.assign(_start=[("" if blank(v) else str(v)) for v in start])
    for (comm, _), g in frame.groupby(["community_id", "_start"], sort=True):
        if str(comm) not in comm_geom or len(g) < 2:
            continue
        pres = [prefix_of.of(str(c), str(comm)) for c in g["grid_id"]]
        seq = [
            None if p is None else scheme.sequence(str(c), p)
            for c, p in zip(g["grid_id"], pres, strict=True)
        ]
        ok = [i for i, s in enumerate(seq) if s is not None]
        if len(ok) < 2:
            continue
        sub = g.iloc[ok]
        keys = _order_keys(sub.geometry.to_numpy(), comm_geom[str(comm)], ORDER_TOLERANCE_M)
        by_seq = sorted(range(len(sub)), key=lambda k: seq[ok[k]] or 0)
        for a, b in itertools.pairwise(by_seq):
            if _before(a, b, keys, ORDER_TOLERANCE_M):
                code_a, code_b = str(sub["grid_id"].iloc[a]), str(sub["grid_id"].iloc[b])
                what = f"顺序码在 {code_a} 之后，位置却在其西侧或北侧"
                fix = "按自西向东、自北向南重排同批网格的顺序码"
                out.append(_item(code_b, where.get(code_b, ""), what, fix))
    return out


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
    bad = _code_items(codes, comm_ids, scheme, prefix_of, [where_of[c] for c in codes])
    bad += _cjt_whole(table, scheme, prefix_of, where_of)
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
        _item(c, where_of.get(c, ""), "编码重复（多个网格共用）", "为每个网格分配唯一编码")
        for c in audit_duplicates(grids)
    ]
    checks = {
        "bad_codes": bad,
        "gaps": _gap_items(audit, names),
        "overlaps": _overlap_items(audit, names),
        "outside_community": _outside_items(table, where_of),
        "not_closed": _closed_items(table, where_of),
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


def _cjt_whole(
    table: pd.DataFrame, scheme: CodeScheme, prefix_of: Prefixes, where: dict[str, str]
) -> list[dict[str, Any]]:
    """Return CJ/T 349 ``00`` codes of communities that have more than one grid."""
    if scheme.name != "cjt349":
        return []
    out = []
    sizes = table.groupby("community_id")["grid_id"].count().to_dict()
    for code, comm in zip(
        table["grid_id"].astype(str), table["community_id"].astype(str), strict=True
    ):
        pre = prefix_of.of(code, comm)
        if pre and scheme.sequence(code, pre) == NOT_SUBDIVIDED and sizes.get(comm, 0) > 1:
            out.append(
                _item(
                    code,
                    where.get(code, ""),
                    "顺序码 00 表示社区未划分网格，但社区有多个网格",
                    "为各网格编 01 起的顺序码",
                )
            )
    return out


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
            out.append(_item(code, w, what, "填写网格启用日期（YYYY-MM-DD）"))
        elif end is not None and end < start:
            out.append(_item(code, w, f"停用日期 {end} 早于启用日期 {start}", "更正起止日期"))
        if blank(r.responsible):
            holder = names.get(comm.get(code, ""), "") or comm.get(code, "所在社区")
            out.append(
                _item(code, w, "缺少责任主体", f"填写责任主体；无明确主体时属地兜底：{holder}")
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
        _item(
            "",
            _where(c, names, p),
            f"{a:,.0f} ㎡ 未划入任何网格（{h} 户）",
            "并入相邻网格，做到横向到边、纵向到底",
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
        _item(
            f"{a}/{b}",
            _where(c, names, p),
            f"{a} 与 {b} 重叠 {m:,.0f} ㎡（{h} 户重复计入）",
            "沿共同边界修正，重叠部分只归一个网格",
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
        _item(
            c,
            where.get(c, ""),
            f"{m:,.0f} ㎡ 位于所属社区之外（涉及 {t}）",
            "网格不得跨社区：沿社区边界拆分或调整",
            area_m2=round(m, 1),
        )
        for c, m, t in rows
    ]


def _closed_items(table: pd.DataFrame, where: dict[str, str]) -> list[dict[str, Any]]:
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
            out.append(_item(code, w, "网格没有面积", "补绘网格边界或撤销该编码"))
        elif not valid:
            what = f"边界不是有效的闭合多边形：{reason}"
            out.append(_item(code, w, what, "修正自相交或未闭合的边界"))
        elif parts > 1:
            what = f"网格由 {parts} 块组成"
            out.append(_item(code, w, what, "每个网格应为一个闭合多边形：合并或拆分"))
    return out


def fixes_rows(section: dict[str, Any]) -> Iterable[list[Any]]:
    """Yield the rows of the list of fixes (整改清单): number, check, code, where, problem, fix."""
    n = 0
    for check in CHECKS:
        for item in section["checks"][check]["items"]:
            n += 1
            yield [
                n,
                CHECK_LABELS[check],
                item["code"],
                item["where"],
                item["problem"],
                item["fix"],
            ]


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
