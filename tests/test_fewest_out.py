"""The fewest grids out of band a part can have (gridgen.partition.fewest_out), the proofs
by cut units (gridgen.partition.cut_proofs), and the proofs rebalance and merge-grids
report with them: hand-checkable rows and stars of compounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgen.partition.cut_proofs import cut_pair_proof, cut_unit_proof
from gridgen.partition.exact import in_band_partition
from gridgen.partition.fewest_out import fewest_out_partition
from gridgen.partition.proofs import part_proof

BAND = (240, 360)
STAR = np.asarray([(0, 1), (0, 2), (0, 3)])
"""A compound of 100 households (unit 0) with three of 200 around it that touch only it."""
STAR_HH = np.asarray([100, 200, 200, 200])


def sums(hh: np.ndarray, labels: np.ndarray) -> list[int]:
    return sorted(int(x) for x in np.bincount(labels, weights=hh))


def test_star_leaves_two_grids_out_of_band_unless_one_holds_700() -> None:
    no = np.zeros(4, dtype=bool)
    # every grid in the band: none (the centre takes one leaf, 300; two leaves are left)
    assert in_band_partition(STAR_HH, STAR, lo=240, hi=360).status == "none"
    # one grid out of band within 120-540: none (centre + two leaves is 500, one left)
    one = fewest_out_partition(STAR_HH, STAR, stuck=no, band=BAND, most=1, window=(120, 540))
    assert one.status == "none"
    # two: found (300 | 200 | 200)
    two = fewest_out_partition(STAR_HH, STAR, stuck=no, band=BAND, most=2, window=(120, 540))
    assert two.labels is not None
    assert sum(not 240 <= s <= 360 for s in sums(STAR_HH, two.labels)) == 2
    # with grids up to twice the maximum, one grid of all 700 households
    wide = fewest_out_partition(STAR_HH, STAR, stuck=no, band=BAND, most=1, window=(1, 720))
    assert wide.labels is not None
    assert sums(STAR_HH, wide.labels) == [700]


def test_a_stuck_unit_takes_its_neighbours_only_up_to_the_window() -> None:
    # 60 | 340 | 150 | 200 | 150 in a row: the 60 can never be in band (60 + 340 = 400)
    hh = np.asarray([60, 340, 150, 200, 150])
    path = np.asarray([(0, 1), (1, 2), (2, 3), (3, 4)])
    stuck = np.asarray([True, False, False, False, False])
    # the others all in band needs the 60's grid to hold 60 + 340 + 150 = 550
    narrow = fewest_out_partition(hh, path, stuck=stuck, band=BAND, most=0, window=(120, 540))
    assert narrow.status == "none"
    wide = fewest_out_partition(hh, path, stuck=stuck, band=BAND, most=0, window=(1, 720))
    assert wide.labels is not None
    assert wide.labels.tolist() == [0, 0, 0, 1, 1]
    assert sums(hh, wide.labels) == [350, 550]


def test_a_stuck_unit_above_the_window_is_a_grid_of_its_own() -> None:
    hh = np.asarray([800, 120, 200])
    path = np.asarray([(0, 1), (1, 2)])
    stuck = np.asarray([True, False, False])
    found = fewest_out_partition(hh, path, stuck=stuck, band=BAND, most=0, window=(1, 720))
    assert found.labels is not None
    assert found.labels.tolist() == [0, 1, 1]


def test_cut_unit_proof_by_hand() -> None:
    # 200 and 245 touch each other and the 285, which touches 300 - 60: the 285 cuts off
    # 445, which no number of grids fits (360 < 445 < 480), so its grid must take at least
    # 85 of them -> 370 > 360; the 300 cuts off the 60, which its grid may take (360)
    edges = np.asarray([(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)])
    hh = np.asarray([200, 245, 285, 300, 60])
    assert cut_unit_proof(hh, edges, lo=240, hi=360) == 2
    assert part_proof(hh, edges, lo=240, hi=360) == "cut"
    assert in_band_partition(hh, edges, lo=240, hi=360).status == "none"
    # 150 - 150 - 300: 300 | 300, no proof
    path = np.asarray([(0, 1), (1, 2)])
    assert cut_unit_proof(np.asarray([150, 150, 300]), path, lo=240, hi=360) == -1


def test_cut_pair_proof_by_hand() -> None:
    # a ring 300 - 100 - 300 - 100: no single unit cuts it; the two 300s do, leaving two
    # pieces of 100 (no grid count fits 100) that must go to their grids: one grid of
    # both is 800 > 360, two grids hold 800 > 2 x 360
    ring = np.asarray([(0, 1), (1, 2), (2, 3), (0, 3)])
    hh = np.asarray([300, 100, 300, 100])
    assert cut_unit_proof(hh, ring, lo=240, hi=360) == -1
    assert cut_pair_proof(hh, ring, lo=240, hi=360) == (0, 2)
    assert in_band_partition(hh, ring, lo=240, hi=360).status == "none"
    # 250 - 100 - 250 - 100: 350 | 350, no proof
    assert cut_pair_proof(np.asarray([250, 100, 250, 100]), ring, lo=240, hi=360) is None


@st.composite
def small_graphs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A connected graph of 2-8 units (a random tree plus a few extra edges)."""
    n = draw(st.integers(2, 8))
    hh = np.asarray(draw(st.lists(st.integers(0, 380), min_size=n, max_size=n)))
    edges = {(draw(st.integers(0, v - 1)), v) for v in range(1, n)}
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            edges.add((min(a, b), max(a, b)))
    return hh, np.asarray(sorted(edges))


