"""Helpers for the viewer's browser tests: Chromium with software WebGL, map idle, rendered
features, and a point on the screen where a given feature is on top (for real mouse events)."""

from __future__ import annotations

from typing import Any

VIEWER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
]
"""Chromium flags: MapLibre needs WebGL, given by SwiftShader in headless mode."""

_JUMP = """(view) => new Promise(done => {
  const m = window.gridgenViewer.map;
  m.once('idle', () => done(m.getZoom()));
  if (view) m.jumpTo(view); else m.triggerRepaint();
})"""

_RENDERED = """([layer, prop]) => {
  const m = window.gridgenViewer.map;
  const values = m.queryRenderedFeatures({layers: [layer]}).map(f => f.properties[prop]);
  return Array.from(new Set(values));
}"""

_SPOT = """([layer, kind, prop]) => {
  const v = window.gridgenViewer, m = v.map;
  const canvas = m.getCanvas().getBoundingClientRect();
  for (const f of m.queryRenderedFeatures({layers: [layer]})) {
    const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    const ring = polys[0][0];
    let x = 0, y = 0;
    ring.forEach(c => { x += c[0]; y += c[1]; });
    const pt = m.project([x / ring.length, y / ring.length]);
    const sx = canvas.left + pt.x, sy = canvas.top + pt.y;
    if (pt.x < 30 || pt.y < 30 || pt.x > canvas.width - 30 || pt.y > canvas.height - 30) continue;
    if (document.elementFromPoint(sx, sy) !== m.getCanvas()) continue;  // under a control
    const top = v.under(pt).filter(u => u.kind === kind)[0];
    if (top && top.properties[prop] === f.properties[prop]) {
      return {x: sx, y: sy, properties: f.properties};
    }
  }
  return null;
}"""


def map_idle(page: Any, view: dict[str, Any] | None = None) -> float:
    """Jump the viewer's map to ``view`` (center, zoom), wait until idle; return the zoom."""
    return float(page.evaluate(_JUMP, view))


def rendered(page: Any, layer: str, prop: str) -> list[Any]:
    """Return the distinct values of ``prop`` over the rendered features of ``layer``."""
    return list(page.evaluate(_RENDERED, [layer, prop]))


def spot(page: Any, layer: str, kind: str, prop: str) -> dict[str, Any] | None:
    """Return a screen point where a rendered feature of ``layer`` is the top ``kind`` hit."""
    found: dict[str, Any] | None = page.evaluate(_SPOT, [layer, kind, prop])
    return found


_SWITCH = "ls => ls.map(l => [l.innerText.trim(), l.querySelector('input').checked])"


def layer_switch(page: Any) -> list[list[Any]]:
    """Return the viewer's layer switcher as ``[label, checked]`` rows."""
    return list(page.eval_on_selector_all("#layers label", _SWITCH))
