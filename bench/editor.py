"""Grid editor and viewer timings in headless Chromium against the real service.

Run: ``PYTHONPATH=. python bench/editor.py --households 300000`` (``--households 1000000``
for the large city; ``--write`` appends the section to bench/RESULTS.md; ``--prepare`` only
stores the city and its partition in ``bench/data/editor-<N>.db`` for ``--reuse`` and for
``bench/editor_save.py``, which compares the old and new store paths of a save in one run).

On ``make_city(households=N)`` it uploads the city to ``gridgen serve`` (embedded store,
uvicorn on loopback), partitions it through the API (job), publishes the plan, and measures
in the page with ``performance.now()``:

- editor ready: navigation start → units tiles drawn and the panel filled (cold: the
  community's units are built and stored on first use; warm: a new browser context later);
- one paint: the handler's work (state, feature state of the unit, panel rows, checks),
  and the time to the next rendered map frame, over a brush stroke of real mouse events;
- save: rotate the grid labels of a whole community (every paintable unit changes grid,
  every grid stays connected) and save it as one ``/edits/assign``; compared with the
  previous way, one ``/edits/move`` request per compound;
- the viewer (``/``): navigation start → every visible tile drawn.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from results_section import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
DATA = ROOT / "bench" / "data"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
ADMIN = "bench-admin"


def city_file(households: int) -> Path:
    """Return the GeoPackage of the generated city (made once, cached in bench/data)."""
    from gridgen.io.write import write_dataset
    from gridgen.sample.district import make_city
    from gridgen.validate.layers import validate_layers

    path = DATA / f"city-{households}.gpkg"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        ds = validate_layers(make_city(households=households, seed=1), source="city")
        write_dataset(ds, path)
    return path


def wait_job(c: httpx.Client, job_id: str) -> dict[str, Any]:
    """Poll a job until it ends."""
    while True:
        job = dict(c.get(f"/jobs/{job_id}").json())
        if job["status"] in ("done", "failed"):
            assert job["status"] == "done", job
            return job
        time.sleep(0.5)


def p95(values: list[float]) -> float:
    """Return the 95th percentile."""
    v = sorted(values)
    return v[min(len(v) - 1, round(0.95 * (len(v) - 1)))]


PHASES: list[dict[str, Any]] = []
"""Per open: the page's milestones (ms) and its tile requests (count, bytes)."""


