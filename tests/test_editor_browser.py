"""The grid editor in headless Chromium (WebGL through SwiftShader) against the real service.

A planner paints a compound into a neighbouring grid with mouse events, sees both grids'
households change, undoes and redoes, saves (version 2 in the API, shown after a reload);
a second browser context still on version 1 saves another change, sees who saved which
version and re-applies its change on top; a locked grid refuses paint; rebalance makes a
version whose unlocked grids are in band; compare highlights the changed unit; a viewer
key gets 403; hostile names never run script. No request leaves 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from editor_helpers import movable_unit
from job_helpers import finished_job
from served import running_service
from test_browser import CHROMIUM, SHOTS, _assert_local

from gridgen.sample.district import sample_path
from maps.maplibre import MAPLIBRE

ADMIN = "editor-admin"
HOSTILE = '<img src=x onerror="window.__xss=1">"</script><script>window.__xss=2</script>'
ARGS = [
    "--headless",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.needs_client("chromium"),
    pytest.mark.skipif(not MAPLIBRE.present(), reason="run `python -m maps.assets` first"),
]


@dataclass(frozen=True)
class Served:
    """The running service with one plan (two communities) and keys."""

    base: str
    plan_id: str
    community: str
    planner: str
    planner2: str
    viewer: str
    hostile_plan: str
    hostile_community: str


def _plan(c: httpx.Client, dataset_id: str, communities: list[str]) -> str:
    r = c.post(
        "/plans", json={"dataset_id": dataset_id, "name": "editor", "communities": communities}
    )
    assert r.status_code == 202, r.text
    job = finished_job(c, r.json()["id"])
    return str(job["result"]["plan_id"])


def _hostile_gpkg(folder: Path) -> Path:
    import shutil
    import sqlite3

    out = folder / "hostile.gpkg"
    shutil.copy(sample_path() / "district.gpkg", out)
    with sqlite3.connect(out) as db:
        # the GeoPackage's R-tree triggers name these; they fire on geometry changes only
        for fn in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            db.create_function(fn, 1, lambda _g: 0)
        db.execute("UPDATE communities SET name = ?", (HOSTILE,))
        db.execute("UPDATE compounds SET name = ?", (HOSTILE,))
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("editor")
    with running_service(tmp / "editor.db", admin_key=ADMIN) as base:
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=300) as c:
            with (sample_path() / "district.gpkg").open("rb") as fh:
                r = c.post("/datasets", files={"file": ("district.gpkg", fh)})
            assert r.status_code == 201, r.text
            ds = r.json()["id"]
            comms = c.get("/ogc/collections/communities/items", params={"limit": 3}).json()
            cids = sorted(f["properties"]["community_id"] for f in comms["features"])
            plan_id = _plan(c, ds, cids[:1])
            keys = {}
            for name, role in (
                ("planner 甲", "planner"),
                ("planner 乙", "planner"),
                ("v", "viewer"),
            ):
                r = c.post("/keys", json={"name": name, "role": role})
                keys[name] = r.json()["secret"]
            with _hostile_gpkg(tmp).open("rb") as fh:
                r = c.post("/datasets", files={"file": ("hostile.gpkg", fh)})
            assert r.status_code == 201, r.text
            hostile_plan = _plan(c, r.json()["id"], cids[:1])
        yield Served(
            base, plan_id, cids[0], keys["planner 甲"], keys["planner 乙"], keys["v"],
            hostile_plan, cids[0],
        )  # fmt: skip


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


def _open(browser: Any, s: Served, key: str, requests: list[str], errors: list[str]) -> Any:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{s.base}/edit/{s.plan_id}?key={key}&community={s.community}")
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    return page


def _households(page: Any, grid: str) -> int:
    return int(page.inner_text(f"#grid-table tr[data-grid='{grid}'] td:nth-child(2)"))


def _paint(page: Any, unit_id: str, grid: str) -> None:
    page.click(f"#grid-table tr[data-grid='{grid}']")
    point = page.evaluate(UNIT_POINT, unit_id)
    assert point is not None, unit_id
    page.mouse.move(point[0], point[1])
    page.mouse.down()
    page.mouse.move(point[0] + 1, point[1] + 1)
    page.mouse.up()


def _editor(s: Served, key: str, version: int | None = None) -> dict[str, Any]:
    params = {"community": s.community, **({"version": version} if version else {})}
    r = httpx.get(f"{s.base}/plans/{s.plan_id}/editor", params=params, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_editor_paint_undo_save_conflict_lock_rebalance_compare(server: Served) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    s = server
    data = _editor(s, s.planner)
    i, src, dst = movable_unit(data)
    unit = data["units"][i]
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = _open(browser, s, s.planner, requests, errors)
            other = _open(browser, s, s.planner2, requests, errors)  # holds version 1
            h_src, h_dst = _households(page, src), _households(page, dst)
            _paint(page, unit["id"], dst)
            assert _households(page, dst) == h_dst + unit["households"]
            assert _households(page, src) == h_src - unit["households"]
            assert page.inner_text("#changes") == "1"
            page.keyboard.press("Control+z")
            assert (_households(page, src), _households(page, dst)) == (h_src, h_dst)
            page.keyboard.press("Control+y")
            assert _households(page, dst) == h_dst + unit["households"]
            page.screenshot(path=str(SHOTS / "editor-painted.png"))
            # rectangle select paints every unit in the box (undone as one step)
            box = page.locator("#map").bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.keyboard.press("r")
            page.mouse.move(cx - 150, cy - 150)
            page.mouse.down()
            page.mouse.move(cx + 150, cy + 150, steps=5)
            page.mouse.up()
            assert int(page.inner_text("#changes")) > 1
            page.keyboard.press("Control+z")
            assert page.inner_text("#changes") == "1"
            page.keyboard.press("b")
            # a new grid takes the next code never used in the community
            rows = page.locator("#grid-table tbody tr").count()
            page.keyboard.press("n")
            code = page.inner_text("#active-grid")
            assert code == data["new_codes"][0]
            assert code.startswith(s.community) and len(code) == len(s.community) + 3
            assert code not in {g["grid_id"] for g in data["grids"]}
            assert page.locator("#grid-table tbody tr").count() == rows + 1
            page.click(f"#grid-table tr[data-grid='{dst}']")
            page.fill("#message", "move one compound")
            page.click("#save")
            page.wait_for_selector("#title:has-text('v2')", timeout=60_000)
            # the API has version 2 with the compound moved
            v2 = _editor(s, s.planner)
            assert v2["version"] == 2 and v2["units"][i]["grid"] == dst
            # the grid the compound left keeps its code only with most of its households
            v2_codes = {g["grid_id"] for g in v2["grids"]}
            left = (
                src if src in v2_codes else (v2_codes - {g["grid_id"] for g in data["grids"]}).pop()
            )
            assert v2["versions"][-1]["message"] == "move one compound"
            page.reload()
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            assert page.evaluate(f"window.gridgenEditor.state().grid[{i}]") == dst

            # the second context, still on version 1, saves another change: conflict
            j, _, dst2 = movable_unit(
                data, avoid={src, dst}, kinds=("compound", "subunit", "building")
            )
            _paint(other, data["units"][j]["id"], dst2)
            other.click("#save")
            other.wait_for_selector("#conflict:not([hidden])", timeout=60_000)
            text = other.inner_text("#conflict-text")
            assert "version 2" in text and "planner 甲" in text, text
            other.screenshot(path=str(SHOTS / "editor-conflict.png"))
            other.click("#reapply")
            other.wait_for_selector("#conflict-text:has-text('重新应用 1')", timeout=60_000)
            other.click("#save")
            other.wait_for_selector("#title:has-text('v3')", timeout=60_000)
            v3 = _editor(s, s.planner)
            assert v3["units"][i]["grid"] == dst and v3["units"][j]["grid"] == dst2

            # a locked grid refuses paint
            page.reload()
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            page.click(f"#grid-table tr[data-grid='{dst}'] button")
            page.wait_for_selector("#title:has-text('v4')", timeout=60_000)
            before = _households(page, dst)
            _paint(page, unit["id"], left)
            assert _households(page, dst) == before
            assert "已锁定" in page.inner_text("#warnings")
            assert page.inner_text("#changes") == "0"
            page.screenshot(path=str(SHOTS / "editor-locked.png"))

            # rebalance: a new version whose unlocked grids are in band
            page.click("#rebalance")
            page.wait_for_selector("#title:has-text('v5')", timeout=300_000)
            v5 = _editor(s, s.planner)
            lo, hi = v5["band"]
            free = [g for g in v5["grids"] if g["grid_id"] not in v5["locked"]]
            assert v5["locked"] == [dst] and free
            assert all(lo <= g["households"] <= hi for g in free), free

            # compare v1 → v2 highlights the moved unit
            page.select_option("#cmp-a", "1")
            page.select_option("#cmp-b", "2")
            page.click("#compare")
            page.wait_for_selector("#compare-table:not([hidden]) tbody tr", timeout=60_000)
            state = page.evaluate(
                "(id) => window.gridgenEditor.map.getFeatureState("
                "{source: 'units', sourceLayer: 'units', id: id})",
                unit["id"],
            )
            assert state.get("changed") is True
            touched = 2 if left == src else 3  # a renamed grid: its old and new code
            assert page.locator("#compare-table tr.touched").count() == touched
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / "editor-compare.png"))
            # publish the rebalanced version from the versions list
            page.click("#versions li:first-child button")
            page.wait_for_selector("#versions li:first-child:has-text('已发布')", timeout=60_000)
            r = httpx.get(f"{s.base}/plans/{s.plan_id}", headers={"X-API-Key": s.planner})
            assert r.json()["plan"]["published_version"] == 5
        finally:
            browser.close()
    assert errors == []
    _assert_local(requests)


def test_editor_viewer_403_and_hostile_names(server: Served) -> None:
    from playwright.sync_api import sync_playwright

    s = server
    r = httpx.get(f"{s.base}/edit/{s.plan_id}", params={"key": s.viewer})
    assert r.status_code == 403 and "viewer" in r.text
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("request", lambda q: requests.append(q.url))
            page.goto(f"{s.base}/edit/{s.plan_id}?key={s.viewer}")
            assert "viewer" in page.inner_text("#why")
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{s.base}/edit/{s.hostile_plan}?key={s.planner}")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            assert HOSTILE in page.inner_text("#community-name")
            # hover every few pixels: compound names (hostile) appear in the tooltip as text
            for x in range(100, 800, 60):
                page.mouse.move(x, 400)
            assert HOSTILE in page.inner_text("#hover")
            assert page.evaluate("window.__xss") is None
            assert page.locator("#side img, #hover img, #side script").count() == 0
        finally:
            browser.close()
    assert dialogs == [] and errors == []
    _assert_local(requests)
