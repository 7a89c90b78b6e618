/* The viewer's map layers: two tile sources (context layers, buildings), one request per
 * tile for several layers, the layer groups and the layer switcher.
 */
import { barrierLayers, roadsLayer, tileUrl } from "/static/shared/gridgen-map.js";
import { V, BUILDING_MIN_ZOOM } from "./context.js";
import { updateLabels } from "./labels.js";
import { STATION_COLORS, byZoom, deviationColor, matchColor, modeColor } from "./style.js";

// Map layers name their MVT layer as "source-layer"; SOURCE_OF gives the tile source of each.
const SOURCE_OF = {};

function source(name, layers, maxzoom, minzoom) {
  const query = V.dataset ? "dataset=" + encodeURIComponent(V.dataset) : "";
  layers.forEach((l) => { SOURCE_OF[l] = name; });
  V.map.addSource(name, { type: "vector", tiles: [tileUrl("/tiles/" + layers.join(","), query)],
    minzoom: minzoom || 0, maxzoom: maxzoom });
}

// Station reach: a circle of radius metres at every zoom (512-px tiles, latitude of the view).
function reachRadius(lat) {
  const r0 = V.radius * 512 / (40075016.686 * Math.cos(lat * Math.PI / 180));
  return ["interpolate", ["exponential", 2], ["zoom"], 0, r0, 24, r0 * Math.pow(2, 24)];
}

function layer(spec) { V.map.addLayer(spec); return spec.id; }

function vl(id, type, src, paint, extra) {
  const spec = { id: id, type: type, source: SOURCE_OF[src], "source-layer": src, paint: paint };
  if (extra) Object.keys(extra).forEach((k) => { spec[k] = extra[k]; });
  return layer(spec);
}

function pointLayers(lat) {
  const uncovered = [vl("uncovered-fill", "fill", "uncovered_buildings", { "fill-color": "#d7301f", "fill-opacity": 0.85,
    "fill-outline-color": "#d7301f" })];
  uncovered.push(vl("uncovered-points", "circle", "uncovered_building_points", { "circle-radius": 3,
    "circle-color": "#d7301f", "circle-stroke-color": "#fff", "circle-stroke-width": 0.5 }));
  const reach = [vl("reach", "circle", "stations", { "circle-radius": reachRadius(lat),
    "circle-color": "#c51b7d", "circle-opacity": 0.015, "circle-stroke-color": "#c51b7d",
    "circle-stroke-width": 0.8, "circle-pitch-alignment": "map" }, { layout: { visibility: "none" } })];
  const stations = [vl("stations", "circle", "stations", {
    "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 1.2, 13, 3, 15, 6],
    "circle-color": matchColor("kind", STATION_COLORS, STATION_COLORS.center[0]),
    "circle-stroke-color": "#fff", "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 10, 0.2, 13, 0.8, 15, 1.5] })];
  return { uncovered: uncovered, reach: reach, stations: stations };
}

export function addLayers(hasGrids, lat) {
  const context = ["communities", "compounds", "roads", "barriers", "barriers_lines", "stations",
    "uncovered_buildings", "uncovered_building_points"];
  source("context", hasGrids ? context.concat(["grids"]) : context, 15);
  source("buildings", ["buildings", "building_points"], 16, BUILDING_MIN_ZOOM);
  const mode = modeColor();
  const comm = [vl("communities-fill", "fill", "communities", { "fill-color": "#000", "fill-opacity": 0 })];
  const grids = hasGrids ? [vl("grids-fill", "fill", "grids", { "fill-color": deviationColor(), "fill-opacity": 0.7 })] : [];
  const compounds = [vl("compounds-fill", "fill", "compounds", { "fill-color": mode, "fill-opacity": hasGrids ? 0.12 : 0.6 })];
  const roads = [layer(roadsLayer("roads", "context"))];
  const barriers = barrierLayers("barriers", "context", ["barriers", "barriers_lines"]).map(layer);
  const hhColor = ["case", [">", ["to-number", ["get", "households"], 0], 0], "#fdae61", "#d9d9d9"];
  const buildings = [
    vl("buildings-fill", "fill", "buildings", { "fill-color": hhColor, "fill-opacity": 0.85 }),
    vl("buildings-line", "line", "buildings", { "line-color": "#444", "line-width": 0.6 }),
  ];
  buildings.push(vl("building-points", "circle", "building_points", { "circle-radius": 4,
    "circle-color": hhColor, "circle-stroke-color": "#444", "circle-stroke-width": 0.6 }));
  compounds.push(vl("compounds-line", "line", "compounds", { "line-color": hasGrids ? mode : "#333",
    "line-width": hasGrids ? byZoom(0.6, 2) : byZoom(0.4, 1) }));
  compounds.push(vl("compounds-selected", "line", "compounds", { "line-color": "#111", "line-width": 4 },
    { filter: ["==", ["get", "compound_id"], ""] }));
  if (hasGrids) grids.push(vl("grids-line", "line", "grids", { "line-color": "#08306b", "line-width": byZoom(0.8, 2.2) }));
  comm.push(vl("communities-line", "line", "communities", { "line-color": "#333", "line-width": byZoom(1.5, 2.5) }));
  const p = pointLayers(lat);
  V.groups = [
    { id: "roads", label: "道路", layers: roads, on: true },
    { id: "barriers", label: "河流、铁路、围墙", layers: barriers, on: true },
    { id: "communities", label: "社区", layers: comm, on: true },
    { id: "grids", label: "网格（户数偏差）", layers: grids, on: hasGrids },
    { id: "compounds", label: "小区（物业模式）", layers: compounds, on: true },
    { id: "buildings", label: "楼栋（放大到 " + BUILDING_MIN_ZOOM + " 级显示）", layers: buildings, on: true },
    { id: "reach", label: "站点服务范围（" + V.radius + " 米）", layers: p.reach, on: false }, // off: clutter
    { id: "stations", label: "党群服务站点", layers: p.stations, on: true },
    { id: "uncovered", label: "未覆盖楼栋", layers: p.uncovered, on: true },
  ].filter((g) => g.layers.length);
  V.hoverLayers = p.stations.concat(p.uncovered, buildings.filter((id) => id !== "buildings-line"),
    ["compounds-fill"], hasGrids ? ["grids-fill"] : [], ["communities-fill"]);
}

export function setGroup(g, on) {
  const map = V.map;
  g.on = on;
  g.layers.forEach((id) => map.setLayoutProperty(id, "visibility", on ? "visible" : "none"));
  if (g.id === "grids") { // over the grids compounds are outlines in their mode's colour
    map.setPaintProperty("compounds-fill", "fill-opacity", on ? 0.12 : 0.6);
    map.setPaintProperty("compounds-line", "line-color", on ? modeColor() : "#333");
    map.setPaintProperty("compounds-line", "line-width", on ? byZoom(0.6, 2) : byZoom(0.4, 1));
    updateLabels();
  }
}

// A checkbox of the layer switcher (labels are ours, never data).
export function groupCheckbox(g) {
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.type = "checkbox";
  input.checked = g.on;
  input.setAttribute("data-layer", g.id);
  input.addEventListener("change", () => setGroup(g, input.checked));
  label.appendChild(input);
  label.appendChild(document.createTextNode(" " + g.label));
  return label;
}

export function layerControl() {
  const box = document.createElement("div");
  box.className = "maplibregl-ctrl gg-layers";
  box.id = "layers";
  V.groups.forEach((g) => {
    box.appendChild(groupCheckbox(g));
    if (!g.on) setGroup(g, false);
  });
  V.map.addControl({ onAdd: () => box, onRemove: () => box.remove() }, "top-right");
}
