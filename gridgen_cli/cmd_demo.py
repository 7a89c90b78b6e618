"""``gridgen demo [--out DIR]``: the whole pipeline on the sample district."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridgen.dataset import Dataset
from gridgen_cli.progress import console


def add_parser(sub: Any) -> None:
    """Register the ``demo`` subcommand."""
    p = sub.add_parser("demo", help="run the pipeline on the sample district and write out/")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    p.set_defaults(run=run)


class DemoContext:
    """What the demo steps share: the output folder, the dataset and the results so far."""

    def __init__(self, out: Path) -> None:
        self.out = out
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

    from gridgen.io_read import read_dataset, read_layers
    from gridgen.io_write import write_dataset, write_report
    from gridgen.sample import sample_path

    ds = read_dataset(sample_path() / "district.gpkg")
    ctx.dataset = ds
    write_report(ds.report, ctx.out / "validation.json")
    (ctx.out / "validation.txt").write_text(ds.report.summary() + "\n", encoding="utf-8")
    write_dataset(ds, ctx.out / "district.gpkg")
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


STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("load and validate the sample district", step_load),
]


def run(args: argparse.Namespace) -> int:
    """Run every demo step, writing into ``args.out``; print a short summary."""
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out)
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