@settings(deadline=None)  # exhaustive searches: no per-example time limit under load
@given(small_graphs())
def test_cut_unit_proof_is_sound(graph: tuple[np.ndarray, np.ndarray]) -> None:
    hh, edges = graph
    if cut_unit_proof(hh, edges, lo=240, hi=360) >= 0:
        assert in_band_partition(hh, edges, lo=240, hi=360, budget=10**6).status == "none"
    if cut_pair_proof(hh, edges, lo=240, hi=360) is not None:
        assert in_band_partition(hh, edges, lo=240, hi=360, budget=10**6).status == "none"


@settings(deadline=None)  # exhaustive searches: no per-example time limit under load
@given(small_graphs())
def test_fewest_out_agrees_with_the_exhaustive_search(
    graph: tuple[np.ndarray, np.ndarray],
) -> None:
    hh, edges = graph
    no = np.zeros(len(hh), dtype=bool)
    exact = in_band_partition(hh, edges, lo=240, hi=360, budget=10**6).status
    mine = fewest_out_partition(hh, edges, stuck=no, band=BAND, most=0, window=(1, 720))
    assert (mine.status == "found") == (exact == "found")
    if mine.labels is not None:
        s = np.bincount(mine.labels, weights=hh)
        assert ((s == 0) | ((s >= 240) & (s <= 360))).all()


