/* gridgen viewer: MapLibre GL JS on the service's vector tiles (/tiles/a,b,.../{z}/{x}/{y}), so a
 * whole city stays fast: communities, published grids (coloured by households deviation, codes
 * as labels from zoom 15), compounds (property mode; click → the compound sheet), roads,
 * buildings (from zoom BUILDING_MIN_ZOOM), stations with their reach (off by default),
 * uncovered buildings, and a plan version's audit findings. Names show on hover. Everything
 * comes from this origin; no basemap.
 *
 * URL options: ?key=API_KEY (sent as X-API-Key, kept in sessionStorage), ?dataset=ID,
 * ?radius=M (coverage radius, default: the service's, in the page's meta), ?plan=ID&version=V.
 * Modules: context (state, requests), style, layers, labels, hover, audit, panel.
 * Timings for bench/viewer.py are kept in window.gridgenPerf (ready: every visible tile drawn);
 * window.gridgenViewer is the tests' handle.
 */
import { createMap, watchTileErrors, whenReady } from "/static/shared/gridgen-map.js";
import { loadAudit } from "./audit.js";
import { V, BUILDING_MIN_ZOOM, api, status } from "./context.js";
import { click, hover, under } from "./hover.js";
import { buildingsNote, updateLabels } from "./labels.js";
import { addLayers, layerControl } from "./layers.js";
import { bindTabs, editorLink, loadCoverage, openSheet, setCommunityNames } from "./panel.js";
import { legend } from "./style.js";

const perf = V.perf;
const map = (V.map = createMap({ container: "map", key: V.key, minZoom: 9, maxZoom: 19 }));
map.once("load", () => { perf.mapLoad = performance.now(); });
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: "gridgen · MapLibre" }));

function count(collection) {
  return api("/ogc/collections/" + collection + "/items?limit=1")
    .then((r) => r.json())
    .then((fc) => fc.numberMatched)
    .catch((e) => { if (e.status === 404) return null; throw e; });
}

function mapLoaded() {
  return new Promise((resolve) => { if (map.loaded()) resolve(); else map.once("load", resolve); });
}

// ready: the first frame drawn with every tile of every source loaded (or failed: a tile
// that fails leaves a hole, never the page waiting)
function watchReady() {
  whenReady(map, () => Object.keys(map.getStyle().sources), () => {
    perf.ready = performance.now();
    document.body.setAttribute("data-ready", "1");
    learnNames();
  });
  watchTileErrors(map, (n) => {
    document.body.setAttribute("data-tile-errors", String(n));
    document.getElementById("tile-errors").textContent = "⚠ " + n + " 个图块加载失败，地图可能有空缺";
  });
}

// Community names of the communities tiles loaded so far (the coverage table, grid labels).
function learnNames() {
  const names = {};
  map.querySourceFeatures("context", { sourceLayer: "communities" }).forEach((f) => {
    if (!(f.properties.community_id in V.communityNames)) names[f.properties.community_id] = f.properties.name;
  });
  if (Object.keys(names).length) setCommunityNames(names);
}

function tilejson(layer) {
  return api("/tiles/" + layer + ".json").then((r) => r.json())
    .catch((e) => { if (e.status === 404) return null; throw e; });
}

function showCounts(n) {
  status(n.communities + " 个社区 · " + (n.grids || 0) + " 个网格 · " + n.compounds + " 个小区 · " +
    n.stations + " 个站点 · " + ((n.uncovered_buildings || 0) + (n.uncovered_building_points || 0)) + " 栋未覆盖");
}

function bindMap() {
  const box = document.getElementById("hover");
  map.on("mousemove", hover);
  map.on("mouseout", () => { box.hidden = true; });
  map.on("movestart", () => { box.hidden = true; });
  map.on("click", click);
  map.on("moveend", updateLabels);
  map.on("idle", () => { learnNames(); updateLabels(); buildingsNote(); });
}

// The map's sources are added as soon as the bounds are known (tiles first); the counts
// for the status line arrive in parallel.
function start() {
  const names = ["communities", "grids", "compounds", "stations", "uncovered_buildings", "uncovered_building_points"];
  const counts = Promise.all(names.map(count));
  const layers = Promise.all([tilejson("communities"), tilejson("grids"), mapLoaded()]).then((res) => {
    perf.meta = performance.now();
    const b = res[0] && res[0].bounds;
    const lat = b ? (b[1] + b[3]) / 2 : 37.8;
    const right = map.getContainer().clientWidth > 700 ? 210 : 10; // the layer switcher
    if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: { top: 10, bottom: 10, left: 10, right: right }, duration: 0 });
    addLayers(res[1] !== null, lat);
    perf.sources = performance.now();
    layerControl();
    watchReady();
    bindMap();
  });
  return Promise.all([counts, layers]).then((res) => {
    const n = {};
    names.forEach((k, i) => { n[k] = res[0][i]; });
    showCounts(n);
    document.body.setAttribute("data-loaded", "true");
    editorLink();
  });
}

bindTabs();
legend(BUILDING_MIN_ZOOM);
// Coverage after the layers, so the map's requests go first.
start().then(loadAudit).then(loadCoverage).catch((e) => {
  status("加载失败：" + e.message);
  document.body.setAttribute("data-loaded", "error");
});

window.gridgenViewer = {
  map: map, openSheet: openSheet, under: under,
  groups: () => V.groups, labels: () => V.labels,
};
