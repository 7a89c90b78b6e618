/* The editor's tools on the map: click or drag (brush) paints units into the active grid,
 * rectangle select, pick a grid (or Alt+click), hover names; a stroke is one undo step.
 */
import { E, $ } from "./context.js";
import { unitAt } from "./map.js";
import { drawChanges, setActive, showRefused } from "./panel.js";

let stroke = null;
let rectStart = null;

export function paint(indices) {
  if (!E.active) return;
  const t0 = performance.now();
  if (E.saving) return;
  const r = E.S.assign(indices, E.active);
  if (r.action) drawChanges(r.action);
  if (r.refused.length) showRefused("网格 " + r.refused[0].grid + " 已锁定，不能涂改（先解锁）");
  if (!r.action) return;
  E.perf.paints.push(performance.now() - t0);
  E.map.once("render", () => { E.perf.frames.push(performance.now() - t0); });
}

export function setTool(t) {
  E.tool = t;
  document.querySelectorAll("[data-tool]").forEach((b) => b.classList.toggle("active", b.dataset.tool === t));
}

function mergeStroke(mark) {
  const S = E.S;
  if (S.undoStack.length - mark < 2) return;
  let merged = [];
  S.undoStack.splice(mark).forEach((c) => { merged = merged.concat(c); });
  S.undoStack.push(merged);
}

function hover(e) {
  const i = unitAt(e.point);
  const box = $("hover");
  if (i < 0) { box.hidden = true; return; }
  const u = E.S.units[i];
  box.textContent = (u.name || u.id) + " · " + u.households + " 户 · 网格 " + E.S.grid[i];
  const r = E.map.getCanvasContainer().getBoundingClientRect();
  box.style.left = r.left + e.point.x + 12 + "px";
  box.style.top = r.top + e.point.y + 12 + "px";
  box.hidden = false;
}

function drawBox(point) {
  const box = $("rect-box");
  const r = E.map.getCanvasContainer().getBoundingClientRect();
  box.hidden = false;
  box.style.left = r.left + Math.min(rectStart.x, point.x) + "px";
  box.style.top = r.top + Math.min(rectStart.y, point.y) + "px";
  box.style.width = Math.abs(point.x - rectStart.x) + "px";
  box.style.height = Math.abs(point.y - rectStart.y) + "px";
}

// The units inside the box: those whose label point (the centre of the unit's largest
// inscribed circle) lies in it, so a box takes what it covers, not what it grazes.
function endRect(point) {
  const pts = E.data.labels || [];
  const x0 = Math.min(rectStart.x, point.x), x1 = Math.max(rectStart.x, point.x);
  const y0 = Math.min(rectStart.y, point.y), y1 = Math.max(rectStart.y, point.y);
  const idx = [];
  pts.forEach((p, i) => {
    const at = E.map.project([p[0], p[1]]);
    if (at.x >= x0 && at.x <= x1 && at.y >= y0 && at.y <= y1 && E.S.paintable(i)) idx.push(i);
  });
  rectStart = null;
  $("rect-box").hidden = true;
  if (idx.length) paint(idx);
}

export function bindMouse() {
  const map = E.map;
  map.on("mousedown", (e) => {
    if (e.originalEvent.button !== 0) return;
    if (E.tool === "pick" || e.originalEvent.altKey) return;
    e.preventDefault();
    if (E.tool === "rect") { rectStart = e.point; return; }
    stroke = { mark: E.S.undoStack.length };
    const i = unitAt(e.point);
    if (i >= 0) paint([i]);
  });
  map.on("mousemove", (e) => {
    hover(e);
    if (stroke) {
      const i = unitAt(e.point);
      if (i >= 0 && E.S.grid[i] !== E.active) paint([i]);
    } else if (rectStart) drawBox(e.point);
  });
  map.on("mouseup", (e) => {
    if (stroke) {
      mergeStroke(stroke.mark);
      stroke = null;
    } else if (rectStart) endRect(e.point);
  });
  map.on("click", (e) => {
    if (E.tool !== "pick" && !e.originalEvent.altKey) return;
    const i = unitAt(e.point);
    if (i >= 0) setActive(E.S.grid[i]);
  });
  map.on("mouseout", () => { $("hover").hidden = true; });
}
