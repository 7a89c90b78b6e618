/* gridgen grid editor: units from vector tiles recoloured through feature state, live
 * per-grid sums, outlines, labels and checks (no request while painting), the server's
 * verdict before a save, one-step save of units and locks, conflicts resolved unit by unit,
 * drafts kept in the browser, rebalance job, versions and comparison.
 *
 * URL: /edit/{plan_id}?key=API_KEY (kept in sessionStorage, sent as X-API-Key)&community=ID
 * Modules: context (shared state), api, messages (Chinese texts), state (EditorState),
 * colors, map, labels, tools, panel, check (server verdict), session (load a version), save
 * (writes, conflicts), drafts, versions. Every value from the data reaches the page through
 * textContent (never innerHTML). Timings for bench/editor.py are kept in window.gridgenPerf;
 * window.gridgenEditor is the tests' handle.
 */
import { api } from "./api.js";
import { scheduleCheck } from "./check.js";
import { E, $, status } from "./context.js";
import { applyDraft, guardLeaving, offerDraft, storeDraft } from "./drafts.js";
import { checkLabels } from "./labels.js";
import { initMap } from "./map.js";
import { zhDetail } from "./messages.js";
import { addRow, drawChanges, setActive, showLegend, showRefused } from "./panel.js";
import { rebalance, redrawAll, save, toggleLock } from "./save.js";
import { deny, load } from "./session.js";
import { bindMouse, paint, setTool } from "./tools.js";
import { compare } from "./versions.js";

function undo() { if (E.saving) return; const c = E.S.undo(); if (c) drawChanges(c); }
function redo() { if (E.saving) return; const c = E.S.redo(); if (c) drawChanges(c); }

function newGrid() {
  const g = E.S.nextCode();
  if (!g) return;
  E.S.addGrid(g);
  addRow(g);
  setActive(g);
}

function toggleHelp() { $("help").hidden = !$("help").hidden; }

function setMode(mode) {
  E.mode = mode;
  $("color-mode").value = mode;
  redrawAll();
  showLegend();
}

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
  else if (k === "c") setMode(E.mode === "balance" ? "grid" : "balance");
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
  $("lock-btn").addEventListener("click", () => toggleLock(E.active));
  $("rebalance").addEventListener("click", rebalance);
  $("compare").addEventListener("click", compare);
  $("help-btn").addEventListener("click", toggleHelp);
  $("color-mode").addEventListener("change", () => setMode($("color-mode").value));
  $("message").addEventListener("input", storeDraft);
  document.addEventListener("keydown", onKey);
}

// A draft kept for this community: restored on the version it was made on, so a save
// meets later versions through the service's conflict check.
function restore(draft) {
  const apply = () => {
    const invalid = applyDraft(draft);
    redrawAll();
    status("已恢复未保存的修改（基于 v" + draft.version + "）· 请检查后保存");
    invalid.forEach((x) => showRefused("不再适用：" + x.unit + " → " + x.grid + "（" + x.reason + "）"));
  };
  if (draft.version === E.version) apply(); else load(draft.version, apply);
}

function start() {
  E.perf.start = performance.now();
  E.mode = "grid";
  E.actions.toggleLock = toggleLock;
  E.actions.changed = () => { storeDraft(); scheduleCheck(); };
  E.actions.loaded = () => offerDraft(restore);
  const map = initMap(); // the map, its style and worker start while the data loads
  window.gridgenEditor = {
    map: map,
    state: () => E.S,
    active: () => E.active,
    paint: (indices, g) => { setActive(g); paint(indices); }, // as a click or stroke does
    checkLabels: checkLabels,
    labels: () => (E.data ? E.data.labels : []),
    verdict: () => E.verdict,
    colours: () => Object.assign({}, E.colours), // grid → palette index (区分网格 mode)
  };
  bindMouse();
  guardLeaving();
  api("/me").then((r) => {
    E.perf.me = performance.now();
    if (!r.ok) { deny(zhDetail((r.body && r.body.detail) || "") || "请提供规划员或管理员的密钥 (?key=...)"); return; }
    if (r.body.role !== "planner" && r.body.role !== "admin") {
      const role = { viewer: "查看者", grid_worker: "网格员" }[r.body.role] || r.body.role;
      deny("编辑网格需要规划员或管理员角色；此密钥的角色是" + role + "。");
    }
  });
  load(null); // refused (403) for other roles and other communities; the reason is shown
}

bindControls();
start();
