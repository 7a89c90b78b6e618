/* gridgen viewer: MapLibre GL JS on the service's vector tiles (/tiles/a,b,.../{z}/{x}/{y}), so a whole
 * city stays fast: communities, published grids (coloured by households deviation, codes as
 * labels from zoom 15), compounds (property mode; click → the compound sheet), roads,
 * buildings (from zoom BUILDING_MIN_ZOOM), stations with their reach (off by default),
 * uncovered buildings, and a plan version's audit findings (?plan=ID&version=V, GeoJSON: a
 * few features). Names show on hover. Everything comes from this origin; no basemap.
 *
 * URL options: ?key=API_KEY (sent as X-API-Key, kept in sessionStorage), ?dataset=ID,
 * ?radius=M (coverage radius, default 500), ?plan=ID&version=V.
 * Timings for bench/viewer.py are kept in window.gridgenPerf (ready: every visible tile drawn).
 */
(function () {
  "use strict";

  var GM = window.GridgenMap;
  var P = window.GridgenViewerPanel;
  var RADIUS = P.radius;
  var BUILDING_MIN_ZOOM = 14;
  var LABEL_MIN_ZOOM = 15;
  var MAX_LABELS = 400;
  var perf = (window.gridgenPerf = { start: performance.now(), ready: null });
  var query = P.dataset ? "dataset=" + encodeURIComponent(P.dataset) : "";
  var map = GM.createMap({ container: "map", key: P.key, minZoom: 9, maxZoom: 19 });
  map.once("load", function () { perf.mapLoad = performance.now(); });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: "gridgen · MapLibre" }));

  // Toggleable layers: checkbox label → map layer ids (built once the layers exist).
  var groups = [];
  var hoverLayers = [];
  var labels = {};

  function count(collection) {
    return P.api("/ogc/collections/" + collection + "/items?limit=1")
      .then(function (r) { return r.json(); })
      .then(function (fc) { return fc.numberMatched; })
      .catch(function (e) { if (e.status === 404) return null; throw e; });
  }

  function mapLoaded() {
    return new Promise(function (resolve) {
      if (map.loaded()) resolve(); else map.once("load", resolve);
    });
  }

  // Two tile sources, each one request per tile for several layers: the context layers, and
  // the buildings from BUILDING_MIN_ZOOM on. Map layers name their layer as "source-layer".
  var SOURCE_OF = {};
  function source(name, layers, maxzoom, minzoom) {
    layers.forEach(function (l) { SOURCE_OF[l] = name; });
    map.addSource(name, { type: "vector", tiles: [GM.tileUrl("/tiles/" + layers.join(","), query)],
      minzoom: minzoom || 0, maxzoom: maxzoom });
  }

  // A width or radius growing from zoom 11 (whole city) to zoom 14 (a community).
  function byZoom(lo, hi) { return ["interpolate", ["linear"], ["zoom"], 11, lo, 14, hi]; }

  function matchColor(prop, colors, fallback) {
    var m = ["match", ["get", prop]];
    Object.keys(colors).forEach(function (k) { m.push(k, colors[k][0]); });
    m.push(fallback);
    return m;
  }

  function deviationColor() {
    var ramp = ["interpolate", ["linear"], ["to-number", ["get", "deviation"]]];
    P.DEVIATION_STOPS.forEach(function (s) { ramp.push(s[0], "rgb(" + s[1].join(",") + ")"); });
    return ["case", ["has", "deviation"], ramp, "#cccccc"];
  }

  // Station reach: a circle of RADIUS metres at every zoom (512-px tiles, latitude of the view).
  function reachRadius(lat) {
    var r0 = RADIUS * 512 / (40075016.686 * Math.cos(lat * Math.PI / 180));
    return ["interpolate", ["exponential", 2], ["zoom"], 0, r0, 24, r0 * Math.pow(2, 24)];
  }

  function addLayers(hasGrids, lat) {
    var context = ["communities", "compounds", "roads", "stations", "uncovered_buildings", "uncovered_building_points"];
    source("context", hasGrids ? context.concat(["grids"]) : context, 15);
    source("buildings", ["buildings", "building_points"], 16, BUILDING_MIN_ZOOM);
    function layer(spec) { map.addLayer(spec); return spec.id; }
    function vl(id, type, src, paint, extra) {
      var spec = { id: id, type: type, source: SOURCE_OF[src], "source-layer": src, paint: paint };
      if (extra) Object.keys(extra).forEach(function (k) { spec[k] = extra[k]; });
      return layer(spec);
    }
    var modeColor = matchColor("property_mode", P.MODE_COLORS, P.MODE_COLORS.none[0]);
    var comm = [vl("communities-fill", "fill", "communities", { "fill-color": "#000", "fill-opacity": 0 })];
    var grids = hasGrids ? [vl("grids-fill", "fill", "grids", { "fill-color": deviationColor(), "fill-opacity": 0.7 })] : [];
    var compounds = [vl("compounds-fill", "fill", "compounds", { "fill-color": modeColor, "fill-opacity": hasGrids ? 0.12 : 0.6 })];
    var roads = [layer(GM.roadsLayer("roads", "context"))];
    var hhColor = ["case", [">", ["to-number", ["get", "households"], 0], 0], "#fdae61", "#d9d9d9"];
    var buildings = [
      vl("buildings-fill", "fill", "buildings", { "fill-color": hhColor, "fill-opacity": 0.85 }),
      vl("buildings-line", "line", "buildings", { "line-color": "#444", "line-width": 0.6 }),
    ];
    buildings.push(vl("building-points", "circle", "building_points", { "circle-radius": 4,
      "circle-color": hhColor, "circle-stroke-color": "#444", "circle-stroke-width": 0.6 }));
    compounds.push(vl("compounds-line", "line", "compounds", { "line-color": hasGrids ? modeColor : "#333",
      "line-width": hasGrids ? byZoom(0.6, 2) : byZoom(0.4, 1) }));
    compounds.push(vl("compounds-selected", "line", "compounds", { "line-color": "#111", "line-width": 4 },
      { filter: ["==", ["get", "compound_id"], ""] }));
    if (hasGrids) grids.push(vl("grids-line", "line", "grids", { "line-color": "#08306b", "line-width": byZoom(0.8, 2.2) }));
    comm.push(vl("communities-line", "line", "communities", { "line-color": "#333", "line-width": byZoom(1.5, 2.5) }));
    var uncovered = [vl("uncovered-fill", "fill", "uncovered_buildings", { "fill-color": "#d7301f", "fill-opacity": 0.85,
      "fill-outline-color": "#d7301f" })];
    uncovered.push(vl("uncovered-points", "circle", "uncovered_building_points", { "circle-radius": 3,
      "circle-color": "#d7301f", "circle-stroke-color": "#fff", "circle-stroke-width": 0.5 }));
    var reach = [vl("reach", "circle", "stations", { "circle-radius": reachRadius(lat),
      "circle-color": "#c51b7d", "circle-opacity": 0.015, "circle-stroke-color": "#c51b7d",
      "circle-stroke-width": 0.8, "circle-pitch-alignment": "map" }, { layout: { visibility: "none" } })];
    var stations = [vl("stations", "circle", "stations", {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 1.2, 13, 3, 15, 6],
      "circle-color": matchColor("kind", P.STATION_COLORS, P.STATION_COLORS.center[0]),
      "circle-stroke-color": "#fff", "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 10, 0.2, 13, 0.8, 15, 1.5] })];
    groups = [
      { id: "roads", label: "道路", layers: roads, on: true },
      { id: "communities", label: "社区", layers: comm, on: true },
      { id: "grids", label: "网格（户数偏差）", layers: grids, on: hasGrids },
      { id: "compounds", label: "小区（物业模式）", layers: compounds, on: true },
      { id: "buildings", label: "楼栋（放大到 " + BUILDING_MIN_ZOOM + " 级显示）", layers: buildings, on: true },
      { id: "reach", label: "站点服务范围（" + RADIUS + " 米）", layers: reach, on: false }, // off: clutter
      { id: "stations", label: "党群服务站点", layers: stations, on: true },
      { id: "uncovered", label: "未覆盖楼栋", layers: uncovered, on: true },
    ].filter(function (g) { return g.layers.length; });
    hoverLayers = stations.concat(uncovered, buildings.filter(function (id) { return id !== "buildings-line"; }),
      ["compounds-fill"], hasGrids ? ["grids-fill"] : [], ["communities-fill"]);
  }

  // -- layer switcher (a control on the map; labels are ours, never data) -------------------
  function setGroup(g, on) {
    g.on = on;
    g.layers.forEach(function (id) { map.setLayoutProperty(id, "visibility", on ? "visible" : "none"); });
    if (g.id === "grids") { // over the grids compounds are outlines in their mode's colour
      var modeColor = matchColor("property_mode", P.MODE_COLORS, P.MODE_COLORS.none[0]);
      map.setPaintProperty("compounds-fill", "fill-opacity", on ? 0.12 : 0.6);
      map.setPaintProperty("compounds-line", "line-color", on ? modeColor : "#333");
      map.setPaintProperty("compounds-line", "line-width", on ? byZoom(0.6, 2) : byZoom(0.4, 1));
      updateLabels();
    }
  }

  function layerControl() {
    var box = document.createElement("div");
    box.className = "maplibregl-ctrl gg-layers";
    box.id = "layers";
    groups.forEach(function (g) {
      var label = document.createElement("label");
      var input = document.createElement("input");
      input.type = "checkbox";
      input.checked = g.on;
      input.setAttribute("data-layer", g.id);
      input.addEventListener("change", function () { setGroup(g, input.checked); });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + g.label));
      box.appendChild(label);
      if (!g.on) setGroup(g, false);
    });
    map.addControl({ onAdd: function () { return box; }, onRemove: function () { box.remove(); } }, "top-right");
  }

  // -- hover: names of what is under the mouse (textContent only) -------------------------
  function pct(v) { return v === undefined || v === null ? null : (Number(v) * 100).toFixed(0) + "%"; }
  function line(parts) {
    return parts.filter(function (p) { return p[1] !== undefined && p[1] !== null && p[1] !== ""; })
      .map(function (p) { return p[0] + " " + p[1]; }).join(" · ");
  }
  var DESCRIBE = {
    stations: function (p) { return line([["站点", p.name], ["类型", (P.STATION_COLORS[p.kind] || [0, p.kind])[1]], ["编码", p.station_id]]); },
    uncovered: function (p) { return line([["未覆盖楼栋", p.building_id], ["户数", p.households]]); },
    buildings: function (p) {
      return line([["楼栋", p.building_id], ["户数", p.households], ["人口", p.residents], ["层数", p.floors],
        ["楼栋长", p.leader_name]]);
    },
    compounds: function (p) {
      var mode = (P.MODE_COLORS[p.property_mode] || P.MODE_COLORS.none)[1];
      return line([["小区", p.name], ["编码", p.compound_id], ["物业模式", mode],
        ["党支部", p.party_branch === true ? "有" : p.party_branch === false ? "无" : null]]);
    },
    grids: function (p) { return line([["网格", p.grid_id], ["户数", p.households], ["偏差", pct(p.deviation)], ["网格员", p.workers]]); },
    communities: function (p) { return line([["社区", p.name], ["编码", p.community_id]]); },
    audit: function (p) {
      return line([["问题", (FINDING_COLORS[p.finding] || [null, p.finding])[1]], ["社区", p.community_id],
        ["小区", p.compound_id], ["网格", p.grid_a || p.grids], ["与", p.grid_b],
        ["面积(m²)", p.area_m2 !== undefined ? Math.round(p.area_m2) : null], ["户数", p.households]]);
    },
  };
  function kindOf(layerId) {
    if (layerId.indexOf("uncovered") === 0) return "uncovered";
    if (layerId.indexOf("building") === 0) return "buildings";
    return layerId.split("-")[0];
  }

  function under(point) {
    var layers = hoverLayers.filter(function (id) { return map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none"; });
    var seen = {};
    var out = [];
    map.queryRenderedFeatures(point, { layers: layers }).forEach(function (f) {
      var kind = kindOf(f.layer.id);
      if (seen[kind] || !DESCRIBE[kind]) return;
      seen[kind] = true;
      out.push({ kind: kind, properties: f.properties, text: DESCRIBE[kind](f.properties) });
    });
    return out;
  }

  function hover(e) {
    var box = document.getElementById("hover");
    var hits = under(e.point);
    map.getCanvas().style.cursor = hits.some(function (h) { return h.kind === "compounds" || (h.kind === "buildings" && h.properties.compound_id); }) ? "pointer" : "";
    if (!hits.length) { box.hidden = true; return; }
    box.textContent = "";
    hits.forEach(function (h) {
      var d = document.createElement("div");
      d.className = "gg-hover-" + h.kind;
      d.textContent = h.text;
      box.appendChild(d);
    });
    var r = map.getContainer().getBoundingClientRect();
    box.style.left = r.left + e.point.x + 14 + "px";
    box.style.top = r.top + e.point.y + 14 + "px";
    box.hidden = false;
  }

  // A click on a compound (or one of its buildings) outlines it and opens its sheet.
  function click(e) {
    var hits = under(e.point);
    for (var i = 0; i < hits.length; i++) {
      var p = hits[i].properties;
      var kind = hits[i].kind;
      if ((kind === "compounds" || kind === "buildings") && p.compound_id) {
        map.setFilter("compounds-selected", ["==", ["get", "compound_id"], p.compound_id]);
        P.openSheet(p.compound_id, kind === "compounds" ? p.name || p.compound_id : p.compound_id);
        return;
      }
    }
  }

  // -- grid codes (last 3 digits) as labels from zoom 15 on, for the grids in view ---------
  function updateLabels() {
    var grids = groups.filter(function (g) { return g.id === "grids"; })[0];
    var show = grids && grids.on && map.getZoom() >= LABEL_MIN_ZOOM;
    var want = {};
    if (show) {
      var view = map.getBounds();
      var boxes = {};
      map.querySourceFeatures("context", { sourceLayer: "grids" }).forEach(function (f) {
        var g = String(f.properties.grid_id || "");
        var bx = boxes[g] || (boxes[g] = [180, 90, -180, -90]);
        var polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
        polys.forEach(function (poly) {
          poly[0].forEach(function (c) {
            bx[0] = Math.min(bx[0], c[0]); bx[1] = Math.min(bx[1], c[1]);
            bx[2] = Math.max(bx[2], c[0]); bx[3] = Math.max(bx[3], c[1]);
          });
        });
      });
      Object.keys(boxes).forEach(function (g) {
        var bx = boxes[g];
        var at = [(bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2];
        if (view.contains(at) && Object.keys(want).length < MAX_LABELS) want[g] = at;
      });
    }
    Object.keys(labels).forEach(function (g) {
      if (!want[g]) { labels[g].remove(); delete labels[g]; }
    });
    Object.keys(want).forEach(function (g) {
      if (labels[g]) { labels[g].setLngLat(want[g]); return; }
      var div = document.createElement("div");
      div.className = "gg-grid-label";
      div.textContent = g.slice(-3);
      labels[g] = new maplibregl.Marker({ element: div }).setLngLat(want[g]).addTo(map);
    });
    document.body.setAttribute("data-labels", String(Object.keys(labels).length));
  }

  // -- buildings in view ------------------------------------------------------------------
  function buildingsNote() {
    var el = document.getElementById("buildings-note");
    if (map.getZoom() < BUILDING_MIN_ZOOM) {
      el.textContent = "放大到 " + BUILDING_MIN_ZOOM + " 级以上显示楼栋";
      document.body.setAttribute("data-buildings", "hidden");
      return;
    }
    var ids = {};
    map.queryRenderedFeatures({ layers: ["buildings-fill"] }).forEach(function (f) { ids[f.properties.building_id] = 1; });
    var n = Object.keys(ids).length;
    el.textContent = "本视图 " + n + " 栋楼";
    document.body.setAttribute("data-buildings", String(n));
  }

  // -- audit findings of a plan version (?plan=ID&version=V): gaps, overlaps, split compounds
  var FINDING_COLORS = { gap: ["#d73027", "缺口"], overlap: ["#7b3294", "重叠"],
    split_compound: ["#fdae61", "拆分的小区"] };

  function loadAudit() {
    var plan = P.params.get("plan");
    if (!plan) return null;
    var version = P.params.get("version") || "head";
    return P.api("/plans/" + encodeURIComponent(plan) + "/versions/" + encodeURIComponent(version) + "/audit?f=geojson")
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        map.addSource("audit", { type: "geojson", data: fc });
        var color = matchColor("finding", FINDING_COLORS, "#000");
        map.addLayer({ id: "audit-fill", type: "fill", source: "audit", paint: { "fill-color": color, "fill-opacity": 0.45 } });
        map.addLayer({ id: "audit-line", type: "line", source: "audit",
          paint: { "line-color": color, "line-width": 2, "line-dasharray": [2, 1.5] } });
        var g = { id: "audit", label: "网格审查（缺口 / 重叠 / 拆分小区）", layers: ["audit-fill", "audit-line"], on: true };
        groups.push(g);
        hoverLayers.unshift("audit-fill");
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = "checkbox";
        input.checked = true;
        input.setAttribute("data-layer", "audit");
        input.addEventListener("change", function () { setGroup(g, input.checked); });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + g.label));
        document.getElementById("layers").appendChild(label);
        document.body.setAttribute("data-audit", String(fc.features.length));
      })
      .catch(function (e) {
        P.status("审查不可用：" + e.message);
        document.body.setAttribute("data-audit", "error");
      });
  }

  // ready: the first frame drawn with every tile of every source loaded
  function watchReady() {
    map.on("render", function onRender() {
      var ids = Object.keys(map.getStyle().sources);
      if (!map.areTilesLoaded() || !ids.every(function (id) { return map.isSourceLoaded(id); })) return;
      map.off("render", onRender);
      perf.ready = performance.now();
      document.body.setAttribute("data-ready", "1");
      var names = {};
      map.querySourceFeatures("context", { sourceLayer: "communities" }).forEach(function (f) {
        names[f.properties.community_id] = f.properties.name;
      });
      P.setCommunityNames(names);
    });
  }

  function tilejson(layer) {
    return P.api("/tiles/" + layer + ".json").then(function (r) { return r.json(); })
      .catch(function (e) { if (e.status === 404) return null; throw e; });
  }

  function showCounts(n) {
    P.status(n.communities + " 个社区 · " + (n.grids || 0) + " 个网格 · " + n.compounds + " 个小区 · " +
      n.stations + " 个站点 · " + ((n.uncovered_buildings || 0) + (n.uncovered_building_points || 0)) + " 栋未覆盖");
  }

  // The map's sources are added as soon as the bounds are known (tiles first); the counts
  // for the status line arrive in parallel.
  function start() {
    var names = ["communities", "grids", "compounds", "stations", "uncovered_buildings", "uncovered_building_points"];
    var counts = Promise.all(names.map(count));
    var layers = Promise.all([tilejson("communities"), tilejson("grids"), mapLoaded()]).then(function (res) {
      perf.meta = performance.now();
      var b = res[0] && res[0].bounds;
      var lat = b ? (b[1] + b[3]) / 2 : 37.8;
      var right = map.getContainer().clientWidth > 700 ? 210 : 10; // the layer switcher
      if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: { top: 10, bottom: 10, left: 10, right: right }, duration: 0 });
      addLayers(res[1] !== null, lat);
      perf.sources = performance.now();
      layerControl();
      watchReady();
      map.on("mousemove", hover);
      map.on("mouseout", function () { document.getElementById("hover").hidden = true; });
      map.on("movestart", function () { document.getElementById("hover").hidden = true; });
      map.on("click", click);
      map.on("moveend", updateLabels);
      map.on("idle", function () { updateLabels(); buildingsNote(); });
    });
    return Promise.all([counts, layers]).then(function (res) {
      var n = {};
      names.forEach(function (k, i) { n[k] = res[0][i]; });
      showCounts(n);
      document.body.setAttribute("data-loaded", "true");
      P.editorLink();
    });
  }

  P.legend(BUILDING_MIN_ZOOM);
  // Coverage after the layers, so the map's requests go first.
  start().then(loadAudit).then(P.loadCoverage).catch(function (e) {
    P.status("加载失败：" + e.message);
    document.body.setAttribute("data-loaded", "error");
  });

  window.gridgenViewer = {
    map: map, openSheet: P.openSheet, under: under,
    groups: function () { return groups; }, labels: function () { return labels; },
  };
})();
