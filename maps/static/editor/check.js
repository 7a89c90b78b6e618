/* The server's verdict on the pending edit before it is saved (POST /edits/assign/check):
 * the same checks a save makes, so the page and the service apply one set of rules. The
 * check runs shortly after each change; a save waits for the verdict on its exact edit.
 */
import { api } from "./api.js";
import { E, planPath } from "./context.js";
import { zhError } from "./messages.js";
import { showWarnings, showVerdict } from "./panel.js";

const DELAY_MS = 400;
let timer = null;

function editKey() { return JSON.stringify([E.version, E.S.edit()]); }

function runCheck() {
  const key = editKey();
  const body = Object.assign({ base_version: E.version }, E.S.edit());
  return api(planPath("/edits/assign/check"), { method: "POST", body: body }).then((r) => {
    const v = { key: key, ok: r.ok, text: r.ok ? "" : zhError(r), body: r.body };
    if (key === E.checkKey) { E.verdict = v; showWarnings(); }
    return v;
  });
}

// After a change: forget the old verdict and ask again soon.
export function scheduleCheck() {
  clearTimeout(timer);
  E.checkKey = editKey();
  if (!E.S.pendingCount()) { E.verdict = null; showVerdict(); return; }
  showVerdict();
  timer = setTimeout(runCheck, DELAY_MS);
}

// The verdict on the edit as it is now (asked at once unless already known).
export function verdictNow() {
  clearTimeout(timer);
  E.checkKey = editKey();
  if (E.verdict && E.verdict.key === E.checkKey) return Promise.resolve(E.verdict);
  return runCheck();
}
