/* Writes of the editor page: save (one edit: units and locks), the confirmation for grids
 * emptied or out of band, the 409 of a stale save (units only one side changed merge
 * silently; units both changed are shown one by one: keep mine / keep theirs), locks, and
 * the rebalance job with its progress. Save is disabled while a save is in flight.
 */
import { api } from "./api.js";
import { verdictNow } from "./check.js";
import { E, $, el, planPath, status } from "./context.js";
import { clearDraft } from "./drafts.js";
import { placeAllLabels } from "./labels.js";
import { colourAll, setUnitState } from "./map.js";
import { authorName, conflictText, jobMessage, zhError } from "./messages.js";
import { buildTable, drawChanges, setActive, showRefused, showWarnings, updateButtons, updateRow } from "./panel.js";
import { load } from "./session.js";

const MAX_MERGES = 2; // automatic re-saves after a 409 without conflicts
let merges = 0;
let confirmed = null; // the grids the planner confirmed for the save under way

function finish() { E.saving = false; updateButtons(); }

export function redrawAll() {
  colourAll();
  buildTable();
  setActive(E.active);
  placeAllLabels();
  showWarnings();
  updateButtons();
  if (E.actions.changed) E.actions.changed();
}

export function save() {
  if (E.saving || !E.S || !E.S.pendingCount()) return;
  E.saving = true;
  updateButtons();
  status("服务器检查中…");
  verdictNow().then((v) => {
    if (!v.ok) { finish(); status("不能保存"); showRefused("不能保存：" + v.text); return; }
    const risky = (v.body.grids || []).filter((g) => g.after === 0 || g.after === null || !g.in_band);
    const key = JSON.stringify(risky.map((g) => [g.grid_id, g.after]));
    // asked once per save: a re-save after merging the head asks only if the grids differ
    if (risky.length && key !== confirmed) askConfirm(risky, v.body.band, key); else post();
  }, () => { finish(); showRefused("无法连接服务器：修改仍保留在浏览器中"); });
}

// What a grid row of the server's check means for the planner (emptied, code retired, band).
function riskText(g, band) {
  if (g.after === null) {
    const parts = Object.keys(g.now_in || {}).map((k) => k + " " + g.now_in[k] + " 户");
    return "网格 " + g.grid_id + " 的编码将撤销（原 " + g.before + " 户，保留多数户的网格才保留编码）" +
      (parts.length ? "，户分入 " + parts.join("、") : "");
  }
  const why = g.after === 0 ? "将被清空并撤销" : g.after < band[0] ? "低于下限 " + band[0] : g.after > band[1] ? "高于上限 " + band[1] : "";
  return (g.before === null ? "新网格 " + g.grid_id : "网格 " + g.grid_id + "：" + g.before + " 户") + " → " +
    g.after + " 户" + (why ? "，" + why : "");
}

// Grids emptied, retired or out of band: the planner confirms before the save goes out.
function askConfirm(grids, band, key) {
  const ul = $("confirm-list");
  ul.textContent = "";
  grids.forEach((g) => ul.appendChild(el("li", riskText(g, band))));
  $("confirm").hidden = false;
  $("confirm").scrollIntoView({ block: "nearest" });
  status("请确认");
  $("confirm-yes").onclick = () => { $("confirm").hidden = true; confirmed = key; post(); };
  $("confirm-no").onclick = () => { $("confirm").hidden = true; finish(); status("已取消保存 · v" + E.version); };
}

function post() {
  const edit = E.S.edit();
  const t0 = performance.now();
  status("保存中…");
  const body = Object.assign({ base_version: E.version, message: $("message").value || "" }, edit);
  api(planPath("/edits/assign"), { method: "POST", body: body }).then((r) => {
    if (r.status === 201) {
      E.perf.saves.push(performance.now() - t0);
      merges = 0;
      confirmed = null;
      clearDraft();
      $("message").value = "";
      load(r.body.version.version, () => { $("conflict").hidden = true; finish(); });
    } else if (r.status === 409 && r.body && r.body.head_version) {
      onConflict(r.body, edit);
    } else {
      confirmed = null;
      finish();
      status("保存失败 (" + r.status + ")");
      showRefused("保存失败：" + zhError(r));
    }
  }, () => { finish(); showRefused("保存失败：无法连接服务器（修改仍保留在浏览器中）"); });
}

// A stale save: load the head, re-apply what nobody else touched, ask about the rest.
// Grids the head knows by another code (body.renamed) are re-applied under their new code;
// when the painted grid was merged into another (body.merged, the server's word), the
// planner is told so before anything is saved; a new grid whose code someone else took gets
// the next free code.
function onConflict(body, edit) {
  const conflicts = body.conflicts || [];
  const both = new Set(conflicts.map((c) => c.unit));
  const renamed = body.renamed || {};
  const baseGrids = new Set(E.S.baseGrids);
  const locks = {};
  Object.keys(E.S.lockPending).forEach((g) => { locks[renamed[g] || g] = E.S.lockPending[g]; });
  status("冲突：正在载入 v" + body.head_version);
  load(body.head_version, () => {
    const fresh = {};
    const target = (g) => {
      if (renamed[g]) return renamed[g];
      if (baseGrids.has(g) || !(g in E.S.households)) return g;
      if (!fresh[g]) { fresh[g] = E.S.nextCode() || g; E.S.addGrid(fresh[g]); } // taken meanwhile
      return fresh[g];
    };
    const rest = {};
    Object.keys(edit.assign).forEach((u) => { if (!both.has(u)) rest[u] = target(edit.assign[u]); });
    // merged: the painted grid went into another grid (one only renumbered since re-applies
    // silently)
    const merged = new Set(body.merged || []);
    const redirected = Object.keys(rest).filter((u) => merged.has(edit.assign[u]))
      .map((u) => ({ unit: u, from: edit.assign[u], to: rest[u] }));
    conflicts.forEach((c) => { c.mine = target(c.mine); });
    const res = E.S.reapply(rest);
    E.S.reapplyLocks(locks);
    redrawAll();
    finish();
    showConflicts(body, conflicts, res.invalid, redirected);
    if (!conflicts.length && !res.invalid.length && !redirected.length && merges < MAX_MERGES) {
      merges += 1;
      save(); // nobody else touched these units: merged without asking
    }
  });
}

