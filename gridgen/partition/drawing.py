"""One community's grids as drawn over its unit graph, before ids are given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.finish import Detached
from gridgen.partition.plan import Problem
from gridgen.partition.units import UnitGraph


@dataclass(frozen=True, eq=False)
class Drawing:
    """Grids drawn over one unit graph (``geoms`` in the metric CRS), before ids are given."""

    units: UnitGraph
    labels: NDArray[np.int64]
    geoms: NDArray[np.object_]
    problems: tuple[Problem, ...]
    infeasible: str
    unbalanceable: NDArray[np.int64]
    """Units below the band minimum that no in-band grid can hold
    (:func:`gridgen.partition.proofs.unbalanceable_units`), found once per drawing."""
    detached: tuple[Detached, ...] = ()
    """Parts of grids that are separate pieces of the community (see ``finish``)."""
    wgs84: NDArray[np.object_] | None = None
    """The finished grids in EPSG:4326 (valid in every output CRS), index = label."""
    proofs: tuple[tuple[NDArray[np.int64], str], ...] = ()
    """Connected parts proven to hold a grid out of band whatever the plan: their units and
    the proof (:func:`gridgen.partition.proofs.unsplittable_problems` reports them)."""
