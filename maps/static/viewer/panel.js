/* The viewer's side panel: tabs, the compound sheet (sandboxed srcdoc iframe carrying this
 * page's CSP nonce), the coverage table per community and the link to the editor.
 * Data values reach the page through textContent only.
 */
import { V, api } from "./context.js";

// CSP nonce of this page: the sheet (sandboxed srcdoc iframe, which inherits this page's
// policy) is asked to put it on its inline scripts.
const NONCE_META = document.querySelector('meta[name="gridgen-nonce"]');
const NONCE = NONCE_META ? NONCE_META.getAttribute("content") : null;

export function showTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => {
    b.classList.toggle("active", b.getAttribute("data-tab") === name);
  });
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.id === "tab-" + name));
}

export function bindTabs() {
  document.querySelectorAll("#tabs button").forEach((b) => {
    b.addEventListener("click", () => showTab(b.getAttribute("data-tab")));
  });
}

function download(path, name) {
  return api(path)
    .then((r) => r.blob())
    .then((blob) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
}

export function openSheet(id, name) {
  showTab("sheet");
  document.getElementById("sheet-hint").textContent = "正在生成 " + name + " 的图示…";
  const links = document.getElementById("sheet-links");
  links.textContent = "";
  ["png", "pdf"].forEach((fmt) => {
    const a = document.createElement("a");
    a.href = "#";
    a.textContent = "下载 " + fmt.toUpperCase();
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      download("/sheets/" + encodeURIComponent(id) + "." + fmt, id + "." + fmt);
    });
    links.appendChild(a);
  });
  // The sheet page is fetched with the key and shown through srcdoc, so its
  // /static/... links resolve against this origin.
  const nonce = NONCE ? { "X-Gridgen-Nonce": NONCE } : null;
  return api("/sheets/" + encodeURIComponent(id) + ".html?radius=" + V.radius, nonce)
    .then((r) => r.text())
    .then((html) => {
      const frame = document.getElementById("sheet-frame");
      frame.setAttribute("data-compound", id);
      frame.srcdoc = html;
      document.getElementById("sheet-hint").textContent = name + "（" + id + "）";
    })
    .catch((e) => {
      document.getElementById("sheet-hint").textContent = "无法生成图示：" + e.message;
    });
}

function showTotal(cov, hh, label) {
  const el = document.getElementById("coverage-total");
  el.textContent = label + "：" + cov + " / " + hh + " 户，覆盖率 " +
    (hh ? (100 * cov / hh).toFixed(1) : "—") + "%";
  el.setAttribute("data-households", String(hh));
  el.setAttribute("data-covered", String(cov));
}

// Community names come from the map (the coverage rows carry ids only); a community whose
// name is not known (yet) reads "社区 <id>", so the column reads alike everywhere.
function communityLabel(id) {
  const name = V.communityNames[id];
  return name || "社区 " + id;
}

function coverageRow(r) {
  const share = r.households ? r.covered_households / r.households : null;
  const tr = document.createElement("tr");
  const id = r.community_id || r.key;
  tr.setAttribute("data-community", id);
  [r.name || communityLabel(id), r.households, r.covered_households].forEach((v) => {
    const td = document.createElement("td");
    td.textContent = v === null || v === undefined ? "—" : String(v);
    tr.appendChild(td);
  });
  const td = document.createElement("td");
  if (share !== null) {
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = Math.round(share * 40) + "px";
    td.appendChild(bar);
  }
  td.appendChild(document.createTextNode(share === null ? "—" : (share * 100).toFixed(1) + "%"));
  tr.appendChild(td);
  return tr;
}

export function setCommunityNames(names) {
  Object.keys(names).forEach((id) => { if (names[id]) V.communityNames[id] = names[id]; });
  document.querySelectorAll("#coverage-table tbody tr").forEach((tr) => {
    tr.firstChild.textContent = communityLabel(tr.getAttribute("data-community"));
  });
}

export function loadCoverage() {
  document.getElementById("radius").textContent = V.radius;
  return api("/coverage?level=community&radius=" + V.radius)
    .then((r) => r.json())
    .then((body) => {
      const rows = body.rows || [];
      const tbody = document.querySelector("#coverage-table tbody");
      tbody.textContent = "";
      let hh = 0, cov = 0;
      rows.forEach((r) => {
        hh += r.households || 0;
        cov += r.covered_households || 0;
        tbody.appendChild(coverageRow(r));
      });
      showTotal(cov, hh, "社区合计");
      // The district roll-up from the service (counts each household once).
      return api("/coverage?level=district&radius=" + V.radius)
        .then((r) => r.json())
        .then((d) => {
          const t = (d.rows || [])[0];
          if (t) showTotal(t.covered_households, t.households, "全区合计");
        })
        .catch(() => { /* keep the sum of the communities */ });
    })
    .catch((e) => {
      document.getElementById("coverage-total").textContent = "覆盖率不可用：" + e.message;
    });
}

// Planners and admins get a link to the grid editor of the published plan.
export function editorLink() {
  api("/me").then((r) => r.json()).then((me) => {
    if (me.role !== "planner" && me.role !== "admin") return null;
    return api("/plans").then((r) => r.json()).then((plans) => {
      const plan = plans.filter((p) => p.published_version !== null)[0] || plans[0];
      if (!plan) return;
      const a = document.createElement("a");
      a.id = "editor-link";
      a.href = "/edit/" + encodeURIComponent(plan.id);
      a.textContent = "编辑网格";
      document.getElementById("bar").appendChild(a);
    });
  }).catch(() => { /* no link */ });
}
