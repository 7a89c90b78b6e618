"""Benchmark: the governance report (every figure, three levels) on a generated city.

Runs, in one process, on ``gridgen.sample.district.make_city(households=N)`` with a plan
from ``partition_dataset`` and straight-line coverage computed once (both excluded from
the timings), and compares:

* ``governance_figures`` (all figures for district, streets, communities) against the
  previous way to get them: the loose tables ``property_stats``, ``party_stats``,
  ``staffing_stats`` and ``coverage_by_level`` called per level (which lack residents,
  stations per grid, min/max households per grid and grids in band);
* ``figure_changes`` between two snapshots;
* rendering: JSON, Excel (openpyxl), A4 HTML (matplotlib charts).

Prints ratios and appends a ``## report`` section to ``bench/RESULTS.md``.
Usage: ``.venv/bin/python bench/report.py [--households N]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from results_section import write_section

from gridgen.coverage import governance as gov
from gridgen.coverage.figure_changes import figure_changes
from gridgen.coverage.figures import governance_figures
from gridgen.coverage.stations import coverage_by_level, station_coverage
from gridgen.dataset import Dataset
from gridgen.partition.community import partition_dataset
from gridgen.sample.district import make_city
from gridgen.validate.layers import validate_layers
from maps.report_html import report_bytes

RESULTS = Path(__file__).with_name("RESULTS.md")


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Return (median seconds, last result) of ``repeat`` calls."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def loose_tables(ds: Dataset, plan: Any, cov: Any) -> list[Any]:
    """The previous way: four tables per level."""
    out = []
    for level in ("community", "street", "district"):
        out.append(gov.property_stats(ds, level=level))
        out.append(gov.party_stats(ds, plan=plan, level=level))
        out.append(gov.staffing_stats(ds, plan=plan, level=level))
        out.append(coverage_by_level(ds, cov, level=level))
    return out


def main() -> None:
    """Run the benchmark and record it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    args = parser.parse_args()
    ds = validate_layers(make_city(households=args.households), source="city")
    t0 = time.perf_counter()
    plan = partition_dataset(ds, target=300, seed=0)
    t_plan = time.perf_counter() - t0
    cov = station_coverage(ds, radius=500, mode="line")
    t_loose, _ = timed(lambda: loose_tables(ds, plan, cov))
    t_fig, figs = timed(
        lambda: governance_figures(ds, plan=plan, radius=500, mode="line", coverage=cov)
    )
    t_chg, changes = timed(lambda: figure_changes(figs, figs, before_dataset=ds, after_dataset=ds))
    sizes, times = {}, {}
    for fmt in ("json", "xlsx", "html"):
        times[fmt], body = timed(lambda f=fmt: report_bytes(figs, changes=changes, fmt=f), 2)
        sizes[fmt] = len(body)
    n_comm, n_str = len(figs.tables["community"]), len(figs.tables["street"])
    rows = [
        ("all figures, 3 levels (`governance_figures`)", f"{t_fig:.2f} s"),
        ("previous: 4 loose tables × 3 levels", f"{t_loose:.2f} s"),
        ("ratio previous / figures", f"×{t_loose / t_fig:.2f}"),
        ("change between two snapshots (`figure_changes`)", f"{t_chg:.2f} s"),
        *[
            (f"render {fmt} (with changes)", f"{times[fmt]:.2f} s, {sizes[fmt] / 1024:.0f} KiB")
            for fmt in times
        ],
    ]
    head = (
        f"\n## report\n\n`bench/report.py` — {time.strftime('%Y-%m-%d %H:%M')}, machine: "
        f"2 cores (shared with other jobs), CPython {platform.python_version()}.\n"
        f"Input: make_city(households={args.households:,}): {len(ds.buildings):,} buildings, "
        f"{len(ds.compounds):,} compounds, {n_comm} communities, {n_str} streets, "
        f"{len(plan.grids):,} grids (plan {t_plan:.1f} s, excluded); straight-line "
        "coverage computed once and passed in. Median of 3 runs (renders: 2).\n\n"
        "| measure | value |\n|---|---|\n"
    )
    text = head + "".join(f"| {a} | {b} |\n" for a, b in rows)
    print(text)
    write_section(text.lstrip("\n"), path=RESULTS)


if __name__ == "__main__":
    main()
