"""The viewer page in headless Chromium against the real service (uvicorn on loopback).

Uses Debian's chromium through the playwright package; no browser is ever downloaded.
The service gets the sample district and a plan made through the API (job, publish).
Asserts that no request leaves localhost, that the layers render (the published grids by
default, coloured by deviation), that the coverage panel shows the district total, that a
click on a compound opens its sheet, that buildings load by bbox at high zoom, and that a
viewer key never receives a restricted column in any response. Screenshots go to
``out/screenshots/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from served import running_service

from gridgen.sample.district import sample_path
from maps.assets import assets_present

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = "browser-admin"
SHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.serial,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
    pytest.mark.skipif(not assets_present(), reason="run `python -m maps.assets` first"),
]


@dataclass(frozen=True)
class Served:
    """The running service: its URL, a viewer key, and what the API says about the plan."""

    base: str
    viewer_key: str
    n_grids: int
    households: int
    covered: int


def _published_plan(c: httpx.Client, dataset_id: str) -> None:
    """Create a plan through the API (background job), wait for it, publish its version."""
    r = c.post("/plans", json={"dataset_id": dataset_id, "name": "browser", "target": 300})
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(1200):
        job = c.get(f"/jobs/{job['id']}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    plan_id, version = job["result"]["plan_id"], job["result"]["version"]
    r = c.post(f"/plans/{plan_id}/versions/{version}/publish")
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Start ``gridgen serve`` on loopback with the sample district and a published plan."""
    tmp = tmp_path_factory.mktemp("served")
    with running_service(tmp / "viewer.db", admin_key=ADMIN) as base:
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=120) as c:
            with (sample_path() / "district.gpkg").open("rb") as fh:
                r = c.post("/datasets", files={"file": ("district.gpkg", fh)})
            assert r.status_code == 201, r.text
            _published_plan(c, r.json()["id"])
            r = c.post("/keys", json={"name": "browser viewer", "role": "viewer"})
            assert r.status_code == 201, r.text
            viewer_key = r.json()["secret"]
            grids = c.get("/ogc/collections/grids/items", params={"limit": 1000}).json()
            district = c.get("/coverage", params={"level": "district", "radius": 500}).json()
        (total,) = district["rows"]
        yield Served(
            base=base,
            viewer_key=viewer_key,
            n_grids=int(grids["numberMatched"]),
            households=int(total["households"]),
            covered=int(total["covered_households"]),
        )


LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
RESTRICTED = (b"leader_phone", b"key_persons")


def _assert_local(requests: list[str]) -> None:
    hosts = {urlparse(u).hostname for u in requests if urlparse(u).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}, sorted(u for u in requests if "127.0.0.1" not in u)
    assert all(urlparse(u).scheme in ("http", "data", "blob", "about") for u in requests)


def test_viewer_offline_layers_grids_and_sheet(server: Served) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.base}/?key={ADMIN}")
            page.wait_for_selector("body[data-loaded]", timeout=120_000)
            assert page.get_attribute("body", "data-loaded") == "true", page.inner_text("#status")

            # Layers render as SVG paths in Leaflet's overlay pane.
            n_paths = page.locator(".leaflet-overlay-pane path").count()
            n_compounds = page.locator("path.gg-compound").count()
            assert n_compounds == 107  # every compound of the sample district
            assert n_paths > n_compounds
            assert "107 个小区" in page.inner_text("#status")

            # The published plan's grids are shown by default, one path per grid (a grid in
            # several parts is still one path), coloured by household deviation.
            assert server.n_grids > 10
            assert f"{server.n_grids} 个网格" in page.inner_text("#status")
            assert page.locator("path.gg-grid").count() == server.n_grids
            fills = page.eval_on_selector_all(
                "path.gg-grid", "els => els.map(e => e.getAttribute('fill'))"
            )
            assert len(set(fills)) > 3, fills  # a colour ramp, not one colour
            checked = page.eval_on_selector_all(
                ".leaflet-control-layers-overlays label",
                "ls => ls.map(l => [l.innerText.trim(), l.querySelector('input').checked])",
            )
            assert ["网格（户数偏差）", True] in checked, checked
            # Tooltip of a grid: its id and households.
            tip = page.evaluate(
                """() => {
                  const l = window.gridgenViewer.layers.grids.getLayers()[0];
                  l.openTooltip(l.getBounds().getCenter());
                  const p = l.feature.properties;
                  return [p.grid_id, p.households,
                          document.querySelector('.leaflet-tooltip').innerText];
                }"""
            )
            grid_id, households, text = tip
            assert f"网格 {grid_id}" in text and f"户数 {households}" in text, tip

            # The coverage panel lists the ten communities and the district total.
            page.wait_for_selector("#coverage-table tbody tr", timeout=60_000)
            assert page.locator("#coverage-table tbody tr").count() == 10
            assert "社区" in page.locator("#coverage-table tbody td").first.inner_text()
            page.wait_for_selector("#coverage-total:has-text('全区合计')", timeout=60_000)
            total = page.inner_text("#coverage-total")
            assert f"{server.covered} / {server.households} 户" in total, total
            page.evaluate("window.gridgenViewer.layers.grids.getLayers()[0].closeTooltip()")
            page.mouse.move(5, 880)
            page.wait_for_timeout(200)
            page.screenshot(path=str(SHOTS / "viewer-grids.png"))

            # Click the middle of a compound: its sheet opens in the side panel.
            target = page.locator("path.gg-compound").nth(40)
            box = target.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            frame_el = page.locator("#sheet-frame[data-compound]")
            frame_el.wait_for(timeout=120_000)
            compound = frame_el.get_attribute("data-compound")
            assert compound and compound.startswith("XQ")
            sheet = page.frame_locator("#sheet-frame")
            sheet.locator(".gg-panel h1").wait_for(timeout=60_000)
            assert "一小区一图示" in sheet.locator(".gg-panel h1").inner_text()
            assert compound in sheet.locator(".gg-panel .sub").inner_text()
            sheet.locator(".leaflet-overlay-pane canvas").first.wait_for(
                timeout=30_000
            )  # prefer_canvas
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / "viewer-sheet.png"))
        finally:
            browser.close()

    assert errors == []
    _assert_local(requests)
    assert any("/ogc/collections/compounds/items" in u for u in requests)
    assert any("/ogc/collections/grids/items" in u for u in requests)
    assert any(f"/sheets/{compound}.html" in u for u in requests)
    assert (SHOTS / "viewer-sheet.png").stat().st_size > 10_000


