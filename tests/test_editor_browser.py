"""The grid editor in headless Chromium (WebGL through SwiftShader) against the real service.

A planner paints a compound into a neighbouring grid with mouse events, sees both grids'
households change, undoes and redoes, takes the units inside a box, saves after the
server's check (version 2 in the API, shown after a reload); a second browser context still
on version 1 saves another unit and is merged without being asked; a lock rides with the
next save and refuses paint; rebalance (minimal change by default) saves a version or
reports that nothing moves; compare highlights the changed unit; a viewer key gets 403; a
planner of another community sees why, in Chinese, and is not offered what its key cannot
do; hostile names never run script; a save into a grid merged meanwhile is re-applied
under the absorbing grid's code and shown before it goes out. No request leaves 127.0.0.1.
(Conflicts on one unit, drafts and double clicks are shown on a big city in
``test_big_city_editor.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from editor_helpers import _connected, households, movable_unit, paint_unit, save_and_wait
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
    scoped: str
    other: str


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
            plan_id = _plan(c, ds, cids[:2])
            keys = {}
            for name, role, scope in (
                ("planner 甲", "planner", None),
                ("planner 乙", "planner", None),
                ("v", "viewer", None),
                ("planner 丙", "planner", cids[1]),
            ):
                r = c.post("/keys", json={"name": name, "role": role, "community_id": scope})
                keys[name] = r.json()["secret"]
            with _hostile_gpkg(tmp).open("rb") as fh:
                r = c.post("/datasets", files={"file": ("hostile.gpkg", fh)})
            assert r.status_code == 201, r.text
            hostile_plan = _plan(c, r.json()["id"], cids[:1])
        yield Served(
            base, plan_id, cids[0], keys["planner 甲"], keys["planner 乙"], keys["v"],
            hostile_plan, cids[0], keys["planner 丙"], cids[1],
        )  # fmt: skip


def _open(browser: Any, s: Served, key: str, requests: list[str], errors: list[str]) -> Any:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{s.base}/edit/{s.plan_id}?key={key}&community={s.community}")
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    return page


def _editor(
    s: Served, key: str, version: int | None = None, community: str | None = None
) -> dict[str, Any]:
    params = {"community": community or s.community, **({"version": version} if version else {})}
    r = httpx.get(f"{s.base}/plans/{s.plan_id}/editor", params=params, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_editor_paint_undo_save_merge_lock_rebalance_compare(server: Served) -> None:
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
            h_src, h_dst = households(page, src), households(page, dst)
            paint_unit(page, unit["id"], dst)
            assert households(page, dst) == h_dst + unit["households"]
            assert households(page, src) == h_src - unit["households"]
            assert page.inner_text("#changes") == "1"
            page.wait_for_selector("#verdict.ok", timeout=30_000)  # the server's check
            page.keyboard.press("Control+z")
            assert (households(page, src), households(page, dst)) == (h_src, h_dst)
            page.keyboard.press("Control+y")
            assert households(page, dst) == h_dst + unit["households"]
            page.screenshot(path=str(SHOTS / "editor-painted.png"))
            # rectangle select takes the units inside the box (undone as one step)
            box = page.locator("#map").bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            inside = page.evaluate(_INSIDE, [cx - box["x"], cy - box["y"], 150])
            page.keyboard.press("r")
            page.mouse.move(cx - 150, cy - 150)
            page.mouse.down()
            page.mouse.move(cx + 150, cy + 150, steps=5)
            page.mouse.up()
            taken = page.evaluate(_PENDING)
            assert set(taken) - {unit["id"]} <= set(inside) and len(taken) > 1
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
            check = httpx.post(
                f"{s.base}/plans/{s.plan_id}/edits/assign/check",
                json={"base_version": 1, "assign": {unit["id"]: dst}},
                headers={"X-API-Key": s.planner},
            ).json()
            risky = [g for g in check["grids"] if g["after"] in (0, None) or not g["in_band"]]
            asked = save_and_wait(page, 2)  # asked about exactly the grids the server named
            assert len(asked) == len(risky) and all(g["grid_id"] in " ".join(asked) for g in risky)
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

            # the second context, still on version 1, saves another unit: merged, no question
            j, _, dst2 = movable_unit(
                data, avoid={src, dst}, kinds=("compound", "subunit", "building")
            )
            paint_unit(other, data["units"][j]["id"], dst2)
            save_and_wait(other, 3)
            assert other.locator("#conflict-units tbody tr").count() == 0
            v3 = _editor(s, s.planner)
            assert v3["units"][i]["grid"] == dst and v3["units"][j]["grid"] == dst2

            # a lock rides with the next save; a locked grid refuses paint
            page.reload()
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            page.click(f"#grid-table tr[data-grid='{dst}'] button")
            assert page.inner_text("#changes") == "1"
            before = households(page, dst)
            paint_unit(page, unit["id"], left)
            assert households(page, dst) == before
            assert "已锁定" in page.inner_text("#warnings")
            page.screenshot(path=str(SHOTS / "editor-locked.png"))
            save_and_wait(page, 4)
            assert _editor(s, s.planner)["locked"] == [dst]

            # rebalance (minimal change by default): a new version, or nothing to move
            assert page.input_value("#rebalance-method") == "minimal_change"
            page.click("#rebalance")
            page.wait_for_selector(
                "#title:has-text('v5'), #status:has-text('方案未改变')", timeout=300_000
            )
            assert "rebalancing" not in page.inner_text("#status")

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
            # grids matched by membership: the grid left behind is one row even if renamed
            assert page.locator("#compare-table tr.touched").count() == 2
            assert page.locator(f"#compare-table tr[data-code-a='{src}']").count() == 1
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / "editor-compare.png"))
            # publish the head version from the versions list
            head = _editor(s, s.planner)["head_version"]
            page.click("#versions li:first-child button")
            page.wait_for_selector("#versions li:first-child:has-text('已发布')", timeout=60_000)
            r = httpx.get(f"{s.base}/plans/{s.plan_id}", headers={"X-API-Key": s.planner})
            assert r.json()["plan"]["published_version"] == head
        finally:
            browser.close()
    assert errors == []
    _assert_local(requests)


_INSIDE = """([x, y, half]) => {
  const m = window.gridgenEditor.map, S = window.gridgenEditor.state();
  const pts = window.gridgenEditor.labels();
  return pts.map((p, i) => [m.project([p[0], p[1]]), i])
    .filter(([q, i]) => Math.abs(q.x - x) <= half && Math.abs(q.y - y) <= half && S.paintable(i))
    .map(([q, i]) => S.units[i].id);
}"""

_PENDING = "() => Object.keys(window.gridgenEditor.state().changes())"


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
            # a planner of another community: the reason, in Chinese, instead of a blank map
            page.goto(f"{s.base}/edit/{s.plan_id}?key={s.scoped}&community={s.community}")
            page.wait_for_selector("body[data-denied='1']", timeout=60_000)
            assert page.locator("#denied").is_visible() and not page.locator("#map").is_visible()
            why = page.inner_text("#denied-why")
            assert "不在此密钥的范围" in why and s.community in why, why
            page.screenshot(path=str(SHOTS / "editor-403.png"))
            # its own community: editing offered, publishing the two-community plan not
            page.goto(f"{s.base}/edit/{s.plan_id}?key={s.scoped}&community={s.other}")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            assert page.locator("#versions li").count() >= 1
            assert page.locator("#versions li button").count() == 0
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


def _server_details(s: Served) -> tuple[list[str], dict[str, Any]]:
    """Return the details of real refusals of the editor's routes, and a real 409 body."""
    plan = f"{s.base}/plans/{s.plan_id}"

    def post(path: str, body: dict[str, Any], key: str) -> httpx.Response:
        return httpx.post(plan + path, json=body, headers={"X-API-Key": key}, timeout=120)

    data = _editor(s, s.planner)
    if not data["locked"]:  # a locked grid (and a second version) to be refused about
        grid = data["grids"][-1]["grid_id"]
        r = post("/edits/assign", {"base_version": data["version"], "lock": [grid]}, s.planner)
        assert r.status_code == 201, r.text
        data = _editor(s, s.planner)
    other = _editor(s, s.planner, community=s.other)
    head, unit = data["version"], next(u for u in data["units"] if u["kind"] != "empty")
    locked = set(data["locked"])
    details = []
    tries = [
        ({"assign": {"XQ99999": data["grids"][0]["grid_id"]}}, s.planner),
        ({"assign": {unit["id"]: "G999999"}}, s.planner),
        ({"assign": {unit["id"]: other["grids"][0]["grid_id"]}}, s.planner),
        ({"assign": {unit["id"]: data["grids"][0]["grid_id"]}}, s.scoped),
        ({"assign": {unit["id"]: data["grids"][0]["grid_id"]}}, s.viewer),
        ({"lock": sorted(locked)}, s.planner),
        ({"lock": ["G999999"]}, s.planner),
    ]
    tries += [({"assign": {u["id"]: g}}, s.planner) for u in data["units"][:12]
              for g in sorted({x["grid"] for x in data["units"]} - {u["grid"]})]  # fmt: skip
    for body, key in tries:
        r = post("/edits/assign/check", {"base_version": head, **body}, key)
        if r.status_code >= 400:
            details.append(str(r.json()["detail"]))
    r = post("/edits/rebalance", {"base_version": head, "method": "X9"}, s.planner)
    details.append(str(r.json()["detail"]))
    stale = post(
        "/edits/assign", {"base_version": 1, "assign": {unit["id"]: unit["grid"]}}, s.planner
    )
    assert stale.status_code == 409, stale.text
    return details, stale.json()


