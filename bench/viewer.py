"""Viewer (``/``) timings in headless Chromium: MapLibre on vector tiles vs the Leaflet viewer.

Run: ``PYTHONPATH=. python bench/viewer.py --households 300000 [1000000]``.

On ``make_city(households=N)`` (the GeoPackage cached by ``bench/editor.py``) it uploads the
city to ``gridgen serve`` (embedded store, loopback), partitions it through the API (job),
publishes the plan, and measures in the page with ``performance.now()`` (navigation start →):

- the current viewer: layers added (``data-loaded``) and ready (``data-ready``: the first
  frame drawn with every visible tile of every source loaded), then a jump to zoom 16
  (buildings from tiles) → idle;
- the previous viewer in the same run: the Leaflet page and script of
  ``LEAFLET_COMMIT`` (every layer as whole-dataset GeoJSON through ``/ogc`` pages, buildings
  by bbox from zoom 16), served in place of ``/`` through Playwright's request routing;
  ready = ``data-loaded``.

Each page is opened in a new browser context (cold HTTP cache; the service's tile LRU and
layer caches are warm after the first open); requests and bytes (encoded bodies) are every
finished request of the page and its map worker until ready.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from editor import ADMIN, ARGS, CHROMIUM, DATA, city_file, published_plan  # noqa: E402

LEAFLET_COMMIT = "39021c1"
"""The last commit whose viewer is Leaflet with GeoJSON layers."""


def traffic(finished: list[Any]) -> tuple[int, int]:
    """Return (requests, encoded body bytes) of the ``finished`` requests (page and worker).

    Only finished requests: the sizes of one the map aborted (tiles of a view left) would
    never come.
    """
    from playwright.sync_api import Error

    size = 0
    for request in finished:
        try:
            size += int(request.sizes()["responseBodySize"])
        except Error:  # a request whose sizes Chromium no longer holds
            continue
    return len(finished), size


def _old(path: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{LEAFLET_COMMIT}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def open_viewer(browser: Any, base: str) -> dict[str, float]:
    """Open the current viewer in a new context; return its timings (ms) and bytes."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    finished: list[Any] = []
    page.on("requestfinished", lambda r: finished.append(r))  # noqa: PLW0108 (playwright wraps Python functions only)
    page.goto(f"{base}/?key={ADMIN}")
    page.wait_for_selector("body[data-ready]", timeout=600_000)
    n, size = traffic(list(finished))
    loaded = float(page.evaluate("performance.now()"))
    perf = page.evaluate("window.gridgenPerf")
    ready = float(perf["ready"])
    t = page.evaluate(
        """() => new Promise(done => {
          const m = window.gridgenViewer.map;
          const t0 = performance.now();
          m.once('idle', () => done(performance.now() - t0));
          m.jumpTo({center: m.getCenter(), zoom: 16});
        })"""
    )
    buildings = int(page.get_attribute("body", "data-buildings") or 0)
    ctx.close()
    return {
        "ready": ready,
        "script": float(perf["start"]),
        "map_load": float(perf["mapLoad"]),
        "sources": float(perf["sources"]),
        "loaded": loaded,
        "requests": n,
        "bytes": size,
        "z16_ms": float(t),
        "z16_buildings": buildings,
    }


