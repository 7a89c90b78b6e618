"""The service and the viewer on cities of ≥ 250k households (built once per session).

On both cities (``grid``: make_city, ``walled``: make_walled_city, see ``big_city.py``) every
tile of every layer at zooms 10-16 answers 200 or 204 (never 5xx, never a layer left out);
on the walled city the viewer reaches ready with a tile deliberately made to fail and names
the hole; screenshots of the viewer at zoom 11 and 15 go to ``out/screens/``. No request
leaves 127.0.0.1.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from big_city import ADMIN, City, build_city_store, serving, tiles_over
from test_browser import CHROMIUM, _assert_local
from viewer_helpers import VIEWER_ARGS, map_idle, rendered

from api.routers.tiles import MAX_LAYERS
from api.service import COLLECTIONS
from maps.maplibre import MAPLIBRE

SCREENS = Path(__file__).resolve().parents[1] / "out" / "screens"

pytestmark = [pytest.mark.serial]


@pytest.fixture(scope="module", params=["walled", "grid"])
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    store = build_city_store(tmp_path_factory.getbasetemp() / "big-city", request.param)
    with serving(store, tmp_path_factory.mktemp(f"city-{request.param}")) as served:
        yield served


def _sweep(c: httpx.Client, paths: list[str], bounds: Any, zooms: range) -> dict[str, int]:
    """GET every tile of every path over ``bounds``; return the count per status."""
    counts: dict[str, int] = {}
    bad: list[str] = []
    for z in zooms:
        for _, x, y in tiles_over(bounds, z):
            for path in paths:
                base, _, query = path.partition("?")
                url = f"{base}/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")
                r = c.get(url)
                counts[str(r.status_code)] = counts.get(str(r.status_code), 0) + 1
                if r.status_code not in (200, 204) or "x-gridgen-tile-errors" in r.headers:
                    bad.append(f"{url} → {r.status_code} {r.headers.get('x-gridgen-tile-errors')}")
    assert bad == [], bad[:20]
    return counts


def test_every_tile_of_every_layer_answers_at_zooms_10_to_16(city: City) -> None:
    t0 = time.perf_counter()
    with httpx.Client(base_url=city.base, headers={"X-API-Key": ADMIN}, timeout=120) as c:
        layers = [n for n in COLLECTIONS if c.get(f"/tiles/{n}.json").status_code == 200]
        assert {"grids", "communities", "compounds", "buildings", "roads"} <= set(layers)
        # every layer in tiles of up to MAX_LAYERS layers (as the viewer asks); a layer that
        # failed would be named in X-Gridgen-Tile-Errors, so each layer is judged alone
        groups = [",".join(layers[k : k + MAX_LAYERS]) for k in range(0, len(layers), MAX_LAYERS)]
        counts = _sweep(c, [f"/tiles/{g}" for g in groups], city.bounds, range(10, 17))
        # the editor's layers: a version's grids and one community's units
        plan = f"/plans/{city.plan_id}"
        community = city.communities[len(city.communities) // 2]
        editor = [f"{plan}/versions/1/grids", f"{plan}/units?community={community}&version=1"]
        counts_editor = _sweep(c, editor, city.bounds, range(12, 17))
    assert city.households >= 250_000
    assert sum(counts.values()) >= 7 * len(groups)
    print(f"tile sweep: {counts} + editor {counts_editor} in {time.perf_counter() - t0:.1f} s")


_CONTEXT_TILE = re.compile(r".*/tiles/communities,[^/]*/\d+/\d+/\d+\.mvt.*")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
@pytest.mark.skipif(not MAPLIBRE.present(), reason="run `python -m maps.assets` first")
@pytest.mark.parametrize("city", ["walled"], indirect=True)
def test_viewer_reaches_ready_with_a_failing_tile_and_draws_the_city(city: City) -> None:
    from playwright.sync_api import Route, sync_playwright

    SCREENS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    errors: list[str] = []
    failed: list[str] = []

    def fail_first(route: Route) -> None:
        if failed:
            route.continue_()
            return
        failed.append(route.request.url)
        route.fulfill(status=500, body="deliberately failed tile")

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=VIEWER_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(_CONTEXT_TILE, fail_first)
            page.goto(f"{city.base}/?key={ADMIN}")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            assert len(failed) == 1
            assert page.get_attribute("body", "data-tile-errors") == "1"
            assert "图块加载失败" in page.inner_text("#tile-errors")
            # the other tiles drew: grids, communities and roads of the city are on screen
            assert len(rendered(page, "grids-fill", "grid_id")) > 100
            assert len(rendered(page, "communities-fill", "community_id")) > 20
            assert rendered(page, "roads", "kind")
            page.unroute(_CONTEXT_TILE)
            b = city.bounds
            centre = [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]
            assert map_idle(page, {"center": centre, "zoom": 11}) == 11
            page.screenshot(path=str(SCREENS / "viewer-z11.png"))
            assert map_idle(page, {"center": centre, "zoom": 15}) == 15
            assert page.locator(".gg-grid-label").count() > 0
            page.screenshot(path=str(SCREENS / "viewer-z15.png"))
        finally:
            chromium.close()
    assert errors == []
    _assert_local(requests)
