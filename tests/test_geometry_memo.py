"""Results remembered by the bytes of the geometry they were computed from."""

from __future__ import annotations

import numpy as np
from partition_helpers import make_dataset
from shapely.geometry import box

from gridgen.partition import geometry_memo
from gridgen.partition.geometry_memo import remembered


def test_the_same_bytes_are_computed_once_and_any_change_afresh() -> None:
    ds = make_dataset([("C1", box(0, 0, 100, 100))], [], [("B1", None, 10, box(1, 1, 9, 9), "C1")])
    calls: list[int] = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(3)

    grids = np.asarray([box(0, 0, 50, 100), box(50, 0, 100, 100)], dtype=object)
    first = remembered(ds, "f", grids, compute)
    first[0] = 99  # a caller changing its copy changes nothing remembered
    again = remembered(ds, "f", np.asarray([box(0, 0, 50, 100), box(50, 0, 100, 100)]), compute)
    assert len(calls) == 1 and again.tolist() == [0, 1, 2]
    remembered(ds, "f", np.asarray([box(0, 0, 50, 100), box(50, 0, 100, 100.001)]), compute)
    remembered(ds, "f", grids, compute, also=["C2", "C2"])  # other inputs: computed again
    remembered(ds, "g", grids, compute)  # another function: its own results
    assert len(calls) == 4
    for k in range(geometry_memo.KEEP):  # the oldest result is dropped past KEEP
        remembered(ds, "f", np.asarray([box(0, 0, 10 + k, 10)]), compute)
    remembered(ds, "f", grids, compute)
    assert len(calls) == 4 + geometry_memo.KEEP + 1


def test_a_dataset_with_remembered_results_still_pickles() -> None:
    """Datasets go to Dask workers and spawned processes by pickle: the memo (its lock)
    must not stop them; it arrives empty."""
    import pickle

    ds = make_dataset([("C1", box(0, 0, 100, 100))], [], [("B1", None, 10, box(1, 1, 9, 9), "C1")])
    grids = np.asarray([box(0, 0, 100, 100)], dtype=object)
    remembered(ds, "f", grids, lambda: 1)
    back = pickle.loads(pickle.dumps(ds))
    assert remembered(back, "f", grids, lambda: 2) == 2
