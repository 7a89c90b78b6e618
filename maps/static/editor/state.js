/* gridgen editor state: the assignment of units to grids, per-grid sums, pending locks,
 * undo/redo, the warnings over every pending change (contiguity on the unit adjacency,
 * empty grids, grids out of band, split compounds) and the draft kept in the browser.
 * No DOM and no requests here: the other modules draw what this computes.
 */

export function EditorState(data) {
  const self = this;
  self.community = data.community_id;
  self.target = data.target;
  self.band = data.band;
  self.units = data.units;
  self.index = {};
  self.grid = new Array(data.units.length);
  self.base = new Array(data.units.length);
  self.nbrs = data.units.map(() => []);
  self.edges = data.edges;
  self.unitEdges = data.units.map(() => []); // edge indices of each unit
  data.units.forEach((u, i) => {
    self.index[u.id] = i;
    self.grid[i] = u.grid;
    self.base[i] = u.grid;
  });
  data.edges.forEach((e, k) => {
    self.nbrs[e[0]].push(e[1]);
    self.nbrs[e[1]].push(e[0]);
    self.unitEdges[e[0]].push(k);
    self.unitEdges[e[1]].push(k);
  });
  self.gridIds = data.grids.map((g) => g.grid_id);
  self.baseGrids = self.gridIds.slice();
  self.households = {};
  self.members = {};
  self.gridIds.forEach((g) => { self.households[g] = 0; self.members[g] = 0; });
  data.units.forEach((u, i) => {
    const g = self.grid[i];
    if (!(g in self.households)) { self.gridIds.push(g); self.households[g] = 0; self.members[g] = 0; }
    self.households[g] += u.households;
    self.members[g] += 1;
  });
  self.baseHouseholds = Object.assign({}, self.households);
  self.locked = {};
  (data.locked || []).forEach((g) => { self.locked[g] = true; });
  self.baseLocked = Object.assign({}, self.locked);
  self.lockPending = {}; // grid → true (lock) / false (unlock), sent with the next save
  self.newCodes = (data.new_codes || []).slice(); // codes the service offers for new grids
  self.undoStack = [];
  self.redoStack = [];
}

EditorState.prototype.paintable = function (i) {
  return this.units[i].kind !== "empty";
};

/* Give units (indices) to grid g. Returns {action, refused} (action null when nothing moved). */
EditorState.prototype.assign = function (indices, g) {
  const changes = [];
  const refused = [];
  if (this.locked[g]) return { action: null, refused: [{ reason: "locked", grid: g }] };
  for (const i of indices) {
    const from = this.grid[i];
    if (from === g || !this.paintable(i)) continue;
    if (this.locked[from]) { refused.push({ reason: "locked", grid: from, unit: this.units[i].id }); continue; }
    changes.push([i, from, g]);
  }
  if (!changes.length) return { action: null, refused: refused };
  this.apply(changes, false);
  this.undoStack.push(changes);
  this.redoStack = [];
  return { action: changes, refused: refused };
};

EditorState.prototype.apply = function (changes, reverse) {
  for (const c of changes) {
    const i = c[0];
    const from = reverse ? c[2] : c[1];
    const to = reverse ? c[1] : c[2];
    const hh = this.units[i].households;
    this.addGrid(to);
    this.households[from] -= hh;
    this.members[from] -= 1;
    this.households[to] += hh;
    this.members[to] += 1;
    this.grid[i] = to;
  }
};

EditorState.prototype.undo = function () {
  const c = this.undoStack.pop();
  if (!c) return null;
  this.apply(c, true);
  this.redoStack.push(c);
  return c;
};

EditorState.prototype.redo = function () {
  const c = this.redoStack.pop();
  if (!c) return null;
  this.apply(c, false);
  this.undoStack.push(c);
  return c;
};

/* The grids an action touches. */
EditorState.touched = function (changes) {
  const out = {};
  changes.forEach((c) => { out[c[1]] = true; out[c[2]] = true; });
  return Object.keys(out);
};

/* Lock or unlock grid g locally; the change is sent with the next save. */
EditorState.prototype.setLock = function (g, on) {
  if (on) this.locked[g] = true; else delete this.locked[g];
  if (on === !!this.baseLocked[g]) delete this.lockPending[g]; else this.lockPending[g] = on;
};

/* Number of connected pieces of grid g in the unit graph (0 when empty). */
EditorState.prototype.pieces = function (g) {
  const seen = {};
  let count = 0;
  for (let i = 0; i < this.grid.length; i++) {
    if (this.grid[i] !== g || seen[i]) continue;
    count++;
    const stack = [i];
    seen[i] = true;
    while (stack.length) {
      const u = stack.pop();
      for (const v of this.nbrs[u]) {
        if (!seen[v] && this.grid[v] === g) { seen[v] = true; stack.push(v); }
      }
    }
  }
  return count;
};