def open_editor(browser: Any, base: str, plan: str, community: str, key: str) -> tuple[Any, float]:
    """Open the editor in a new context; return (page, ready ms)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/edit/{plan}?key={key}&community={community}")
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    phases = page.evaluate(
        """() => { const p = window.gridgenPerf, out = {};
          ['start', 'me', 'data', 'mapLoad', 'ready'].forEach(k => { out[k] = p[k]; });
          Object.keys(p.sources || {}).forEach(k => { out['source ' + k] = p.sources[k]; });
          const res = performance.getEntriesByType('resource');
          const tiles = res.filter(r => r.name.includes('.mvt'));
          out.tiles = tiles.length;
          out.tile_kb = tiles.reduce((a, r) => a + (r.transferSize || 0), 0) / 1024;
          const ed = res.find(r => r.name.includes('/editor?'));
          out.editor_json_kb = ed ? ed.transferSize / 1024 : null;
          out.first_tile = tiles.length ? Math.min(...tiles.map(r => r.startTime)) : null;
          out.last_tile = tiles.length ? Math.max(...tiles.map(r => r.responseEnd)) : null;
          return out; }"""
    )
    PHASES.append(phases)
    print({k: round(v, 1) if isinstance(v, float) else v for k, v in phases.items()}, flush=True)
    return page, float(page.evaluate("window.gridgenPerf.ready"))


def brush(page: Any) -> tuple[list[float], list[float]]:
    """Paint with a brush stroke of real mouse events across the map; return timings."""
    grid = page.evaluate(
        "() => { const s = window.gridgenEditor.state();"
        " return s.gridIds.filter(g => !s.locked[g])[0]; }"
    )
    page.click(f"#grid-table tr[data-grid='{grid}']")
    box = page.locator("#map").bounding_box()
    page.evaluate("window.gridgenPerf.paints = []; window.gridgenPerf.frames = [];")
    y0 = box["y"] + box["height"] * 0.3
    for row in range(3):
        y = y0 + row * box["height"] * 0.2
        page.mouse.move(box["x"] + 20, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 20, y, steps=80)
        page.mouse.up()
    page.wait_for_timeout(500)
    perf = page.evaluate("window.gridgenPerf")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    return list(perf["paints"]), list(perf["frames"])


def rotate_and_save(page: Any) -> tuple[int, float]:
    """Rotate the grid labels of the community in the page and save; return (units, ms)."""
    n = page.evaluate(
        """() => {
          const s = window.gridgenEditor.state();
          const gs = s.gridIds.filter(g => s.members[g] > 0 && !s.locked[g]);
          const next = {};
          gs.forEach((g, k) => { next[g] = gs[(k + 1) % gs.length]; });
          const groups = {};
          s.units.forEach((u, i) => { if (s.paintable(i) && next[s.grid[i]]) {
            (groups[next[s.grid[i]]] = groups[next[s.grid[i]]] || []).push(i); } });
          Object.keys(groups).forEach(g => window.gridgenEditor.paint(groups[g], g));
          return Object.keys(s.changes()).length;
        }"""
    )
    title = page.inner_text("#title")
    page.evaluate("window.gridgenPerf.saves = []")
    page.click("#save")
    page.wait_for_function(
        "(t) => document.getElementById('title').textContent !== t", arg=title, timeout=120_000
    )
    return int(n), float(page.evaluate("window.gridgenPerf.saves[0]"))


def moves_one_by_one(c: httpx.Client, plan: str, community: str, count: int) -> float:
    """Return seconds per compound moved with the previous API (one /edits/move each)."""
    data = c.get(f"/plans/{plan}/editor", params={"community": community}).json()
    units, edges = data["units"], data["edges"]
    version = data["version"]
    done, spent = 0, 0.0
    for a, b in edges:
        ua, ub = units[a], units[b]
        if done >= count or ua["kind"] != "compound" or ua["grid"] == ub["grid"]:
            continue
        t0 = time.perf_counter()
        r = c.post(
            f"/plans/{plan}/edits/move",
            json={"base_version": version, "compound_id": ua["compound_id"], "to_grid": ub["grid"]},
        )
        spent += time.perf_counter() - t0
        if r.status_code == 201:
            version = r.json()["version"]["version"]
            done += 1
    return spent / max(done, 1)


def rotated_save_across(
    c: httpx.Client, plan: str, communities: list[str], *, at_least: int = 50
) -> tuple[int, int, float]:
    """Save, as one ``/edits/assign``, the grid labels of whole communities rotated.

    Communities are taken in turn until at least ``at_least`` units change grid (every unit
    of grid k goes to grid k+1 of its community, so every grid keeps its shape); returns
    (units, communities, ms from request to response).
    """
    assign: dict[str, str] = {}
    used = 0
    version = None
    for community in communities:
        data = c.get(f"/plans/{plan}/editor", params={"community": community}).json()
        version = data["version"]
        grids = [g["grid_id"] for g in data["grids"]]
        if len(grids) < 2:
            continue
        nxt = {g: grids[(k + 1) % len(grids)] for k, g in enumerate(grids)}
        assign.update({u["id"]: nxt[u["grid"]] for u in data["units"] if u["grid"] in nxt})
        used += 1
        if len(assign) >= at_least:
            break
    t0 = time.perf_counter()
    r = c.post(f"/plans/{plan}/edits/assign", json={"base_version": version, "assign": assign})
    spent = (time.perf_counter() - t0) * 1000
    assert r.status_code == 201, r.text[:300]
    return len(assign), used, spent


def viewer_ready(browser: Any, base: str, key: str) -> float:
    """Return ms from navigation to the viewer ready (every visible tile drawn).

    ``bench/viewer.py`` measures the viewer in detail, against the previous Leaflet viewer.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base}/?key={key}")
    page.wait_for_selector("body[data-ready]", timeout=300_000)
    return float(page.evaluate("window.gridgenPerf.ready"))


