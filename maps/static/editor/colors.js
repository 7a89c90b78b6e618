/* Unit colours in the editor's two modes.
 *
 * - "grid" (区分网格): a categorical palette where grids that share a unit border never
 *   share a colour (greedy colouring of the grid adjacency; a grid keeps its colour while
 *   no neighbour takes it, so painting recolours as little as possible);
 * - "balance" (户数均衡): each grid by its households' deviation from the target, a
 *   diverging ramp inside the band and saturated colours outside it (out of band obvious).
 */

export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
  "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#8cd17d", "#b6992d", "#499894"];

export const UNDER = "#08519c"; // below the band
export const OVER = "#a50f15"; // above the band
const EMPTY = "#bdbdbd";

// grid → Set of grids it shares a unit border with.
export function gridAdjacency(S) {
  const adj = {};
  S.gridIds.forEach((g) => { adj[g] = new Set(); });
  S.edges.forEach((e) => {
    const a = S.grid[e[0]], b = S.grid[e[1]];
    if (a !== b) { adj[a].add(b); adj[b].add(a); }
  });
  return adj;
}

// {grid: palette index} with neighbours always different; prev colours kept where possible.
export function gridColours(S, prev) {
  const adj = gridAdjacency(S);
  const out = {};
  const order = S.gridIds.slice().sort();
  order.forEach((g) => {
    const taken = new Set();
    adj[g].forEach((n) => { if (n in out) taken.add(out[n]); });
    const mine = prev ? prev[g] : undefined;
    if (mine !== undefined && !taken.has(mine)) { out[g] = mine; return; }
    let k = 0;
    while (taken.has(k)) k++;
    out[g] = k;
  });
  return out;
}

function mix(a, b, t) {
  const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
  return "rgb(" + pa.map((v, k) => Math.round(v + (pb[k] - v) * t)).join(",") + ")";
}

// The balance colour of a grid with `households` (target and band of the plan).
export function balanceColour(households, target, band) {
  if (!households) return EMPTY;
  if (households < band[0]) return UNDER;
  if (households > band[1]) return OVER;
  if (households <= target) return mix("#6baed6", "#f7f7f7", (households - band[0]) / Math.max(1, target - band[0]));
  return mix("#f7f7f7", "#fc9272", (households - target) / Math.max(1, band[1] - target));
}

// The legend of the balance mode: [colour, text] rows.
export function balanceLegend(target, band) {
  return [
    [UNDER, "低于下限 " + band[0] + " 户"],
    [balanceColour(band[0], target, band), "下限 " + band[0]],
    [balanceColour(target, target, band), "目标 " + target],
    [balanceColour(band[1], target, band), "上限 " + band[1]],
    [OVER, "高于上限 " + band[1] + " 户"],
  ];
}