_ZH = """async ([details, body, versions]) => {
  const m = await import('/static/editor/messages.js');
  return {details: details.map(m.zhDetail), conflict: m.conflictText(body),
          versions: versions.map(m.versionMessage),
          job: m.jobMessage({message: 'rebalancing C1 (minimal_change)'})};
}"""


def test_every_server_message_reaches_the_planner_in_chinese(server: Served) -> None:
    """The service answers in English; each refusal the editor can meet, the 409, version
    messages and job progress are shown in Chinese (ids kept, no English words left)."""
    import re

    from playwright.sync_api import sync_playwright

    s = server
    details, stale = _server_details(s)
    kinds = " ".join(details)
    for needle in ("unknown unit", "unknown grid", "another community", "outside this key",
                   "needs role", "nothing to save", "not grids of the plan", "method"):  # fmt: skip
        assert needle in kinds, (needle, details)
    versions = [v["message"] for v in _editor(s, s.planner)["versions"]]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{s.base}/edit/{s.plan_id}?key={s.planner}&community={s.community}")
            zh = page.evaluate(_ZH, [details, stale, versions])
        finally:
            browser.close()
    english = re.compile(r"\b[a-z]{3,}\b")
    texts = [*zh["details"], zh["conflict"], zh["job"]]
    texts += [t for t, v in zip(zh["versions"], versions, strict=True) if v != "move one compound"]
    names = re.compile(r"planner [甲乙丙]|bootstrap admin")  # key names are data, not messages
    for text in texts:
        assert not text.startswith("服务器：") and not english.search(names.sub("", text)), text


