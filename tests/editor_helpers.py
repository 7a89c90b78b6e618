"""Helpers of the editor's tests: a unit that can move (a compound on a grid border whose move
keeps both grids connected), and the page actions (paint a unit with the mouse, read a
grid's households, save and confirm)."""

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


UNIT_POINT = """(id) => {
  const m = window.gridgenEditor.map, c = m.getCanvas(), r = c.getBoundingClientRect();
  const hits = [];
  for (let y = 4; y < c.clientHeight; y += 5) for (let x = 4; x < c.clientWidth; x += 5) {
    const f = m.queryRenderedFeatures([x, y], {layers: ['units-fill']});
    if (f.length && f[0].properties.unit_id === id) hits.push([x, y]);
  }
  if (!hits.length) return null;
  hits.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const [x, y] = hits[Math.floor(hits.length / 2)];
  return [r.left + x, r.top + y];
}"""


def households(page: Any, grid: str) -> int:
    """Return the households the editor's table shows for ``grid``."""
    return int(page.inner_text(f"#grid-table tr[data-grid='{grid}'] td:nth-child(2)"))


def paint_unit(page: Any, unit_id: str, grid: str) -> None:
    """Pick ``grid`` in the table and paint ``unit_id`` with a real mouse stroke."""
    row = page.locator(f"#grid-table tr[data-grid='{grid}']")
    if row.count() == 0:
        shown = page.eval_on_selector_all(
            "#grid-table tr[data-grid]", "rs => rs.map(r => r.dataset.grid)"
        )
        raise AssertionError(f"grid {grid} not in the table ({page.inner_text('#title')}): {shown}")
    row.click()
    point = page.evaluate(UNIT_POINT, unit_id)
    assert point is not None, unit_id
    page.mouse.move(point[0], point[1])
    page.mouse.down()
    page.mouse.move(point[0] + 1, point[1] + 1)
    page.mouse.up()


def save_and_wait(page: Any, version: int) -> list[str]:
    """Click Save, confirm grids emptied or out of band; wait for ``version``.

    Returns the lines the confirmation listed (empty when none was asked).
    """
    page.click("#save")
    asked: list[str] = []
    page.wait_for_selector(f"#title:has-text('v{version}'), #confirm:not([hidden])", timeout=60_000)
    if page.locator("#confirm").is_visible():
        asked = page.locator("#confirm-list li").all_inner_texts()
        page.click("#confirm-yes")
    page.wait_for_selector(f"#title:has-text('v{version}')", timeout=60_000)
    page.wait_for_selector("#changes:text-is('0')", timeout=60_000)
    return asked