def published_plan(c: httpx.Client, path: Path, out: dict[str, Any], *, reuse: bool) -> str:
    """Return the id of the published plan of the city at ``path`` in the service ``c``.

    ``reuse``: the last plan stored by an earlier run; otherwise the city is uploaded and
    partitioned through the API (``upload_s`` and ``partition_s`` go to ``out``).
    """
    plans = c.get("/plans").json() if reuse else []
    if plans:
        plan = str(plans[-1]["id"])
        out["upload_s"] = out["partition_s"] = float("nan")
    else:
        t0 = time.perf_counter()
        with path.open("rb") as fh:
            ds = c.post("/datasets", files={"file": (path.name, fh)}).json()["id"]
        out["upload_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        job = c.post("/plans", json={"dataset_id": ds, "name": "bench", "target": 300}).json()
        plan = str(wait_job(c, job["id"])["result"]["plan_id"])
        out["partition_s"] = time.perf_counter() - t0
    c.post(f"/plans/{plan}/versions/1/publish")
    return plan


def run(
    households: int, *, reuse: bool = False, moves: bool = True, prepare: bool = False
) -> dict[str, Any]:
    """Run every measure on one city size (``prepare``: only store the city and its plan)."""
    from playwright.sync_api import sync_playwright
    from served import running_service

    out: dict[str, Any] = {"households": households}
    path = city_file(households)
    db = DATA / f"editor-{households}.db"
    if not reuse:
        db.unlink(missing_ok=True)
    with running_service(db, admin_key=ADMIN, wait_s=120) as base:
        c = httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=1800)
        plan = published_plan(c, path, out, reuse=reuse)
        if prepare:
            return out
        grids = c.get(f"/plans/{plan}/versions/head/metrics").json()["grids"]
        out["grids"] = len(grids)
        comms = sorted({g["community_id"] for g in grids})
        community = comms[len(comms) // 2]
        out["communities"] = len(comms)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            _, out["editor_cold_ms"] = open_editor(browser, base, plan, community, ADMIN)
            readies = [open_editor(browser, base, plan, community, ADMIN)[1] for _ in range(3)]
            out["editor_ready_ms"] = statistics.median(readies)
            page, _ = open_editor(browser, base, plan, community, ADMIN)
            out["units_in_community"] = page.evaluate("window.gridgenEditor.state().units.length")
            paints, frames = brush(page)
            out["paints"] = len(paints)
            out["paint_p95_ms"] = p95(paints) if paints else float("nan")
            out["frame_p95_ms"] = p95(frames) if frames else float("nan")
            out["save_units"], out["save_ms"] = rotate_and_save(page)
            out["viewer_ready_ms"] = statistics.median(
                [viewer_ready(browser, base, ADMIN) for _ in range(2)]
            )
            browser.close()
        out["move_each_s"] = moves_one_by_one(c, plan, comms[0], 3) if moves else float("nan")
        units, used, ms = rotated_save_across(c, plan, comms[1:])
        out["save_across_units"], out["save_across_communities"], out["save_across_ms"] = (
            units,
            used,
            ms,
        )
    return out


def report(rows: list[dict[str, Any]]) -> str:
    """Return the markdown section."""
    import os

    load = os.getloadavg()[0]
    lines = [
        "## editor",
        "",
        f"`bench/editor.py` — {time.strftime('%Y-%m-%d %H:%M')}, machine: 2 cores (shared with "
        f"five other helpers; load average {load:.1f} at the end), CPython "
        f"{platform.python_version()}, Debian chromium headless with SwiftShader (software WebGL).",
        "Timings taken in the page with `performance.now()`; service: `gridgen serve`, "
        "SQLite store.",
        "",
        "| measure | target | " + " | ".join(f"{r['households']:,} hh" for r in rows) + " |",
        "|---|---|" + "---|" * len(rows),
    ]

    def row(label: str, target: str, key: str, fmt: str) -> None:
        cells = [format(r.get(key, float("nan")), fmt) for r in rows]
        lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")

    row("grids / communities", "", "grids", "d")
    row("units in the edited community", "", "units_in_community", "d")
    row("partition job (s)", "", "partition_s", ".1f")
    row("editor ready, first open (units built) (ms)", "", "editor_cold_ms", ".0f")
    row("editor ready, median of 3 (ms)", "≤ 3000 (300k), ≤ 5000 (1M)", "editor_ready_ms", ".0f")
    row("paints in the brush stroke", "", "paints", "d")
    row("one paint → panel + feature state, p95 (ms)", "≤ 16", "paint_p95_ms", ".2f")
    row("one paint → next rendered frame, p95 (ms)", "", "frame_p95_ms", ".1f")
    row("units changed in the save", "50", "save_units", "d")
    row("save as one /edits/assign (ms)", "≤ 1000", "save_ms", ".0f")
    row("≥ 50 units over whole communities, one /edits/assign (API)", "", "save_across_units", "d")
    row("  communities in that save", "", "save_across_communities", "d")
    row("  request → response (ms)", "≤ 1000", "save_across_ms", ".0f")
    row("previous way: one /edits/move per compound (s each)", "", "move_each_s", ".2f")
    row("viewer ready (ms)", "", "viewer_ready_ms", ".0f")
    for r in rows:
        if r["move_each_s"] != r["move_each_s"]:  # NaN: not measured
            continue
        per_unit = r["save_ms"] / 1000 / max(r["save_units"], 1)
        lines.append(
            f"- {r['households']:,} hh: one assign costs {per_unit * 1000:.1f} ms per unit vs "
            f"{r['move_each_s']:.2f} s per /edits/move: ×{r['move_each_s'] / per_unit:.0f}."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark; print (and with --write append) the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, nargs="+", default=[300_000])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="keep the stored city and plan")
    ap.add_argument("--no-moves", action="store_true", help="skip the /edits/move comparison")
    ap.add_argument("--prepare", action="store_true", help="only store the city and its plan")
    args = ap.parse_args()
    rows = []
    for h in args.households:
        rows.append(run(h, reuse=args.reuse, moves=not args.no_moves, prepare=args.prepare))
        print(rows[-1], flush=True)
    if args.prepare:
        return
    text = report(rows)
    print(text)
    if args.write:
        write_section(text, path=ROOT / "bench" / "RESULTS.md")


if __name__ == "__main__":
    main()