/* The grids any pending change touches (the grid a changed unit left and the one it joined). */
EditorState.prototype.pendingGrids = function () {
  const out = {};
  for (let i = 0; i < this.grid.length; i++) {
    if (this.grid[i] !== this.base[i]) { out[this.grid[i]] = true; out[this.base[i]] = true; }
  }
  return Object.keys(out).sort();
};

/* Warnings over every pending change: pieces, empty, out of band, compounds split. */
EditorState.prototype.warnings = function () {
  const out = [];
  const [lo, hi] = this.band;
  this.pendingGrids().forEach((g) => {
    if (!this.members[g] && this.baseGrids.indexOf(g) >= 0) {
      out.push({ kind: "empty", grid: g });
      return;
    }
    const p = this.pieces(g);
    if (p > 1) out.push({ kind: "pieces", grid: g, pieces: p });
    if (!this.inBand(g)) {
      out.push({ kind: "band", grid: g, households: this.households[g], band: [lo, hi],
        before: this.baseHouseholds[g] === undefined ? null : this.baseHouseholds[g] });
    }
  });
  const comp = {};
  this.units.forEach((u, i) => {
    if (u.kind !== "subunit") return;
    const c = comp[u.compound_id] || (comp[u.compound_id] = { grids: {}, hh: 0, name: u.name, moved: false });
    c.grids[this.grid[i]] = true;
    c.hh += u.households;
    if (this.grid[i] !== this.base[i]) c.moved = true;
  });
  Object.keys(comp).forEach((cid) => {
    const grids = Object.keys(comp[cid].grids);
    if (comp[cid].moved && grids.length > 1 && comp[cid].hh <= hi) {
      out.push({ kind: "split", compound: cid, name: comp[cid].name, grids: grids });
    }
  });
  return out;
};

EditorState.prototype.deviation = function (g) {
  return this.households[g] / this.target - 1;
};

EditorState.prototype.inBand = function (g) {
  const h = this.households[g];
  return h >= this.band[0] && h <= this.band[1];
};

/* {unit_id: grid} of every unit whose grid differs from the saved version. */
EditorState.prototype.changes = function () {
  const out = {};
  for (let i = 0; i < this.grid.length; i++) {
    if (this.grid[i] !== this.base[i]) out[this.units[i].id] = this.grid[i];
  }
  return out;
};

/* The edit a save sends: {assign, lock, unlock}. */
EditorState.prototype.edit = function () {
  const lp = this.lockPending;
  return {
    assign: this.changes(),
    lock: Object.keys(lp).filter((g) => lp[g]).sort(),
    unlock: Object.keys(lp).filter((g) => !lp[g]).sort(),
  };
};

/* Pending changes: units moved plus locks changed. */
EditorState.prototype.pendingCount = function () {
  return Object.keys(this.changes()).length + Object.keys(this.lockPending).length;
};

/* The next code never used in the community (the server lists them: gridgen.partition.codes). */
EditorState.prototype.nextCode = function () {
  const free = this.newCodes.filter((c) => this.gridIds.indexOf(c) < 0);
  return free.length ? free[0] : null;
};

EditorState.prototype.addGrid = function (g) {
  if (!(g in this.households)) { this.gridIds.push(g); this.households[g] = 0; this.members[g] = 0; }
};

/* Re-apply local changes {unit_id: grid} on this (fresh) state; returns {applied, invalid}. */
EditorState.prototype.reapply = function (local) {
  const valid = [];
  const invalid = [];
  Object.keys(local).forEach((uid) => {
    const g = local[uid];
    const i = this.index[uid];
    if (i === undefined) { invalid.push({ unit: uid, grid: g, reason: "单元不存在" }); return; }
    if (this.grid[i] === g) return;
    if (this.locked[g] || this.locked[this.grid[i]]) {
      invalid.push({ unit: uid, grid: g, reason: "网格已锁定" });
      return;
    }
    const known = g in this.households;
    const fresh = this.newCodes.indexOf(g) >= 0;
    if (!known && !fresh) { invalid.push({ unit: uid, grid: g, reason: "网格不存在" }); return; }
    valid.push(i);
    this.addGrid(g);
  });
  let applied = [];
  valid.forEach((i) => {
    const r = this.assign([i], local[this.units[i].id]);
    if (r.action) applied = applied.concat(r.action);
  });
  return { applied: applied, invalid: invalid };
};

/* Re-apply pending locks {grid: true|false} (grids that no longer exist are skipped). */
EditorState.prototype.reapplyLocks = function (locks) {
  Object.keys(locks || {}).forEach((g) => { if (g in this.households) this.setLock(g, locks[g]); });
};

/* What the browser keeps of the pending edit: per unit [grid at base, grid now], locks. */
EditorState.prototype.toDraft = function () {
  const units = {};
  for (let i = 0; i < this.grid.length; i++) {
    if (this.grid[i] !== this.base[i]) units[this.units[i].id] = [this.base[i], this.grid[i]];
  }
  return { units: units, locks: Object.assign({}, this.lockPending) };
};
