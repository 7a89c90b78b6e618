/* The editor's map: unit cells from vector tiles recoloured through feature state (no
 * request while painting), grid outlines, dataset context layers, grid code labels.
 */
import { createMap, roadsLayer, watchTileErrors, whenReady, ORIGIN } from "/static/shared/gridgen-map.js";
import { E, $, el, planPath, status } from "./context.js";

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#a0cbe8", "#8cd17d", "#fabfd2", "#b6992d"];
const SOURCES = ["units", "grids", "roads", "communities", "stations"];
let labels = [];
let compared = [];

export function colorOf(g) {
  const i = E.S.gridIds.indexOf(g);
  return i < 0 ? "#cccccc" : PALETTE[i % PALETTE.length];
}

function tileUrl(path) { return ORIGIN + path + "/{z}/{x}/{y}.mvt"; }
function unitsUrl() {
  return tileUrl(planPath("/units")) + "?community=" + encodeURIComponent(E.community) +
    "&version=" + E.version;
}
function gridsUrl() { return tileUrl(planPath("/versions/" + E.version + "/grids")); }
function layerUrl(name) { return tileUrl(planPath("/layers/" + name)); }

function hatch() {
  const size = 8;
  const c = document.createElement("canvas");
  c.width = size; c.height = size;
  const ctx = c.getContext("2d");
  ctx.strokeStyle = "rgba(0,0,0,0.75)";
  ctx.lineWidth = 1.5;
  ctx.beginPath(); ctx.moveTo(0, size); ctx.lineTo(size, 0); ctx.stroke();
  return { width: size, height: size, data: new Uint8Array(ctx.getImageData(0, 0, size, size).data.buffer) };
}

export function initMap() {
  E.map = createMap({ container: "map", key: E.key });
  E.map.on("load", () => {
    E.perf.mapLoad = performance.now();
    E.mapReady = true;
    if (E.data && !E.sourcesAdded) addLayers();
  });
  return E.map;
}

export function addLayers() {
  const map = E.map;
  E.sourcesAdded = true;
  const b = E.data.bounds;
  if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
  map.addImage("hatch", hatch());
  map.addSource("units", { type: "vector", tiles: [unitsUrl()], promoteId: "unit_id", maxzoom: 16 });
  map.addSource("grids", { type: "vector", tiles: [gridsUrl()], maxzoom: 15 });
  ["roads", "communities", "stations"].forEach((n) => {
    map.addSource(n, { type: "vector", tiles: [layerUrl(n)], maxzoom: 15 });
  });
  map.addLayer({ id: "units-fill", type: "fill", source: "units", "source-layer": "units",
    paint: { "fill-color": ["coalesce", ["feature-state", "color"], "#dddddd"], "fill-opacity": 0.72 } });
  map.addLayer({ id: "units-hatch", type: "fill", source: "units", "source-layer": "units",
    paint: { "fill-pattern": "hatch", "fill-opacity": ["case", ["boolean", ["feature-state", "locked"], false], 1, 0] } });
  map.addLayer({ id: "units-line", type: "line", source: "units", "source-layer": "units",
    paint: { "line-color": "#ffffff", "line-width": 0.6 } });
  map.addLayer(roadsLayer("roads", "roads"));
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
  E.perf.sources = {};
  map.on("sourcedata", (e) => {
    if (e.isSourceLoaded && !E.perf.sources[e.sourceId]) E.perf.sources[e.sourceId] = performance.now();
  });
  // ready: the first frame drawn with every tile of every source loaded (or failed)
  whenReady(map, () => SOURCES, () => {
    E.perf.ready = performance.now();
    placeLabels();
    document.body.dataset.ready = "1";
    status("就绪 · v" + E.version);
  });
  watchTileErrors(map, (n) => {
    document.body.dataset.tileErrors = String(n);
    $("tile-errors").textContent = "⚠ " + n + " 个图块加载失败";
  });
}

export function refreshMap() {
  const map = E.map;
  map.getSource("units").setTiles([unitsUrl()]);
  map.getSource("grids").setTiles([gridsUrl()]);
  map.removeFeatureState({ source: "units", sourceLayer: "units" });
  compared = [];
  colourAll();
  map.once("idle", () => { placeLabels(); status("就绪 · v" + E.version); });
}

export function setUnitState(i) {
  const S = E.S;
  E.map.setFeatureState({ source: "units", sourceLayer: "units", id: S.units[i].id },
    { color: colorOf(S.grid[i]), locked: !!S.locked[S.grid[i]] });
}

export function colourAll() { for (let i = 0; i < E.S.units.length; i++) setUnitState(i); }

// Outline the units a comparison found changed (ids), clearing the previous ones.
export function markCompared(ids) {
  const set = (id, on) => E.map.setFeatureState({ source: "units", sourceLayer: "units", id: id }, { changed: on });
  compared.forEach((id) => set(id, false));
  compared = ids;
  compared.forEach((id) => set(id, true));
}

export function placeLabels() {
  const S = E.S;
  labels.forEach((m) => m.remove());
  labels = [];
  const boxes = {};
  E.map.querySourceFeatures("grids", { sourceLayer: "grids" }).forEach((f) => {
    const g = f.properties.grid_id;
    if (!(g in S.households)) return;
    const bx = boxes[g] || (boxes[g] = [180, 90, -180, -90]);
    const rings = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    rings.forEach((poly) => {
      poly[0].forEach((p) => {
        bx[0] = Math.min(bx[0], p[0]); bx[1] = Math.min(bx[1], p[1]);
        bx[2] = Math.max(bx[2], p[0]); bx[3] = Math.max(bx[3], p[1]);
      });
    });
  });
  Object.keys(boxes).forEach((g) => {
    const bx = boxes[g];
    const m = new maplibregl.Marker({ element: el("div", g.slice(-3), "grid-label") })
      .setLngLat([(bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2]).addTo(E.map);
    labels.push(m);
  });
}

// The index of the unit drawn at a screen point, or -1.
export function unitAt(point) {
  const f = E.map.queryRenderedFeatures(point, { layers: ["units-fill"] });
  if (!f.length) return -1;
  const i = E.S.index[f[0].properties.unit_id];
  return i === undefined ? -1 : i;
}
