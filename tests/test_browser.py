"""The viewer page in headless Chromium against the real service (uvicorn on loopback).

Uses Debian's chromium through the playwright package; no browser is ever downloaded.
Asserts that no request leaves localhost, that the layers render, that a click on a
compound opens its sheet, and saves screenshots to ``out/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from gridgen.sample import sample_path
from maps.assets import assets_present

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = "browser-admin"
SHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
    pytest.mark.skipif(not assets_present(), reason="run `python -m maps.assets` first"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``gridgen serve`` on loopback with the sample district loaded; yield its URL."""
    tmp = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = {**os.environ, "GRIDGEN_ADMIN_KEY": ADMIN}
    cmd = [
        sys.executable, "-m", "gridgen_cli.cmd_serve",
        "--host", "127.0.0.1", "--port", str(port), "--database", f"sqlite:///{tmp}/viewer.db",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/ogc/conformance", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=120) as c:
            with (sample_path() / "district.gpkg").open("rb") as fh:
                r = c.post("/datasets", files={"file": ("district.gpkg", fh)})
            assert r.status_code == 201, r.text
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_viewer_offline_layers_and_sheet(server: str) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server}/?key={ADMIN}")
            page.wait_for_selector("body[data-loaded]", timeout=120_000)
            assert page.get_attribute("body", "data-loaded") == "true", page.inner_text("#status")

            # Layers render as SVG paths in Leaflet's overlay pane.
            n_paths = page.locator(".leaflet-overlay-pane path").count()
            n_compounds = page.locator("path.gg-compound").count()
            assert n_compounds == 107  # every compound of the sample district
            assert n_paths > n_compounds
            assert "107 个小区" in page.inner_text("#status")
            # The coverage panel lists the ten communities.
            page.wait_for_selector("#coverage-table tbody tr", timeout=60_000)
            assert page.locator("#coverage-table tbody tr").count() == 10
            assert "社区" in page.locator("#coverage-table tbody td").first.inner_text()
            assert "覆盖率" in page.inner_text("#coverage-total")
            page.screenshot(path=str(SHOTS / "viewer.png"))

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
    hosts = {urlparse(u).hostname for u in requests if urlparse(u).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}, sorted(u for u in requests if "127.0.0.1" not in u)
    assert all(urlparse(u).scheme in ("http", "data", "blob", "about") for u in requests)
    assert any("/ogc/collections/compounds/items" in u for u in requests)
    assert any(f"/sheets/{compound}.html" in u for u in requests)
    assert (SHOTS / "viewer-sheet.png").stat().st_size > 10_000
