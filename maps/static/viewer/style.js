/* The viewer's colours (property modes, station kinds, households deviation, audit
 * findings), the MapLibre expressions built from them, and the legend.
 */
export const MODE_COLORS = {
  company: ["#4e79a7", "专业物业"],
  red_property: ["#e15759", "红色物业帮建"],
  unit_cobuild: ["#f28e2b", "驻地单位协建"],
  subsidy: ["#edc948", "财政补贴过渡"],
  community_fallback: ["#b07aa1", "社区兜底"],
  none: ["#bab0ac", "无物业"],
};
export const STATION_COLORS = {
  center: ["#b2182b", "党群服务中心"],
  micro: ["#d6604d", "网格党群服务微站"],
  red_front: ["#67001f", "红色阵地"],
};
export const FINDING_COLORS = { gap: ["#d73027", "缺口"], overlap: ["#7b3294", "重叠"],
  split_compound: ["#fdae61", "拆分的小区"] };
// Grid fill by households deviation from the target (-50% … +50%).
export const DEVIATION_STOPS = [[-0.5, [33, 102, 172]], [-0.2, [146, 197, 222]], [0, [247, 247, 247]],
  [0.2, [244, 165, 130]], [0.5, [178, 24, 43]]];

export function devColor(d) {
  if (d === null || d === undefined || isNaN(d)) return "#cccccc";
  const stops = DEVIATION_STOPS;
  d = Math.max(-0.5, Math.min(0.5, d));
  for (let i = 1; i < stops.length; i++) {
    if (d <= stops[i][0]) {
      const t = (d - stops[i - 1][0]) / (stops[i][0] - stops[i - 1][0]);
      const c = stops[i - 1][1].map((v, k) => Math.round(v + (stops[i][1][k] - v) * t));
      return "rgb(" + c.join(",") + ")";
    }
  }
  return "#b2182b";
}

// A width or radius growing from zoom 11 (whole city) to zoom 14 (a community).
export function byZoom(lo, hi) { return ["interpolate", ["linear"], ["zoom"], 11, lo, 14, hi]; }

export function matchColor(prop, colors, fallback) {
  const m = ["match", ["get", prop]];
  Object.keys(colors).forEach((k) => m.push(k, colors[k][0]));
  m.push(fallback);
  return m;
}

export function modeColor() { return matchColor("property_mode", MODE_COLORS, MODE_COLORS.none[0]); }

export function deviationColor() {
  const ramp = ["interpolate", ["linear"], ["to-number", ["get", "deviation"]]];
  DEVIATION_STOPS.forEach((s) => ramp.push(s[0], "rgb(" + s[1].join(",") + ")"));
  return ["case", ["has", "deviation"], ramp, "#cccccc"];
}

export function legend(buildingMinZoom) {
  const box = document.getElementById("legend");
  box.textContent = "";
  function head(text) { const h = document.createElement("h3"); h.textContent = text; box.appendChild(h); }
  function item(color, text) {
    const d = document.createElement("div");
    const sw = document.createElement("span");
    sw.className = "sw";
    sw.style.background = color;
    d.appendChild(sw);
    d.appendChild(document.createTextNode(text));
    box.appendChild(d);
  }
  function hint(text) { const p = document.createElement("p"); p.className = "hint"; p.textContent = text; box.appendChild(p); }
  head("小区物业模式");
  hint("显示网格时小区只画彩色边框。");
  Object.keys(MODE_COLORS).forEach((k) => item(MODE_COLORS[k][0], MODE_COLORS[k][1]));
  head("网格户数偏差");
  [[-0.5, "≤ -50%"], [-0.2, "-20%"], [0, "0"], [0.2, "+20%"], [0.5, "≥ +50%"]].forEach((d) => item(devColor(d[0]), d[1]));
  head("站点");
  Object.keys(STATION_COLORS).forEach((k) => item(STATION_COLORS[k][0], STATION_COLORS[k][1]));
  item("#d7301f", "未覆盖楼栋");
  head("楼栋");
  hint("放大到 " + buildingMinZoom + " 级以上显示；网格编码从 15 级起显示。");
  item("#fdae61", "有住户楼栋");
  item("#d9d9d9", "无住户楼栋");
}