def open_leaflet(browser: Any, base: str) -> dict[str, float]:
    """Open the previous (Leaflet) viewer in a new context; return ready ms and bytes."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    index = _old("maps/static/viewer/index.html")
    script = _old("maps/static/viewer/viewer.js")
    css = _old("maps/static/viewer/viewer.css")
    page_url = re.compile(re.escape(base) + r"/(\?.*)?$")
    ctx.route(page_url, lambda r: r.fulfill(body=index, content_type="text/html"))
    ctx.route(
        f"{base}/static/viewer/viewer.js",
        lambda r: r.fulfill(body=script, content_type="text/javascript"),
    )
    ctx.route(
        f"{base}/static/viewer/viewer.css", lambda r: r.fulfill(body=css, content_type="text/css")
    )
    page = ctx.new_page()
    finished: list[Any] = []
    page.on("requestfinished", lambda r: finished.append(r))  # noqa: PLW0108 (playwright wraps Python functions only)
    page.goto(f"{base}/?key={ADMIN}")
    page.wait_for_selector("body[data-loaded]", timeout=600_000)
    ready = float(page.evaluate("performance.now()"))
    n, size = traffic(list(finished))
    ctx.close()
    return {"ready": ready, "requests": n, "bytes": size}


def _serve_city(c: httpx.Client, households: int) -> dict[str, Any]:
    out: dict[str, Any] = {"households": households}
    published_plan(c, city_file(households), out, reuse=True)  # the stored plan, else a new one
    for layer in ("buildings", "grids", "compounds"):
        one = c.get(f"/ogc/collections/{layer}/items", params={"limit": 1}).json()
        out[layer] = int(one["numberMatched"])
    return out


def run(households: int, *, repeat: int = 3) -> dict[str, Any]:
    """Measure both viewers on one city size (the store is kept in bench/data for reuse)."""
    from playwright.sync_api import sync_playwright
    from served import running_service

    db = DATA / f"viewer-{households}.db"
    with running_service(db, admin_key=ADMIN, wait_s=120) as base:
        c = httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=1800)
        out = _serve_city(c, households)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            first = open_viewer(browser, base)  # warms the service's layer caches
            out["first_ready_ms"] = first["ready"]
            new = [open_viewer(browser, base) for _ in range(repeat)]
            first_old = open_leaflet(browser, base)
            out["leaflet_first_ms"] = first_old["ready"]
            old = [open_leaflet(browser, base) for _ in range(repeat)]
            browser.close()
    for key in (
        "ready",
        "script",
        "map_load",
        "sources",
        "loaded",
        "requests",
        "bytes",
        "z16_ms",
        "z16_buildings",
    ):
        out[f"maplibre_{key}"] = statistics.median(r[key] for r in new)
    for key in ("ready", "requests", "bytes"):
        out[f"leaflet_{key}"] = statistics.median(r[key] for r in old)
    out["maplibre_kb"] = out["maplibre_bytes"] / 1000
    out["leaflet_kb"] = out["leaflet_bytes"] / 1000
    out["ratio"] = out["leaflet_ready"] / out["maplibre_ready"]
    out["load"] = os.getloadavg()[0]
    return out


def report(rows: list[dict[str, Any]]) -> str:
    """Return the markdown table of the runs."""
    lines = [
        f"`bench/viewer.py` — {time.strftime('%Y-%m-%d %H:%M')}, 2 cores (shared), CPython "
        f"{platform.python_version()}, Debian chromium 1400×900 headless with SwiftShader.",
        "",
        "| measure | " + " | ".join(f"{r['households']:,} hh" for r in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]

    def row(label: str, key: str, fmt: str) -> None:
        cells = [format(r.get(key, float("nan")), fmt) for r in rows]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("buildings", "buildings", ",d")
    row("compounds", "compounds", ",d")
    row("grids", "grids", ",d")
    row("MapLibre viewer ready, first open (ms)", "first_ready_ms", ".0f")
    row("MapLibre viewer ready, median (ms)", "maplibre_ready", ".0f")
    row("MapLibre: script running (ms)", "maplibre_script", ".0f")
    row("MapLibre: map loaded (style + worker) (ms)", "maplibre_map_load", ".0f")
    row("MapLibre: sources added (bounds known) (ms)", "maplibre_sources", ".0f")
    row("MapLibre: requests to ready", "maplibre_requests", ".0f")
    row("MapLibre: bytes to ready (kB)", "maplibre_kb", ".0f")
    row("MapLibre: jump to z16 → idle (ms)", "maplibre_z16_ms", ".0f")
    row("Leaflet viewer ready, first open (ms)", "leaflet_first_ms", ".0f")
    row("Leaflet viewer ready, median (ms)", "leaflet_ready", ".0f")
    row("Leaflet: requests to ready", "leaflet_requests", ".0f")
    row("Leaflet: bytes to ready (kB)", "leaflet_kb", ".0f")
    row("ready ratio Leaflet / MapLibre", "ratio", ".1f")
    row("load average at the end", "load", ".1f")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and print the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, nargs="+", default=[300_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for h in args.households:
        rows.append(run(h, repeat=args.repeat))
        print(rows[-1], flush=True)
    print(report(rows))


if __name__ == "__main__":
    main()
