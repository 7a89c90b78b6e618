/* A plan version's audit findings (?plan=ID&version=V, GeoJSON: a few features): gaps,
 * overlaps and split compounds, as one more group of the layer switcher.
 */
import { V, api, status } from "./context.js";
import { groupCheckbox } from "./layers.js";
import { FINDING_COLORS, matchColor } from "./style.js";

export function loadAudit() {
  const plan = V.params.get("plan");
  if (!plan) return null;
  const version = V.params.get("version") || "head";
  return api("/plans/" + encodeURIComponent(plan) + "/versions/" + encodeURIComponent(version) + "/audit?f=geojson")
    .then((r) => r.json())
    .then((fc) => {
      const map = V.map;
      map.addSource("audit", { type: "geojson", data: fc });
      const color = matchColor("finding", FINDING_COLORS, "#000");
      map.addLayer({ id: "audit-fill", type: "fill", source: "audit", paint: { "fill-color": color, "fill-opacity": 0.45 } });
      map.addLayer({ id: "audit-line", type: "line", source: "audit",
        paint: { "line-color": color, "line-width": 2, "line-dasharray": [2, 1.5] } });
      const g = { id: "audit", label: "网格审查（缺口 / 重叠 / 拆分小区）", layers: ["audit-fill", "audit-line"], on: true };
      V.groups.push(g);
      V.hoverLayers.unshift("audit-fill");
      document.getElementById("layers").appendChild(groupCheckbox(g));
      document.body.setAttribute("data-audit", String(fc.features.length));
    })
    .catch((e) => {
      status("审查不可用：" + e.message);
      document.body.setAttribute("data-audit", "error");
    });
}
