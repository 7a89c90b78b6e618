"""Run a previous gridgen's rebalance or merge-grids on files, for ``bench/rebalance.py``.

Started by ``bench/rebalance.py`` in a subprocess whose ``PYTHONPATH`` puts another
checkout of gridgen (``git archive main``) first, so the previous engine runs on the same
inputs in the same benchmark run. Only library calls every recent version has are used.

Run: ``python bench/rebalance_previous.py JOB_DIR`` where ``JOB_DIR`` holds ``job.json``
(``{"task": "rebalance" | "merge", "band": [lo, hi]}``), the raw layers
(``layer_<name>.pkl``) and ``grids.pkl`` + ``assignment.pkl`` (rebalance) or
``grids_0.pkl``, ``grids_1.pkl``... (merge). It writes ``out_grids.pkl``,
``out_assignment.pkl`` and ``out.json`` (seconds, problems as (kind, community, grid, building)).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd


def main() -> None:
    job = Path(sys.argv[1])
    spec = json.loads((job / "job.json").read_text(encoding="utf-8"))
    from gridgen.schema import DATASET_LAYERS
    from gridgen.validate.layers import validate_layers

    raw = {p.stem[len("layer_") :]: pd.read_pickle(p) for p in sorted(job.glob("layer_*.pkl"))}
    # layers added since the previous engine (the barriers layer) are left out: it never
    # knew them, so it plans without them
    raw = {name: frame for name, frame in raw.items() if name in DATASET_LAYERS}
    ds = validate_layers(raw, source="bench")
    for name in ds.layers:  # projected before timing, as the bench's own rows are
        ds.metric(name)
    band = tuple(spec["band"])
    if spec["task"] == "rebalance":
        from gridgen.partition.rebalance import rebalance

        def run() -> Any:
            return rebalance(
                ds,
                pd.read_pickle(job / "grids.pkl"),
                assignment=pd.read_pickle(job / "assignment.pkl"),
                band=band,
            )

        runs = 2  # the faster of two, as the bench times its own rebalance rows (TIMED_RUNS)
    else:
        from gridgen.partition.merge import merge_layers

        layers = [pd.read_pickle(p) for p in sorted(job.glob("grids_*.pkl"))]

        def run() -> Any:
            return merge_layers(ds, layers, band=band)

        runs = 1
    secs = float("inf")
    for _ in range(runs):  # imports and projection outside the timed part
        t = time.perf_counter()
        result = run()
        secs = min(secs, time.perf_counter() - t)
    plan = result.plan
    grids = plan.grids[["grid_id", "community_id", "geometry"]]
    gpd.GeoDataFrame(grids, geometry="geometry", crs=plan.grids.crs).to_pickle(
        job / "out_grids.pkl"
    )
    plan.assignment[["building_id", "grid_id"]].to_pickle(job / "out_assignment.pkl")
    problems = [
        (str(p.kind), str(p.community_id), str(p.grid_id), str(getattr(p, "building_id", "")))
        for p in plan.problems
    ]
    out = {"seconds": secs, "problems": problems}
    (job / "out.json").write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main()
