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
