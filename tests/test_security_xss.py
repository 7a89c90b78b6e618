"""Stored script injection: hostile names never run in Chromium (issue 11, class 1).

Every free-text field of a copy of the sample district carries a payload (template literal
``${…}``, ``</script>``, ``<img onerror>``, backticks, ``alert``). The pages that show them
(the standalone overview and sheet HTML, the viewer and its sheet iframe on a real
``gridgen serve``) are loaded in Debian's chromium and every feature is hovered (the
viewer's MapLibre map with real mouse moves over it); no payload
may run (``window.__pwned`` stays unset, no dialog opens). The served pages carry a
Content-Security-Policy and the sheet frame is sandboxed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile import PAYLOADS, hostile_district
from served import running_service

from maps.assets import assets_present
from maps.maplibre import MAPLIBRE

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = "xss-admin"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.needs_client("chromium"),
    pytest.mark.skipif(
        not (assets_present() and MAPLIBRE.present()), reason="run `python -m maps.assets` first"
    ),
]

HOVER_ALL = """() => {
  const maps = [];
  for (const k of Object.keys(window)) {
    try {
      const v = window[k];
      if (v && typeof L !== 'undefined' && v instanceof L.Map) maps.push(v);
    } catch (e) { /* storage getters throw in a sandboxed frame */ }
  }
  if (window.gridgenViewer && window.gridgenViewer.map) maps.push(window.gridgenViewer.map);
  let n = 0;
  for (const m of maps) {
    m.eachLayer(l => {
      let ll = null;
      if (l.getLatLng) ll = l.getLatLng();
      else if (l.getBounds && l.feature) ll = l.getBounds().getCenter();
      if (!ll) return;
      l.fire('mouseover', {latlng: ll}, true);
      l.fire('click', {latlng: ll}, true);
      if (l.openTooltip && l.getTooltip && l.getTooltip()) l.openTooltip(ll);
      n += 1;
    });
  }
  return n;
}"""


def _hover_everything(frame: Any) -> int:
    n: int = frame.evaluate(HOVER_ALL)
    frame.wait_for_timeout(400)
    return n


def _pwned(frame: Any) -> Any:
    return frame.evaluate("() => window.__pwned === undefined ? null : window.__pwned")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile copy of the sample district."""
    return hostile_district(tmp_path_factory.mktemp("hostile"))


def _standalone_pages(hostile: Path, folder: Path) -> list[Path]:
    from gridgen.coverage.stations import station_coverage
    from gridgen.io.read import read_dataset
    from maps.overview import write_overview
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.html import render_sheet_html

    ds = read_dataset(hostile)
    coverage = station_coverage(ds, radius=500, mode="walk")
    pages = [write_overview(ds, folder / "overview.html", coverage=coverage)]
    shown = 0
    for cid in ds.compounds["compound_id"].astype(str)[:40]:
        data = compound_sheet_data(
            ds, cid, plan=None, coverage=coverage, radius=500, restricted=True
        )
        if data.station is not None and data.buildings:
            pages.append(render_sheet_html(data, folder / f"sheet-{cid}.html"))
            shown += 1
        if shown == 3:
            break
    assert shown == 3
    return pages


def test_standalone_overview_and_sheets_run_no_payload(hostile: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    pages = _standalone_pages(hostile, tmp_path)
    text = pages[0].read_text(encoding="utf-8")
    assert "window.__pwned='script'</script>" not in text  # no raw payload anywhere
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for path in pages:
                page = browser.new_page()
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                page.goto(path.as_uri())
                page.wait_for_selector(".leaflet-container")
                assert _hover_everything(page) > 5
                assert page.locator(".leaflet-tooltip").count() >= 1
                assert _pwned(page) is None, path.name
                # The payload text is shown as text (escaped, not dropped).
                tips = page.evaluate(
                    "() => Array.from(document.querySelectorAll('.leaflet-tooltip, .gg-panel'))"
                    ".map(e => e.innerText).join(' ')"
                )
                assert any(s in tips for s in ("window.__pwned", "alert(1)")), tips[:300]
                page.close()
        finally:
            browser.close()
    assert dialogs == []


@pytest.fixture(scope="module")
def served(hostile: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running service holding the hostile dataset (uploaded under a hostile name)."""
    db = tmp_path_factory.mktemp("xss") / "xss.db"
    with running_service(db, admin_key=ADMIN) as base:
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=120) as c:
            with hostile.open("rb") as fh:
                r = c.post(
                    "/datasets",
                    files={"file": ("hostile.gpkg", fh)},
                    data={"name": PAYLOADS[1]},
                )
            assert r.status_code == 201, r.text
        yield base


def _hover_viewer(page: Any) -> str:
    """Move the mouse over a grid of points on the viewer's map; return every hover text."""
    box = page.locator("#map").bounding_box()
    texts = []
    for i in range(1, 12):
        for j in range(1, 9):
            page.mouse.move(box["x"] + box["width"] * i / 12, box["y"] + box["height"] * j / 9)
            if page.is_visible("#hover"):
                texts.append(page.inner_text("#hover"))
    return "\n".join(texts)


def test_viewer_and_sandboxed_sheet_run_no_payload(served: str) -> None:
    from playwright.sync_api import sync_playwright
    from viewer_helpers import VIEWER_ARGS, map_idle

    r = httpx.get(f"{served}/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert 'sandbox="allow-scripts"' in r.text
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=VIEWER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{served}/?key={ADMIN}")
            page.wait_for_selector("body[data-loaded]", timeout=120_000)
            page.wait_for_selector("body[data-ready]", timeout=120_000)
            # Hostile community, compound, station and building-leader names are shown as
            # text on hover (zoomed out, then at building zoom), in the coverage table too.
            hovered = _hover_viewer(page)
            map_idle(page, {"zoom": 16.5})
            hovered += _hover_viewer(page)
            assert "小区 " in hovered and "社区 " in hovered, hovered[:300]
            assert "楼栋长 " in hovered, hovered[:300]
            assert any(s in hovered for s in ("window.__pwned", "alert(1)", "<img")), hovered[:300]
            page.wait_for_selector("#coverage-table tbody tr", timeout=60_000)
            assert _pwned(page) is None
            # Open a compound's sheet: it is sandboxed (no access to the viewer's storage).
            page.evaluate(
                """() => {
                  const v = window.gridgenViewer;
                  const f = v.map.queryRenderedFeatures({layers: ['compounds-fill']})[0];
                  v.openSheet(f.properties.compound_id, f.properties.name);
                }"""
            )
            page.locator("#sheet-frame[data-compound]").wait_for(timeout=120_000)
            sheet = page.frame_locator("#sheet-frame")
            sheet.locator(".gg-panel h1").wait_for(timeout=60_000)
            sheet.locator(".leaflet-container").wait_for(timeout=30_000)
            frame = next(f for f in page.frames if f != page.main_frame)
            # the sheet's own (nonce-carrying) scripts did run: Leaflet drew the map
            assert frame.evaluate("() => typeof L") == "object"
            assert _hover_everything(frame) > 2
            assert _pwned(frame) is None
            assert (
                frame.evaluate(
                    "() => { try { return sessionStorage.getItem('gridgen-key'); }"
                    " catch (e) { return 'blocked'; } }"
                )
                == "blocked"
            )
            assert _pwned(page) is None
        finally:
            browser.close()
    assert dialogs == []
