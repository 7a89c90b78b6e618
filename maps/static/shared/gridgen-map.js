/* Shared by the viewer (/) and the grid editor (/edit/…): the API key, and a MapLibre map
 * whose every request stays on this origin (vendored CSP build, worker from /static, the
 * key sent as X-API-Key on same-origin requests only; no basemap, no glyphs, no sprites).
 * An ES module; MapLibre itself is the classic script loaded before it (global maplibregl).
 */

export const ORIGIN = window.location.origin;
export const ROAD_WIDTH = { main: 4, minor: 2, path: 1 };

// ?key=… is kept in sessionStorage (this tab only) and taken out of the address bar.
export function takeKey() {
  const params = new URLSearchParams(window.location.search);
  if (params.get("key")) {
    sessionStorage.setItem("gridgen-key", params.get("key"));
    params.delete("key");
    const rest = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
  }
  return sessionStorage.getItem("gridgen-key");
}

// A map on a plain background; options pass through to maplibregl.Map.
export function createMap(opts) {
  const key = opts.key;
  maplibregl.setWorkerUrl(ORIGIN + "/static/vendor/maplibre/maplibre-gl-csp-worker.js");
  const options = {
    style: { version: 8, sources: {},
      layers: [{ id: "bg", type: "background", paint: { "background-color": "#f6f6f2" } }] },
    center: [112.55, 37.8],
    zoom: 12,
    maxZoom: 19,
    fadeDuration: 0,
    dragRotate: false,
    pitchWithRotate: false,
    attributionControl: false,
    transformRequest: (url) => {
      if (url.indexOf(ORIGIN) === 0 && key) return { url: url, headers: { "X-API-Key": key } };
      return { url: url };
    },
  };
  Object.keys(opts).forEach((k) => { if (k !== "key") options[k] = opts[k]; });
  const map = new maplibregl.Map(options);
  map.touchZoomRotate.disableRotation();
  return map;
}

// Tile URL template of a service path ("/tiles/roads" → ".../tiles/roads/{z}/{x}/{y}.mvt").
export function tileUrl(path, query) {
  return ORIGIN + path + "/{z}/{x}/{y}.mvt" + (query ? "?" + query : "");
}

// Roads by kind (main, minor, path), as both pages draw them.
export function roadsLayer(id, source) {
  return {
    id: id, type: "line", source: source, "source-layer": "roads",
    paint: {
      "line-color": ["match", ["get", "kind"], "main", "#b9a47a", "minor", "#c8c2b4", "#d9d4c8"],
      "line-width": ["match", ["get", "kind"], "main", ROAD_WIDTH.main, "minor", ROAD_WIDTH.minor,
        ROAD_WIDTH.path],
      "line-opacity": 0.8,
    },
  };
}

// Rivers (water areas and lines), railways and walls of the dataset's barriers layer,
// drawn from the MVT layer(s) ``sourceLayers`` of ``source``: returns the layer specs.
export function barrierLayers(idPrefix, source, sourceLayers) {
  const specs = [];
  const isKind = (k) => ["==", ["get", "kind"], k];
  sourceLayers.forEach((sl, i) => {
    const on = { source: source, "source-layer": sl };
    specs.push(Object.assign({ id: idPrefix + "-water-" + i, type: "fill",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#4a90d9", "fill-opacity": 0.35 } }, on));
    specs.push(Object.assign({ id: idPrefix + "-river-" + i, type: "line", filter: isKind("river"),
      paint: { "line-color": "#4a90d9", "line-width": 2 } }, on));
    specs.push(Object.assign({ id: idPrefix + "-wall-" + i, type: "line", filter: isKind("wall"),
      paint: { "line-color": "#9c6b43", "line-width": 1 } }, on));
    specs.push(Object.assign({ id: idPrefix + "-railway-" + i, type: "line", filter: isKind("railway"),
      paint: { "line-color": "#4d4d4d", "line-width": 2.2, "line-dasharray": [3, 1.5] } }, on));
  });
  return specs;
}

// Call onReady once, on the first frame drawn with every tile of the sources loaded or
// failed (sourceIds: a function returning the ids to wait for). A failed tile (HTTP error,
// bad data) counts as done: MapLibre draws no frame after it, so an error asks for one.
export function whenReady(map, sourceIds, onReady) {
  let done = false;
  function check() {
    if (done) return;
    const ids = sourceIds();
    if (!map.areTilesLoaded() || !ids.every((id) => map.isSourceLoaded(id))) return;
    done = true;
    map.off("render", check);
    map.off("idle", check);
    onReady();
  }
  map.on("render", check);
  map.on("idle", check);
  map.on("error", () => { if (!done) map.triggerRepaint(); });
}

// Count tiles that failed to load; onError(count, event) after each.
export function watchTileErrors(map, onError) {
  let count = 0;
  map.on("error", (e) => {
    if (!e.sourceId && !e.tile) return;
    count += 1;
    onError(count, e);
  });
}
