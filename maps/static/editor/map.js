/* The editor's map: unit cells from vector tiles recoloured through feature state (no
 * request while painting), grid outlines drawn live from the units' shared borders, pending
 * and compared units outlined, dataset context layers. Colours: see colors.js.
 */
import { barrierLayers, createMap, roadsLayer, watchTileErrors, whenReady, ORIGIN } from "/static/shared/gridgen-map.js";
import { balanceColour, gridColours, PALETTE } from "./colors.js";
import { E, $, planPath, status } from "./context.js";
import { placeAllLabels } from "./labels.js";

const SOURCES = ["units", "borders", "roads", "barriers", "communities", "stations"];
let compared = [];

export function colorOf(g) {
  const S = E.S;
  if (!(g in S.households)) return "#cccccc";
  if (E.mode === "balance") return balanceColour(S.households[g], S.target, S.band);
  const k = E.colours ? E.colours[g] : undefined;
  return k === undefined ? "#cccccc" : PALETTE[k % PALETTE.length];
}

function tileUrl(path) { return ORIGIN + path + "/{z}/{x}/{y}.mvt"; }
function unitsUrl() {
  return tileUrl(planPath("/units")) + "?community=" + encodeURIComponent(E.community) +
    "&version=" + E.version;
}
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

// The unit borders as GeoJSON (feature id = edge index) and the community outline.
function bordersData() {
  const feats = (E.data.edge_lines || []).map((lines, k) => ({
    type: "Feature", id: k, properties: { edge: k }, geometry: { type: "MultiLineString", coordinates: lines },
  }));
  return { type: "FeatureCollection", features: feats };
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

function unitLayers(map) {
  const unit = (spec) => map.addLayer(Object.assign({ source: "units", "source-layer": "units" }, spec));
  const on = (state) => ["case", ["boolean", ["feature-state", state], false], 1, 0];
  unit({ id: "units-fill", type: "fill",
    paint: { "fill-color": ["coalesce", ["feature-state", "color"], "#dddddd"], "fill-opacity": 0.72 } });
  unit({ id: "units-hatch", type: "fill", paint: { "fill-pattern": "hatch", "fill-opacity": on("locked") } });
  unit({ id: "units-line", type: "line", paint: { "line-color": "#ffffff", "line-width": 0.6 } });
  map.addLayer(roadsLayer("roads", "roads"));
  barrierLayers("barriers", "barriers", ["barriers"]).forEach((spec) => map.addLayer(spec));
  map.addLayer({ id: "communities-line", type: "line", source: "communities", "source-layer": "communities",
    paint: { "line-color": "#6a3d9a", "line-width": 2.5, "line-dasharray": [3, 2] } });
  map.addLayer({ id: "grid-borders", type: "line", source: "borders",
    paint: { "line-color": "#1a1a1a", "line-width": 2.2, "line-opacity": on("cut") } });
  unit({ id: "units-pending", type: "line",
    paint: { "line-color": "#ff6d00", "line-width": 2.5, "line-dasharray": [2, 1], "line-opacity": on("pending") } });
  unit({ id: "units-changed", type: "line",
    paint: { "line-color": "#d00000", "line-width": 3, "line-opacity": on("changed") } });
  map.addLayer({ id: "stations", type: "circle", source: "stations", "source-layer": "stations",
    paint: { "circle-radius": 5, "circle-color": "#b2182b", "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
}

export function addLayers() {
  const map = E.map;
  E.sourcesAdded = true;
  const b = E.data.bounds;
  if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
  map.addImage("hatch", hatch());
  map.addSource("units", { type: "vector", tiles: [unitsUrl()], promoteId: "unit_id", maxzoom: 16 });
  map.addSource("borders", { type: "geojson", data: bordersData() });
  ["roads", "barriers", "communities", "stations"].forEach((n) => {
    map.addSource(n, { type: "vector", tiles: [layerUrl(n)], maxzoom: 15 });
  });
  unitLayers(map);
  colourAll();
  E.perf.sources = {};
  map.on("sourcedata", (e) => {
    if (e.isSourceLoaded && !E.perf.sources[e.sourceId]) E.perf.sources[e.sourceId] = performance.now();
  });
  // ready: the first frame drawn with every tile of every source loaded (or failed)
  whenReady(map, () => SOURCES, () => {
    E.perf.ready = performance.now();
    placeAllLabels();
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
  map.getSource("borders").setData(bordersData());
  // every state set again explicitly (MapLibre applies a source-wide removeFeatureState
  // after the changes of the same frame, which left stale outlines behind)
  markCompared([]);
  colourAll();
  placeAllLabels();
  map.once("idle", () => status("就绪 · v" + E.version));
}

export function setUnitState(i) {
  const S = E.S;
  E.map.setFeatureState({ source: "units", sourceLayer: "units", id: S.units[i].id },
    { color: colorOf(S.grid[i]), locked: !!S.locked[S.grid[i]], pending: S.grid[i] !== S.base[i] });
}

// Show the grid borders around units (indices): an edge is drawn when its units differ.
export function setBorders(indices) {
  const S = E.S, done = {};
  indices.forEach((i) => S.unitEdges[i].forEach((k) => {
    if (done[k]) return;
    done[k] = true;
    const e = S.edges[k];
    E.map.setFeatureState({ source: "borders", id: k }, { cut: S.grid[e[0]] !== S.grid[e[1]] });
  }));
}

// Recompute the colours of every grid; recolour the units of grids whose colour changed.
export function recolour(touched) {
  const S = E.S;
  const before = {};
  S.gridIds.forEach((g) => { before[g] = colorOf(g); });
  E.colours = gridColours(S, E.colours);
  const changed = new Set(touched || []);
  S.gridIds.forEach((g) => { if (colorOf(g) !== before[g]) changed.add(g); });
  for (let i = 0; i < S.units.length; i++) if (changed.has(S.grid[i])) setUnitState(i);
  return Array.from(changed);
}

export function colourAll() {
  E.colours = gridColours(E.S, E.colours); // colours kept across versions where they can be
  const all = [];
  for (let i = 0; i < E.S.units.length; i++) { setUnitState(i); all.push(i); }
  setBorders(all);
}

// Outline the units a comparison found changed (ids), clearing the previous ones.
export function markCompared(ids) {
  const set = (id, on) => E.map.setFeatureState({ source: "units", sourceLayer: "units", id: id }, { changed: on });
  compared.forEach((id) => set(id, false));
  compared = ids;
  compared.forEach((id) => set(id, true));
}

// The index of the unit drawn at a screen point, or -1.
export function unitAt(point) {
  const f = E.map.queryRenderedFeatures(point, { layers: ["units-fill"] });
  if (!f.length) return -1;
  const i = E.S.index[f[0].properties.unit_id];
  return i === undefined ? -1 : i;
}
