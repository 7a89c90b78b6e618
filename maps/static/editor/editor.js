/* gridgen grid editor: units from vector tiles recoloured through feature state, live
 * per-grid sums and checks in the side panel (no request while painting), one-step save
 * (POST /plans/{id}/edits/assign), conflicts with re-apply, locks, rebalance job, versions.
 *
 * URL: /edit/{plan_id}?key=API_KEY (kept in sessionStorage, sent as X-API-Key)&community=ID
 * Every value from the data reaches the page through textContent (never innerHTML).
 * Timings for bench/editor.py are kept in window.gridgenPerf.
 */
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var KEY = window.GridgenMap.takeKey();
  var PLAN = decodeURIComponent(window.location.pathname.split("/").filter(Boolean).pop());
  var ORIGIN = window.location.origin;
  var PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#a0cbe8", "#8cd17d", "#fabfd2", "#b6992d"];

  var perf = (window.gridgenPerf = { ready: null, paints: [], frames: [], saves: [] });
  var S = null; // EditorState
  var data = null;
  var map = null;
  var version = null;
  var community = params.get("community");
  var active = null;
  var tool = "paint";
  var rows = {};
  var labels = [];
  var pending = null; // local changes refused by a conflict
  var compared = [];
  var mapReady = false;
  var sourcesAdded = false;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function status(text) { $("status").textContent = text; }
  function headers(extra) {
    var h = extra || {};
    if (KEY) h["X-API-Key"] = KEY;
    return h;
  }
  function api(path, opts) {
    opts = opts || {};
    var init = { method: opts.method || "GET", headers: headers(opts.body ? { "Content-Type": "application/json" } : {}) };
    if (opts.body) init.body = JSON.stringify(opts.body);
    return fetch(path, init).then(function (r) {
      return r.text().then(function (t) {
        var body = null;
        try { body = t ? JSON.parse(t) : null; } catch (e) { body = { detail: t.slice(0, 300) }; }
        return { status: r.status, ok: r.ok, body: body };
      });
    });
  }
  function setTitle() { $("title").textContent = (data.plan.name || PLAN) + " · v" + version; }
  function colorOf(g) {
    var i = S.gridIds.indexOf(g);
    return i < 0 ? "#cccccc" : PALETTE[i % PALETTE.length];
  }

  // -- start ------------------------------------------------------------------------------
  function deny(text) {
    $("main").hidden = true;
    $("denied").hidden = false;
    $("denied-why").textContent = text;
    status("403");
  }

  function start() {
    perf.start = performance.now();
    initMap(); // the map, its style and worker start while the data loads
    api("/me").then(function (r) {
      perf.me = performance.now();
      if (!r.ok) { deny((r.body && r.body.detail) || "请提供 planner 或 admin 密钥 (?key=...)"); return; }
      if (r.body.role !== "planner" && r.body.role !== "admin") {
        deny("编辑网格需要 planner 或 admin 角色；此密钥的角色是 " + r.body.role + "。");
      }
    });
    load(null); // refused (403) for other roles; /me above says why
  }

  function load(v, then) {
    var q = [];
    if (community) q.push("community=" + encodeURIComponent(community));
    if (v !== null && v !== undefined) q.push("version=" + v);
    status("加载中…");
    return api("/plans/" + encodeURIComponent(PLAN) + "/editor" + (q.length ? "?" + q.join("&") : "")).then(function (r) {
      if (!r.ok) {
        if (r.status === 403 || r.status === 401) deny((r.body && r.body.detail) || String(r.status));
        else status("错误：" + ((r.body && r.body.detail) || r.status));
        return;
      }
      if (!perf.data) perf.data = performance.now();
      data = r.body;
      community = data.community_id;
      version = data.version;
      S = new window.GridgenEditorState(data);
      if (!active || !(active in S.households)) active = S.gridIds[0] || null;
      setTitle();
      $("community-name").textContent = (data.community_name || "") + " " + community;
      $("pp").textContent = data.mean_polsby_popper === null ? "—" : data.mean_polsby_popper.toFixed(3);
      buildTable();
      renderVersions();
      renderMethods();
      setActive(active);
      updateButtons();
      $("warnings").textContent = "";
      if (!sourcesAdded) { if (mapReady) addLayers(); } else refreshMap();
      if (then) then();
    });
  }

  // -- map --------------------------------------------------------------------------------
  function tileUrl(path) { return ORIGIN + path + "/{z}/{x}/{y}.mvt"; }
  function unitsUrl() {
    return tileUrl("/plans/" + encodeURIComponent(PLAN) + "/units") + "?community=" +
      encodeURIComponent(community) + "&version=" + version;
  }
  function gridsUrl() { return tileUrl("/plans/" + encodeURIComponent(PLAN) + "/versions/" + version + "/grids"); }
  function layerUrl(name) { return tileUrl("/plans/" + encodeURIComponent(PLAN) + "/layers/" + name); }

  function hatch() {
    var size = 8;
    var c = document.createElement("canvas");
    c.width = size; c.height = size;
    var ctx = c.getContext("2d");
    ctx.strokeStyle = "rgba(0,0,0,0.75)";
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(0, size); ctx.lineTo(size, 0); ctx.stroke();
    return { width: size, height: size, data: new Uint8Array(ctx.getImageData(0, 0, size, size).data.buffer) };
  }

  function initMap() {
    map = window.GridgenMap.createMap({ container: "map", key: KEY });
    window.gridgenEditor = {
      map: map,
      state: function () { return S; },
      active: function () { return active; },
      paint: function (indices, g) { setActive(g); paint(indices); }, // as a click or stroke does
    };
    map.on("load", function () {
      perf.mapLoad = performance.now();
      mapReady = true;
      if (data && !sourcesAdded) addLayers();
    });
    bindMouse();
  }

  function addLayers() {
    sourcesAdded = true;
    var b = data.bounds;
    if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
    map.addImage("hatch", hatch());
    map.addSource("units", { type: "vector", tiles: [unitsUrl()], promoteId: "unit_id", maxzoom: 16 });
    map.addSource("grids", { type: "vector", tiles: [gridsUrl()], maxzoom: 15 });
    ["roads", "communities", "stations"].forEach(function (n) {
      map.addSource(n, { type: "vector", tiles: [layerUrl(n)], maxzoom: 15 });
    });
    map.addLayer({ id: "units-fill", type: "fill", source: "units", "source-layer": "units",
      paint: { "fill-color": ["coalesce", ["feature-state", "color"], "#dddddd"], "fill-opacity": 0.72 } });
    map.addLayer({ id: "units-hatch", type: "fill", source: "units", "source-layer": "units",
      paint: { "fill-pattern": "hatch", "fill-opacity": ["case", ["boolean", ["feature-state", "locked"], false], 1, 0] } });
    map.addLayer({ id: "units-line", type: "line", source: "units", "source-layer": "units",
      paint: { "line-color": "#ffffff", "line-width": 0.6 } });
    map.addLayer(window.GridgenMap.roadsLayer("roads", "roads"));
    map.addLayer({ id: "communities-line", type: "line", source: "communities", "source-layer": "communities",
      paint: { "line-color": "#6a3d9a", "line-width": 2.5, "line-dasharray": [3, 2] } });
    map.addLayer({ id: "grids-line", type: "line", source: "grids", "source-layer": "grids",
      paint: { "line-color": "#222222", "line-width": 1.8 } });
    map.addLayer({ id: "units-changed", type: "line", source: "units", "source-layer": "units",
      paint: { "line-color": "#d00000", "line-width": 3,
        "line-opacity": ["case", ["boolean", ["feature-state", "changed"], false], 1, 0] } });
    map.addLayer({ id: "stations", type: "circle", source: "stations", "source-layer": "stations",
      paint: { "circle-radius": 5, "circle-color": "#b2182b", "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
    colourAll();
    perf.sources = {};
    map.on("sourcedata", function (e) {
      if (e.isSourceLoaded && !perf.sources[e.sourceId]) perf.sources[e.sourceId] = performance.now();
    });
    // ready: the first frame drawn with every tile of every source loaded
    var sources = ["units", "grids", "roads", "communities", "stations"];
    map.on("render", function onRender() {
      if (!map.areTilesLoaded() || !sources.every(function (id) { return map.isSourceLoaded(id); })) return;
      map.off("render", onRender);
      perf.ready = performance.now();
      placeLabels();
      document.body.dataset.ready = "1";
      status("就绪 · v" + version);
    });
  }

  function refreshMap() {
    map.getSource("units").setTiles([unitsUrl()]);
    map.getSource("grids").setTiles([gridsUrl()]);
    map.removeFeatureState({ source: "units", sourceLayer: "units" });
    compared = [];
    colourAll();
    map.once("idle", function () { placeLabels(); status("就绪 · v" + version); });
  }

  function setUnitState(i) {
    map.setFeatureState({ source: "units", sourceLayer: "units", id: S.units[i].id },
      { color: colorOf(S.grid[i]), locked: !!S.locked[S.grid[i]] });
  }
  function colourAll() { for (var i = 0; i < S.units.length; i++) setUnitState(i); }

  function placeLabels() {
    labels.forEach(function (m) { m.remove(); });
    labels = [];
    var boxes = {};
    map.querySourceFeatures("grids", { sourceLayer: "grids" }).forEach(function (f) {
      var g = f.properties.grid_id;
      if (!(g in S.households)) return;
      var bx = boxes[g] || (boxes[g] = [180, 90, -180, -90]);
      var rings = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
      rings.forEach(function (poly) {
        poly[0].forEach(function (p) {
          bx[0] = Math.min(bx[0], p[0]); bx[1] = Math.min(bx[1], p[1]);
          bx[2] = Math.max(bx[2], p[0]); bx[3] = Math.max(bx[3], p[1]);
        });
      });
    });
    Object.keys(boxes).forEach(function (g) {
      var bx = boxes[g];
      var m = new maplibregl.Marker({ element: el("div", g.slice(-3), "grid-label") })
        .setLngLat([(bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2]).addTo(map);
      labels.push(m);
    });
  }

  // -- painting ---------------------------------------------------------------------------
  function unitAt(point) {
    var f = map.queryRenderedFeatures(point, { layers: ["units-fill"] });
    if (!f.length) return -1;
    var i = S.index[f[0].properties.unit_id];
    return i === undefined ? -1 : i;
  }

  function paint(indices) {
    if (!active) return;
    var t0 = performance.now();
    var r = S.assign(indices, active);
    if (r.refused.length) {
      var g = r.refused[0].grid;
      showRefused("网格 " + g + " 已锁定，不能涂改（先解锁）");
    }
    if (!r.action) return;
    drawChanges(r.action);
    var t1 = performance.now();
    perf.paints.push(t1 - t0);
    map.once("render", function () { perf.frames.push(performance.now() - t0); });
  }

  function drawChanges(changes) {
    for (var k = 0; k < changes.length; k++) setUnitState(changes[k][0]);
    var touched = window.GridgenEditorState.touched(changes);
    touched.forEach(function (g) { if (!rows[g]) addRow(g); updateRow(g, true); });
    showWarnings(touched);
    updateButtons();
  }

  var stroke = null;
  var rectStart = null;

  function bindMouse() {
    var canvas = map.getCanvasContainer();
    map.on("mousedown", function (e) {
      if (e.originalEvent.button !== 0) return;
      if (tool === "pick" || e.originalEvent.altKey) return;
      e.preventDefault();
      if (tool === "rect") { rectStart = e.point; return; }
      stroke = { mark: S.undoStack.length };
      var i = unitAt(e.point);
      if (i >= 0) paint([i]);
    });
    map.on("mousemove", function (e) {
      hover(e);
      if (stroke) {
        var i = unitAt(e.point);
        if (i >= 0 && S.grid[i] !== active) paint([i]);
      } else if (rectStart) {
        var box = $("rect-box");
        var r = canvas.getBoundingClientRect();
        box.hidden = false;
        box.style.left = r.left + Math.min(rectStart.x, e.point.x) + "px";
        box.style.top = r.top + Math.min(rectStart.y, e.point.y) + "px";
        box.style.width = Math.abs(e.point.x - rectStart.x) + "px";
        box.style.height = Math.abs(e.point.y - rectStart.y) + "px";
      }
    });
    map.on("mouseup", function (e) {
      if (stroke) {
        mergeStroke(stroke.mark);
        stroke = null;
      } else if (rectStart) {
        var feats = map.queryRenderedFeatures([rectStart, e.point], { layers: ["units-fill"] });
        var seen = {};
        var idx = [];
        feats.forEach(function (f) {
          var i = S.index[f.properties.unit_id];
          if (i !== undefined && !seen[i]) { seen[i] = true; idx.push(i); }
        });
        rectStart = null;
        $("rect-box").hidden = true;
        if (idx.length) paint(idx);
      }
    });
    map.on("click", function (e) {
      if (tool !== "pick" && !e.originalEvent.altKey) return;
      var i = unitAt(e.point);
      if (i >= 0) setActive(S.grid[i]);
    });
    map.on("mouseout", function () { $("hover").hidden = true; });
  }

  function mergeStroke(mark) {
    if (S.undoStack.length - mark < 2) return;
    var merged = [];
    S.undoStack.splice(mark).forEach(function (c) { merged = merged.concat(c); });
    S.undoStack.push(merged);
  }

  function hover(e) {
    var i = unitAt(e.point);
    var box = $("hover");
    if (i < 0) { box.hidden = true; return; }
    var u = S.units[i];
    box.textContent = (u.name || u.id) + " · " + u.households + " 户 · 网格 " + S.grid[i];
    var r = map.getCanvasContainer().getBoundingClientRect();
    box.style.left = r.left + e.point.x + 12 + "px";
    box.style.top = r.top + e.point.y + 12 + "px";
    box.hidden = false;
  }

  // -- panel ------------------------------------------------------------------------------
  function buildTable() {
    var body = $("grid-table").tBodies[0];
    body.textContent = "";
    rows = {};
    S.gridIds.slice().sort().forEach(addRow);
  }

  function addRow(g) {
    var tr = el("tr");
    var name = el("td");
    var sw = el("span", null, "sw");
    sw.style.background = colorOf(g);
    name.appendChild(sw);
    name.appendChild(document.createTextNode(g));
    var hh = el("td"), dev = el("td"), band = el("td", null, "band"), lockCell = el("td");
    var lock = el("button", "");
    lock.type = "button";
    lock.addEventListener("click", function (ev) { ev.stopPropagation(); toggleLock(g); });
    lockCell.appendChild(lock);
    [name, hh, dev, band, lockCell].forEach(function (c) { tr.appendChild(c); });
    tr.dataset.grid = g;
    tr.addEventListener("click", function () { setActive(g); });
    $("grid-table").tBodies[0].appendChild(tr);
    rows[g] = { tr: tr, hh: hh, dev: dev, band: band, lock: lock };
    updateRow(g, false);
  }

  function updateRow(g, touched) {
    var r = rows[g];
    var ok = S.inBand(g);
    r.hh.textContent = String(S.households[g]);
    r.dev.textContent = (S.deviation(g) >= 0 ? "+" : "") + (100 * S.deviation(g)).toFixed(0) + "%";
    r.band.textContent = ok ? "✓" : "✗";
    r.lock.textContent = S.locked[g] ? "已锁" : "—";
    r.lock.title = S.locked[g] ? "解锁" : "锁定";
    r.tr.classList.toggle("out", !ok);
    if (touched) r.tr.classList.add("touched");
  }

  function setActive(g) {
    if (active && rows[active]) rows[active].tr.classList.remove("active");
    active = g;
    var a = $("active-grid");
    a.textContent = g || "—";
    a.style.background = g ? colorOf(g) : "";
    if (g && rows[g]) rows[g].tr.classList.add("active");
    $("lock-btn").textContent = g && S.locked[g] ? "解锁" : "锁定";
  }

  function showWarnings(gs) {
    var box = $("warnings");
    box.textContent = "";
    S.warnings(gs).forEach(function (w) {
      var t;
      if (w.kind === "pieces") t = "网格 " + w.grid + " 分成 " + w.pieces + " 块（不连通）";
      else if (w.kind === "empty") t = "网格 " + w.grid + " 已空";
      else t = "小区 " + (w.name || w.compound) + " 被划入 " + w.grids.length + " 个网格：" + w.grids.join(", ");
      var d = el("div", t);
      d.dataset.kind = w.kind;
      box.appendChild(d);
    });
  }

  function showRefused(text) {
    var last = $("warnings").lastChild;
    if (last && last.textContent === text) return;
    var d = el("div", text, "refused");
    d.dataset.kind = "refused";
    $("warnings").appendChild(d);
  }

  function updateButtons() {
    var n = Object.keys(S.changes()).length;
    $("changes").textContent = String(n);
    $("save").disabled = n === 0;
    $("undo").disabled = !S.undoStack.length;
    $("redo").disabled = !S.redoStack.length;
  }

  // -- actions ----------------------------------------------------------------------------
  function undo() { var c = S.undo(); if (c) drawChanges(c); }
  function redo() { var c = S.redo(); if (c) drawChanges(c); }

  function newGrid() {
    var g = S.nextCode();
    if (!g) return;
    S.addGrid(g);
    addRow(g);
    setActive(g);
  }

  function save() {
    var changes = S.changes();
    if (!Object.keys(changes).length) return;
    var t0 = performance.now();
    status("保存中…");
    api("/plans/" + encodeURIComponent(PLAN) + "/edits/assign", {
      method: "POST",
      body: { base_version: version, assign: changes, message: $("message").value || "" },
    }).then(function (r) {
      if (r.status === 201) {
        perf.saves.push(performance.now() - t0);
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
        showRefused("保存失败：" + ((r.body && r.body.detail) || r.status));
      }
    });
  }

  function reapply() {
    var local = pending;
    pending = null;
    load(Number($("reapply").dataset.version), function () {
      var res = S.reapply(local || {});
      colourAll();
      buildTable();
      setActive(active);
      updateButtons();
      $("conflict").hidden = false;
      $("conflict-text").textContent = "已在版本 " + version + " 上重新应用 " + res.applied.length + " 个单元，请检查后保存。";
      var ul = $("conflict-invalid");
      ul.textContent = "";
      res.invalid.forEach(function (x) { ul.appendChild(el("li", x.unit + " → " + x.grid + "：" + x.reason)); });
    });
  }

  function toggleLock(g) {
    g = g || active;
    if (!g || !(g in S.households)) return;
    var changes = S.changes();
    var busy = Object.keys(changes).some(function (uid) {
      var i = S.index[uid];
      return changes[uid] === g || S.base[i] === g;
    });
    if (busy) { showRefused("网格 " + g + " 有未保存的修改：先保存再锁定"); return; }
    if (S.baseGrids.indexOf(g) < 0) { showRefused("新网格 " + g + " 需先保存"); return; }
    var lock = !S.locked[g];
    api("/plans/" + encodeURIComponent(PLAN) + "/edits/lock", {
      method: "POST", body: { base_version: version, grid_ids: [g], locked: lock },
    }).then(function (r) {
      if (r.status !== 201) { showRefused("锁定失败：" + ((r.body && r.body.detail) || r.status)); return; }
      version = r.body.version.version;
      setTitle();
      status("就绪 · v" + version);
      if (lock) S.locked[g] = true; else delete S.locked[g];
      for (var i = 0; i < S.units.length; i++) if (S.grid[i] === g) setUnitState(i);
      updateRow(g, false);
      setActive(active);
      refreshVersions();
    });
  }

  function rebalance() {
    if (Object.keys(S.changes()).length) { showRefused("有未保存的修改：先保存再重新平衡"); return; }
    var bar = $("progress");
    bar.hidden = false;
    bar.value = 0;
    api("/plans/" + encodeURIComponent(PLAN) + "/edits/rebalance", {
      method: "POST",
      body: { base_version: version, community_id: community, method: $("rebalance-method").value || "repartition" },
    }).then(function (r) {
      if (r.status !== 202) { bar.hidden = true; showRefused("重新平衡失败：" + ((r.body && r.body.detail) || r.status)); return; }
      poll(r.body.id);
    });
  }

  function poll(jobId) {
    api("/jobs/" + encodeURIComponent(jobId)).then(function (r) {
      var job = r.body;
      $("progress").value = job.progress || 0;
      status("重新平衡：" + (job.message || job.status));
      if (job.status === "done") { $("progress").hidden = true; load(job.result.version); }
      else if (job.status === "failed") { $("progress").hidden = true; showRefused("重新平衡失败：" + job.error); }
      else setTimeout(function () { poll(jobId); }, 300);
    });
  }

  // -- versions ---------------------------------------------------------------------------
  function refreshVersions() {
    api("/plans/" + encodeURIComponent(PLAN)).then(function (r) {
      if (!r.ok) return;
      data.versions = r.body.versions;
      data.published_version = r.body.plan.published_version;
      renderVersions();
    });
  }

  function renderVersions() {
    var ul = $("versions");
    ul.textContent = "";
    var a = $("cmp-a"), b = $("cmp-b");
    a.textContent = ""; b.textContent = "";
    data.versions.slice().reverse().forEach(function (v) {
      var li = el("li");
      li.appendChild(el("strong", "v" + v.version + (v.published ? " (已发布)" : "")));
      li.appendChild(el("span", " " + v.author + " · " + v.created_at.replace("T", " ").slice(0, 19), "meta"));
      li.appendChild(el("div", v.message));
      if (!v.published) {
        var pub = el("button", "发布");
        pub.type = "button";
        pub.addEventListener("click", function () { publish(v.version); });
        li.appendChild(pub);
      }
      ul.appendChild(li);
      a.appendChild(el("option", "v" + v.version)).value = String(v.version);
      b.appendChild(el("option", "v" + v.version)).value = String(v.version);
    });
    b.value = String(version);
    a.value = String(Math.max(1, version - 1));
  }

  function renderMethods() {
    var sel = $("rebalance-method");
    var keep = sel.value;
    sel.textContent = "";
    (data.rebalancers || ["repartition"]).forEach(function (m) {
      sel.appendChild(el("option", m)).value = m;
    });
    if (keep) sel.value = keep;
    if (!sel.value) sel.value = "repartition";
  }

  function publish(v) {
    api("/plans/" + encodeURIComponent(PLAN) + "/versions/" + v + "/publish", { method: "POST" }).then(function (r) {
      if (!r.ok) { showRefused("发布失败：" + ((r.body && r.body.detail) || r.status)); return; }
      refreshVersions();
    });
  }

  function compare() {
    var a = $("cmp-a").value, b = $("cmp-b").value;
    api("/plans/" + encodeURIComponent(PLAN) + "/editor/compare?a=" + a + "&b=" + b + "&community=" +
      encodeURIComponent(community)).then(function (r) {
      if (!r.ok) { showRefused("比较失败：" + ((r.body && r.body.detail) || r.status)); return; }
      compared.forEach(function (id) { map.setFeatureState({ source: "units", sourceLayer: "units", id: id }, { changed: false }); });
      compared = r.body.changed.map(function (c) { return c.id; });
      compared.forEach(function (id) { map.setFeatureState({ source: "units", sourceLayer: "units", id: id }, { changed: true }); });
      var t = $("compare-table");
      t.hidden = false;
      var body = t.tBodies[0];
      body.textContent = "";
      r.body.grids.forEach(function (g) {
        var tr = el("tr");
        tr.appendChild(el("td", g.grid_id));
        tr.appendChild(el("td", g.a === null ? "—" : g.a));
        tr.appendChild(el("td", g.b === null ? "—" : g.b));
        if (g.a !== g.b) tr.className = "touched";
        body.appendChild(tr);
      });
      status("比较 v" + a + " → v" + b + "：" + compared.length + " 个单元改变");
    });
  }

  // -- controls ---------------------------------------------------------------------------
  function setTool(t) {
    tool = t;
    Array.prototype.forEach.call(document.querySelectorAll("[data-tool]"), function (b) {
      b.classList.toggle("active", b.dataset.tool === t);
    });
  }

  function bindControls() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-tool]"), function (b) {
      b.addEventListener("click", function () { setTool(b.dataset.tool); });
    });
    $("new-grid").addEventListener("click", newGrid);
    $("undo").addEventListener("click", undo);
    $("redo").addEventListener("click", redo);
    $("save").addEventListener("click", save);
    $("reapply").addEventListener("click", reapply);
    $("lock-btn").addEventListener("click", function () { toggleLock(active); });
    $("rebalance").addEventListener("click", rebalance);
    $("compare").addEventListener("click", compare);
    $("help-btn").addEventListener("click", function () { $("help").hidden = !$("help").hidden; });
    document.addEventListener("keydown", function (e) {
      if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "SELECT")) return;
      var k = e.key.toLowerCase();
      if ((e.ctrlKey || e.metaKey) && k === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
      else if ((e.ctrlKey || e.metaKey) && (k === "y" || (k === "z" && e.shiftKey))) { e.preventDefault(); redo(); }
      else if ((e.ctrlKey || e.metaKey) && k === "s") { e.preventDefault(); save(); }
      else if (e.ctrlKey || e.metaKey || e.altKey) return;
      else if (k === "b") setTool("paint");
      else if (k === "r") setTool("rect");
      else if (k === "i") setTool("pick");
      else if (k === "n") newGrid();
      else if (k === "l") toggleLock(active);
      else if (k === "?") $("help").hidden = !$("help").hidden;
    });
  }

  bindControls();
  start();
})();