function conflictRow(c, k) {
  const S = E.S, i = S.index[c.unit];
  const tr = el("tr");
  tr.dataset.unit = c.unit;
  const name = i === undefined ? c.unit : (S.units[i].name || c.unit);
  tr.appendChild(el("td", name + (name !== c.unit ? "（" + c.unit + "）" : "")));
  const merged = (c.merged || []).length ? "（并入了网格 " + c.merged.join("、") + "）" : "";
  [["mine", "我的：→ " + c.mine], ["theirs", authorName(c.author) + "（v" + c.version + "）：→ " + (c.theirs || "—") + merged]]
    .forEach(([value, text]) => {
      const td = el("td");
      const label = el("label");
      const radio = el("input");
      radio.type = "radio";
      radio.name = "conflict-" + k;
      radio.value = value;
      radio.addEventListener("change", resolvable);
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + text));
      td.appendChild(label);
      tr.appendChild(td);
    });
  return tr;
}

function resolvable() {
  const rows = Array.from($("conflict-units").tBodies[0].rows);
  $("resolve").disabled = !rows.every((tr) => tr.querySelector("input:checked"));
}

function showConflicts(body, conflicts, invalid, redirected) {
  $("conflict").hidden = false;
  $("conflict-text").textContent = conflictText(body, redirected.length);
  const tbody = $("conflict-units").tBodies[0];
  tbody.textContent = "";
  conflicts.forEach((c, k) => tbody.appendChild(conflictRow(c, k)));
  $("conflict-units").hidden = !conflicts.length;
  $("resolve").hidden = !conflicts.length;
  $("resolve").disabled = true;
  $("resolve").onclick = () => resolve(conflicts);
  const ul = $("conflict-invalid");
  ul.textContent = "";
  invalid.forEach((x) => ul.appendChild(el("li", "不再适用：" + x.unit + " → " + x.grid + "（" + x.reason + "）")));
  redirected.forEach((x) => ul.appendChild(el("li", "网格 " + x.from + " 已并入网格 " + x.to + "：" + x.unit + " 改为划入 " + x.to)));
  $("conflict").scrollIntoView({ block: "nearest" });
  status("冲突 · v" + E.version);
}

// Apply the planner's choices (keep mine: paint the unit again; keep theirs: leave it), save.
function resolve(conflicts) {
  const S = E.S;
  const rows = Array.from($("conflict-units").tBodies[0].rows);
  rows.forEach((tr, k) => {
    const c = conflicts[k];
    const i = S.index[c.unit];
    if (tr.querySelector("input:checked").value !== "mine" || i === undefined) return;
    S.addGrid(c.mine);
    const r = S.assign([i], c.mine);
    if (r.action) drawChanges(r.action);
  });
  $("conflict-text").textContent = "已按你的选择合并，正在保存…";
  $("conflict-units").hidden = true;
  $("resolve").hidden = true;
  if (S.pendingCount()) save(); else { $("conflict").hidden = true; status("已保留对方的修改 · v" + E.version); }
}

// Lock or unlock a grid: applied at once on the page, saved with the next save.
export function toggleLock(g) {
  const S = E.S;
  g = g || E.active;
  if (!g || !(g in S.households) || E.saving) return;
  S.setLock(g, !S.locked[g]);
  for (let i = 0; i < S.units.length; i++) if (S.grid[i] === g) setUnitState(i);
  updateRow(g, false);
  setActive(E.active);
  showWarnings();
  updateButtons();
  if (E.actions.changed) E.actions.changed();
}

function poll(jobId) {
  api("/jobs/" + encodeURIComponent(jobId)).then((r) => {
    const job = r.body;
    $("progress").value = job.progress || 0;
    status("重新平衡：" + jobMessage(job));
    if (job.status === "done") {
      $("progress").hidden = true;
      if (job.result.unchanged) { status("重新平衡：无需移动任何户，方案未改变 · v" + E.version); return; }
      load(job.result.version);
    } else if (job.status === "failed") {
      $("progress").hidden = true;
      showRefused("重新平衡失败：" + zhError({ status: 422, body: { detail: String(job.error || "").replace(/^\w+: /, "") } }));
    } else setTimeout(() => poll(jobId), 300);
  });
}

export function rebalance() {
  if (E.S.pendingCount()) { showRefused("有未保存的修改：先保存再重新平衡"); return; }
  const bar = $("progress");
  bar.hidden = false;
  bar.value = 0;
  const method = $("rebalance-method").value || "minimal_change";
  api(planPath("/edits/rebalance"), {
    method: "POST", body: { base_version: E.version, community_id: E.community, method: method },
  }).then((r) => {
    if (r.status !== 202) { bar.hidden = true; showRefused("重新平衡失败：" + zhError(r)); return; }
    poll(r.body.id);
  });
}
