"""Covering solvers: which candidate columns cover the most weighted rows, or a share.

Exact: a MILP solved by HiGHS (:mod:`highspy`) under a time limit, started from the
greedy solution. Greedy: lazy greedy with a priority queue (see
:mod:`gridgen.coverage.siting` for the bounds reported). The input is a sparse 0/1
matrix (rows: demand, columns: candidates) and row weights; the siting functions of
:mod:`gridgen.coverage.siting` build it from a dataset.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gridgen.errors import InfeasibleError

EXACT_MAX_NONZEROS = 3_000_000
"""Largest coverage matrix (demand × candidate pairs) handed to the MILP by default."""


@dataclass(frozen=True)
class CoverSolution:
    """A solution of a covering problem on a coverage matrix (candidate indices)."""

    chosen: NDArray[np.int64]
    objective: float
    bound: float
    bound_kind: str
    method: str
    status: str

    @property
    def gap(self) -> float:
        """Return the relative gap between objective and bound (0 if equal)."""
        hi, lo = max(self.bound, self.objective), min(self.bound, self.objective)
        return 0.0 if hi <= 0 else float((hi - lo) / hi)


# ----------------------------------------------------------------------------- candidates


def _column_gains(a_csc: sp.csc_array, weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the weight each column covers (``A.T @ w``)."""
    return np.asarray(a_csc.T @ weights, dtype=np.float64)


def greedy_max_cover(a: sp.csr_array, weights: NDArray[np.float64], k: int) -> CoverSolution:
    """Return the lazy-greedy maximal covering of ``k`` columns with its data-dependent bound."""
    a_csc = sp.csc_array(a, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    gains0 = _column_gains(a_csc, w)
    start_bound = float(np.sort(gains0)[::-1][:k].sum())
    heap = [(-g, j) for j, g in enumerate(gains0) if g > 0]
    heapq.heapify(heap)
    alive = w.copy()
    chosen: list[int] = []
    total = 0.0
    indptr, indices = a_csc.indptr, a_csc.indices
    while heap and len(chosen) < k:
        _neg, j = heapq.heappop(heap)
        rows = indices[indptr[j] : indptr[j + 1]]
        gain = float(alive[rows].sum())
        if gain <= 0:
            continue
        if heap and gain < -heap[0][0] - 1e-9:
            heapq.heappush(heap, (-gain, j))
            continue
        chosen.append(j)
        total += gain
        alive[rows] = 0.0
    end_gains = _column_gains(a_csc, alive)
    end_bound = total + float(np.sort(end_gains)[::-1][:k].sum())
    ratio_bound = total / (1.0 - 1.0 / math.e)
    options = [(start_bound, "lp_topk"), (end_bound, "lp_topk"), (ratio_bound, "greedy_1-1/e")]
    bound, kind = min(options, key=lambda t: t[0])
    status = "optimal" if bound <= total + 1e-9 else "heuristic"
    return CoverSolution(
        np.asarray(chosen, dtype=np.int64), total, max(bound, total), kind, "greedy", status
    )


def greedy_min_cover(a: sp.csr_array, weights: NDArray[np.float64], need: float) -> CoverSolution:
    """Return greedy fewest columns covering ``need`` weight, with a lower bound on the count."""
    a_csc = sp.csc_array(a, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    gains0 = _column_gains(a_csc, w)
    cum = np.cumsum(np.sort(gains0)[::-1])
    lower = float(np.searchsorted(cum, need - 1e-9) + 1)
    heap = [(-g, j) for j, g in enumerate(gains0) if g > 0]
    heapq.heapify(heap)
    alive = w.copy()
    chosen: list[int] = []
    total = 0.0
    indptr, indices = a_csc.indptr, a_csc.indices
    while heap and total < need - 1e-9:
        _neg, j = heapq.heappop(heap)
        rows = indices[indptr[j] : indptr[j + 1]]
        gain = float(alive[rows].sum())
        if gain <= 0:
            continue
        if heap and gain < -heap[0][0] - 1e-9:
            heapq.heappush(heap, (-gain, j))
            continue
        chosen.append(j)
        total += gain
        alive[rows] = 0.0
    count = float(len(chosen))
    status = "optimal" if lower >= count else "heuristic"
    return CoverSolution(
        np.asarray(chosen, dtype=np.int64),
        count,
        min(lower, count),
        "topk_singletons",
        "greedy",
        status,
    )


def _highs_cover(
    a: sp.csr_array,
    weights: NDArray[np.float64],
    *,
    k: int | None,
    need: float | None,
    start: NDArray[np.int64],
    time_limit: float,
) -> tuple[NDArray[np.int64], float, float, str]:
    """Solve max covering (``k``) or min partial cover (``need``) with HiGHS.

    Variables: ``x_j`` binary per candidate, ``y_i`` in [0, 1] per demand; rows
    ``y_i - sum_{j covers i} x_j <= 0``, plus ``sum x <= k`` or ``sum w y >= need``.

    Returns chosen columns, objective, dual bound and status (``optimal``/``time_limit``/...).
    """
    import highspy

    n_d, n_c = a.shape
    w = np.asarray(weights, dtype=np.float64)
    cover = sp.hstack(
        [-sp.csr_array(a, dtype=np.float64), sp.eye_array(n_d, format="csr")], format="csr"
    )
    if k is not None:
        extra = sp.csr_array(np.concatenate([np.ones(n_c), np.zeros(n_d)])[None, :])
        cost = np.concatenate([np.zeros(n_c), w])
        extra_lo, extra_hi = -np.inf, float(k)
        sense = highspy.ObjSense.kMaximize
    else:
        extra = sp.csr_array(np.concatenate([np.zeros(n_c), w])[None, :])
        cost = np.concatenate([np.ones(n_c), np.zeros(n_d)])
        extra_lo, extra_hi = float(need or 0.0), np.inf
        sense = highspy.ObjSense.kMinimize
    mat = sp.csc_array(sp.vstack([cover, extra], format="csc"))
    lp = highspy.HighsLp()
    lp.num_col_ = n_c + n_d
    lp.num_row_ = n_d + 1
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_c + n_d)
    lp.col_upper_ = np.ones(n_c + n_d)
    lp.row_lower_ = np.concatenate([np.full(n_d, -np.inf), [extra_lo]])
    lp.row_upper_ = np.concatenate([np.zeros(n_d), [extra_hi]])
    lp.sense_ = sense
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_c + [
        highspy.HighsVarType.kContinuous
    ] * n_d
    with _quiet_stdout():  # HiGHS prints a banner on construction, before options apply
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    if len(start):
        x0 = np.zeros(n_c + n_d)
        x0[start] = 1.0
        covered = np.asarray(sp.csr_array(a, dtype=np.float64) @ x0[:n_c]) > 0
        x0[n_c:] = covered.astype(float)
        sol = highspy.HighsSolution()
        sol.col_value = list(x0)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    status = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
    }.get(model_status, h.modelStatusToString(model_status).lower().replace(" ", "_"))
    values = np.asarray(h.getSolution().col_value, dtype=np.float64)
    if values.shape[0] != n_c + n_d:
        return np.zeros(0, dtype=np.int64), math.nan, math.nan, status
    chosen = np.flatnonzero(values[:n_c] > 0.5).astype(np.int64)
    return chosen, float(info.objective_function_value), float(info.mip_dual_bound), status


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the process's C-level stdout (file descriptor 1) inside the block."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable stdout: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def solve_max_cover(
    a: sp.csr_array,
    weights: NDArray[np.float64],
    k: int,
    *,
    exact: bool | None = None,
    time_limit: float = 20.0,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
) -> CoverSolution:
    """Return ``k`` columns of ``a`` covering the most weight (maximal covering).

    Parameters
    ----------
    a
        Boolean coverage matrix, demand × candidates.
    weights
        Demand weights (households).
    k
        Number of columns to choose.
    exact
        ``True``: HiGHS MILP; ``False``: greedy only; ``None``: MILP when ``a`` has at most
        ``exact_max_nonzeros`` stored pairs.
    time_limit
        Seconds for HiGHS; on a time-out the best solution is kept with its gap.
    """
    greedy = greedy_max_cover(a, weights, k)
    use_exact = exact if exact is not None else a.nnz <= exact_max_nonzeros
    if not use_exact or greedy.status == "optimal" or a.nnz == 0:
        return greedy
    chosen, obj, dual, status = _highs_cover(
        a, weights, k=k, need=None, start=greedy.chosen, time_limit=time_limit
    )
    if (len(chosen) == 0 and greedy.objective > 0) or not math.isfinite(obj):
        return greedy
    if obj < greedy.objective - 1e-9:
        chosen, obj = greedy.chosen, greedy.objective
    bound = min(dual, greedy.bound) if math.isfinite(dual) else greedy.bound
    if status == "optimal":
        bound = obj
    return CoverSolution(chosen, obj, max(bound, obj), "highs_dual", "highs", status)


