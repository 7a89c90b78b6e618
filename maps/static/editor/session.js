/* Loading a version of the plan into the page (the editor's data for one community). */
import { api } from "./api.js";
import { E, $, planPath, status } from "./context.js";
import { addLayers, refreshMap } from "./map.js";
import { zhDetail } from "./messages.js";
import { buildTable, clearRefused, setActive, showLegend, showWarnings, updateButtons } from "./panel.js";
import { gridColours } from "./colors.js";
import { EditorState } from "./state.js";
import { renderMethods, renderVersions } from "./versions.js";

// The page for a key that may not edit here: the reason, in Chinese, and nothing else.
export function deny(text) {
  $("main").hidden = true;
  $("denied").hidden = false;
  $("denied-why").textContent = text;
  status("无权编辑");
  document.body.dataset.denied = "1";
}

export function setTitle() {
  const head = E.data.head_version;
  const behind = head && head !== E.version ? "（最新 v" + head + "）" : "";
  $("title").textContent = (E.data.plan.name || E.plan) + " · v" + E.version + behind;
}

// Load version v (null: the head) of the community; `then` runs once the page shows it.
export function load(v, then) {
  const q = [];
  if (E.community) q.push("community=" + encodeURIComponent(E.community));
  if (v !== null && v !== undefined) q.push("version=" + v);
  status("加载中…");
  return api(planPath("/editor" + (q.length ? "?" + q.join("&") : ""))).then((r) => {
    if (!r.ok) {
      if (r.status === 403 || r.status === 401) deny(zhDetail((r.body && r.body.detail) || String(r.status)));
      else status("错误：" + zhDetail((r.body && r.body.detail) || r.status));
      return;
    }
    if (!E.perf.data) E.perf.data = performance.now();
    const data = (E.data = r.body);
    E.community = data.community_id;
    E.version = data.version;
    E.S = new EditorState(data);
    E.colours = gridColours(E.S, E.colours); // the table and the map share the colours
    E.verdict = null;
    if (!E.active || !(E.active in E.S.households)) E.active = E.S.gridIds.slice().sort()[0] || null;
    setTitle();
    $("community-name").textContent = (data.community_name || "") + " " + E.community;
    $("pp").textContent = data.mean_polsby_popper === null ? "—" : data.mean_polsby_popper.toFixed(3);
    if (!E.sourcesAdded) { if (E.mapReady) addLayers(); } else refreshMap();
    clearRefused();
    buildTable();
    renderVersions();
    renderMethods();
    setActive(E.active);
    showLegend();
    showWarnings();
    updateButtons();
    if (then) then();
    if (E.actions.loaded) E.actions.loaded();
  });
}
