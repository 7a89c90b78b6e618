/* The pole of inaccessibility of a polygon: the interior point farthest from its outline,
 * found by Garcia-Castellanos & Lombardo's cell search as in Mapbox's polylabel (ISC), in
 * plain coordinates (pass locally scaled coordinates for metres). Written here rather than
 * vendored: polylabel 2 imports tinyqueue by its bare npm name, which a page loading ES
 * modules as served (no bundler) cannot resolve without an inline import map, and the
 * pages' Content-Security-Policy allows no inline script; the search itself is 60 lines.
 */

// Signed distance from (x, y) to the polygon's outline (rings: exterior first, then holes);
// positive inside.
function signedDistance(x, y, rings) {
  let inside = false;
  let min = Infinity;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const a = ring[i], b = ring[j];
      if ((a[1] > y) !== (b[1] > y) && x < ((b[0] - a[0]) * (y - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const len = dx * dx + dy * dy;
      let t = len ? ((x - a[0]) * dx + (y - a[1]) * dy) / len : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = a[0] + t * dx - x, ey = a[1] + t * dy - y;
      min = Math.min(min, ex * ex + ey * ey);
    }
  }
  return (inside ? 1 : -1) * Math.sqrt(min);
}

function cell(x, y, h, rings) {
  const d = signedDistance(x, y, rings);
  return { x: x, y: y, h: h, d: d, max: d + h * Math.SQRT2 };
}

// [x, y, distance] of the pole of inaccessibility, to within `precision`.
export function polylabel(rings, precision) {
  const outer = rings[0];
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  outer.forEach((p) => {
    minX = Math.min(minX, p[0]); minY = Math.min(minY, p[1]);
    maxX = Math.max(maxX, p[0]); maxY = Math.max(maxY, p[1]);
  });
  const size = Math.min(maxX - minX, maxY - minY);
  if (size === 0) return [minX, minY, 0];
  const h0 = size / 2;
  const queue = [];
  for (let x = minX; x < maxX; x += size) for (let y = minY; y < maxY; y += size) queue.push(cell(x + h0, y + h0, h0, rings));
  let best = cell((minX + maxX) / 2, (minY + maxY) / 2, 0, rings);
  const probe = [outer.reduce((s, p) => s + p[0], 0) / outer.length, outer.reduce((s, p) => s + p[1], 0) / outer.length];
  const centroid = cell(probe[0], probe[1], 0, rings);
  if (centroid.d > best.d) best = centroid;
  let steps = 0;
  while (queue.length && steps++ < 5000) {
    let k = 0;
    for (let i = 1; i < queue.length; i++) if (queue[i].max > queue[k].max) k = i;
    const c = queue.splice(k, 1)[0];
    if (c.d > best.d) best = c;
    if (c.max - best.d <= precision) continue;
    const h = c.h / 2;
    queue.push(cell(c.x - h, c.y - h, h, rings), cell(c.x + h, c.y - h, h, rings),
      cell(c.x - h, c.y + h, h, rings), cell(c.x + h, c.y + h, h, rings));
  }
  return [best.x, best.y, best.d];
}
