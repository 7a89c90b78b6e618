"""The grid editor on a city of ≥ 250k households (built once per session), as planners use it.

- Two planners change the same unit: the second sees the conflict naming that unit and who
  moved it where, scrolled into view, and chooses; keep mine and keep theirs both lose
  nothing else. Different units: merged without asking.
- Reload with pending changes: the browser asks; reopen: restore offered; a double click on
  Save makes one version.
- Every grid label lies inside its grid after load and after each paint (asserted in the
  page); a box takes only the units inside it; the balance mode, screenshotted.

No request leaves 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from big_city import ADMIN, City, build_city_store, serving
from editor_helpers import paint_unit, save_and_wait
from test_browser import CHROMIUM, _assert_local
from viewer_helpers import VIEWER_ARGS

from maps.maplibre import MAPLIBRE

SCREENS = Path(__file__).resolve().parents[1] / "out" / "screens"

pytestmark = [
    pytest.mark.serial,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
    pytest.mark.skipif(not MAPLIBRE.present(), reason="run `python -m maps.assets` first"),
]


@dataclass(frozen=True)
class Editing:
    """The served city, the community edited and two planners' keys."""

    city: City
    community: str
    a: str
    b: str


@pytest.fixture(scope="module")
def editing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editing]:
    store = build_city_store(tmp_path_factory.getbasetemp() / "big-city", "walled")
    with serving(store, tmp_path_factory.mktemp("city-editor")) as city:
        keys = []
        for name in ("规划员甲", "规划员乙"):
            r = httpx.post(
                f"{city.base}/keys",
                json={"name": name, "role": "planner"},
                headers={"X-API-Key": ADMIN},
            )
            assert r.status_code == 201, r.text
            keys.append(r.json()["secret"])
        yield Editing(city, city.communities[len(city.communities) // 2], keys[0], keys[1])


def _data(e: Editing, key: str = ADMIN) -> dict[str, Any]:
    r = httpx.get(
        f"{e.city.base}/plans/{e.city.plan_id}/editor",
        params={"community": e.community},
        headers={"X-API-Key": key},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _accepted(e: Editing, version: int, assign: dict[str, str]) -> bool:
    """Return whether the service's check accepts ``assign`` on ``version``."""
    r = httpx.post(
        f"{e.city.base}/plans/{e.city.plan_id}/edits/assign/check",
        json={"base_version": version, "assign": assign},
        headers={"X-API-Key": ADMIN},
        timeout=120,
    )
    return r.status_code == 200


def _targets(e: Editing, data: dict[str, Any], *, want: int, avoid: set[str]) -> Iterator[Any]:
    """Yield (unit, [grids it may move to]) with at least ``want`` accepted targets."""
    units, version = data["units"], data["version"]
    near: dict[int, set[str]] = {}
    for a, b in data["edges"]:
        near.setdefault(a, set()).add(units[b]["grid"])
        near.setdefault(b, set()).add(units[a]["grid"])
    for i, u in enumerate(units):
        if u["kind"] == "empty" or not u["households"] or u["grid"] in avoid:
            continue
        grids = sorted(near.get(i, set()) - {u["grid"]} - avoid)
        if len(grids) < want:
            continue
        ok = [g for g in grids if _accepted(e, version, {u["id"]: g})]
        if len(ok) >= want:
            yield u, ok


def _member(data: dict[str, Any], grid: str, *skip: dict[str, Any]) -> str:
    """Return a unit of ``grid`` in ``data`` other than ``skip`` (to follow the grid by
    membership: a save may give a grid another code)."""
    ids = {x["id"] for x in skip}
    return str(next(x["id"] for x in data["units"] if x["grid"] == grid and x["id"] not in ids))


def _open(browser: Any, e: Editing, key: str, requests: list[str], errors: list[str]) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{e.city.base}/edit/{e.city.plan_id}?key={key}&community={e.community}")
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    return page


def _state(page: Any) -> str:
    """Return what the page says (status, warnings, verdict, conflict), for a failure."""
    parts = [
        page.inner_text(s) for s in ("#title", "#status", "#warnings", "#verdict", "#conflict")
    ]
    return " | ".join(parts)


def _confirmed(page: Any, then: str) -> None:
    """After a click on Save: confirm grids emptied or out of band if asked; wait for ``then``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(f"#confirm:not([hidden]), {then}", timeout=60_000)
        if page.locator("#confirm").is_visible():
            page.click("#confirm-yes")
        page.wait_for_selector(then, timeout=60_000)
    except PlaywrightTimeout as exc:
        raise AssertionError(f"waiting for {then}: {_state(page)}") from exc


def _choose(page: Any, unit_id: str, which: str) -> str:
    """Save; on the conflict about ``unit_id`` pick ``which`` (mine/theirs); return its text."""
    page.click("#save")
    row = page.locator(f"#conflict-units tr[data-unit='{unit_id}']")
    _confirmed(page, f"#conflict-units tr[data-unit='{unit_id}']")
    assert page.evaluate(
        "() => { const r = document.getElementById('conflict').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }"
    ), "the conflict box is scrolled into view"
    text = str(page.inner_text("#conflict"))
    page.screenshot(path=str(SCREENS / f"editor-conflict-{which}.png"))
    row.locator(f"input[value='{which}']").check()
    page.click("#resolve")
    return text


def test_two_planners_same_unit_keep_mine_keep_theirs_and_other_units_merged(
    editing: Editing,
) -> None:
    from playwright.sync_api import sync_playwright

    e = editing
    data = _data(e)
    start = data["version"]
    u, (d1, d2, *_) = next(_targets(e, data, want=2, avoid=set()))
    u2, (f1, f2, *_) = next(_targets(e, data, want=2, avoid={u["grid"], d1, d2}))
    w, (dw, *_) = next(_targets(e, data, want=1, avoid={u["grid"], d1, d2, u2["grid"], f1, f2}))
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=VIEWER_ARGS)
        try:
            pa = _open(browser, e, e.a, requests, errors)
            pb = _open(browser, e, e.b, requests, errors)
            # A moves u; B, still on the old version, moves u elsewhere and w
            paint_unit(pa, u["id"], d1)
            save_and_wait(pa, start + 1)
            paint_unit(pb, w["id"], dw)
            paint_unit(pb, u["id"], d2)
            text = _choose(pb, u["id"], "mine")
            assert "规划员甲" in text and f"v{start + 1}" in text and d1 in text and d2 in text
            _confirmed(pb, f"#title:has-text('v{start + 2}')")
            pb.screenshot(path=str(SCREENS / "editor-conflict-resolved.png"))
            head = _data(e)
            grid = {x["id"]: x["grid"] for x in head["units"]}
            # by membership: a grid's code follows most of its households (codes module)
            assert grid[u["id"]] == grid[_member(data, d2, u, w)]  # B's choice
            assert grid[w["id"]] == grid[_member(data, dw, u, w)]  # B's other unit, merged
            assert head["versions"][-1]["author"].startswith("规划员乙")

            # keep theirs: B moves u2 first; A moves u2 elsewhere and w back, then chooses theirs
            pa.reload()
            pa.wait_for_selector("body[data-ready='1']", timeout=120_000)
            pb.reload()
            pb.wait_for_selector("body[data-ready='1']", timeout=120_000)
            now = {x["id"]: x["grid"] for x in head["units"]}  # codes as they are now
            g1, g2 = (now[_member(data, f, u, w, u2)] for f in (f1, f2))
            home = now[_member(data, w["grid"], u, w, u2)]
            paint_unit(pb, u2["id"], g1)
            save_and_wait(pb, start + 3)
            paint_unit(pa, u2["id"], g2)
            paint_unit(pa, w["id"], home)
            text = _choose(pa, u2["id"], "theirs")
            assert "规划员乙" in text and g1 in text  # theirs: g1, or g1 merged into its grid
            _confirmed(pa, f"#title:has-text('v{start + 4}')")
            grid = {x["id"]: x["grid"] for x in _data(e)["units"]}
            assert grid[u2["id"]] == grid[_member(data, f1, u, w, u2)]  # theirs kept
            assert grid[w["id"]] == grid[_member(data, w["grid"], u, w, u2)]  # A's other unit
            assert grid[u["id"]] == grid[_member(data, d2, u, w, u2)]  # nothing else lost
        finally:
            browser.close()
    assert errors == []
    _assert_local(requests)


def test_reload_asks_reopen_restores_and_a_double_click_saves_once(editing: Editing) -> None:
    from playwright.sync_api import Dialog, sync_playwright

    e = editing
    data = _data(e)
    u, (d1, *_) = next(_targets(e, data, want=1, avoid=set()))
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=VIEWER_ARGS)
        try:
            page = _open(browser, e, e.a, requests, errors)

            def leave(d: Dialog) -> None:
                dialogs.append(d.type)
                d.accept()

            page.on("dialog", leave)
            paint_unit(page, u["id"], d1)
            assert page.inner_text("#changes") == "1"
            page.reload()
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            assert dialogs == ["beforeunload"]
            page.wait_for_selector("#draft:not([hidden])", timeout=30_000)
            assert "1 个单元" in page.inner_text("#draft-text")
            assert page.inner_text("#changes") == "0"
            page.click("#draft-restore")
            page.wait_for_selector("#changes:text-is('1')", timeout=30_000)
            assert page.evaluate(f"window.gridgenEditor.state().changes()['{u['id']}']") == d1
            saves_before = sum(1 for r in requests if r.endswith("/edits/assign"))
            page.dblclick("#save")
            _confirmed(page, f"#title:has-text('v{data['version'] + 1}')")
            page.wait_for_timeout(500)
            assert sum(1 for r in requests if r.endswith("/edits/assign")) == saves_before + 1
            assert _data(e)["head_version"] == data["version"] + 1
            page.reload()  # nothing pending: no question, no draft
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            assert dialogs == ["beforeunload"] and page.locator("#draft").is_hidden()
        finally:
            browser.close()
    assert errors == []
    _assert_local(requests)


_LABELS_INSIDE = """() => {
  const out = window.gridgenEditor.checkLabels();
  return {n: out.length, outside: out.filter(l => !l.inside).map(l => l.grid),
          at: Object.fromEntries(out.map(l => [l.grid, l.at]))};
}"""


_NEIGHBOURS_SHARING = """() => {
  const S = window.gridgenEditor.state(), c = window.gridgenEditor.colours(), out = [];
  S.edges.forEach(([a, b]) => {
    const ga = S.grid[a], gb = S.grid[b];
    if (ga !== gb && c[ga] === c[gb]) out.push([ga, gb]);
  });
  return out;
}"""


def test_labels_stay_inside_their_grids_and_the_balance_mode(editing: Editing) -> None:
    from playwright.sync_api import sync_playwright

    e = editing
    data = _data(e)
    moves = []
    used: set[str] = set()
    for u, grids in _targets(e, data, want=1, avoid=set()):
        if u["grid"] in used or grids[0] in used:
            continue
        moves.append((u, grids[0]))
        used |= {u["grid"], grids[0]}
        if len(moves) == 4:
            break
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=VIEWER_ARGS)
        try:
            page = _open(browser, e, e.a, requests, errors)
            first = page.evaluate(_LABELS_INSIDE)
            members = {x["grid"] for x in data["units"]}
            assert first["n"] == len(members) and first["outside"] == []
            moved = 0
            for u, grid in moves:
                paint_unit(page, u["id"], grid)
                now = page.evaluate(_LABELS_INSIDE)
                assert now["outside"] == [], now["outside"]
                moved += now["at"][grid] != first["at"][grid] or (
                    now["at"].get(u["grid"]) != first["at"].get(u["grid"])
                )
            assert moved >= 1  # labels follow the paint
            # neighbouring grids never share a colour (after the paints too)
            same = page.evaluate(_NEIGHBOURS_SHARING)
            assert same == [], same
            page.mouse.move(5, 5)  # no tooltip over the map
            page.wait_for_selector("#verdict.ok, #verdict.refused", timeout=30_000)
            page.keyboard.press("c")
            page.wait_for_selector("#legend:not([hidden])", timeout=10_000)
            page.wait_for_timeout(500)
            SCREENS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENS / "editor-balance.png"))
            colours = page.evaluate(
                "() => { const S = window.gridgenEditor.state(), m = window.gridgenEditor.map;"
                " return S.units.map(u => (m.getFeatureState({source: 'units',"
                " sourceLayer: 'units', id: u.id}) || {}).color); }"
            )
            assert len(set(colours)) > 3
        finally:
            browser.close()
    assert errors == []
    _assert_local(requests)


_CHANGED = """() => {
  const S = window.gridgenEditor.state(), m = window.gridgenEditor.map;
  return S.units.filter(u => (m.getFeatureState({source: 'units', sourceLayer: 'units',
    id: u.id}) || {}).changed).map(u => u.id);
}"""


def _kept_codes_hold(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Return the grids of ``before`` whose households mostly sit in one grid of ``after``
    that does not carry their code (empty: every code stayed with its grid)."""
    hh = {u["id"]: u["households"] for u in before["units"]}
    now = {u["id"]: u["grid"] for u in after["units"]}
    shares: dict[str, dict[str, int]] = {}
    for u in before["units"]:
        row = shares.setdefault(u["grid"], {})
        row[now[u["id"]]] = row.get(now[u["id"]], 0) + hh[u["id"]]
    wrong = []
    for code, row in shares.items():
        total = sum(row.values())
        holder = max(sorted(row), key=lambda g: row[g])
        if total and row[holder] > total / 2 and holder != code:
            wrong.append(f"{code} → {holder}")
    return wrong


def test_rebalance_keeps_codes_and_compare_shows_exactly_the_unit_moved(
    editing: Editing,
) -> None:
    from playwright.sync_api import sync_playwright

    e = editing
    before = _data(e)
    u, (d1, *_) = next(_targets(e, before, want=1, avoid=set()))
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=VIEWER_ARGS)
        try:
            page = _open(browser, e, e.a, requests, errors)
            # a version that differs by one unit; compare highlights exactly that unit
            v0 = before["version"]
            paint_unit(page, u["id"], d1)
            save_and_wait(page, v0 + 1)
            page.select_option("#cmp-a", str(v0))
            page.select_option("#cmp-b", str(v0 + 1))
            page.click("#compare")
            page.wait_for_selector("#compare-table:not([hidden]) tbody tr", timeout=60_000)
            assert page.evaluate(_CHANGED) == [u["id"]]
            assert page.locator("#compare-table tr.touched").count() == 2
            # rebalance from the page: minimal change by default; codes stay with their grids
            moved = _data(e)
            assert page.input_value("#rebalance-method") == "minimal_change"
            page.click("#rebalance")
            page.wait_for_selector(
                f"#title:has-text('v{v0 + 2}'), #status:has-text('方案未改变')", timeout=300_000
            )
            after = _data(e)
            assert _kept_codes_hold(moved, after) == []
            out_before = sum(not before["band"][0] <= g["households"] <= before["band"][1]
                             for g in moved["grids"])  # fmt: skip
            out_after = sum(not after["band"][0] <= g["households"] <= after["band"][1]
                            for g in after["grids"])  # fmt: skip
            assert out_after <= out_before
            page.wait_for_timeout(500)
            if after["version"] != moved["version"]:  # a new version: the outline went
                assert page.evaluate(_CHANGED) == []
            assert page.evaluate(_NEIGHBOURS_SHARING) == []
            page.mouse.move(5, 5)
            page.screenshot(path=str(SCREENS / "editor-rebalanced.png"))
        finally:
            browser.close()
    assert errors == []
    _assert_local(requests)
