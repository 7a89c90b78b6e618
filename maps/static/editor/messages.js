/* Everything the editor shows in Chinese: the service's error details (422, 403, 404), the
 * 409 of a stale save, job progress, rebalance method names and version messages. The
 * service answers in English with the ids the planner needs; these patterns put the
 * sentence in Chinese and keep the ids. An unknown sentence is shown after "服务器：".
 */

export const METHOD_NAMES = {
  minimal_change: "最少改动（只移动必要的户）",
  repartition: "重新划分（未锁定网格重画）",
};

const ROLE = { viewer: "查看者", grid_worker: "网格员", planner: "规划员", admin: "管理员" };

function roles(text) { return text.split(" or ").map((r) => ROLE[r] || r).join(" 或 "); }

// A key's scope as the service names it ("community X", "street Y").
function scope(text) { return text.replace(/^community /, "社区 ").replace(/^street /, "街道 "); }

// Why the codes module refuses a new grid's code (gridgen.partition.lifecycle), in Chinese.
function codeReasons(text) {
  return text
    .replace(/\(not a (.+?) code of community (\S+); next new code ([^)]+)\)/g,
      "（不是社区 $2 的 $1 编码；下一个可用的新编码是 $3）")
    .replace(/\(used before and never given to another grid; next new code ([^)]+)\)/g,
      "（此编码曾经使用过，不再用于其他网格；下一个可用的新编码是 $1）")
    .replace(/none left/g, "已用完");
}

// [pattern, (match) => Chinese] for one sentence of a detail.
const SENTENCES = [
  [/^unknown unit or building ids: (.+)$/, (m) => "未知的单元或楼栋：" + m[1]],
  [/^unknown grid ids \((?:a new grid|[^)]*)[^:]*: (.+)$/, (m) => "未知的网格编码（新网格须用本社区从未用过的编码）：" + codeReasons(m[1])],
  [/^grids of another community: (.+)$/, (m) => "属于其他社区的网格：" + m[1].replace(/\(community (\S+)\)/g, "（社区 $1）")],
  [/^locked grids \(unlock them first\): (.+)$/, (m) => "涉及已锁定的网格（请先解锁）：" + m[1]],
  [/^grids (.+) would not be one connected polygon.*$/,
    (m) => "网格 " + m[1].replace(/\((\d+) pieces\)/g, "（$1 块）") + " 将不再是一个连通的多边形：请把连接各块的单元涂到同一网格"],
  [/^every unit is already in the grid named.*nothing to save$/, () => "没有需要保存的修改"],
  [/^at most (\d+) ids per edit$/, (m) => "一次最多保存 " + m[1] + " 个单元"],
  [/^name at least one unit or building id.*$/, () => "请至少修改一个单元或锁定一个网格"],
  [/^(.+) named in both$/, (m) => "网格 " + m[1] + " 同时被锁定和解锁"],
  [/^(.+) are not grids of the plan$/, (m) => "网格 " + m[1] + " 不在此方案中"],
  [/^(.+?) needs role (.+); this key has role (\S+)$/,
    (m) => "此操作需要" + roles(m[2]) + "角色；此密钥的角色是" + (ROLE[m[3]] || m[3])],
  [/^(.+?): community (.+) is outside this key's scope \((.+)\)$/,
    (m) => "社区 " + m[2] + " 不在此密钥的范围（" + scope(m[3]) + "）内，不能操作"],
  [/^(.+?): plan (\S+) reaches outside this key's scope \((.+)\)$/,
    (m) => "方案 " + m[2] + " 超出此密钥的范围（" + scope(m[3]) + "），不能操作"],
  [/^a scoped key rebalances its own communities$/, () => "限定范围的密钥只能重新平衡自己的社区"],
  [/^community (\S+) has no grids in plan (\S+).*$/, (m) => "社区 " + m[1] + " 在方案 " + m[2] + " 中没有网格"],
  [/^method (.+): use one of (.+)$/, (m) => "未知的重新平衡方法 " + m[1]],
  [/^repartition redraws one community; name it$/, () => "重新划分需指定一个社区"],
  [/^an edit must name the version it was made on.*$/, () => "修改必须注明所基于的版本"],
  [/^(.*)API key(.*)$/, () => "密钥无效或缺失：请用有效的密钥打开 (?key=...)"],
];

// Strip "field: " prefixes the service puts before a sentence ("assign: …").
function sentence(text) {
  const s = text.trim().replace(/^(assign|lock, unlock|community_id|base_version|grid_ids|method [^:]+):\s*/, "");
  for (const [re, out] of SENTENCES) {
    const m = s.match(re) || text.trim().match(re);
    if (m) return out(m);
  }
  return null;
}

