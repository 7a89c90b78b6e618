"""Which rows of a new plan version can be copied inside the database from its base version.

A version is stored complete (every grid row and the whole assignment), so every reader
(OGC items, tiles, :meth:`~api.store.base.Store.load_version`) reads it alone. An edit
changes few grids: the store writes those from Python and copies the others from the base
version's rows with ``INSERT ... SELECT`` in runs of consecutive positions
(:func:`copy_runs`), so a save costs the same whatever the size of the plan.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

MAX_PATCH = 200
"""Most buildings an assignment patch names (SQLite's ``json_patch`` looks each one up in the
whole object: 5 ms for 23 buildings of 37,505, 45 ms for 500)."""


def split_rows(
    ids: Sequence[str], changed: Collection[str], base_idx: Mapping[str, int]
) -> tuple[list[tuple[int, int]], list[int]]:
    """Return ((new position, base position) of copied rows, new positions to write).

    ``ids`` are the grid ids of the new version in stored order; a grid is copied when it
    is not in ``changed`` and the base version has it (at ``base_idx[id]``).
    """
    changed_set = set(changed)
    copied: list[tuple[int, int]] = []
    fresh: list[int] = []
    for i, gid in enumerate(ids):
        at = base_idx.get(gid)
        if at is None or gid in changed_set:
            fresh.append(i)
        else:
            copied.append((i, at))
    return copied, fresh


def copy_runs(copied: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Return ``(first base position, last base position, shift)`` runs of ``copied``.

    Consecutive base positions that keep the same shift (new - base) form one run, copied
    by one ``INSERT ... SELECT ... WHERE idx BETWEEN first AND last`` with ``idx + shift``.
    """
    runs: list[tuple[int, int, int]] = []
    for new, old in copied:
        shift = new - old
        if runs and runs[-1][2] == shift and runs[-1][1] == old - 1:
            runs[-1] = (runs[-1][0], old, shift)
        else:
            runs.append((old, old, shift))
    return runs


def assignment_patch(base: pd.DataFrame, new: pd.DataFrame) -> dict[str, str] | None:
    """Return ``{building: new grid}`` where ``new`` differs from ``base``, or None.

    None when the buildings or their order differ (the stored object would not read back in
    ``new``'s order) or when more than :data:`MAX_PATCH` buildings changed grid.
    """
    if len(base) != len(new):
        return None
    ids = new["building_id"].to_numpy(dtype=object)
    if not np.array_equal(base["building_id"].to_numpy(dtype=object), ids):
        return None
    grids = new["grid_id"].to_numpy(dtype=object)
    diff = base["grid_id"].to_numpy(dtype=object) != grids
    if int(diff.sum()) > MAX_PATCH:
        return None
    return {str(b): str(g) for b, g in zip(ids[diff].tolist(), grids[diff].tolist(), strict=True)}


__all__ = ["assignment_patch", "copy_runs", "split_rows"]
