"""Ejection chains of branch moves: the search :func:`gridgen.partition.moves.balance` runs.

A *move* hands a unit from one grid to a neighbouring grid; when the unit holds its grid
together (an articulation point of the grid's units, typically a compound whose open land
joins two others to the rest), the pieces it would cut off go with it (a *branch move*:
they reach the new grid through the unit). So every move keeps both grids connected and
moves of compounds joined only through open land are possible.

A *chain* is a short sequence of moves started at an out-of-band grid: each next move
starts from any grid the chain touched that is still out of band (an overfull grid sheds
a unit to a neighbour, an underfull one pulls one from a neighbour), so a grid can shed
two units, or hand one on to a neighbour that then sheds one. A beam search over chains
of up to ``depth`` moves keeps the best :data:`BEAM` partial chains per depth, scored by
grids out of band among the touched grids, then households outside the band, then
households moved, then moves, then (longest) shared boundary. A unit without households
(open land) moves only as a step that lets a later move through.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
Key = tuple[int, float, int, int, float]

MAX_DEPTH = 3
"""Longest chain (moves) of the first search; :data:`DEEP` when that finds nothing."""
DEEP = 5
"""Longest chain of the second, deeper search (only for grids the first one cannot fix)."""
BEAM = 8
"""Partial chains kept per depth."""
MEMO_ENTRIES = 50_000
"""Entries a :class:`Memo` table holds before it starts afresh (bounds its memory)."""


class Moves(Protocol):
    """The unit graph as the search walks it (:class:`gridgen.partition.moves.Moves`)."""

    @property
    def households(self) -> IntArray: ...

    @property
    def nbrs(self) -> tuple[tuple[int, ...], ...]: ...

    @property
    def shared(self) -> tuple[tuple[float, ...], ...]: ...


@dataclass(frozen=True)
class Chain:
    """Moves applied to the labels, with their effect on the touched grids."""

    labels: IntArray
    delta: dict[int, int]
    moves: tuple[tuple[tuple[int, ...], int, int], ...]
    """(units, from grid, to grid) of each move."""
    moved: int
    shared: float
    taken: frozenset[int]
    signature: frozenset[tuple[int, int]] = frozenset()
    """(unit, grid it goes to) of every move: chains that move the same units to the same
    grids in another order are one chain."""


@dataclass(frozen=True)
class Step:
    """A chain one move longer than ``parent``, built as a :class:`Chain` only when kept:
    most of the chains a search grows are scored and dropped."""

    parent: Chain
    delta: dict[int, int]
    move: tuple[tuple[int, ...], int, int]
    households: int
    shared: float

    def signature(self) -> frozenset[tuple[int, int]]:
        """Return the (unit, grid it goes to) of every move of the chain."""
        units, _src, dst = self.move
        return self.parent.signature | {(u, dst) for u in units}

    def chain(self) -> Chain:
        """Return the chain (labels not yet applied)."""
        p = self.parent
        return Chain(
            p.labels,
            self.delta,
            (*p.moves, self.move),
            p.moved + self.households,
            p.shared + self.shared,
            p.taken | frozenset(self.move[0]),
            self.signature(),
        )


def score(h: list[int], delta: dict[int, int], lo: int, hi: int) -> tuple[int, float]:
    """Return (grids out of band, households outside the band) over the touched grids."""
    count, total = 0, 0.0
    for grid, d in delta.items():
        x = h[grid] + d
        v = lo - x if x < lo else (x - hi if x > hi else 0)
        if v > 0:
            count += 1
            total += v
    return count, total


@dataclass(frozen=True)
class GridCuts:
    """A depth-first search of one grid's units: what each unit holds together.

    ``order`` lists the units in preorder; the subtree of unit ``u`` is
    ``order[pos[u]:pos[u] + size[u]]``; ``split[u]`` names the children whose subtrees fall
    off the grid when ``u`` leaves (``u`` is then an articulation point); ``connected`` is
    False when the search did not reach every unit (a grid already in pieces).
    """

    order: list[int]
    pos: dict[int, int]
    size: dict[int, int]
    split: dict[int, list[int]]
    prefix: NDArray[np.int64]
    connected: bool


@dataclass
class Memo:
    """What the searches of one :func:`gridgen.partition.moves.balance` call already found.

    Successive chains start from labels that differ by a move or two, so the same grids
    (the same units) and the same chain states come back again and again: on the walled
    city, 71% of the grid searches and half the candidate lists of a failing balance repeat
    (the lookahead's chains are searched anew after each reduction). The results depend on
    the unit graph, which is fixed for one balance call, and on the units or labels in the
    keys only, so reusing them changes nothing found.

    Attributes
    ----------
    cuts
        :func:`grid_cuts` by the grid's units (``members.tobytes()``).
    candidates
        The sorted moves of :func:`_candidates` by (labels' digest, open grids, which shed).
    """

    cuts: dict[bytes, GridCuts] = field(default_factory=dict)
    candidates: dict[
        tuple[bytes, tuple[int, ...], tuple[bool, ...]],
        list[tuple[tuple[int, int, int], float]],
    ] = field(default_factory=dict)


def grid_cuts(g: Moves, labels: IntArray, lab: int, memo: Memo | None = None) -> GridCuts:
    """Return the :class:`GridCuts` of grid ``lab`` (Tarjan's low-link, iteratively);
    ``memo``: searches of the same units already made (:class:`Memo`)."""
    units = np.flatnonzero(labels == lab)
    if memo is None:
        return _searched(g, units.tolist())
    key = units.tobytes()
    found = memo.cuts.get(key)
    if found is None:
        if len(memo.cuts) >= MEMO_ENTRIES:
            memo.cuts.clear()
        found = memo.cuts[key] = _searched(g, units.tolist())
    return found


def _searched(g: Moves, members: list[int]) -> GridCuts:
    """Return the :class:`GridCuts` of the grid made of ``members``."""
    inside = set(members)
    order: list[int] = []
    pos: dict[int, int] = {}
    size: dict[int, int] = {}
    split: dict[int, list[int]] = {}
    if members:
        root = members[0]
        low = {root: 0}
        pos[root] = 0
        order.append(root)
        stack: list[tuple[int, int, Iterator[int]]] = [(root, -1, iter(g.nbrs[root]))]
        while stack:
            u, parent, it = stack[-1]
            pushed = False
            for v in it:
                if v not in inside:
                    continue
                if v not in pos:
                    pos[v] = low[v] = len(order)
                    order.append(v)
                    stack.append((v, u, iter(g.nbrs[v])))
                    pushed = True
                    break
                if v != parent:
                    low[u] = min(low[u], pos[v])
            if pushed:
                continue
            stack.pop()
            size[u] = len(order) - pos[u]
            if not stack:
                break
            p = stack[-1][0]
            low[p] = min(low[p], low[u])
            if p == root or low[u] >= pos[p]:
                split.setdefault(p, []).append(u)
        if len(split.get(root, ())) < 2:
            split.pop(root, None)  # the root holds the grid together only with 2+ children
    hh = g.households[order] if order else np.zeros(0, dtype=np.int64)
    prefix = np.concatenate([[0], np.cumsum(hh)]).astype(np.int64)
    return GridCuts(order, pos, size, split, prefix, len(order) == len(members))


def cut_units(g: Moves, labels: IntArray, lab: int) -> set[int]:
    """Return the units of grid ``lab`` whose removal disconnects or empties it.

    The articulation points of the grid's unit graph, plus the unit of a one-unit grid.
    """
    cuts = grid_cuts(g, labels, lab)
    if len(cuts.order) <= 1:
        return set(cuts.order)
    return set(cuts.split)


def connected_parts(nbrs: Sequence[Sequence[int]], members: set[int]) -> list[list[int]]:
    """Return the connected parts of ``members`` (unit indices) on the graph ``nbrs``, in the
    order found; ``members`` is emptied."""
    parts: list[list[int]] = []
    while members:
        start = members.pop()
        part = [start]
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in nbrs[u]:
                if v in members:
                    members.discard(v)
                    part.append(v)
                    queue.append(v)
        parts.append(part)
    return parts


def branch(
    g: Moves,
    labels: IntArray,
    grid: int,
    unit: int,
    frozen: NDArray[np.bool_],
    *,
    cuts: GridCuts | None = None,
) -> tuple[int, ...] | None:
    """Return the units leaving ``grid`` with ``unit``: it and every piece of the rest of
    the grid apart from the piece holding most households (None: a frozen unit would go,
    or nothing would stay). ``cuts``: the grid's :func:`grid_cuts`, if known."""
    cuts = cuts if cuts is not None and cuts.connected else None
    if cuts is not None:
        if len(cuts.order) <= 1:
            return None
        if unit not in cuts.split:
            return (unit,)
        return _branch_from_cuts(cuts, unit, frozen)
    members = set(np.flatnonzero(labels == grid).tolist())
    members.discard(unit)
    if not members:
        return None
    parts = connected_parts(g.nbrs, members)
    if len(parts) == 1:
        return (unit,)
    hh = g.households
    parts.sort(key=lambda p: (-int(hh[p].sum()), -len(p), min(p)))
    out = [unit] + [u for p in parts[1:] for u in p]
    if frozen[out].any():
        return None
    return tuple(sorted(out))


def _branch_from_cuts(
    cuts: GridCuts, unit: int, frozen: NDArray[np.bool_]
) -> tuple[int, ...] | None:
    """Return :func:`branch` of an articulation point from the search (no new search)."""
    pieces: list[tuple[int, int, int, int]] = []  # (households, units, start, end)
    for c in cuts.split[unit]:
        a, b = cuts.pos[c], cuts.pos[c] + cuts.size[c]
        pieces.append((int(cuts.prefix[b] - cuts.prefix[a]), b - a, a, b))
    pu = cuts.pos[unit]
    own = int(cuts.prefix[pu + 1] - cuts.prefix[pu])
    rest_n = len(cuts.order) - 1 - sum(p[1] for p in pieces)
    if rest_n > 0:  # everything else: one piece (it holds the root, or joins it)
        rest_hh = int(cuts.prefix[-1]) - own - sum(p[0] for p in pieces)
        pieces.append((rest_hh, rest_n, -1, -1))
    if not pieces:
        return None
    anchor = max(range(len(pieces)), key=lambda i: (pieces[i][0], pieces[i][1], -i))
    out = [unit]
    for i, (_h, _n, a, b) in enumerate(pieces):
        if i != anchor:
            out += _rest_units(cuts, unit) if a < 0 else cuts.order[a:b]
    if frozen[out].any():
        return None
    return tuple(sorted(out))


def _rest_units(cuts: GridCuts, unit: int) -> list[int]:
    """Return the grid's units outside ``unit`` and the subtrees it splits off."""
    off = {unit}
    for c in cuts.split[unit]:
        off.update(cuts.order[cuts.pos[c] : cuts.pos[c] + cuts.size[c]])
    return [u for u in cuts.order if u not in off]


def _sorted_candidates(
    g: Moves, c: Chain, open_grids: list[int], over: dict[int, bool], memo: Memo | None
) -> list[tuple[tuple[int, int, int], float]]:
    """Return :func:`_candidates` sorted by move, from ``memo`` when seen before."""
    if memo is None:
        return sorted(_candidates(g, c, open_grids, over).items())
    digest = hashlib.blake2b(c.labels.tobytes(), digest_size=16).digest()
    key = (digest, tuple(open_grids), tuple(over[t] for t in open_grids))
    found = memo.candidates.get(key)
    if found is None:
        if len(memo.candidates) >= MEMO_ENTRIES:
            memo.candidates.clear()
        found = memo.candidates[key] = sorted(_candidates(g, c, open_grids, over).items())
    return found


def _candidates(
    g: Moves, c: Chain, open_grids: list[int], over: dict[int, bool]
) -> dict[tuple[int, int, int], float]:
    """Return ``(unit, from, to) -> shared boundary`` of the moves out of / into open grids."""
    out: dict[tuple[int, int, int], float] = {}
    labels = c.labels
    for cur in open_grids:
        shed = over[cur]
        for u in np.flatnonzero(labels == cur).tolist():
            for v, s in zip(g.nbrs[u], g.shared[u], strict=True):
                other = int(labels[v])
                if other < 0 or other == cur:
                    continue
                key = (u, cur, other) if shed else (v, other, cur)
                out[key] = out.get(key, 0.0) + s
    return out


def best_chain(
    g: Moves,
    labels: IntArray,
    grid: int,
    *,
    lo: int,
    hi: int,
    frozen: NDArray[np.bool_],
    budget: float = np.inf,
    strict: bool = True,
    h: list[int] | None = None,
    depth: int = MAX_DEPTH,
    cuts: dict[int, GridCuts] | None = None,
    memo: Memo | None = None,
) -> Chain | None:
    """Return the best improving chain started at out-of-band ``grid``, or None.

    ``strict``: only chains that leave fewer grids out of band; otherwise also chains that
    only lower the households outside the band. ``h``: households per grid, if known.
    ``cuts``: :func:`grid_cuts` of grids of ``labels`` already searched (filled as grids
    are searched; the caller drops the grids a chain it applies changes). ``memo``: what
    earlier searches on the same unit graph found (:class:`Memo`; the result is the same).
    """
    base_cuts: dict[int, GridCuts] = {} if cuts is None else cuts
    if h is None:
        k = int(labels.max()) + 1
        h = np.bincount(labels, weights=g.households, minlength=k).astype(np.int64).tolist()
    beam = [Chain(labels, {grid: 0}, (), 0, 0.0, frozenset())]
    best: Chain | None = None
    best_key: tuple[int, float, float, int, float] | None = None
    for _ in range(depth):
        grown: list[tuple[Key, int, Step]] = []
        for chain in beam:
            grown += _grown(
                g,
                chain,
                h,
                lo=lo,
                hi=hi,
                frozen=frozen,
                budget=budget,
                depth=depth,
                base_cuts=base_cuts,
                memo=memo,
            )
        grown.sort(key=lambda x: (x[0], x[1]))
        beam = []
        seen: set[frozenset[tuple[int, int]]] = set()
        for key, _n, step in grown:
            if len(beam) == BEAM and best_key is not None and key[0] > best_key[0]:
                break  # sorted: no later chain fixes as many grids, nor joins the full beam
            sig = step.signature()
            if sig in seen:
                continue
            seen.add(sig)
            base = score(h, {t: 0 for t in step.delta}, lo, hi)
            better = key[0] < base[0] if strict else key[:2] < base
            # the best chain that fixes a grid: fewest grids out of band, then fewest
            # households moved; the best reduction: least households outside the band
            final = (key[0], key[2], key[1], key[3], key[4]) if strict else key
            if better and (best_key is None or final < best_key):
                best, best_key = step.chain(), final
            if key[0] > 0 and len(beam) < BEAM:
                beam.append(_applied(step.chain()))
        if not beam:
            break
    return None if best is None else _applied(best)


def _grown(
    g: Moves,
    chain: Chain,
    h: list[int],
    *,
    lo: int,
    hi: int,
    frozen: NDArray[np.bool_],
    budget: float,
    depth: int,
    base_cuts: dict[int, GridCuts],
    memo: Memo | None = None,
) -> list[tuple[Key, int, Step]]:
    """Return the chains one move longer than ``chain`` (as :class:`Step`)."""
    changed = {m[1] for m in chain.moves} | {m[2] for m in chain.moves}
    open_grids = [t for t, d in chain.delta.items() if h[t] + d > hi or h[t] + d < lo]
    over = {t: h[t] + chain.delta[t] > hi for t in open_grids}
    out: list[tuple[Key, int, Step]] = []
    branches: dict[tuple[int, int], tuple[int, ...] | None] = {}
    cuts: dict[int, GridCuts] = {}
    hh = g.households
    for (unit, src, dst), s in _sorted_candidates(g, chain, open_grids, over, memo):
        if frozen[unit] or unit in chain.taken:
            continue
        if (unit, src) not in branches:
            if src not in cuts:
                if src in changed:
                    cuts[src] = grid_cuts(g, chain.labels, src, memo)
                else:  # as in the labels the search started from
                    if src not in base_cuts:
                        base_cuts[src] = grid_cuts(g, chain.labels, src, memo)
                    cuts[src] = base_cuts[src]
            branches[unit, src] = branch(g, chain.labels, src, unit, frozen, cuts=cuts[src])
        moving = branches[unit, src]
        if moving is None or chain.taken.intersection(moving):
            continue
        hu = int(hh[moving[0]]) if len(moving) == 1 else int(hh[list(moving)].sum())
        if chain.moved + hu > budget or (hu == 0 and len(chain.moves) + 1 >= depth):
            continue  # land without households only helps as a step to a later move
        delta = dict(chain.delta)
        delta[src] = delta.get(src, 0) - hu
        delta[dst] = delta.get(dst, 0) + hu
        key = (
            *score(h, delta, lo, hi),
            chain.moved + hu,
            len(chain.moves) + 1,
            -(chain.shared + s),
        )
        out.append((key, len(out), Step(chain, delta, (moving, src, dst), hu, s)))
    return out


def _applied(chain: Chain) -> Chain:
    """Return the chain with its last move applied to its labels."""
    if not chain.moves:
        return chain
    units, _src, dst = chain.moves[-1]
    if chain.labels[units[0]] == dst:
        return chain
    labels = chain.labels.copy()
    labels[list(units)] = dst
    return replace(chain, labels=labels)
