/* The viewer page's shared state and its requests (the key as X-API-Key, ?dataset= kept). */
import { takeKey } from "/static/shared/gridgen-map.js";

const params = new URLSearchParams(window.location.search);

// The service's default station radius (metres), written into the page it serves.
function defaultRadius() {
  const meta = document.querySelector('meta[name="gridgen-radius"]');
  return meta ? meta.getAttribute("content") : "500";
}

export const V = {
  params: params,
  key: takeKey(),
  dataset: params.get("dataset"),
  radius: Number(params.get("radius") || defaultRadius()),
  perf: (window.gridgenPerf = { start: performance.now(), ready: null }),
  map: null,
  groups: [], // toggleable layers: {id, label, layers (map layer ids), on}
  hoverLayers: [],
  labels: {}, // grid id → maplibregl.Marker
  communityNames: {}, // community id → name, from the communities tiles the map loaded
};

export const BUILDING_MIN_ZOOM = 14;
export const LABEL_MIN_ZOOM = 15;

function headers(extra) {
  const h = V.key ? { "X-API-Key": V.key } : {};
  if (extra) Object.keys(extra).forEach((k) => { h[k] = extra[k]; });
  return h;
}

function withDataset(path) {
  if (!V.dataset) return path;
  return path + (path.indexOf("?") >= 0 ? "&" : "?") + "dataset=" + encodeURIComponent(V.dataset);
}

export function status(text) {
  document.getElementById("status").textContent = text;
}

// fetch on this origin; rejects with an Error carrying .status unless the answer is 2xx.
export function api(path, extra) {
  return fetch(withDataset(path), { headers: headers(extra) }).then((r) => {
    if (!r.ok) {
      return r.text().then((t) => {
        const e = new Error(path + " → " + r.status + " " + t.slice(0, 200));
        e.status = r.status;
        throw e;
      });
    }
    return r;
  });
}
