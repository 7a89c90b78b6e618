/* Writes of the editor page: save (one assignment edit), the 409 conflict and re-apply,
 * lock/unlock, and the rebalance job with its progress.
 */
import { api, detailOf } from "./api.js";
import { E, $, el, planPath, status } from "./context.js";
import { colourAll, setUnitState } from "./map.js";
import { buildTable, setActive, showRefused, updateButtons, updateRow } from "./panel.js";
import { load, setTitle } from "./session.js";
import { refreshVersions } from "./versions.js";

let pending = null; // local changes refused by a conflict

export function save() {
  const changes = E.S.changes();
  if (!Object.keys(changes).length) return;
  const t0 = performance.now();
  status("保存中…");
  api(planPath("/edits/assign"), {
    method: "POST",
    body: { base_version: E.version, assign: changes, message: $("message").value || "" },
  }).then((r) => {
    if (r.status === 201) {
      E.perf.saves.push(performance.now() - t0);
      $("conflict").hidden = true;
      $("message").value = "";
      load(r.body.version.version);
    } else if (r.status === 409) {
      pending = changes;
      $("conflict").hidden = false;
      $("conflict-text").textContent = "冲突：" + r.body.detail;
      $("reapply").dataset.version = String(r.body.head_version);
      $("conflict-invalid").textContent = "";
      status("冲突");
    } else {
      status("保存失败 (" + r.status + ")");
      $("warnings").textContent = "";
      showRefused("保存失败：" + detailOf(r));
    }
  });
}

export function reapply() {
  const local = pending;
  pending = null;
  load(Number($("reapply").dataset.version), () => {
    const res = E.S.reapply(local || {});
    colourAll();
    buildTable();
    setActive(E.active);
    updateButtons();
    $("conflict").hidden = false;
    $("conflict-text").textContent = "已在版本 " + E.version + " 上重新应用 " + res.applied.length + " 个单元，请检查后保存。";
    const ul = $("conflict-invalid");
    ul.textContent = "";
    res.invalid.forEach((x) => ul.appendChild(el("li", x.unit + " → " + x.grid + "：" + x.reason)));
  });
}

export function toggleLock(g) {
  const S = E.S;
  g = g || E.active;
  if (!g || !(g in S.households)) return;
  const changes = S.changes();
  const busy = Object.keys(changes).some((uid) => changes[uid] === g || S.base[S.index[uid]] === g);
  if (busy) { showRefused("网格 " + g + " 有未保存的修改：先保存再锁定"); return; }
  if (S.baseGrids.indexOf(g) < 0) { showRefused("新网格 " + g + " 需先保存"); return; }
  const lock = !S.locked[g];
  api(planPath("/edits/lock"), {
    method: "POST", body: { base_version: E.version, grid_ids: [g], locked: lock },
  }).then((r) => {
    if (r.status !== 201) { showRefused("锁定失败：" + detailOf(r)); return; }
    E.version = r.body.version.version;
    setTitle();
    status("就绪 · v" + E.version);
    if (lock) S.locked[g] = true; else delete S.locked[g];
    for (let i = 0; i < S.units.length; i++) if (S.grid[i] === g) setUnitState(i);
    updateRow(g, false);
    setActive(E.active);
    refreshVersions();
  });
}

function poll(jobId) {
  api("/jobs/" + encodeURIComponent(jobId)).then((r) => {
    const job = r.body;
    $("progress").value = job.progress || 0;
    status("重新平衡：" + (job.message || job.status));
    if (job.status === "done") { $("progress").hidden = true; load(job.result.version); }
    else if (job.status === "failed") { $("progress").hidden = true; showRefused("重新平衡失败：" + job.error); }
    else setTimeout(() => poll(jobId), 300);
  });
}

export function rebalance() {
  if (Object.keys(E.S.changes()).length) { showRefused("有未保存的修改：先保存再重新平衡"); return; }
  const bar = $("progress");
  bar.hidden = false;
  bar.value = 0;
  api(planPath("/edits/rebalance"), {
    method: "POST",
    body: { base_version: E.version, community_id: E.community, method: $("rebalance-method").value || "repartition" },
  }).then((r) => {
    if (r.status !== 202) { bar.hidden = true; showRefused("重新平衡失败：" + detailOf(r)); return; }
    poll(r.body.id);
  });
}
