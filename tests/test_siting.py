"""Siting: exact and greedy covering against brute force and spopt's MCLP."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from coverage_helpers import UTM, pt, small_dataset

from gridgen.coverage.covering import solve_max_cover, solve_min_cover
from gridgen.coverage.siting import coverage_matrix, maximal_covering, minimal_stations
from gridgen.errors import InfeasibleError, ParameterError


def random_instance(seed: int, n_d: int = 14, n_c: int = 9, density: float = 0.25):
    rng = np.random.default_rng(seed)
    a = sp.csr_array(rng.random((n_d, n_c)) < density)
    w = rng.integers(1, 100, n_d).astype(float)
    return a, w


def brute_max(a: sp.csr_array, w: np.ndarray, k: int) -> float:
    dense = a.toarray()
    return max(
        float(w[dense[:, list(c)].any(axis=1)].sum())
        for c in itertools.combinations(range(dense.shape[1]), k)
    )


def brute_min(a: sp.csr_array, w: np.ndarray, need: float) -> int:
    dense = a.toarray()
    for k in range(1, dense.shape[1] + 1):
        for c in itertools.combinations(range(dense.shape[1]), k):
            if w[dense[:, list(c)].any(axis=1)].sum() >= need:
                return k
    raise AssertionError("infeasible")


def covered_weight(a: sp.csr_array, w: np.ndarray, chosen: np.ndarray) -> float:
    return float(w[a.toarray()[:, chosen].any(axis=1)].sum())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_max_cover_equals_brute_force(seed: int, k: int) -> None:
    a, w = random_instance(seed)
    best = brute_max(a, w, k)
    exact = solve_max_cover(a, w, k, exact=True)
    assert exact.objective == pytest.approx(best)
    assert covered_weight(a, w, exact.chosen) == pytest.approx(best)
    assert exact.status == "optimal" and exact.gap == pytest.approx(0.0)
    greedy = solve_max_cover(a, w, k, exact=False)
    assert greedy.method == "greedy"
    assert greedy.objective <= best + 1e-9 <= greedy.bound + 2e-9
    assert greedy.objective >= (1 - 1 / np.e) * best - 1e-9
    if greedy.objective < best - 1e-9:
        assert greedy.status == "heuristic" and greedy.gap > 0


@pytest.mark.parametrize("seed", range(6))
def test_min_cover_equals_brute_force(seed: int) -> None:
    a, w = random_instance(seed)
    reach = float(w[a.toarray().any(axis=1)].sum())
    need = 0.8 * reach
    best = brute_min(a, w, need)
    exact = solve_min_cover(a, w, need, exact=True)
    assert exact.objective == best and len(exact.chosen) == best
    assert covered_weight(a, w, exact.chosen) >= need
    greedy = solve_min_cover(a, w, need, exact=False)
    assert greedy.bound <= best <= greedy.objective
    with pytest.raises(InfeasibleError, match="target share"):
        solve_min_cover(a, w, reach + 1)


def test_time_limit_is_not_called_optimal() -> None:
    a, w = random_instance(7, n_d=3000, n_c=600, density=0.01)
    sol = solve_max_cover(a, w, 40, exact=True, time_limit=0.05)
    assert sol.method == "highs" and sol.status == "time_limit"
    assert sol.bound > sol.objective and sol.gap > 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_matches_spopt_mclp_objective() -> None:
    pulp = pytest.importorskip("pulp", reason="the peer comparison needs the bench extra")
    MCLP = pytest.importorskip("spopt.locate", reason="needs the bench extra").MCLP
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 3000, (60, 2))
    facilities = rng.uniform(0, 3000, (25, 2))
    weights = rng.integers(10, 300, 60).astype(float)
    cost = np.hypot(*(demand[:, None, :] - facilities[None, :, :]).transpose(2, 0, 1))
    radius, k, existing = 600.0, 4, np.array([0, 1, 2])
    predefined = np.zeros(25, dtype=int)
    predefined[existing] = 1
    model = MCLP.from_cost_matrix(
        cost,
        weights,
        service_radius=radius,
        p_facilities=k + len(existing),
        predefined_facilities_arr=predefined,
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    assert model.problem.status == 1 and model.problem.sol_status == 1  # proved optimal
    spopt_obj = pulp.value(model.problem.objective)
    within = cost <= radius
    already = within[:, existing].any(axis=1)
    rest = np.setdiff1d(np.arange(25), existing)
    a = sp.csr_array(within[~already][:, rest])
    ours = solve_max_cover(a, weights[~already], k, exact=True)
    assert ours.status == "optimal"
    assert weights[already].sum() + ours.objective == pytest.approx(spopt_obj)


def test_maximal_covering_on_the_small_network() -> None:
    ds = small_dataset()
    one = maximal_covering(ds, k=1)
    assert one.newly_covered_households == 200  # B2 (200 hh) beats B4 (80) and B3 (50)
    assert one.sites["candidate_id"].tolist() == ["compound:K2"]
    assert one.sites.crs.to_epsg() == 4326
    assert one.covered_share_before == pytest.approx(100 / 430)
    assert one.covered_share_after == pytest.approx(300 / 430)
    assert one.status == "optimal" and one.gap == 0.0
    assert set(one.uncovered_building_ids) == {"B3", "B4"}
    three = maximal_covering(ds, k=3)
    assert three.newly_covered_households == 330 and three.covered_share_after == 1.0
    assert three.sites["newly_covered_households"].tolist() == [200, 80, 50]
    assert three.uncovered_building_ids == ()


def test_minimal_stations_on_the_small_network() -> None:
    ds = small_dataset()
    res = minimal_stations(ds, target_share=0.9)
    assert len(res.sites) == 3 and res.bound == 3 and res.status == "optimal"
    assert minimal_stations(ds, target_share=0.2).status == "target_met"
    assert len(minimal_stations(ds, target_share=0.6).sites) == 1


def test_supplied_candidates_and_line_mode() -> None:
    ds = small_dataset()
    layer = gpd.GeoDataFrame(
        {"candidate_id": ["far", "near_b4"]}, geometry=[pt(3000, 3000), pt(515, -200)], crs=UTM
    )
    res = maximal_covering(ds, k=1, candidates=layer, mode="line")
    assert res.sites["candidate_id"].tolist() == ["near_b4"]
    assert res.newly_covered_households == 80 + 50 * 0  # B3 is 2 km away


def test_walk_coverage_matrix_uses_network_distance() -> None:
    ds = small_dataset()
    # B2 (1030,300) and a site at (1030,-200): 500 m apart in a line, but the walk is
    # 30 + 300 + 200 + 30 = 560 along the L road
    demand = np.array([pt(1030, 300)], dtype=object)
    site = np.array([pt(1030, -200)], dtype=object)
    metric_demand = gpd.GeoSeries(demand, crs=UTM).to_numpy()
    metric_site = gpd.GeoSeries(site, crs=UTM).to_numpy()
    assert coverage_matrix(ds, metric_demand, metric_site, radius=500, mode="line").nnz == 1
    assert coverage_matrix(ds, metric_demand, metric_site, radius=500, mode="walk").nnz == 0
    assert coverage_matrix(ds, metric_demand, metric_site, radius=560.01, mode="walk").nnz == 1


def test_bad_parameters() -> None:
    ds = small_dataset()
    with pytest.raises(ParameterError, match="k"):
        maximal_covering(ds, k=0)
    with pytest.raises(ParameterError, match="radius"):
        maximal_covering(ds, k=1, radius=-1)
    with pytest.raises(ParameterError, match="mode"):
        maximal_covering(ds, k=1, mode="bike")
    with pytest.raises(ParameterError, match="target_share"):
        minimal_stations(ds, target_share=1.5)
