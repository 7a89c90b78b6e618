"""Which rows of a new plan version can be copied inside the database from its base version.

A version is stored complete (every grid row and the whole assignment), so every reader
(OGC items, tiles, :meth:`~api.store.base.Store.load_version`) reads it alone. An edit
changes few grids: the store writes those from Python and copies the others from the base
version's rows with ``INSERT ... SELECT`` in runs of consecutive positions
(:func:`copy_runs`), so a save costs the same whatever the size of the plan.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


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


__all__ = ["copy_runs", "split_rows"]
