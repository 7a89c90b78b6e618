/* Pending edits survive a reload, a closed tab or a crash: kept in localStorage per plan
 * and community (the units' grids before and after, locks, the message), offered back when
 * the editor reopens, and the browser asks before leaving a page with unsaved changes.
 */
import { E, $, status } from "./context.js";

const PREFIX = "gridgen-draft:";
let offered = {};

function key(community) { return PREFIX + E.plan + ":" + (community || E.community); }

export function readDraft() {
  try { return JSON.parse(localStorage.getItem(key()) || "null"); } catch (e) { return null; }
}

// Keep the pending edit (or forget it when there is none).
export function storeDraft() {
  if (!E.S) return;
  if (!E.S.pendingCount()) { localStorage.removeItem(key()); return; }
  const draft = { version: E.version, at: new Date().toISOString(), message: $("message").value || "",
    edit: E.S.toDraft() };
  try { localStorage.setItem(key(), JSON.stringify(draft)); } catch (e) { status("浏览器存储已满：未保存的修改可能丢失"); }
}

export function clearDraft() { localStorage.removeItem(key()); }

// Apply a draft's edit on the loaded state: returns the units that no longer apply.
export function applyDraft(draft) {
  const S = E.S, local = {};
  Object.keys(draft.edit.units).forEach((uid) => { local[uid] = draft.edit.units[uid][1]; });
  const res = S.reapply(local);
  S.reapplyLocks(draft.edit.locks);
  S.undoStack = res.applied.length ? [res.applied] : [];
  $("message").value = draft.message || "";
  return res.invalid;
}

// Once per community and page: offer the draft kept for it (restore or discard).
export function offerDraft(restore) {
  if (offered[E.community]) return;
  offered[E.community] = true;
  const draft = readDraft();
  if (!draft || !draft.edit || !(Object.keys(draft.edit.units).length + Object.keys(draft.edit.locks || {}).length)) return;
  const n = Object.keys(draft.edit.units).length;
  const locks = Object.keys(draft.edit.locks || {}).length;
  $("draft-text").textContent = "发现 " + draft.at.replace("T", " ").slice(0, 16) + " 未保存的修改：" + n +
    " 个单元" + (locks ? "、" + locks + " 个锁定" : "") + "（基于 v" + draft.version + "）。";
  $("draft").hidden = false;
  $("draft-restore").onclick = () => { $("draft").hidden = true; restore(draft); };
  $("draft-discard").onclick = () => { $("draft").hidden = true; clearDraft(); };
}

export function guardLeaving() {
  window.addEventListener("beforeunload", (e) => {
    if (E.S && E.S.pendingCount()) {
      storeDraft();
      e.preventDefault();
      e.returnValue = "有未保存的修改";
    }
  });
}
