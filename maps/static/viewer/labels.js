/* Grid codes (last 3 digits) as labels from zoom LABEL_MIN_ZOOM on, for the grids in view;
 * the count of buildings in view.
 */
import { V, BUILDING_MIN_ZOOM, LABEL_MIN_ZOOM } from "./context.js";

const MAX_LABELS = 400;

function labelPoints() {
  const view = V.map.getBounds();
  const boxes = {};
  V.map.querySourceFeatures("context", { sourceLayer: "grids" }).forEach((f) => {
    const g = f.properties.grid_id;
    const bx = boxes[g] || (boxes[g] = [180, 90, -180, -90]);
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    polys.forEach((poly) => {
      poly[0].forEach((c) => {
        bx[0] = Math.min(bx[0], c[0]); bx[1] = Math.min(bx[1], c[1]);
        bx[2] = Math.max(bx[2], c[0]); bx[3] = Math.max(bx[3], c[1]);
      });
    });
  });
  const want = {};
  Object.keys(boxes).forEach((g) => {
    const bx = boxes[g];
    const at = [(bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2];
    if (view.contains(at) && Object.keys(want).length < MAX_LABELS) want[g] = at;
  });
  return want;
}

export function updateLabels() {
  const labels = V.labels;
  const grids = V.groups.filter((g) => g.id === "grids")[0];
  const show = grids && grids.on && V.map.getZoom() >= LABEL_MIN_ZOOM;
  const want = show ? labelPoints() : {};
  Object.keys(labels).forEach((g) => {
    if (!want[g]) { labels[g].remove(); delete labels[g]; }
  });
  Object.keys(want).forEach((g) => {
    if (labels[g]) { labels[g].setLngLat(want[g]); return; }
    const div = document.createElement("div");
    div.className = "gg-grid-label";
    div.textContent = g.slice(-3);
    labels[g] = new maplibregl.Marker({ element: div }).setLngLat(want[g]).addTo(V.map);
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
