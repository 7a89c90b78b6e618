"""``gridgen demo [--out DIR]``: the whole pipeline on the sample district."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridgen.dataset import Dataset
from gridgen.distributed.executor import Executor
from gridgen_cli.options import add_out_crs_option, add_scheduler_option, executor_from
from gridgen_cli.progress import console


def add_parser(sub: Any) -> None:
    """Register the ``demo`` subcommand."""
    p = sub.add_parser("demo", help="run the pipeline on the sample district and write out/")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    add_scheduler_option(p)
    add_out_crs_option(p)
    p.set_defaults(run=run)


class DemoContext:
    """What the demo steps share: the output folder, the dataset and the results so far."""

    def __init__(
        self, out: Path, executor: Executor | None = None, out_crs: str | None = None
    ) -> None:
        self.out = out
        self.executor = executor if executor is not None else Executor()
        self.out_crs = out_crs
        self.dataset: Dataset | None = None
        self.results: dict[str, Any] = {}
        self.lines: list[str] = []

    @property
    def ds(self) -> Dataset:
        """Return the loaded dataset."""
        assert self.dataset is not None, "the load step runs first"
        return self.dataset

    def say(self, line: str) -> None:
        """Record a summary line and print it."""
        self.lines.append(line)
        console.print(f"    {line}")


def step_load(ctx: DemoContext) -> None:
    """Read and validate the sample district; check the GCJ-02 copy of the stations."""
    import numpy as np

    from gridgen.io.read import read_dataset, read_layers
    from gridgen.io.write import write_dataset, write_report
    from gridgen.sample.district import sample_path

    ds = read_dataset(sample_path() / "district.gpkg")
    ctx.dataset = ds
    write_report(ds.report, ctx.out / "validation.json")
    (ctx.out / "validation.txt").write_text(ds.report.summary() + "\n", encoding="utf-8")
    write_dataset(ds, ctx.out / "district.gpkg", crs=ctx.out_crs)
    gcj = read_layers(sample_path() / "stations_gcj02.geojson", crs="gcj02")[0]["stations"]
    a = ds.metric("stations").set_index("station_id").geometry
    b = gcj.to_crs(ds.metric_crs).set_index("station_id").geometry.reindex(a.index)
    offset = float(np.max(a.distance(b)))
    c = ds.report.counts
    ctx.say(
        f"sample district: {len(ds.communities)} communities, {len(ds.compounds)} compounds, "
        f"{len(ds.buildings)} buildings, {ds.total_households():,} households, "
        f"{len(ds.stations)} stations; metric CRS {ds.metric_crs.to_epsg()}"
    )
    ctx.say(
        f"validation: {sum(v.rows_in for v in c.values())} rows in, "
        f"{sum(v.rows_rejected for v in c.values())} rejected, {len(ds.report.findings)} findings"
    )
    ctx.say(f"GCJ-02 stations converted to WGS84: max offset {offset:.3f} m from the WGS84 copy")


def step_partition(ctx: DemoContext) -> None:
    """Partition every community into grids of ~300 households; write the plan."""
    from gridgen.io.plan import write_plan
    from gridgen.partition.community import partition_dataset
    from gridgen_cli.progress import progress_task

    with progress_task("communities partitioned") as progress:
        plan = partition_dataset(
            ctx.ds, target=300, seed=0, executor=ctx.executor, progress=progress
        )
    write_plan(plan, ctx.out / "plan.gpkg", crs=ctx.out_crs)
    write_plan(plan, ctx.out / "plan_gcj02.gpkg", crs="gcj02")
    ctx.results["plan"] = plan
    m = plan.metrics
    ctx.say(
        f"grid plan: {m.n_grids} grids, band compliance {m.band_compliance:.1%}, "
        f"max deviation {m.max_abs_deviation:.1%}, mean Polsby-Popper "
        f"{m.mean_polsby_popper:.3f}, main-road crossings {m.main_road_crossings}, "
        f"{len(plan.problems)} reported problems"
    )


def step_coverage(ctx: DemoContext) -> None:
    """Walking coverage of stations, roll-ups, property, party and staffing tables."""
    from gridgen.coverage.governance import party_stats, property_stats, staffing_stats
    from gridgen.coverage.stations import DEFAULT_RADIUS_M, coverage_by_level, station_load
    from gridgen.distributed.work import run_coverage
    from gridgen.io.coverage import write_table

    plan = ctx.results["plan"]
    cov = run_coverage(ctx.ds, radius=DEFAULT_RADIUS_M, mode="walk", executor=ctx.executor)
    ctx.results["coverage"] = cov
    for level in ("grid", "community", "street", "district"):
        table = coverage_by_level(ctx.ds, cov, level=level, plan=plan)
        write_table(table, ctx.out / f"coverage_{level}.csv")
        if level == "district":
            write_table(
                table, ctx.out / "coverage_district.json", meta={"radius_m": int(DEFAULT_RADIUS_M)}
            )
            row = table.iloc[0]
            ctx.say(
                f"station coverage (walk, {DEFAULT_RADIUS_M:g} m): "
                f"{int(row['covered_households']):,} of "
                f"{int(row['households']):,} households ({float(row['share']):.1%})"
            )
    write_table(station_load(ctx.ds, cov), ctx.out / "station_load.csv")
    write_table(property_stats(ctx.ds, level="community"), ctx.out / "property_community.csv")
    write_table(party_stats(ctx.ds, plan=plan, level="community"), ctx.out / "party_community.csv")
    write_table(staffing_stats(ctx.ds, plan=plan), ctx.out / "staffing.csv")


def step_report(ctx: DemoContext) -> None:
    """The governance report (every published figure): out/report.xlsx and out/report.html."""
    from gridgen.coverage.figures import governance_figures, round_share
    from gridgen.coverage.stations import DEFAULT_RADIUS_M
    from gridgen.io.report_xlsx import write_atomic
    from maps.report_html import report_bytes

    figures = governance_figures(
        ctx.ds, plan=ctx.results["plan"], radius=DEFAULT_RADIUS_M, coverage=ctx.results["coverage"]
    )
    for fmt in ("xlsx", "html", "json"):
        write_atomic(ctx.out / f"report.{fmt}", report_bytes(figures, fmt=fmt))
    d = figures.tables["district"].iloc[0]
    ctx.say(
        f"governance report: {int(d['grids'])} grids, {int(d['micro_stations'])} "
        f"micro-stations, {int(d['compounds_with_property'])} of {int(d['compounds'])} "
        f"compounds with property management, property companies with a party organisation "
        f"{round_share(int(d['companies_with_party_org']) / max(1, int(d['property_companies'])))}"
        "; report.xlsx, report.html, report.json"
    )


def step_siting(ctx: DemoContext) -> None:
    """Recommend 5 new micro-stations for the 5-minute life circle (300 m walk)."""
    from gridgen.coverage.siting import maximal_covering
    from gridgen.io.coverage import write_siting

    result = maximal_covering(ctx.ds, k=5, radius=300.0, mode="walk")
    write_siting(ctx.ds, result, ctx.out / "sites.gpkg", crs=ctx.out_crs)
    ctx.say(
        f"siting (K=5, 300 m walk): +{int(result.newly_covered_households):,} households covered, "
        f"share {result.covered_share_before:.1%} → {result.covered_share_after:.1%} "
        f"({result.method}, {result.status}, gap {result.gap:.2%})"
    )


def step_maps(ctx: DemoContext) -> None:
    """Offline overview map, a few compound sheets (PNG, PDF, HTML) and one atlas."""
    from gridgen.coverage.stations import DEFAULT_RADIUS_M
    from gridgen_cli.progress import progress_task
    from maps.outputs import write_map_outputs

    with progress_task("atlas pages") as progress:
        written = write_map_outputs(
            ctx.ds,
            ctx.out / "maps",
            plan=ctx.results["plan"],
            coverage=ctx.results["coverage"],
            radius=DEFAULT_RADIUS_M,
            progress=progress,
        )
    sheets = sum(key.startswith("sheet:") for key in written)
    ctx.say(f"maps: overview.html, {sheets} sheet files, atlas {written['atlas'].name}")


def step_store(ctx: DemoContext) -> None:
    """Store the dataset and the published plan in the embedded (SQLite) store."""
    from api.service import dataset_layers_for_store, metric_crs_text
    from api.store import open_store

    path = (ctx.out / "gridgen.db").resolve()
    path.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{path}")
    try:
        info = store.add_dataset(
            name=ctx.ds.name,
            layers=dataset_layers_for_store(ctx.ds),
            metric_crs=metric_crs_text(ctx.ds),
            report=ctx.ds.report.to_dict(),
            actor="demo",
        )
        version = store.create_plan(
            dataset_id=info.id,
            name="demo plan (target 300)",
            plan=ctx.results["plan"],
            actor="demo",
            message="gridgen demo",
        )
        store.publish(version.plan_id, version.version, actor="demo")
        counts = store.counts()
    finally:
        store.close()
    ctx.say(
        f"embedded store {path.name}: dataset {info.id} and plan {version.plan_id} v"
        f"{version.version} published ({sum(counts.values())} rows); serve it with "
        f"`GRIDGEN_ANONYMOUS_ROLE=viewer gridgen serve --database sqlite:///{path}`"
    )


STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("load and validate the sample district", step_load),
    ("partition communities into grids", step_partition),
    ("station coverage and governance tables", step_coverage),
    ("governance report (Excel, A4 HTML, JSON)", step_report),
    ("siting of new micro-stations", step_siting),
    ("maps: overview, compound sheets, atlas", step_maps),
    ("embedded store with the published plan", step_store),
]


def run(args: argparse.Namespace) -> int:
    """Run every demo step, writing into ``args.out``; print a short summary."""
    out: Path = args.out
    out_crs = getattr(args, "out_crs", None)
    if out_crs is not None:
        from gridgen.io.crs import parse_crs

        parse_crs(out_crs)  # a bad --out-crs fails before the work
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out, executor_from(args), out_crs)
    started = time.perf_counter()
    for i, (title, step) in enumerate(STEPS, start=1):
        t0 = time.perf_counter()
        console.print(f"[bold][{i}/{len(STEPS)}][/bold] {title} …")
        step(ctx)
        console.print(f"    done in {time.perf_counter() - t0:.1f} s")
    total = time.perf_counter() - started
    (out / "summary.txt").write_text("\n".join(ctx.lines) + "\n", encoding="utf-8")
    console.print(f"[bold green]demo finished in {total:.1f} s[/bold green]; outputs in {out}/")
    for path in sorted(out.rglob("*")):
        if path.is_file():
            console.print(f"    {path.relative_to(out)}  ({path.stat().st_size / 1024:.0f} KiB)")
    return 0