// Split on "; " outside parentheses (a refusal's reasons carry their own "; ").
function splitTop(text) {
  const out = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth = Math.max(0, depth - 1);
    else if (c === ";" && depth === 0 && text[i + 1] === " ") { out.push(text.slice(start, i)); start = i + 2; }
  }
  out.push(text.slice(start));
  return out;
}

// The Chinese text of a service error detail (sentences joined by "; ").
export function zhDetail(detail) {
  if (detail === null || detail === undefined) return "";
  const text = String(detail);
  const parts = splitTop(text.replace(/^assign:\s*/, ""));
  const zh = parts.map(sentence);
  if (zh.every((z) => z !== null)) return zh.join("；");
  const whole = sentence(text);
  return whole !== null ? whole : "服务器：" + text;
}

// The Chinese text of a failed request: status and detail.
export function zhError(r) {
  const body = r.body || {};
  if (r.status === 0) return "无法连接服务器";
  if (r.status === 409) return conflictText(body);
  const what = { 400: "请求有误", 401: "未授权", 403: "无权操作", 404: "找不到", 422: "不能保存", 503: "服务暂不可用" }[r.status] || "服务器错误";
  return what + "（" + r.status + "）：" + zhDetail(body.detail || "");
}

function when(iso) { return iso ? String(iso).replace("T", " ").slice(0, 16) : ""; }

// The Chinese text of a 409: who saved which version, when; how many units conflict, or
// how many of the planner's units now go to a grid that absorbed the one they painted into.
export function conflictText(body, redirected = 0) {
  const who = body.head_author ? String(body.head_author).replace(/ \((planner|admin), key [0-9a-f]+\)$/, "") : "其他人";
  let t = who + " 于 " + when(body.head_created_at) + " 保存了版本 v" + body.head_version +
    "（你的修改基于 v" + body.base_version + "）";
  if (body.head_message) t += "，说明：" + versionMessage(body.head_message);
  const n = (body.conflicts || []).length;
  if (n) t += "。你们都改动了 " + n + " 个单元，请逐个选择保留哪一方。";
  else if (redirected) t += "。你划入的网格已被并入其他网格：" + redirected + " 个单元改为划入合并后的网格，请核对后再保存。";
  else t += "。对方没有改动你改的单元，已自动合并。";
  return t;
}

export function authorName(author) {
  return String(author || "").replace(/ \((planner|admin), key [0-9a-f]+\)$/, "");
}

// Job progress messages of a rebalance.
export function jobMessage(job) {
  const m = String(job.message || job.status || "");
  const r = m.match(/^rebalancing (.+) \((\w+)\)$/);
  if (r) return "正在重新平衡" + (r[1] === "the whole plan" ? "整个方案" : "社区 " + r[1]) + "（" + (METHOD_NAMES[r[2]] || r[2]) + "）";
  return { queued: "排队中", started: "已开始", running: "进行中", loading: "加载中", saving: "保存中",
    done: "完成", failed: "失败" }[m] || m;
}

// Version messages written by the service, in Chinese (a planner's own message as is).
export function versionMessage(text) {
  const s = String(text || "");
  let m;
  if ((m = s.match(/^assign (\d+) units(.*)$/))) return "调整 " + m[1] + " 个单元" + versionMessage(m[2].replace(/^;\s*/, "；"));
  if ((m = s.match(/^(；?)lock (.+?)(;.*)?$/))) return m[1] + "锁定 " + m[2] + versionMessage((m[3] || "").replace(/^;\s*/, "；"));
  if ((m = s.match(/^(；?)unlock (.+)$/))) return m[1] + "解锁 " + m[2];
  if ((m = s.match(/^rebalance (.+) \(repartition\)$/))) return "重新平衡" + (m[1] === "the whole plan" ? "整个方案" : " " + m[1]) + "（重新划分）";
  if ((m = s.match(/^rebalance (.+): (\d+) households moved, (\d+) new codes$/))) {
    return "重新平衡" + (m[1] === "the whole plan" ? "整个方案" : " " + m[1]) + "：移动 " + m[2] + " 户，新编码 " + m[3] + " 个";
  }
  if ((m = s.match(/^partition target=(\d+) band=(\d+),(\d+) seed=(\d+)$/))) {
    return "自动划分：目标 " + m[1] + " 户，区间 " + m[2] + "–" + m[3] + "，种子 " + m[4];
  }
  if ((m = s.match(/^imported grid layer (.*)$/))) return "导入网格图层 " + m[1];
  return s;
}