def _merge_case(data: dict[str, Any]) -> tuple[int, str, str, str]:
    """Return (unit, its grid, a neighbouring grid to paint it into, a larger grid next to
    that one which will absorb it): the unit can move without cutting its grid."""
    units, edges = data["units"], data["edges"]
    held = {g["grid_id"]: g["households"] for g in data["grids"]}
    next_to: dict[str, set[str]] = {}
    for a, b in edges:
        ga, gb = units[a]["grid"], units[b]["grid"]
        if ga != gb and "empty" not in (units[a]["kind"], units[b]["kind"]):
            next_to.setdefault(ga, set()).add(gb)
            next_to.setdefault(gb, set()).add(ga)
    for a, b in edges:
        for i, j in ((a, b), (b, a)):
            u, dst = units[i], units[j]["grid"]
            src = u["grid"]
            if u["kind"] == "empty" or u["households"] == 0 or src == dst:
                continue
            trial = [dict(x, grid=dst if k == i else x["grid"]) for k, x in enumerate(units)]
            if not any(x["grid"] == src for x in trial) or not _connected(trial, edges, src):
                continue
            for big in sorted(g for g in next_to.get(dst, ()) - {src} if held[g] > held[dst]):
                merged = [
                    dict(x, grid=big if x["grid"] == dst and x["kind"] != "empty" else x["grid"])
                    for x in units
                ]
                if _connected(merged, edges, big):
                    return i, src, dst, big
    raise AssertionError("no unit next to a grid that a larger neighbour can absorb")


def test_a_save_into_a_grid_merged_meanwhile_is_shown_before_it_goes_out(server: Served) -> None:
    """Planner 甲 paints a unit into grid D; planner 乙 meanwhile merges D into its larger
    neighbour H. 甲's save gets a 409 naming D → H: the page re-applies the unit under H but
    says so and saves only when 甲 saves again (never silently into a grid 甲 did not pick)."""
    from playwright.sync_api import sync_playwright

    s = server
    data = _editor(s, s.planner, community=s.other)
    i, _src, dst, absorber = _merge_case(data)
    unit = data["units"][i]
    head = data["head_version"]
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = _open(browser, replace(s, community=s.other), s.planner, requests, errors)
            paint_unit(page, unit["id"], dst)
            merge = {
                u["id"]: absorber
                for u in data["units"]
                if u["grid"] == dst and u["kind"] != "empty"  # open land follows
            }
            r = httpx.post(
                f"{s.base}/plans/{s.plan_id}/edits/assign",
                json={"base_version": head, "assign": merge, "message": "merge"},
                headers={"X-API-Key": s.planner2},
                timeout=120,
            )
            assert r.status_code == 201, r.text
            page.click("#save")
            page.wait_for_selector(
                "#conflict:not([hidden]), #confirm:not([hidden])", timeout=60_000
            )
            if page.locator("#confirm").is_visible():
                page.click("#confirm-yes")
            page.wait_for_selector("#conflict:not([hidden])", timeout=60_000)
            page.wait_for_selector(f"#title:has-text('v{head + 1}')", timeout=60_000)
            assert "已被并入其他网格" in page.inner_text("#conflict-text")
            said = page.locator("#conflict-invalid li").all_inner_texts()
            assert any(f"网格 {dst} 已并入网格 {absorber}" in t and unit["id"] in t for t in said)
            page.wait_for_timeout(500)  # no automatic re-save
            page.screenshot(path=str(SHOTS / "editor-merged-meanwhile.png"))
            assert page.inner_text("#changes") == "1"
            assert _editor(s, s.planner, community=s.other)["head_version"] == head + 1
            assert page.evaluate(f"window.gridgenEditor.state().grid[{i}]") == absorber
            save_and_wait(page, head + 2)
            after = _editor(s, s.planner, community=s.other)
            assert after["units"][i]["grid"] == absorber
        finally:
            browser.close()
    assert errors == []
    _assert_local(requests)
