/* The editor's side panel: the grid table (households, deviation, band, lock), the active
 * grid, the warnings over every pending change with the server's verdict, the colour legend
 * and the buttons' state, redrawn on every paint.
 */
import { balanceLegend } from "./colors.js";
import { E, $, el } from "./context.js";
import { updateLabels } from "./labels.js";
import { colorOf, recolour, setBorders, setUnitState } from "./map.js";
import { EditorState } from "./state.js";

let rows = {};

export function buildTable() {
  $("grid-table").tBodies[0].textContent = "";
  rows = {};
  E.S.gridIds.slice().sort().forEach(addRow);
}

export function addRow(g) {
  const tr = el("tr");
  const name = el("td");
  const sw = el("span", null, "sw");
  name.appendChild(sw);
  name.appendChild(document.createTextNode(g));
  const hh = el("td"), dev = el("td"), band = el("td", null, "band"), lockCell = el("td");
  const lock = el("button", "");
  lock.type = "button";
  lock.addEventListener("click", (ev) => { ev.stopPropagation(); E.actions.toggleLock(g); });
  lockCell.appendChild(lock);
  [name, hh, dev, band, lockCell].forEach((c) => tr.appendChild(c));
  tr.dataset.grid = g;
  tr.addEventListener("click", () => setActive(g));
  $("grid-table").tBodies[0].appendChild(tr);
  rows[g] = { tr: tr, hh: hh, dev: dev, band: band, lock: lock, sw: sw };
  updateRow(g, false);
}

export function updateRow(g, touched) {
  const S = E.S, r = rows[g];
  if (!r) { addRow(g); return; }
  const ok = S.inBand(g);
  r.sw.style.background = colorOf(g);
  r.hh.textContent = String(S.households[g]);
  r.dev.textContent = (S.deviation(g) >= 0 ? "+" : "") + (100 * S.deviation(g)).toFixed(0) + "%";
  r.band.textContent = ok ? "✓" : "✗";
  const pending = g in S.lockPending;
  r.lock.textContent = (S.locked[g] ? "已锁" : "—") + (pending ? "*" : "");
  r.lock.title = (S.locked[g] ? "解锁" : "锁定") + (pending ? "（保存时生效）" : "");
  r.tr.classList.toggle("out", !ok);
  if (touched) r.tr.classList.add("touched");
}

export function setActive(g) {
  if (E.active && rows[E.active]) rows[E.active].tr.classList.remove("active");
  E.active = g;
  const a = $("active-grid");
  a.textContent = g || "—";
  a.style.background = g ? colorOf(g) : "";
  if (g && rows[g]) rows[g].tr.classList.add("active");
  $("lock-btn").textContent = g && E.S.locked[g] ? "解锁" : "锁定";
}

function warningText(w) {
  if (w.kind === "pieces") return "网格 " + w.grid + " 在单元图上分成 " + w.pieces + " 块（不连通）";
  if (w.kind === "empty") return "网格 " + w.grid + " 已空：保存时将撤销此网格";
  if (w.kind === "band") {
    const side = w.households < w.band[0] ? "低于下限 " + w.band[0] : "高于上限 " + w.band[1];
    return "网格 " + w.grid + " 有 " + w.households + " 户，" + side + (w.before === null ? "" : "（原 " + w.before + " 户）");
  }
  return "小区 " + (w.name || w.compound) + " 被划入 " + w.grids.length + " 个网格：" + w.grids.join(", ");
}

// Warnings over every pending change (not only the last stroke), and the server's verdict.
export function showWarnings() {
  const box = $("warnings");
  box.textContent = "";
  const verdict = E.verdict && E.verdict.key === E.checkKey ? E.verdict : null;
  E.S.warnings().forEach((w) => {
    // the server judges contiguity: once it accepted this edit, the unit-graph hint goes
    if (w.kind === "pieces" && verdict && verdict.ok) return;
    const d = el("div", warningText(w) + (w.kind === "pieces" && !verdict ? "（待服务器检查）" : ""));
    d.dataset.kind = w.kind;
    box.appendChild(d);
  });
  refusals.forEach((text) => {
    const d = el("div", text, "refused");
    d.dataset.kind = "refused";
    box.appendChild(d);
  });
  showVerdict();
}

export function showVerdict() {
  const v = $("verdict");
  const S = E.S;
  if (!S || !S.pendingCount()) { v.textContent = ""; v.className = ""; return; }
  const verdict = E.verdict && E.verdict.key === E.checkKey ? E.verdict : null;
  if (!verdict) { v.textContent = "服务器检查中…"; v.className = "checking"; return; }
  let text = verdict.ok ? "服务器检查：可以保存" : "服务器检查：不能保存：" + verdict.text;
  const retired = verdict.ok ? Object.keys(verdict.body.retired || {}) : [];
  if (retired.length) text += "；保存后撤销编码 " + retired.join("、") + "（保留多数户的网格才保留编码）";
  v.textContent = text;
  v.className = verdict.ok ? (retired.length ? "ok notice" : "ok") : "refused";
}

// What was refused (a locked grid, a failed save): kept under the warnings until the next
// change or load, so a later redraw does not hide it.
let refusals = [];

export function showRefused(text) {
  if (refusals[refusals.length - 1] === text) return;
  refusals = refusals.concat([text]).slice(-3);
  showWarnings();
}

export function clearRefused() { refusals = []; }

export function updateButtons() {
  const S = E.S;
  const n = S.pendingCount();
  $("changes").textContent = String(n);
  $("save").disabled = n === 0 || E.saving;
  $("save-label").textContent = E.saving ? "保存中…" : "保存";
  $("undo").disabled = !S.undoStack.length || E.saving;
  $("redo").disabled = !S.redoStack.length || E.saving;
  $("rebalance").disabled = E.saving;
}

export function showLegend() {
  const box = $("legend");
  box.textContent = "";
  if (E.mode !== "balance") { box.hidden = true; return; }
  box.hidden = false;
  balanceLegend(E.S.target, E.S.band).forEach(([color, text]) => {
    const item = el("span", null, "item");
    const sw = el("span", null, "sw");
    sw.style.background = color;
    item.appendChild(sw);
    item.appendChild(document.createTextNode(text));
    box.appendChild(item);
  });
}

// Redraw what a list of [unit index, from, to] changes touched: units, borders, colours,
// rows, labels, warnings; then tell the page (draft, server check).
export function drawChanges(changes) {
  clearRefused();
  const units = changes.map((c) => c[0]);
  units.forEach(setUnitState);
  setBorders(units);
  const touched = EditorState.touched(changes);
  const recoloured = recolour(E.mode === "balance" ? touched : []);
  new Set(touched.concat(recoloured)).forEach((g) => updateRow(g, touched.indexOf(g) >= 0));
  updateLabels(touched);
  if (E.active) setActive(E.active);
  showWarnings();
  updateButtons();
  if (E.actions.changed) E.actions.changed();
}
