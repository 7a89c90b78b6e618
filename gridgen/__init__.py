"""gridgen: community grid governance (网格化治理) geometry and algorithms.

Pure algorithms on validated GeoDataFrames; file and database I/O live in the ``io``
subpackage. ``gridgen`` never imports ``api``, ``maps`` or ``gridgen_cli``.

The public entry points, as osmnx and momepy expose theirs::

    import gridgen

    ds = gridgen.load_sample()                      # or gridgen.read_dataset("city.gpkg")
    plan = gridgen.partition_dataset(ds, target=300)
    audit = gridgen.audit_grids(ds, plan.grids)
    fixed = gridgen.rebalance(ds, plan.grids, assignment=plan.assignment)
    cov = gridgen.station_coverage(ds, radius=gridgen.DEFAULT_RADIUS_M)
    table = gridgen.coverage_by_level(ds, cov, level="community")
    report = gridgen.figures_dict(gridgen.governance_figures(ds, plan=plan))

Everything else is reached through its module (``gridgen.partition.planner`` for edits,
``gridgen.io.plan`` for plan files, ``gridgen.distributed`` for clusters ...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridgen.coverage.figure_changes import report_figures
    from gridgen.coverage.figures import figures_dict, governance_figures
    from gridgen.coverage.siting import maximal_covering, minimal_stations
    from gridgen.coverage.stations import DEFAULT_RADIUS_M, coverage_by_level, station_coverage
    from gridgen.dataset import Dataset
    from gridgen.distributed.executor import Executor
    from gridgen.errors import GridgenError
    from gridgen.io.grids import read_grid_layer
    from gridgen.io.plan import read_plan, write_plan
    from gridgen.io.read import load_sample, read_dataset
    from gridgen.levels import LEVELS
    from gridgen.partition.audit import Audit, audit_grids
    from gridgen.partition.community import partition_dataset
    from gridgen.partition.merge import merge_layers
    from gridgen.partition.plan import Plan, Problem
    from gridgen.partition.rebalance import rebalance
    from gridgen.rules import RuleKind
    from gridgen.version import __version__

_HOMES: dict[str, str] = {
    "Audit": "gridgen.partition.audit",
    "DEFAULT_RADIUS_M": "gridgen.coverage.stations",
    "Dataset": "gridgen.dataset",
    "Executor": "gridgen.distributed.executor",
    "GridgenError": "gridgen.errors",
    "LEVELS": "gridgen.levels",
    "Plan": "gridgen.partition.plan",
    "Problem": "gridgen.partition.plan",
    "RuleKind": "gridgen.rules",
    "__version__": "gridgen.version",
    "audit_grids": "gridgen.partition.audit",
    "coverage_by_level": "gridgen.coverage.stations",
    "figures_dict": "gridgen.coverage.figures",
    "governance_figures": "gridgen.coverage.figures",
    "load_sample": "gridgen.io.read",
    "maximal_covering": "gridgen.coverage.siting",
    "merge_layers": "gridgen.partition.merge",
    "minimal_stations": "gridgen.coverage.siting",
    "partition_dataset": "gridgen.partition.community",
    "read_dataset": "gridgen.io.read",
    "read_grid_layer": "gridgen.io.grids",
    "read_plan": "gridgen.io.plan",
    "rebalance": "gridgen.partition.rebalance",
    "report_figures": "gridgen.coverage.figure_changes",
    "station_coverage": "gridgen.coverage.stations",
    "write_plan": "gridgen.io.plan",
}
"""The module of every public name. They are imported when first used (PEP 562), so that
``import gridgen`` and every ``gridgen`` command line start without loading the coverage,
merge and rebalance stacks a command does not need."""


def __getattr__(name: str) -> Any:
    """Return the public name ``name`` from its module, imported on first use."""
    home = _HOMES.get(name)
    if home is None:
        msg = f"module 'gridgen' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_RADIUS_M",
    "LEVELS",
    "Audit",
    "Dataset",
    "Executor",
    "GridgenError",
    "Plan",
    "Problem",
    "RuleKind",
    "__version__",
    "audit_grids",
    "coverage_by_level",
    "figures_dict",
    "governance_figures",
    "load_sample",
    "maximal_covering",
    "merge_layers",
    "minimal_stations",
    "partition_dataset",
    "read_dataset",
    "read_grid_layer",
    "read_plan",
    "rebalance",
    "report_figures",
    "station_coverage",
    "write_plan",
]


def __dir__() -> list[str]:
    """Return the public names, with those not yet imported."""
    return sorted({*globals(), *__all__})
