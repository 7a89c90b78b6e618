"""One community's grids as drawn over its unit graph, before ids are given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.plan import Problem
from gridgen.partition.units import UnitGraph


@dataclass(frozen=True, eq=False)
class Drawing:
    """Grids drawn over one unit graph (metric CRS), before ids are given."""

    units: UnitGraph
    labels: NDArray[np.int64]
    geoms: NDArray[np.object_]
    problems: tuple[Problem, ...]
    infeasible: str
    detached: tuple[tuple[int, float, tuple[str, ...]], ...] = ()
    """Parts of the community too small to form a grid: (label, area m², building ids)."""
