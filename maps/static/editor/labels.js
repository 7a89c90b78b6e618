/* Grid code labels inside their grid, moved live while painting.
 *
 * A grid's label sits at the pole of inaccessibility of one of its units (the centre of
 * the unit's largest inscribed circle, sent by the service) chosen as the one farthest from
 * the grid's boundary: the unit borders to other grids and the community outline. The
 * point is inside a unit of the grid, so inside the grid. checkLabels() tests that against
 * the unit polygons the map draws (the tests call it after load and after each paint).
 */
import { E, el } from "./context.js";

let markers = {}; // grid → maplibregl.Marker
let segs = null; // per edge: [x1, y1, x2, y2, …] in local metres; outline: one list
let origin = null;

function project(lon, lat) {
  return [(lon - origin[0]) * origin[2], (lat - origin[1]) * 110540];
}

function flatten(lines) {
  const out = [];
  lines.forEach((line) => {
    for (let k = 1; k < line.length; k++) {
      const a = project(line[k - 1][0], line[k - 1][1]), b = project(line[k][0], line[k][1]);
      out.push(a[0], a[1], b[0], b[1]);
    }
  });
  return out;
}

function prepare() {
  const b = E.data.bounds || [0, 0, 0, 0];
  const lat = (b[1] + b[3]) / 2;
  origin = [b[0], b[1], 111320 * Math.cos(lat * Math.PI / 180)];
  segs = { edges: (E.data.edge_lines || []).map(flatten), outline: flatten(E.data.outline || []) };
}

// Distance from (x, y) to the nearest of the segments in list s (flat array), capped at best.
function distance(x, y, s, best) {
  let d2 = best * best;
  for (let k = 0; k < s.length; k += 4) {
    const ax = s[k], ay = s[k + 1], dx = s[k + 2] - ax, dy = s[k + 3] - ay;
    const len = dx * dx + dy * dy;
    let t = len ? ((x - ax) * dx + (y - ay) * dy) / len : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const ex = ax + t * dx - x, ey = ay + t * dy - y;
    const e2 = ex * ex + ey * ey;
    if (e2 < d2) d2 = e2;
  }
  return Math.sqrt(d2);
}

// The label point [lon, lat] of grid g, or null when it has no unit.
export function labelPoint(g) {
  const S = E.S, pts = E.data.labels || [];
  const mine = [];
  for (let i = 0; i < S.grid.length; i++) if (S.grid[i] === g && pts[i]) mine.push(i);
  if (!mine.length) return null;
  const border = [];
  mine.forEach((i) => S.unitEdges[i].forEach((k) => {
    const e = S.edges[k];
    if (S.grid[e[0]] !== S.grid[e[1]]) border.push(segs.edges[k]);
  }));
  let best = -1, at = null;
  mine.forEach((i) => {
    const p = project(pts[i][0], pts[i][1]);
    let d = distance(p[0], p[1], segs.outline, Infinity);
    border.forEach((s) => { d = distance(p[0], p[1], s, d); });
    const score = Math.min(d, 1e6) + 1e-3 * pts[i][2]; // ties: the wider unit
    if (score > best) { best = score; at = [pts[i][0], pts[i][1]]; }
  });
  return at;
}

function place(g) {
  const at = E.S.members[g] ? labelPoint(g) : null;
  if (!at) {
    if (markers[g]) { markers[g].remove(); delete markers[g]; }
    return;
  }
  if (markers[g]) { markers[g].setLngLat(at); return; }
  const div = el("div", g.slice(-3), "grid-label");
  div.dataset.grid = g;
  markers[g] = new maplibregl.Marker({ element: div }).setLngLat(at).addTo(E.map);
}

export function placeAllLabels() {
  prepare();
  Object.keys(markers).forEach((g) => markers[g].remove());
  markers = {};
  E.S.gridIds.forEach(place);
}

// Move the labels of grids gs (after a paint, undo or redo).
export function updateLabels(gs) {
  if (!segs) return;
  gs.forEach(place);
}

function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(x, y, geometry) {
  const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  return polys.some((rings) => inRing(x, y, rings[0]) && !rings.slice(1).some((h) => inRing(x, y, h)));
}

// For every label: {grid, at, inside} (inside: the point lies in a drawn unit of its grid).
export function checkLabels() {
  const S = E.S;
  const feats = E.map.querySourceFeatures("units", { sourceLayer: "units" });
  return Object.keys(markers).map((g) => {
    const at = markers[g].getLngLat();
    const inside = feats.some((f) => {
      const i = S.index[f.properties.unit_id];
      return i !== undefined && S.grid[i] === g && inPolygon(at.lng, at.lat, f.geometry);
    });
    return { grid: g, at: [at.lng, at.lat], inside: inside };
  });
}
