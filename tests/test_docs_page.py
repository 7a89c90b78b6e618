"""``/docs`` works offline: Swagger UI from this service, under a CSP, nothing from a CDN."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient
from served import running_service
from test_browser import CHROMIUM, SHOTS, _assert_local
from viewer_helpers import VIEWER_ARGS

from api.app import create_app
from api.settings import Settings
from maps.swagger import SWAGGER_UI

pytestmark = pytest.mark.skipif(
    not SWAGGER_UI.present(), reason="run `python -m maps.assets` first"
)


def test_docs_page_links_only_local_assets_and_carries_a_nonce(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        r = c.get("/docs")
        assert r.status_code == 200
        page = r.text
        csp = r.headers["content-security-policy"]
        assert "cdn" not in page.lower() and "https://" not in page
        assert '/static/vendor/swagger-ui/swagger-ui-bundle.js"' in page
        nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
        assert page.count("<script") == page.count(f'<script nonce="{nonce}"') == 2
        assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split(";")[1]
        assert c.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
        assert c.get("/redoc").status_code == 404  # no page with CDN assets is left


@pytest.mark.browser
@pytest.mark.needs_client("chromium")
def test_docs_page_renders_offline_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    problems: list[str] = []
    with (
        running_service(tmp_path / "docs.db", admin_key=ADMIN_KEY) as base,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=VIEWER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda req: requests.append(req.url))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{base}/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            assert "gridgen" in page.inner_text(".swagger-ui .info .title")
            page.wait_for_selector(".opblock", timeout=30_000)
            paths = page.eval_on_selector_all(
                ".opblock-summary-path",
                "els => els.map(e => e.textContent.replace(/\\u200b/g, ''))",
            )
            assert "/ogc/collections/{collection_id}/items" in paths, paths[:5]
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "docs.png"))
        finally:
            browser.close()
    _assert_local(requests)
    assert not [m for m in problems if "Content Security Policy" in m or "Refused" in m], problems
