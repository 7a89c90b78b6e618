"""Pick a unit the editor tests can move: a compound on a grid border whose move keeps both
grids connected (so the save is accepted)."""

from __future__ import annotations

from typing import Any

import networkx as nx


def _connected(units: list[dict[str, Any]], edges: list[list[int]], grid: str) -> bool:
    nodes = [i for i, u in enumerate(units) if u["grid"] == grid]
    if not nodes:
        return True
    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from((a, b) for a, b in edges if a in g and b in g)
    return bool(nx.is_connected(g))


def movable_unit(
    data: dict[str, Any],
    *,
    avoid: set[str] = frozenset(),
    kinds: tuple[str, ...] = ("compound",),
) -> tuple[int, str, str]:
    """Return (unit index, from grid, to grid) for a unit that can move to a neighbour.

    Units holding less than half of their grid's households come first: moving one renames
    no grid (:mod:`gridgen.partition.codes`).
    """
    units, edges = data["units"], data["edges"]
    held = {g["grid_id"]: g["households"] for g in data["grids"]}
    pairs = [(i, j) for a, b in edges for i, j in ((a, b), (b, a))]
    pairs.sort(key=lambda p: 2 * units[p[0]]["households"] >= held.get(units[p[0]]["grid"], 0))
    for i, j in pairs:
        u, v = units[i], units[j]
        if u["kind"] not in kinds or u["households"] == 0 or u["grid"] == v["grid"]:
            continue
        if u["grid"] in avoid or v["grid"] in avoid or u["id"] in avoid:
            continue
        trial = [dict(x) for x in units]
        trial[i]["grid"] = v["grid"]
        ok = _connected(trial, edges, u["grid"]) and _connected(trial, edges, v["grid"])
        if ok and any(x["grid"] == u["grid"] for x in trial):
            return i, u["grid"], v["grid"]
    raise AssertionError("no movable compound found")
