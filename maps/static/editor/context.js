/* The editor page's shared state (one object every module reads and writes) and small DOM
 * helpers. Data values reach the page through textContent only (never innerHTML).
 */
import { takeKey } from "/static/shared/gridgen-map.js";

const params = new URLSearchParams(window.location.search);

export const E = {
  key: takeKey(),
  plan: decodeURIComponent(window.location.pathname.split("/").filter(Boolean).pop()),
  community: params.get("community"),
  perf: (window.gridgenPerf = { ready: null, paints: [], frames: [], saves: [] }),
  S: null, // EditorState of the loaded version
  data: null, // the /plans/{id}/editor answer
  map: null,
  version: null,
  active: null, // the grid painted into
  tool: "paint",
  mapReady: false,
  sourcesAdded: false,
  actions: {}, // handlers main.js registers for the panel (lock, …)
};

export function $(id) { return document.getElementById(id); }

export function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

export function status(text) { $("status").textContent = text; }

export function planPath(suffix) { return "/plans/" + encodeURIComponent(E.plan) + (suffix || ""); }
