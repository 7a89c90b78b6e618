"""Code checks of the conformance audit (``bad_codes`` of :mod:`gridgen.records.standard`):
length and digits, the community's prefix, allowed sequences, the standard's order."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.partition.codes import (
    NOT_SUBDIVIDED,
    CodeScheme,
    blank,
    standard_rows,
    standard_x,
)
from gridgen.rules import RuleKind

ORDER_TOLERANCE_M = 25.0
"""Metres by which a grid's representative point may have moved across a row boundary or
past its neighbour since it was numbered (boundary moves of a rebalance), judged in the rows
of the grids there now. Fresh plans of make_city (270k and 150k households) and filled41
give no order finding; their rebalances after a year's drift (dated later) 6 of 496 and 2 of
323: grids whose point moved more than this (the previous rule, which also allowed any
group size within the slack, 2 and 0, missed a department's columns numbered east to
west)."""
ORDER_SPREAD = 2
"""Grids a group may have lost or gained since it was numbered (retired codes, new codes):
the order (without slack) is judged for every such count, and only an order wrong for all
is reported."""


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


def item(
    code: str,
    where: str,
    problem: str,
    fix: str,
    rule: RuleKind = RuleKind.BAD_CODE,
    **figures: Any,
) -> dict[str, Any]:
    return {
        "rule": rule.value,
        "code": code,
        "where": where,
        "problem": problem,
        "fix": fix,
        **figures,
    }


def code_items(
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
            out.append(item(code, w, what, fix))
        elif expect is None:
            out.append(item(code, w, "所在社区无 12 位统计用区划代码", "为社区补录 12 位代码"))
        elif not code.startswith(expect):
            what = f"前缀不是所在社区的代码 {expect}"
            out.append(item(code, w, what, f"改为 {expect} + {scheme.width} 位顺序码"))
        elif scheme.sequence(code, expect) in (0, None) and not (
            scheme.name == "cjt349" and scheme.sequence(code, expect) == NOT_SUBDIVIDED
        ):
            out.append(item(code, w, "顺序码无效", f"顺序码从 {1:0{scheme.width}d} 起编"))
    return out


def _order_keys(
    pts: np.ndarray, area: Any, tol: float, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (lowest row, highest row, x, y, x as the order compares it) of each grid (its
    representative point in ``pts``) in the standard's order, rows being those of ``k`` grids
    numbered together and a grid's point free to have moved ``tol`` metres (``tol=0``: the rows
    :func:`gridgen.partition.codes.standard_order` gives)."""
    y = pts[:, 1]
    lo = standard_rows(y, area, k, shift=-tol)
    hi = standard_rows(y, area, k, shift=tol)
    return lo, hi, pts[:, 0], y, standard_x(pts[:, 0])


def _before(i: int, j: int, keys: tuple[np.ndarray, ...], tol: float) -> bool:
    """Return whether grid ``j`` surely comes before grid ``i`` in the standard's order: in
    an earlier row whatever the slack, or (the rows can only be the same) more than ``tol``
    west; with ``tol=0`` :func:`gridgen.partition.codes.standard_order`'s order (rows, then
    x rounded by :func:`gridgen.partition.codes.standard_x`, north first where that is equal)."""
    lo, hi, x, y, sx = keys
    if hi[j] < lo[i]:
        return True
    if hi[j] > lo[i]:
        return False  # j may lie in a later row
    if tol > 0:
        return bool(x[j] < x[i] - tol)  # within tol of each other in x: either order
    if sx[j] == sx[i]:  # one above the other: north first
        return bool(y[j] > y[i])
    return bool(sx[j] < sx[i])


def order_items(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    scheme: CodeScheme,
    prefix_of: Prefixes,
    where: dict[str, str],
) -> list[dict[str, Any]]:
    """Return the grids numbered out of the standard's order (metric frames).

    Grids of a community that started on the same date were numbered together; within
    such a group a grid whose sequence follows another's must not lie surely before it:
    before it in the standard's order whatever the group's size when it was numbered (the
    grids there now, ± :data:`ORDER_SPREAD` retired or added since), and still before it
    in the rows of the grids there now when each may have moved :data:`ORDER_TOLERANCE_M`
    (a rebalance's boundary moves). Both slacks at once (a row boundary of another group
    size within the tolerance of a grid) would excuse nearly every reversal.
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
        n = len(sub)
        area = comm_geom[str(comm)]
        pts = shapely.get_coordinates(shapely.point_on_surface(sub.geometry.to_numpy()))
        exact = [
            _order_keys(pts, area, 0.0, k)
            for k in range(max(1, n - ORDER_SPREAD), n + ORDER_SPREAD + 1)
        ]
        slack = _order_keys(pts, area, ORDER_TOLERANCE_M, n)
        by_seq = sorted(range(n), key=lambda k: seq[ok[k]] or 0)
        for a, b in itertools.pairwise(by_seq):
            if _before(a, b, slack, ORDER_TOLERANCE_M) and all(
                _before(a, b, keys, 0.0) for keys in exact
            ):
                code_a, code_b = str(sub["grid_id"].iloc[a]), str(sub["grid_id"].iloc[b])
                what = f"顺序码在 {code_a} 之后，位置却在其西侧或北侧"
                fix = "整体重新编码时按自西向东、自北向南重排（在用编码保持稳定，不宜单独改动）"
                out.append(item(code_b, where.get(code_b, ""), what, fix))
    return out


def whole_items(
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
                item(
                    code,
                    where.get(code, ""),
                    "顺序码 00 表示社区未划分网格，但社区有多个网格",
                    "为各网格编 01 起的顺序码",
                )
            )
    return out


__all__ = ["ORDER_TOLERANCE_M", "Prefixes", "code_items", "item", "order_items", "whole_items"]