def solve_min_cover(
    a: sp.csr_array,
    weights: NDArray[np.float64],
    need: float,
    *,
    exact: bool | None = None,
    time_limit: float = 20.0,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
) -> CoverSolution:
    """Return the fewest columns of ``a`` covering at least ``need`` weight (partial set cover).

    Raises
    ------
    InfeasibleError
        When all columns together cover less than ``need``.
    """
    reach = float(np.asarray(weights)[np.asarray(a.sum(axis=1)).ravel() > 0].sum())
    if reach < need - 1e-9:
        msg = (
            f"the candidates can cover at most {reach:.0f} of the {need:.0f} households "
            "needed: lower the target share, raise the radius or supply more candidates"
        )
        raise InfeasibleError(msg)
    greedy = greedy_min_cover(a, weights, need)
    use_exact = exact if exact is not None else a.nnz <= exact_max_nonzeros
    if not use_exact or greedy.status == "optimal":
        return greedy
    chosen, obj, dual, status = _highs_cover(
        a, weights, k=None, need=need, start=greedy.chosen, time_limit=time_limit
    )
    if not math.isfinite(obj) or len(chosen) == 0 or obj > greedy.objective:
        chosen, obj = greedy.chosen, greedy.objective
    bound = max(math.ceil(dual - 1e-6), greedy.bound) if math.isfinite(dual) else greedy.bound
    if status == "optimal":
        bound = obj
    return CoverSolution(chosen, obj, min(bound, obj), "highs_dual", "highs", status)


# ----------------------------------------------------------------------------- dataset API
