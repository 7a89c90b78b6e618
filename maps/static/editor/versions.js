/* The editor's versions panel: the list (author, time, message, publish), the rebalance
 * methods, and the comparison of two versions (changed units outlined on the map).
 */
import { api } from "./api.js";
import { E, $, el, planPath, status } from "./context.js";
import { markCompared } from "./map.js";
import { authorName, METHOD_NAMES, versionMessage, zhError } from "./messages.js";
import { showRefused } from "./panel.js";

export function refreshVersions() {
  api(planPath()).then((r) => {
    if (!r.ok) return;
    E.data.versions = r.body.versions;
    E.data.published_version = r.body.plan.published_version;
    renderVersions();
  });
}

export function renderVersions() {
  const ul = $("versions");
  ul.textContent = "";
  const a = $("cmp-a"), b = $("cmp-b");
  a.textContent = ""; b.textContent = "";
  E.data.versions.slice().reverse().forEach((v) => {
    const li = el("li");
    li.appendChild(el("strong", "v" + v.version + (v.published ? " (已发布)" : "")));
    li.appendChild(el("span", " " + authorName(v.author) + " · " + v.created_at.replace("T", " ").slice(0, 19), "meta"));
    li.appendChild(el("div", versionMessage(v.message)));
    if (!v.published && E.data.may && E.data.may.publish) {
      const pub = el("button", "发布");
      pub.type = "button";
      pub.addEventListener("click", () => publish(v.version));
      li.appendChild(pub);
    }
    ul.appendChild(li);
    a.appendChild(el("option", "v" + v.version)).value = String(v.version);
    b.appendChild(el("option", "v" + v.version)).value = String(v.version);
  });
  b.value = String(E.version);
  a.value = String(Math.max(1, E.version - 1));
}

export function renderMethods() {
  const sel = $("rebalance-method");
  const keep = sel.value;
  sel.textContent = "";
  const methods = (E.data.rebalancers || ["minimal_change"]).slice();
  methods.sort((a, b) => (a === "minimal_change" ? -1 : b === "minimal_change" ? 1 : 0));
  methods.forEach((m) => { sel.appendChild(el("option", METHOD_NAMES[m] || m)).value = m; });
  sel.value = keep && methods.indexOf(keep) >= 0 ? keep : methods[0];
}

function publish(v) {
  api(planPath("/versions/" + v + "/publish"), { method: "POST" }).then((r) => {
    if (!r.ok) { showRefused("发布失败：" + zhError(r)); return; }
    refreshVersions();
  });
}

export function compare() {
  const a = $("cmp-a").value, b = $("cmp-b").value;
  api(planPath("/editor/compare?a=" + a + "&b=" + b + "&community=" + encodeURIComponent(E.community))).then((r) => {
    if (!r.ok) { showRefused("比较失败：" + zhError(r)); return; }
    const ids = r.body.changed.map((c) => c.id);
    markCompared(ids);
    const t = $("compare-table");
    t.hidden = false;
    const body = t.tBodies[0];
    body.textContent = "";
    // grids matched by membership: a renamed or renumbered grid is one row, old → new code
    r.body.grids.forEach((g) => {
      const tr = el("tr");
      const same = g.code_a === g.code_b;
      tr.appendChild(el("td", same ? g.code_a : (g.code_a || "（无）") + " → " + (g.code_b || "（撤销）")));
      tr.appendChild(el("td", g.a === null ? "—" : g.a));
      tr.appendChild(el("td", g.b === null ? "—" : g.b));
      if (g.a !== g.b || !same) tr.className = "touched";
      tr.dataset.codeA = g.code_a || "";
      tr.dataset.codeB = g.code_b || "";
      body.appendChild(tr);
    });
    status("比较 v" + a + " → v" + b + "：" + ids.length + " 个单元改变");
  });
}
