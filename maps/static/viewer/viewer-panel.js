/* gridgen viewer, side panel: API calls with the key, tabs, the coverage table, the compound
 * sheet (sandboxed srcdoc iframe carrying this page's CSP nonce), the legend and the link to
 * the editor. Data values reach the page through textContent only.
 *
 * window.GridgenViewerPanel = { api, status, showTab, openSheet, loadCoverage, legend,
 *   editorLink, MODE_COLORS, STATION_COLORS, DEVIATION_STOPS, devColor }
 */
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var KEY = window.GridgenMap.takeKey();
  var DATASET = params.get("dataset");
  var RADIUS = Number(params.get("radius") || 500);

  var MODE_COLORS = {
    company: ["#4e79a7", "专业物业"],
    red_property: ["#e15759", "红色物业帮建"],
    unit_cobuild: ["#f28e2b", "驻地单位协建"],
    subsidy: ["#edc948", "财政补贴过渡"],
    community_fallback: ["#b07aa1", "社区兜底"],
    none: ["#bab0ac", "无物业"],
  };
  var STATION_COLORS = {
    center: ["#b2182b", "党群服务中心"],
    micro: ["#d6604d", "网格党群服务微站"],
    red_front: ["#67001f", "红色阵地"],
  };
  // Grid fill by households deviation from the target (-50% … +50%).
  var DEVIATION_STOPS = [[-0.5, [33, 102, 172]], [-0.2, [146, 197, 222]], [0, [247, 247, 247]],
    [0.2, [244, 165, 130]], [0.5, [178, 24, 43]]];

  // CSP nonce of this page: the sheet (sandboxed srcdoc iframe, which inherits this page's
  // policy) is asked to put it on its inline scripts.
  var NONCE_META = document.querySelector('meta[name="gridgen-nonce"]');
  var NONCE = NONCE_META ? NONCE_META.getAttribute("content") : null;

  function headers(extra) {
    var h = KEY ? { "X-API-Key": KEY } : {};
    if (extra) Object.keys(extra).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }

  function withDataset(path) {
    if (!DATASET) return path;
    return path + (path.indexOf("?") >= 0 ? "&" : "?") + "dataset=" + encodeURIComponent(DATASET);
  }

  function status(text) {
    document.getElementById("status").textContent = text;
  }

  function api(path, extra) {
    return fetch(withDataset(path), { headers: headers(extra) }).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (t) {
          var e = new Error(path + " → " + r.status + " " + t.slice(0, 200));
          e.status = r.status;
          throw e;
        });
      }
      return r;
    });
  }

  function devColor(d) {
    if (d === null || d === undefined || isNaN(d)) return "#cccccc";
    var stops = DEVIATION_STOPS;
    d = Math.max(-0.5, Math.min(0.5, d));
    for (var i = 1; i < stops.length; i++) {
      if (d <= stops[i][0]) {
        var t = (d - stops[i - 1][0]) / (stops[i][0] - stops[i - 1][0]);
        var c = stops[i - 1][1].map(function (v, k) { return Math.round(v + (stops[i][1][k] - v) * t); });
        return "rgb(" + c.join(",") + ")";
      }
    }
    return "#b2182b";
  }

  function showTab(name) {
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-tab") === name);
    });
    document.querySelectorAll(".tab").forEach(function (t) {
      t.classList.toggle("active", t.id === "tab-" + name);
    });
  }
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
  });

  function download(path, name) {
    return api(path)
      .then(function (r) { return r.blob(); })
      .then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = name;
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
  }

  function openSheet(id, name) {
    showTab("sheet");
    document.getElementById("sheet-hint").textContent = "正在生成 " + name + " 的图示…";
    var links = document.getElementById("sheet-links");
    links.textContent = "";
    ["png", "pdf"].forEach(function (fmt) {
      var a = document.createElement("a");
      a.href = "#";
      a.textContent = "下载 " + fmt.toUpperCase();
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        download("/sheets/" + encodeURIComponent(id) + "." + fmt, id + "." + fmt);
      });
      links.appendChild(a);
    });
    // The sheet page is fetched with the key and shown through srcdoc, so its
    // /static/... links resolve against this origin.
    var nonce = NONCE ? { "X-Gridgen-Nonce": NONCE } : null;
    return api("/sheets/" + encodeURIComponent(id) + ".html?radius=" + RADIUS, nonce)
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var frame = document.getElementById("sheet-frame");
        frame.setAttribute("data-compound", id);
        frame.srcdoc = html;
        document.getElementById("sheet-hint").textContent = name + "（" + id + "）";
      })
      .catch(function (e) {
        document.getElementById("sheet-hint").textContent = "无法生成图示：" + e.message;
      });
  }

  function showTotal(cov, hh, label) {
    var el = document.getElementById("coverage-total");
    el.textContent = label + "：" + cov + " / " + hh + " 户，覆盖率 " +
      (hh ? (100 * cov / hh).toFixed(1) : "—") + "%";
    el.setAttribute("data-households", String(hh));
    el.setAttribute("data-covered", String(cov));
  }

  function coverageRow(r) {
    var share = r.households ? r.covered_households / r.households : null;
    var tr = document.createElement("tr");
    var id = r.community_id || r.key;
    tr.setAttribute("data-community", id);
    var cells = [r.name || communityNames[id] || id, r.households, r.covered_households];
    cells.forEach(function (v) {
      var td = document.createElement("td");
      td.textContent = v === null || v === undefined ? "—" : String(v);
      tr.appendChild(td);
    });
    var td = document.createElement("td");
    if (share !== null) {
      var bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = Math.round(share * 40) + "px";
      td.appendChild(bar);
    }
    td.appendChild(document.createTextNode(share === null ? "—" : (share * 100).toFixed(1) + "%"));
    tr.appendChild(td);
    return tr;
  }

  // Community names from the map (the coverage rows carry ids only).
  var communityNames = {};
  function setCommunityNames(names) {
    Object.keys(names).forEach(function (id) { if (names[id]) communityNames[id] = names[id]; });
    document.querySelectorAll("#coverage-table tbody tr").forEach(function (tr) {
      var name = communityNames[tr.getAttribute("data-community")];
      if (name) tr.firstChild.textContent = name;
    });
  }

  function loadCoverage() {
    document.getElementById("radius").textContent = RADIUS;
    return api("/coverage?level=community&radius=" + RADIUS)
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var rows = body.rows || [];
        var tbody = document.querySelector("#coverage-table tbody");
        tbody.textContent = "";
        var hh = 0, cov = 0;
        rows.forEach(function (r) {
          hh += r.households || 0;
          cov += r.covered_households || 0;
          tbody.appendChild(coverageRow(r));
        });
        showTotal(cov, hh, "社区合计");
        // The district roll-up from the service (counts each household once).
        return api("/coverage?level=district&radius=" + RADIUS)
          .then(function (r) { return r.json(); })
          .then(function (d) {
            var t = (d.rows || [])[0];
            if (t) showTotal(t.covered_households, t.households, "全区合计");
          })
          .catch(function () { /* keep the sum of the communities */ });
      })
      .catch(function (e) {
        document.getElementById("coverage-total").textContent = "覆盖率不可用：" + e.message;
      });
  }

  function legend(buildingMinZoom) {
    var box = document.getElementById("legend");
    box.textContent = "";
    function head(text) { var h = document.createElement("h3"); h.textContent = text; box.appendChild(h); }
    function item(color, text) {
      var d = document.createElement("div");
      var sw = document.createElement("span");
      sw.className = "sw";
      sw.style.background = color;
      d.appendChild(sw);
      d.appendChild(document.createTextNode(text));
      box.appendChild(d);
    }
    function hint(text) { var p = document.createElement("p"); p.className = "hint"; p.textContent = text; box.appendChild(p); }
    head("小区物业模式");
    hint("显示网格时小区只画彩色边框。");
    Object.keys(MODE_COLORS).forEach(function (k) { item(MODE_COLORS[k][0], MODE_COLORS[k][1]); });
    head("网格户数偏差");
    [[-0.5, "≤ -50%"], [-0.2, "-20%"], [0, "0"], [0.2, "+20%"], [0.5, "≥ +50%"]].forEach(function (d) {
      item(devColor(d[0]), d[1]);
    });
    head("站点");
    Object.keys(STATION_COLORS).forEach(function (k) { item(STATION_COLORS[k][0], STATION_COLORS[k][1]); });
    item("#d7301f", "未覆盖楼栋");
    head("楼栋");
    hint("放大到 " + buildingMinZoom + " 级以上显示；网格编码从 15 级起显示。");
    item("#fdae61", "有住户楼栋");
    item("#d9d9d9", "无住户楼栋");
  }

  // Planners and admins get a link to the grid editor of the published plan.
  function editorLink() {
    api("/me").then(function (r) { return r.json(); }).then(function (me) {
      if (me.role !== "planner" && me.role !== "admin") return null;
      return api("/plans").then(function (r) { return r.json(); }).then(function (plans) {
        var plan = plans.filter(function (p) { return p.published_version !== null; })[0] || plans[0];
        if (!plan) return;
        var a = document.createElement("a");
        a.id = "editor-link";
        a.href = "/edit/" + encodeURIComponent(plan.id);
        a.textContent = "编辑网格";
        document.getElementById("bar").appendChild(a);
      });
    }).catch(function () { /* no link */ });
  }

  window.GridgenViewerPanel = {
    key: KEY, dataset: DATASET, radius: RADIUS, params: params,
    api: api, status: status, showTab: showTab, openSheet: openSheet,
    loadCoverage: loadCoverage, setCommunityNames: setCommunityNames, legend: legend, editorLink: editorLink, devColor: devColor,
    MODE_COLORS: MODE_COLORS, STATION_COLORS: STATION_COLORS, DEVIATION_STOPS: DEVIATION_STOPS,
  };
})();
