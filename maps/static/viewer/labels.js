/* Grid codes as labels from zoom LABEL_MIN_ZOOM on, for the grids in view, each at the pole
 * of inaccessibility of the largest piece of its grid the map holds (so inside the grid).
 * A label is the grid's sequence (last three digits) while the grids in view belong to one
 * community; where codes repeat across communities it carries the community's name (or the
 * full code when the name is unknown). Also the count of buildings in view.
 */
import { polylabel } from "/static/shared/polylabel.js";
import { V, BUILDING_MIN_ZOOM, LABEL_MIN_ZOOM } from "./context.js";

const MAX_LABELS = 400;

function area(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  return Math.abs(a / 2);
}

// grid id → {rings (largest piece, in local metres), community}
function gridPieces() {
  const lat = V.map.getCenter().lat;
  const kx = 111320 * Math.cos(lat * Math.PI / 180), ky = 110540;
  const best = {};
  V.map.querySourceFeatures("context", { sourceLayer: "grids" }).forEach((f) => {
    const g = f.properties.grid_id;
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    polys.forEach((rings) => {
      const local = rings.map((r) => r.map((p) => [p[0] * kx, p[1] * ky]));
      const a = area(local[0]);
      if (!best[g] || a > best[g].area) best[g] = { area: a, rings: local, community: f.properties.community_id };
    });
  });
  return { best: best, kx: kx, ky: ky };
}

// grid id → {at: [lon, lat], community} for the grids whose label point is in view.
function labelPoints() {
  const view = V.map.getBounds();
  const { best, kx, ky } = gridPieces();
  const want = {};
  Object.keys(best).forEach((g) => {
    if (Object.keys(want).length >= MAX_LABELS) return;
    const p = polylabel(best[g].rings, 1.0);
    const at = [p[0] / kx, p[1] / ky];
    if (view.contains(at)) want[g] = { at: at, community: best[g].community };
  });
  return want;
}

function shortName(community) {
  const name = V.communityNames[community];
  return name ? name.replace(/社区$/, "") : null;
}

// The text of a grid's label: its sequence, with the community where codes repeat.
function labelText(g, community, many) {
  if (!many) return g.slice(-3);
  const name = shortName(community);
  return name ? name + " " + g.slice(-3) : g;
}

export function updateLabels() {
  const labels = V.labels;
  const grids = V.groups.filter((g) => g.id === "grids")[0];
  const show = grids && grids.on && V.map.getZoom() >= LABEL_MIN_ZOOM;
  const want = show ? labelPoints() : {};
  const many = new Set(Object.keys(want).map((g) => want[g].community)).size > 1;
  Object.keys(labels).forEach((g) => {
    if (!want[g]) { labels[g].remove(); delete labels[g]; }
  });
  Object.keys(want).forEach((g) => {
    const text = labelText(g, want[g].community, many);
    if (labels[g]) {
      labels[g].setLngLat(want[g].at);
      labels[g].getElement().textContent = text;
      return;
    }
    const div = document.createElement("div");
    div.className = "gg-grid-label";
    div.dataset.grid = g;
    div.textContent = text;
    labels[g] = new maplibregl.Marker({ element: div }).setLngLat(want[g].at).addTo(V.map);
  });
  document.body.setAttribute("data-labels", String(Object.keys(labels).length));
}

export function buildingsNote() {
  const el = document.getElementById("buildings-note");
  if (V.map.getZoom() < BUILDING_MIN_ZOOM) {
    el.textContent = "放大到 " + BUILDING_MIN_ZOOM + " 级以上显示楼栋";
    document.body.setAttribute("data-buildings", "hidden");
    return;
  }
  const ids = {};
  V.map.queryRenderedFeatures({ layers: ["buildings-fill"] }).forEach((f) => { ids[f.properties.building_id] = 1; });
  const n = Object.keys(ids).length;
  el.textContent = "本视图 " + n + " 栋楼";
  document.body.setAttribute("data-buildings", String(n));
}
