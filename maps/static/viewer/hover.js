/* What is under the mouse: names on hover (textContent only), and a click on a compound
 * (or one of its buildings) outlines it and opens its sheet.
 */
import { V } from "./context.js";
import { openSheet } from "./panel.js";
import { FINDING_COLORS, MODE_COLORS, STATION_COLORS } from "./style.js";

function pct(v) { return v === undefined || v === null ? null : (Number(v) * 100).toFixed(0) + "%"; }

function line(parts) {
  return parts.filter((p) => p[1] !== undefined && p[1] !== null && p[1] !== "")
    .map((p) => p[0] + " " + p[1]).join(" · ");
}

const DESCRIBE = {
  stations: (p) => line([["站点", p.name], ["类型", (STATION_COLORS[p.kind] || [0, p.kind])[1]], ["编码", p.station_id]]),
  uncovered: (p) => line([["未覆盖楼栋", p.building_id], ["户数", p.households]]),
  buildings: (p) => line([["楼栋", p.building_id], ["户数", p.households], ["人口", p.residents], ["层数", p.floors],
    ["楼栋长", p.leader_name]]),
  compounds: (p) => {
    const mode = (MODE_COLORS[p.property_mode] || MODE_COLORS.none)[1];
    return line([["小区", p.name], ["编码", p.compound_id], ["物业模式", mode],
      ["党支部", p.party_branch === true ? "有" : p.party_branch === false ? "无" : null]]);
  },
  grids: (p) => line([["网格", p.grid_id], ["户数", p.households], ["偏差", pct(p.deviation)], ["网格员", p.workers]]),
  communities: (p) => line([["社区", p.name], ["编码", p.community_id]]),
  audit: (p) => line([["问题", (FINDING_COLORS[p.finding] || [null, p.finding])[1]], ["社区", p.community_id],
    ["小区", p.compound_id], ["网格", p.grid_a || p.grids], ["与", p.grid_b],
    ["面积(m²)", p.area_m2 !== undefined ? Math.round(p.area_m2) : null], ["户数", p.households]]),
};

function kindOf(layerId) {
  if (layerId.indexOf("uncovered") === 0) return "uncovered";
  if (layerId.indexOf("building") === 0) return "buildings";
  return layerId.split("-")[0];
}

// The visible features under a screen point, one per kind: {kind, properties, text}.
export function under(point) {
  const map = V.map;
  const layers = V.hoverLayers.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none");
  const seen = {};
  const out = [];
  map.queryRenderedFeatures(point, { layers: layers }).forEach((f) => {
    const kind = kindOf(f.layer.id);
    if (seen[kind] || !DESCRIBE[kind]) return;
    seen[kind] = true;
    out.push({ kind: kind, properties: f.properties, text: DESCRIBE[kind](f.properties) });
  });
  return out;
}

export function hover(e) {
  const box = document.getElementById("hover");
  const hits = under(e.point);
  const opens = hits.some((h) => h.kind === "compounds" || (h.kind === "buildings" && h.properties.compound_id));
  V.map.getCanvas().style.cursor = opens ? "pointer" : "";
  if (!hits.length) { box.hidden = true; return; }
  box.textContent = "";
  hits.forEach((h) => {
    const d = document.createElement("div");
    d.className = "gg-hover-" + h.kind;
    d.textContent = h.text;
    box.appendChild(d);
  });
  const r = V.map.getContainer().getBoundingClientRect();
  box.style.left = r.left + e.point.x + 14 + "px";
  box.style.top = r.top + e.point.y + 14 + "px";
  box.hidden = false;
}

export function click(e) {
  const hits = under(e.point);
  for (let i = 0; i < hits.length; i++) {
    const p = hits[i].properties;
    const kind = hits[i].kind;
    if ((kind === "compounds" || kind === "buildings") && p.compound_id) {
      V.map.setFilter("compounds-selected", ["==", ["get", "compound_id"], p.compound_id]);
      openSheet(p.compound_id, kind === "compounds" ? p.name || p.compound_id : p.compound_id);
      return;
    }
  }
}
