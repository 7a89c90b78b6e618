/* gridgen editor state: the assignment of units to grids, per-grid sums, undo/redo, and
 * the live checks (contiguity on the unit adjacency, empty grids, split compounds).
 * No DOM and no requests here: the other modules draw what this computes.
 */
export function EditorState(data) {
  var self = this;
  self.community = data.community_id;
  self.target = data.target;
  self.band = data.band;
  self.units = data.units;
  self.index = {};
  self.grid = new Array(data.units.length);
  self.base = new Array(data.units.length);
  self.nbrs = data.units.map(function () { return []; });
  data.units.forEach(function (u, i) {
    self.index[u.id] = i;
    self.grid[i] = u.grid;
    self.base[i] = u.grid;
  });
  data.edges.forEach(function (e) {
    self.nbrs[e[0]].push(e[1]);
    self.nbrs[e[1]].push(e[0]);
  });
  self.gridIds = data.grids.map(function (g) { return g.grid_id; });
  self.baseGrids = self.gridIds.slice();
  self.households = {};
  self.members = {};
  self.gridIds.forEach(function (g) { self.households[g] = 0; self.members[g] = 0; });
  data.units.forEach(function (u, i) {
    var g = self.grid[i];
    if (!(g in self.households)) { self.gridIds.push(g); self.households[g] = 0; self.members[g] = 0; }
    self.households[g] += u.households;
    self.members[g] += 1;
  });
  self.locked = {};
  (data.locked || []).forEach(function (g) { self.locked[g] = true; });
  self.undoStack = [];
  self.redoStack = [];
}

EditorState.prototype.paintable = function (i) {
  return this.units[i].kind !== "empty";
};

/* Give units (indices) to grid g. Returns {action, refused} (action null when nothing moved). */
EditorState.prototype.assign = function (indices, g) {
  var changes = [];
  var refused = [];
  if (this.locked[g]) return { action: null, refused: [{ reason: "locked", grid: g }] };
  for (var k = 0; k < indices.length; k++) {
    var i = indices[k];
    var from = this.grid[i];
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
  for (var k = 0; k < changes.length; k++) {
    var i = changes[k][0];
    var from = reverse ? changes[k][2] : changes[k][1];
    var to = reverse ? changes[k][1] : changes[k][2];
    var hh = this.units[i].households;
    if (!(to in this.households)) { this.gridIds.push(to); this.households[to] = 0; this.members[to] = 0; }
    this.households[from] -= hh;
    this.members[from] -= 1;
    this.households[to] += hh;
    this.members[to] += 1;
    this.grid[i] = to;
  }
};

EditorState.prototype.undo = function () {
  var c = this.undoStack.pop();
  if (!c) return null;
  this.apply(c, true);
  this.redoStack.push(c);
  return c;
};

EditorState.prototype.redo = function () {
  var c = this.redoStack.pop();
  if (!c) return null;
  this.apply(c, false);
  this.undoStack.push(c);
  return c;
};

/* The grids an action touches. */
EditorState.touched = function (changes) {
  var out = {};
  changes.forEach(function (c) { out[c[1]] = true; out[c[2]] = true; });
  return Object.keys(out);
};

/* Number of connected pieces of grid g in the unit graph (0 when empty). */
EditorState.prototype.pieces = function (g) {
  var seen = {};
  var count = 0;
  for (var i = 0; i < this.grid.length; i++) {
    if (this.grid[i] !== g || seen[i]) continue;
    count++;
    var stack = [i];
    seen[i] = true;
    while (stack.length) {
      var u = stack.pop();
      var ns = this.nbrs[u];
      for (var k = 0; k < ns.length; k++) {
        var v = ns[k];
        if (!seen[v] && this.grid[v] === g) { seen[v] = true; stack.push(v); }
      }
    }
  }
  return count;
};

/* Warnings for grids gs: several pieces, empty, compounds split between grids. */
EditorState.prototype.warnings = function (gs) {
  var out = [];
  var self = this;
  gs.forEach(function (g) {
    if (!self.members[g] && self.baseGrids.indexOf(g) >= 0) {
      out.push({ kind: "empty", grid: g });
    } else if (self.members[g]) {
      var p = self.pieces(g);
      if (p > 1) out.push({ kind: "pieces", grid: g, pieces: p });
    }
  });
  var comp = {};
  self.units.forEach(function (u, i) {
    if (u.kind !== "subunit") return;
    var c = comp[u.compound_id] || (comp[u.compound_id] = { grids: {}, hh: 0, name: u.name });
    c.grids[self.grid[i]] = true;
    c.hh += u.households;
  });
  Object.keys(comp).forEach(function (cid) {
    var grids = Object.keys(comp[cid].grids);
    if (grids.length > 1 && comp[cid].hh <= self.band[1]) {
      out.push({ kind: "split", compound: cid, name: comp[cid].name, grids: grids });
    }
  });
  return out;
};

EditorState.prototype.deviation = function (g) {
  return this.households[g] / this.target - 1;
};

EditorState.prototype.inBand = function (g) {
  var h = this.households[g];
  return h >= this.band[0] && h <= this.band[1];
};

/* {unit_id: grid} of every unit whose grid differs from the saved version. */
EditorState.prototype.changes = function () {
  var out = {};
  for (var i = 0; i < this.grid.length; i++) {
    if (this.grid[i] !== this.base[i]) out[this.units[i].id] = this.grid[i];
  }
  return out;
};

/* The next free grid code of the community (community id + 3 digits). */
EditorState.prototype.nextCode = function () {
  for (var n = 1; n < 1000; n++) {
    var code = this.community + ("00" + n).slice(-3);
    if (this.gridIds.indexOf(code) < 0) return code;
  }
  return null;
};

EditorState.prototype.addGrid = function (g) {
  if (!(g in this.households)) { this.gridIds.push(g); this.households[g] = 0; this.members[g] = 0; }
};

/* Re-apply local changes {unit_id: grid} on this (fresh) state; returns {applied, invalid}. */
EditorState.prototype.reapply = function (local) {
  var self = this;
  var valid = [];
  var invalid = [];
  Object.keys(local).forEach(function (uid) {
    var g = local[uid];
    var i = self.index[uid];
    if (i === undefined) { invalid.push({ unit: uid, grid: g, reason: "单元不存在" }); return; }
    if (self.grid[i] === g) return;
    if (self.locked[g] || self.locked[self.grid[i]]) {
      invalid.push({ unit: uid, grid: g, reason: "网格已锁定" });
      return;
    }
    var known = g in self.households;
    var fresh = g.indexOf(self.community) === 0 && /^[0-9]{3}$/.test(g.slice(self.community.length));
    if (!known && !fresh) { invalid.push({ unit: uid, grid: g, reason: "网格不存在" }); return; }
    valid.push(i);
    self.addGrid(g);
  });
  var applied = [];
  valid.forEach(function (i) {
    var r = self.assign([i], local[self.units[i].id]);
    if (r.action) applied = applied.concat(r.action);
  });
  return { applied: applied, invalid: invalid };
};