def _phones() -> set[bytes]:
    import geopandas as gpd

    b = gpd.read_file(sample_path() / "district.gpkg", layer="buildings")
    return {str(v).encode() for v in b["leader_phone"].dropna() if len(str(v)) >= 7}


def test_viewer_buildings_at_high_zoom_without_restricted_columns(server: Served) -> None:
    from playwright.sync_api import Response, sync_playwright

    # The check below can fail: an admin's buildings do carry the restricted columns.
    admin = httpx.get(
        f"{server.base}/ogc/collections/buildings/items?limit=50",
        headers={"X-API-Key": ADMIN},
    ).content
    assert all(c in admin for c in RESTRICTED)
    phones = _phones()
    assert phones and any(ph in admin for ph in phones)

    SHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    responses: list[Response] = []
    errors: list[str] = []
    bodies: dict[str, bytes] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("response", lambda r: responses.append(r))  # noqa: PLW0108 (playwright needs a Python function, not a builtin)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.base}/?key={server.viewer_key}")
            page.wait_for_selector("body[data-loaded]", timeout=120_000)
            assert page.get_attribute("body", "data-loaded") == "true", page.inner_text("#status")
            assert f"{server.n_grids} 个网格" in page.inner_text("#status")
            # Zoomed out: no buildings fetched.
            assert page.get_attribute("body", "data-buildings") == "hidden"
            assert page.locator("path.gg-building").count() == 0

            # Zoom to 17 on a compound: the buildings of the view are fetched by bbox.
            page.evaluate(
                """() => {
                  const v = window.gridgenViewer;
                  const c = v.layers.compounds.getLayers()[40].getBounds().getCenter();
                  v.map.setView(c, 17, {animate: false});
                }"""
            )
            page.wait_for_function(
                "() => /^([0-9]+|error)$/.test(document.body.dataset.buildings || '')",
                timeout=60_000,
                polling=200,
            )
            assert page.get_attribute("body", "data-buildings") != "error", page.inner_text(
                "#buildings-note"
            )
            n_view = int(page.get_attribute("body", "data-buildings") or 0)
            assert n_view > 5
            assert page.locator("path.gg-building").count() == n_view
            tip = page.evaluate(
                """() => {
                  const l = window.gridgenViewer.buildings.getLayers()[0];
                  l.openTooltip(l.getBounds().getCenter());
                  return document.querySelector('.leaflet-tooltip').innerText;
                }"""
            )
            assert "楼栋" in tip and "户数" in tip, tip
            page.evaluate("window.gridgenViewer.buildings.getLayers()[0].closeTooltip()")
            page.mouse.move(5, 880)
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / "viewer-buildings.png"))

            # A building's click opens its compound's sheet (viewer: no restricted data).
            page.evaluate("window.gridgenViewer.buildings.getLayers()[0].fire('click')")
            page.frame_locator("#sheet-frame").locator(".gg-panel h1").wait_for(timeout=120_000)
            for r in responses:
                if urlparse(r.url).scheme in ("http", "https") and r.status < 300:
                    bodies[r.url] = r.body()
        finally:
            browser.close()

    assert errors == []
    _assert_local(requests)
    building_urls = [u for u in bodies if "/ogc/collections/buildings/items" in u]
    assert building_urls and all("bbox=" in u for u in building_urls)
    assert any("/sheets/" in u for u in bodies)
    for url, body in bodies.items():
        assert not any(c in body for c in RESTRICTED), url
        assert not any(ph in body for ph in phones), url


def test_viewer_shows_audit_findings_of_a_plan_version(server: Served) -> None:
    from playwright.sync_api import sync_playwright

    with httpx.Client(base_url=server.base, headers={"X-API-Key": ADMIN}, timeout=120) as c:
        plan = c.get("/plans").json()[0]
        version = plan["published_version"]
        audit = c.get(f"/plans/{plan['id']}/versions/{version}/audit?f=geojson").json()
    assert audit["features"], "the sample plan has split (large) compounds to show"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{server.base}/?key={ADMIN}&plan={plan['id']}&version={version}")
            page.wait_for_selector("body[data-audit]", timeout=120_000)
            assert page.get_attribute("body", "data-audit") == str(len(audit["features"]))
            assert page.locator("path.gg-finding").count() == len(audit["features"])
            labels = page.inner_text(".leaflet-control-layers-overlays")
            assert "网格审查" in labels
            page.screenshot(path=str(SHOTS / "viewer-audit.png"))
        finally:
            browser.close()
