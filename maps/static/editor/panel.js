/* The editor's side panel: the grid table (households, deviation, band, lock), the active
 * grid, warnings and the buttons' state, redrawn on every paint.
 */
import { E, $, el } from "./context.js";
import { colorOf, setUnitState } from "./map.js";
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
  sw.style.background = colorOf(g);
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
  rows[g] = { tr: tr, hh: hh, dev: dev, band: band, lock: lock };
  updateRow(g, false);
}

export function updateRow(g, touched) {
  const S = E.S, r = rows[g];
  const ok = S.inBand(g);
  r.hh.textContent = String(S.households[g]);
  r.dev.textContent = (S.deviation(g) >= 0 ? "+" : "") + (100 * S.deviation(g)).toFixed(0) + "%";
  r.band.textContent = ok ? "✓" : "✗";
  r.lock.textContent = S.locked[g] ? "已锁" : "—";
  r.lock.title = S.locked[g] ? "解锁" : "锁定";
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

export function showWarnings(gs) {
  const box = $("warnings");
  box.textContent = "";
  E.S.warnings(gs).forEach((w) => {
    let t;
    if (w.kind === "pieces") t = "网格 " + w.grid + " 分成 " + w.pieces + " 块（不连通）";
    else if (w.kind === "empty") t = "网格 " + w.grid + " 已空";
    else t = "小区 " + (w.name || w.compound) + " 被划入 " + w.grids.length + " 个网格：" + w.grids.join(", ");
    const d = el("div", t);
    d.dataset.kind = w.kind;
    box.appendChild(d);
  });
}

export function showRefused(text) {
  const last = $("warnings").lastChild;
  if (last && last.textContent === text) return;
  const d = el("div", text, "refused");
  d.dataset.kind = "refused";
  $("warnings").appendChild(d);
}

export function updateButtons() {
  const S = E.S;
  const n = Object.keys(S.changes()).length;
  $("changes").textContent = String(n);
  $("save").disabled = n === 0;
  $("undo").disabled = !S.undoStack.length;
  $("redo").disabled = !S.redoStack.length;
}

// Redraw what a list of [unit index, from, to] changes touched: units, rows, warnings.
export function drawChanges(changes) {
  for (let k = 0; k < changes.length; k++) setUnitState(changes[k][0]);
  const touched = EditorState.touched(changes);
  touched.forEach((g) => { if (!rows[g]) addRow(g); updateRow(g, true); });
  showWarnings(touched);
  updateButtons();
}
