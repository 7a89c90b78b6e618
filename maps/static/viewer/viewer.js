/* gridgen viewer: layers from the service's OGC API – Features, compound sheets on click,
 * and a coverage panel. Everything is fetched from this origin; no CDN, no basemap.
 *
 * URL options: ?key=API_KEY (sent as X-API-Key, kept in sessionStorage), ?dataset=ID,
 * ?radius=M (coverage radius, default 500), ?plan=ID&version=V (show that version's audit
 * findings: gaps, overlaps, split compounds).
 *
 * Buildings are too many for one request on a city: from zoom 16 on they are fetched for the
 * visible area only (OGC items with bbox) and kept in a cache keyed by building_id.
 */
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  if (params.get("key")) sessionStorage.setItem("gridgen-key", params.get("key"));
  var KEY = sessionStorage.getItem("gridgen-key");
  var DATASET = params.get("dataset");
  var RADIUS = Number(params.get("radius") || 500);
  var PAGE = 1000;
  var MAX_PAGES = 50;
  var BUILDING_MIN_ZOOM = 16;
  var BUILDING_MAX_PAGES = 10; // ≤ 10 000 buildings per view
  var BUILDING_CACHE_MAX = 30000;

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
          throw new Error(path + " → " + r.status + " " + t.slice(0, 200));
        });
      }
      return r;
    });
  }

  function esc(value) {
    var s = value === null || value === undefined ? "—" : String(value);
    return s.replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // All pages of an OGC items URL (follows the "next" links, same origin only).
  function pages(path, maxPages) {
    var out = [];
    function page(url, n) {
      return api(url)
        .then(function (r) { return r.json(); })
        .then(function (fc) {
          out = out.concat(fc.features || []);
          var next = (fc.links || []).filter(function (l) { return l.rel === "next"; })[0];
          if (next && n < maxPages) {
            var u = new URL(next.href, window.location.origin);
            if (u.origin !== window.location.origin) return out;
            return page(u.pathname + u.search, n + 1);
          }
          return out;
        });
    }
    return page(path, 1);
  }

  function features(collection) {
    return pages("/ogc/collections/" + collection + "/items?limit=" + PAGE, MAX_PAGES);
  }

  function tooltip(rows) {
    return rows
      .filter(function (r) { return r[1] !== undefined && r[1] !== null && r[1] !== ""; })
      .map(function (r) { return "<b>" + esc(r[0]) + "</b> " + esc(r[1]); })
      .join("<br>");
  }

  function devColor(d) {
    if (d === null || d === undefined || isNaN(d)) return "#cccccc";
    var stops = [[-0.5, [33, 102, 172]], [-0.2, [146, 197, 222]], [0, [247, 247, 247]],
      [0.2, [244, 165, 130]], [0.5, [178, 24, 43]]];
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

  var map = L.map("map", { zoomControl: true, attributionControl: true, zoomSnap: 0.25, maxZoom: 19, minZoom: 9 });
  map.attributionControl.setPrefix("gridgen · Leaflet");
  map.setView([37.8, 112.55], 13);
  L.control.scale({ imperial: false }).addTo(map);
  var control = L.control.layers(null, null, { collapsed: false }).addTo(map);
  var layers = {};
  var communityNames = {};

  function add(name, label, layer, show) {
    layers[name] = layer;
    control.addOverlay(layer, label);
    if (show) layer.addTo(map);
    return layer;
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
    links.innerHTML = "";
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

  function loadCoverage() {
    document.getElementById("radius").textContent = RADIUS;
    return api("/coverage?level=community&radius=" + RADIUS)
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var rows = body.rows || [];
        var tbody = document.querySelector("#coverage-table tbody");
        tbody.innerHTML = "";
        var hh = 0, cov = 0;
        rows.forEach(function (r) {
          var share = r.households ? r.covered_households / r.households : null;
          hh += r.households || 0;
          cov += r.covered_households || 0;
          var tr = document.createElement("tr");
          var pct = share === null ? "—" : (share * 100).toFixed(1) + "%";
          var bar = share === null ? "" : '<span class="bar" style="width:' + Math.round(share * 40) + 'px"></span>';
          var id = r.community_id || r.key;
          tr.innerHTML = "<td>" + esc(r.name || communityNames[id] || id) + "</td><td>" + esc(r.households) +
            "</td><td>" + esc(r.covered_households) + "</td><td>" + bar + pct + "</td>";
          tbody.appendChild(tr);
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

  function legend() {
    var html = "<h3>小区物业模式</h3>";
    html += '<p class="hint">显示网格时小区只画彩色边框。</p>';
    Object.keys(MODE_COLORS).forEach(function (k) {
      html += '<div><span class="sw" style="background:' + MODE_COLORS[k][0] + '"></span>' + MODE_COLORS[k][1] + "</div>";
    });
    html += "<h3>网格户数偏差</h3>";
    [[-0.5, "≤ -50%"], [-0.2, "-20%"], [0, "0"], [0.2, "+20%"], [0.5, "≥ +50%"]].forEach(function (d) {
      html += '<div><span class="sw" style="background:' + devColor(d[0]) + '"></span>' + d[1] + "</div>";
    });
    html += "<h3>站点</h3>";
    Object.keys(STATION_COLORS).forEach(function (k) {
      html += '<div><span class="sw" style="background:' + STATION_COLORS[k][0] + '"></span>' + STATION_COLORS[k][1] + "</div>";
    });
    html += '<div><span class="sw" style="background:#d7301f"></span>未覆盖楼栋</div>';
    html += "<h3>楼栋</h3>";
    html += '<div><span class="sw" style="background:#fdae61"></span>有住户楼栋</div>';
    html += '<div><span class="sw" style="background:#d9d9d9"></span>无住户楼栋</div>';
    document.getElementById("legend").innerHTML = html;
  }

  function loadLayers() {
    var jobs = {
      communities: features("communities"),
      grids: features("grids").catch(function () { return []; }),
      compounds: features("compounds"),
      stations: features("stations"),
      roads: features("roads").catch(function () { return []; }),
      uncovered: features("uncovered_buildings").catch(function () { return []; }),
    };
    var names = Object.keys(jobs);
    return Promise.all(names.map(function (n) { return jobs[n]; })).then(function (res) {
      var got = {};
      names.forEach(function (n, i) { got[n] = res[i]; });

      got.communities.forEach(function (f) {
        communityNames[f.properties.community_id] = f.properties.name;
      });
      var communities = L.geoJSON(got.communities, {
        style: { color: "#333", weight: 2.5, fill: false },
        onEachFeature: function (f, l) {
          l.bindTooltip(tooltip([["社区", f.properties.name], ["编码", f.properties.community_id]]), { sticky: true });
        },
      });
      // Deviation from the plan when it carries one, else against the median grid.
      var hh = got.grids.map(function (f) { return Number(f.properties.households); })
        .filter(function (v) { return !isNaN(v); }).sort(function (a, b) { return a - b; });
      var median = hh.length ? hh[Math.floor(hh.length / 2)] : 0;
      got.grids.forEach(function (f) {
        var p = f.properties;
        if ((p.deviation === undefined || p.deviation === null) && median > 0) {
          p.deviation = Number(p.households) / median - 1;
        }
      });
      var grids = L.geoJSON(got.grids, {
        style: function (f) {
          var p = f.properties;
          var dev = p.deviation !== undefined ? p.deviation : null;
          return { color: "#08306b", weight: 2.2, fillColor: devColor(dev), fillOpacity: 0.7,
            className: "gg-grid" };
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(tooltip([["网格", p.grid_id], ["户数", p.households],
            ["偏差", p.deviation !== undefined && p.deviation !== null ? (p.deviation * 100).toFixed(0) + "%" : null],
            ["网格员", p.workers]]), { sticky: true });
        },
      });
      // Over the grids (coloured by deviation) compounds are outlines in their mode's colour
      // with a faint fill that still takes clicks; without grids they are filled.
      function compoundStyle(f) {
        var c = (MODE_COLORS[f.properties.property_mode] || MODE_COLORS.none)[0];
        if (map.hasLayer(grids)) {
          return { color: c, weight: 2, fillColor: c, fillOpacity: 0.12, className: "gg-compound" };
        }
        return { color: "#333", weight: 1, fillColor: c, fillOpacity: 0.6, className: "gg-compound" };
      }
      var compounds = L.geoJSON(got.compounds, {
        style: compoundStyle,
        onEachFeature: function (f, l) {
          var p = f.properties;
          var mode = (MODE_COLORS[p.property_mode] || MODE_COLORS.none)[1];
          l.bindTooltip(tooltip([["小区", p.name], ["编码", p.compound_id], ["物业模式", mode],
            ["党支部", p.party_branch === true ? "有" : p.party_branch === false ? "无" : null]]), { sticky: true });
          l.on("click", function () { openSheet(p.compound_id, p.name || p.compound_id); });
        },
      });
      var reach = L.layerGroup();
      var stations = L.geoJSON(got.stations, {
        pointToLayer: function (f, latlng) {
          var c = (STATION_COLORS[f.properties.kind] || STATION_COLORS.center)[0];
          L.circle(latlng, { radius: RADIUS, color: "#c51b7d", weight: 0.7, dashArray: "4 3",
            fillOpacity: 0.012, interactive: false }).addTo(reach);
          return L.circleMarker(latlng, { radius: 6, color: "#fff", weight: 1.5, fillColor: c, fillOpacity: 0.95 });
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(tooltip([["站点", p.name], ["类型", (STATION_COLORS[p.kind] || [0, p.kind])[1]], ["编码", p.station_id]]));
        },
      });
      var uncovered = L.geoJSON(got.uncovered, {
        style: { color: "#d7301f", weight: 1, fillColor: "#d7301f", fillOpacity: 0.85 },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 3, color: "#fff", weight: 0.5, fillColor: "#d7301f", fillOpacity: 0.9 });
        },
        onEachFeature: function (f, l) {
          l.bindTooltip(tooltip([["未覆盖楼栋", f.properties.building_id], ["户数", f.properties.households]]));
        },
      });
      var roadWidth = { main: 4, minor: 2, path: 1 };
      var roads = L.geoJSON(got.roads, {
        style: function (f) {
          var k = f.properties.kind;
          return { color: k === "main" ? "#b9a47a" : "#c8c2b4", weight: roadWidth[k] || 1,
            opacity: 0.9, interactive: false };
        },
      });
      add("roads", "道路", roads, true);
      add("communities", "社区", communities, true);
      add("grids", "网格（户数偏差）", grids, got.grids.length > 0);
      add("compounds", "小区（物业模式）", compounds, true);
      compounds.setStyle(compoundStyle);
      map.on("overlayadd overlayremove", function (e) {
        if (e.layer === grids) {
          compounds.setStyle(compoundStyle);
          compounds.bringToFront();
          if (layers.buildings) buildingLayer.bringToFront();
          stations.bringToFront();
        }
      });
      add("buildings", "楼栋（放大到 " + BUILDING_MIN_ZOOM + " 级显示）", buildingGroup, true);
      add("reach", "站点服务范围（" + RADIUS + " 米）", reach, false); // off by default: clutter
      add("stations", "党群服务站点", stations, true);
      add("uncovered", "未覆盖楼栋", uncovered, true);
      compounds.bringToFront();
      stations.bringToFront();
      var bounds = communities.getBounds();
      if (!bounds.isValid()) bounds = compounds.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10], animate: false });
      status(got.communities.length + " 个社区 · " + got.grids.length + " 个网格 · " +
        got.compounds.length + " 个小区 · " + got.stations.length + " 个站点 · " +
        got.uncovered.length + " 栋未覆盖");
      document.body.setAttribute("data-loaded", "true");
      gridLabels(grids);
      editorLink();
      map.on("moveend", loadBuildings);
      map.on("overlayadd", function (e) { if (e.layer === buildingGroup) loadBuildings(); });
      loadBuildings();
    });
  }

  // Grid codes (last 3 digits) as permanent labels from zoom 15 on.
  function gridLabels(grids) {
    function update() {
      var show = map.getZoom() >= 15;
      grids.eachLayer(function (l) {
        var code = String(l.feature.properties.grid_id || "");
        if (show && !l._ggLabel) {
          var span = document.createElement("span");
          span.textContent = code.slice(-3);
          l._ggLabel = L.marker(l.getBounds().getCenter(), {
            icon: L.divIcon({ className: "gg-grid-label", html: span, iconSize: [30, 16], iconAnchor: [15, 8] }),
            interactive: false, keyboard: false,
          });
          map.addLayer(l._ggLabel);
        } else if (!show && l._ggLabel) {
          map.removeLayer(l._ggLabel);
          l._ggLabel = null;
        }
      });
    }
    map.on("zoomend", update);
    update();
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

  // -- buildings at high zoom: OGC items of the visible bbox, cached by building_id --------
  var buildingGroup = L.layerGroup();
  var buildingCache = {};
  var buildingCount = 0;
  var buildingSeq = 0;
  var buildingLayer = L.geoJSON(null, {
    style: function (f) {
      var hh = Number(f.properties.households);
      return { color: "#444", weight: 0.8, fillColor: hh > 0 ? "#fdae61" : "#d9d9d9", fillOpacity: 0.85,
        className: "gg-building" };
    },
    // Buildings known only by a point (no footprint) are drawn as small circles.
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, { radius: 4 });
    },
    onEachFeature: function (f, l) {
      var p = f.properties;
      l.bindTooltip(tooltip([["楼栋", p.building_id], ["小区", p.compound_id || "散居楼栋"],
        ["户数", p.households], ["人口", p.residents], ["层数", p.floors], ["楼栋长", p.leader_name]]),
        { sticky: true });
      if (p.compound_id) {
        l.on("click", function () { openSheet(p.compound_id, p.compound_id); });
      }
    },
  });

  function buildingsNote(text) {
    var el = document.getElementById("buildings-note");
    if (el) el.textContent = text;
  }

  function loadBuildings() {
    if (!map.hasLayer(buildingGroup)) return;
    if (map.getZoom() < BUILDING_MIN_ZOOM) {
      buildingGroup.removeLayer(buildingLayer);
      buildingsNote("放大到 " + BUILDING_MIN_ZOOM + " 级以上显示楼栋");
      document.body.setAttribute("data-buildings", "hidden");
      return;
    }
    buildingGroup.addLayer(buildingLayer);
    var b = map.getBounds().pad(0.2);
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (v) { return v.toFixed(6); }).join(",");
    var seq = ++buildingSeq;
    document.body.setAttribute("data-buildings", "loading");
    return pages("/ogc/collections/buildings/items?limit=" + PAGE + "&bbox=" + bbox, BUILDING_MAX_PAGES)
      .then(function (got) {
        if (buildingCount > BUILDING_CACHE_MAX) {
          buildingLayer.clearLayers();
          buildingCache = {};
          buildingCount = 0;
        }
        var fresh = got.filter(function (f) {
          var id = f.properties.building_id;
          if (buildingCache[id]) return false;
          buildingCache[id] = true;
          return true;
        });
        buildingCount += fresh.length;
        buildingLayer.addData(fresh);
        if (layers.uncovered) layers.uncovered.bringToFront();
        if (layers.stations) layers.stations.bringToFront();
        if (seq === buildingSeq) {
          buildingsNote("本视图 " + got.length + " 栋楼");
          document.body.setAttribute("data-buildings", String(got.length));
        }
      })
      .catch(function (e) {
        buildingsNote("楼栋不可用：" + e.message);
        if (seq === buildingSeq) document.body.setAttribute("data-buildings", "error");
      });
  }

  // -- audit findings of a plan version (?plan=ID&version=V): gaps, overlaps, split compounds
  var FINDING_COLORS = { gap: ["#d73027", "缺口"], overlap: ["#7b3294", "重叠"],
    split_compound: ["#fdae61", "拆分的小区"] };

  function loadAudit() {
    var plan = params.get("plan");
    if (!plan) return null;
    var version = params.get("version") || "head";
    return api("/plans/" + encodeURIComponent(plan) + "/versions/" + encodeURIComponent(version) +
      "/audit?f=geojson")
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        var layer = L.geoJSON(fc, {
          style: function (f) {
            var c = (FINDING_COLORS[f.properties.finding] || ["#000"])[0];
            return { color: c, weight: 2, dashArray: "4 3", fillColor: c, fillOpacity: 0.45,
              className: "gg-finding" };
          },
          onEachFeature: function (f, l) {
            var p = f.properties;
            l.bindTooltip(tooltip([["问题", (FINDING_COLORS[p.finding] || [null, p.finding])[1]],
              ["社区", p.community_id], ["小区", p.compound_id], ["网格", p.grid_a || p.grids],
              ["与", p.grid_b], ["面积(m²)", p.area_m2 !== undefined ? Math.round(p.area_m2) : null],
              ["户数", p.households]]), { sticky: true });
          },
        });
        add("audit", "网格审查（缺口 / 重叠 / 拆分小区）", layer, true);
        layer.bringToFront();
        document.body.setAttribute("data-audit", String(fc.features.length));
      })
      .catch(function (e) {
        status("审查不可用：" + e.message);
        document.body.setAttribute("data-audit", "error");
      });
  }

  legend();
  // Coverage after the layers, so its rows can show community names.
  loadLayers().then(loadAudit).then(loadCoverage).catch(function (e) {
    status("加载失败：" + e.message);
    document.body.setAttribute("data-loaded", "error");
  });

  window.gridgenViewer = { map: map, layers: layers, openSheet: openSheet, buildings: buildingLayer };
})();