def test_settle_leaves_fewer_grids_out_of_band_where_none_can_be_in() -> None:
    from partition_helpers import row_of_compounds

    from gridgen.partition.exact_fixes import exact_if_better
    from gridgen.partition.units import build_units

    # 180 | 180 | 180 | 180 180: three grids of 180 below the band and no division has all
    # in it (900 in a row of 180s: one 180 is always left); 360 | 360 | 180 leaves one
    units = build_units(row_of_compounds([180] * 5), "C1", band_max=360)
    assert units.unit_ids[:5] == ("K00", "K01", "K02", "K03", "K04")
    start = np.asarray([0, 1, 2, 3, 3, 3, 0], dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    fixed = exact_if_better(units, start, stuck=none, band=BAND, cost_per_fix=800)
    assert [s for s in sums(units.households, fixed) if s] == [180, 360, 360]


def test_band_problems_prove_a_grid_next_to_a_stuck_one() -> None:
    from partition_helpers import row_of_compounds

    from gridgen.partition.moves import Moves
    from gridgen.partition.settle import band_problems, stuck_units
    from gridgen.partition.units import build_units
    from gridgen.rules import RuleKind

    # 60 340 | 150 200 | 150: the 60 is stuck (60 + 340 = 400); the last 150 reaches the
    # band only if the 60's grid takes 60 + 340 + 150 = 550 (then 200 + 150 = 350)
    units = build_units(row_of_compounds([60, 340, 150, 200, 150]), "C1", band_max=360)
    g = Moves.from_edges(units.households, units.edges, units.shared_length)
    stuck = stuck_units(units, g, lo=240, hi=360)
    assert stuck.tolist() == [0]
    labels = np.asarray([0, 0, 1, 1, 2, 2, 0], dtype=np.int64)
    problems = band_problems(units, labels, ["G0", "G1", "G2"], stuck=stuck, lo=240, hi=360)
    by_grid = {p.grid_id: p for p in problems}
    assert set(by_grid) == {"G0", "G2"}
    assert by_grid["G0"].kind == RuleKind.UNBALANCEABLE
    assert by_grid["G2"].kind == RuleKind.UNSPLITTABLE  # was below_band: no fix found
    assert "each holding at most 540 households): grid G2 is the one" in by_grid["G2"].reason


@settings(deadline=None)
@given(small_graphs(), st.lists(st.booleans(), min_size=8, max_size=8))
def test_cut_proofs_with_stuck_units_are_sound(
    graph: tuple[np.ndarray, np.ndarray], flags: list[bool]
) -> None:
    from gridgen.partition.cut_proofs import cut_proof

    hh, edges = graph
    stuck = np.asarray(flags[: len(hh)])
    if cut_proof(hh, edges, band=BAND, stuck=stuck, cap=540):
        found = fewest_out_partition(hh, edges, stuck=stuck, band=BAND, most=0, window=(1, 540))
        assert found.status == "none"


def _set_partitions(items: list[int]) -> list[list[list[int]]]:
    """Every partition of ``items`` into blocks."""
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for part in _set_partitions(rest):
        out.append([[first], *part])
        for i in range(len(part)):
            out.append([*part[:i], [first, *part[i]], *part[i + 1 :]])
    return out


def _fewest_by_brute_force(
    hh: np.ndarray, edges: np.ndarray, stuck: np.ndarray, window: tuple[int, int]
) -> int | None:
    """The fewest regions out of band (stuck ones aside) over every division into connected
    regions within ``window`` (None: no such division)."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(len(hh)))
    graph.add_edges_from(edges.tolist())
    best = None
    for part in _set_partitions(list(range(len(hh)))):
        out = 0
        for block in part:
            total = int(hh[block].sum())
            if not nx.is_connected(graph.subgraph(block)):
                break
            if total == 0:
                continue  # land joins a neighbour (here: its own region, no households)
            if stuck[block].any():
                if total > window[1] and len(block) > 1:
                    break
            elif not 240 <= total <= 360:
                if not window[0] <= total <= window[1]:
                    break
                out += 1
        else:
            best = out if best is None else min(best, out)
    return best


@settings(deadline=None)
@given(small_graphs(), st.lists(st.booleans(), min_size=8, max_size=8))
def test_fewest_out_agrees_with_brute_force(
    graph: tuple[np.ndarray, np.ndarray], flags: list[bool]
) -> None:
    hh, edges = graph
    if len(hh) > 6:  # brute force over every set partition: at most 203 of them
        hh, edges = hh[:6], edges[(edges < 6).all(axis=1)]
    stuck = np.asarray(flags[: len(hh)])
    window = (120, 540)
    best = _fewest_by_brute_force(hh, edges, stuck, window)
    if best is None:
        return
    found = fewest_out_partition(hh, edges, stuck=stuck, band=BAND, most=best, window=window)
    assert found.status == "found"
    if best > 0:
        fewer = fewest_out_partition(
            hh, edges, stuck=stuck, band=BAND, most=best - 1, window=window
        )
        assert fewer.status == "none"
