/* Requests of the editor page: JSON in and out, the key as X-API-Key. */
import { E } from "./context.js";

function headers(extra) {
  const h = extra || {};
  if (E.key) h["X-API-Key"] = E.key;
  return h;
}

// Resolve to {status, ok, body} (body: parsed JSON, or {detail: text} when not JSON);
// a request that never reached the service resolves with status 0.
export function api(path, opts) {
  opts = opts || {};
  const init = { method: opts.method || "GET",
    headers: headers(opts.body ? { "Content-Type": "application/json" } : {}) };
  if (opts.body) init.body = JSON.stringify(opts.body);
  return fetch(path, init).then((r) => r.text().then((t) => {
    let body = null;
    try { body = t ? JSON.parse(t) : null; } catch (e) { body = { detail: t.slice(0, 300) }; }
    return { status: r.status, ok: r.ok, body: body };
  }), () => ({ status: 0, ok: false, body: { detail: "network" } }));
}
