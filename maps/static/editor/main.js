/* gridgen grid editor: units from vector tiles recoloured through feature state, live
 * per-grid sums and checks in the side panel (no request while painting), one-step save
 * (POST /plans/{id}/edits/assign), conflicts with re-apply, locks, rebalance job, versions.
 *
 * URL: /edit/{plan_id}?key=API_KEY (kept in sessionStorage, sent as X-API-Key)&community=ID
 * Modules: context (shared state), api, state (EditorState), map, tools, panel, session
 * (load a version), save (writes), versions. Every value from the data reaches the page
 * through textContent (never innerHTML). Timings for bench/editor.py are kept in
 * window.gridgenPerf; window.gridgenEditor is the tests' handle.
 */
import { api } from "./api.js";
import { E, $ } from "./context.js";
import { initMap } from "./map.js";
import { addRow, drawChanges, setActive } from "./panel.js";
import { rebalance, reapply, save, toggleLock } from "./save.js";
import { deny, load } from "./session.js";
import { bindMouse, paint, setTool } from "./tools.js";
import { compare } from "./versions.js";

function undo() { const c = E.S.undo(); if (c) drawChanges(c); }
function redo() { const c = E.S.redo(); if (c) drawChanges(c); }

function newGrid() {
  const g = E.S.nextCode();
  if (!g) return;
  E.S.addGrid(g);
  addRow(g);
  setActive(g);
}

function toggleHelp() { $("help").hidden = !$("help").hidden; }

function onKey(e) {
  if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "SELECT")) return;
  const k = e.key.toLowerCase();
  const mod = e.ctrlKey || e.metaKey;
  if (mod && k === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
  else if (mod && (k === "y" || (k === "z" && e.shiftKey))) { e.preventDefault(); redo(); }
  else if (mod && k === "s") { e.preventDefault(); save(); }
  else if (mod || e.altKey) return;
  else if (k === "b") setTool("paint");
  else if (k === "r") setTool("rect");
  else if (k === "i") setTool("pick");
  else if (k === "n") newGrid();
  else if (k === "l") toggleLock(E.active);
  else if (k === "?") toggleHelp();
}

function bindControls() {
  document.querySelectorAll("[data-tool]").forEach((b) => {
    b.addEventListener("click", () => setTool(b.dataset.tool));
  });
  $("new-grid").addEventListener("click", newGrid);
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("save").addEventListener("click", save);
  $("reapply").addEventListener("click", reapply);
  $("lock-btn").addEventListener("click", () => toggleLock(E.active));
  $("rebalance").addEventListener("click", rebalance);
  $("compare").addEventListener("click", compare);
  $("help-btn").addEventListener("click", toggleHelp);
  document.addEventListener("keydown", onKey);
}

function start() {
  E.perf.start = performance.now();
  E.actions.toggleLock = toggleLock;
  const map = initMap(); // the map, its style and worker start while the data loads
  window.gridgenEditor = {
    map: map,
    state: () => E.S,
    active: () => E.active,
    paint: (indices, g) => { setActive(g); paint(indices); }, // as a click or stroke does
  };
  bindMouse();
  api("/me").then((r) => {
    E.perf.me = performance.now();
    if (!r.ok) { deny((r.body && r.body.detail) || "请提供 planner 或 admin 密钥 (?key=...)"); return; }
    if (r.body.role !== "planner" && r.body.role !== "admin") {
      deny("编辑网格需要 planner 或 admin 角色；此密钥的角色是 " + r.body.role + "。");
    }
  });
  load(null); // refused (403) for other roles; /me above says why
}

bindControls();
start();
