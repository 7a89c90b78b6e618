"""The viewer draws a dataset's rivers, railways and walls (the ``barriers`` layer) in
headless Chromium against the real service: the sample district with a railway (a line)
and a river (a water area) laid across it, served through the API. Screenshot
``out/screenshots/viewer-barriers.png``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from served import running_service
from test_browser import ADMIN, SHOTS, opened_viewer, published_dataset
from viewer_helpers import layer_switch, map_idle, rendered

from gridgen.io.read import load_sample
from gridgen.io.write import write_frames
from gridgen.sample.railway import with_railway_and_river
from maps.assets import assets_present
from maps.maplibre import MAPLIBRE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.serial,
    pytest.mark.needs_client("chromium"),
    pytest.mark.skipif(
        not (assets_present() and MAPLIBRE.present()), reason="run `python -m maps.assets` first"
    ),
]


def test_the_viewer_draws_water_rivers_and_railways(tmp_path: Path) -> None:
    raw = with_railway_and_river(dict(load_sample().layers))
    data = write_frames(raw, tmp_path / "with-barriers.gpkg")
    with running_service(tmp_path / "viewer.db", admin_key=ADMIN) as base:
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=120) as c:
            assert published_dataset(c, data)["layers"]["barriers"] == 2
        with opened_viewer(f"{base}/?key={ADMIN}") as (page, _requests, errors):
            map_idle(page)
            # the river is a water area (kept under "barriers"), the railway a line
            # (served as "barriers_lines": one geometry type per collection)
            assert rendered(page, "barriers-water-0", "kind") == ["river"]
            assert rendered(page, "barriers-railway-1", "kind") == ["railway"]
            switch = layer_switch(page)
            assert ["河流、铁路、围墙", True] in switch, switch
            page.screenshot(path=str(SHOTS / "viewer-barriers.png"))
            assert errors == [], errors
