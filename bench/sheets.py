"""Benchmark: compound sheets (一小区一图示) and atlases on the sample district.

Measures, on ``sample_data/district.gpkg`` (107 compounds, 1,151 buildings):

- one PNG sheet per compound (A4, 150 dpi): data gathering + rendering, per sheet;
- PDF against PNG of the same sheet (first, median and densest compound), side by side
  with the PDF/PNG ratio;
- the atlas of every compound as one multi-page PDF and as a zip of PNGs (pages/s);
- the overview map (standalone HTML with Leaflet inlined).

There is no peer tool that renders these sheets, so no ratio is printed; the target is
≤ 0.5 s per PNG sheet on 2 cores. Results go to the ``## sheets`` section of
``bench/RESULTS.md``.

Run: ``.venv/bin/python bench/sheets.py [--limit N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from results_section import write_section

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def main() -> None:
    """Run the benchmark and write its section of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N compounds")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    from gridgen.coverage.stations import station_coverage
    from gridgen.io.read import load_sample
    from maps.assets import ensure_assets
    from maps.atlas import write_atlas
    from maps.fonts import cjk_font_family
    from maps.overview import write_overview
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.render import render_sheet_pdf, render_sheet_png

    ensure_assets()
    cjk_font_family()
    ds = load_sample()
    cov = station_coverage(ds, radius=500, mode="walk")
    sizes = ds.buildings.groupby("compound_id").size()
    ids = ds.compounds["compound_id"].astype(str).tolist()[: args.limit]
    # --limit: the atlases of the first compound's community only (not the whole district)
    first = ds.compounds.iloc[0]
    scope = {} if args.limit is None else {"community_id": str(first["community_id"])}
    n_all = (
        len(ds.compounds)
        if args.limit is None
        else int((ds.compounds["community_id"].astype(str) == scope["community_id"]).sum())
    )
    atlas_of = "all" if args.limit is None else f"community {scope.get('community_id')}'s"
    n_buildings = int(sizes.reindex(ids).fillna(0).sum())

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        # Warm-up: font loading and first-use imports are not part of a sheet's cost.
        render_sheet_png(compound_sheet_data(ds, ids[0], coverage=cov), out / "warm.png")

        per_sheet: list[float] = []
        cpu_sheet: list[float] = []
        data_t: list[float] = []
        for cid in ids:
            # Best of two runs per sheet: the machine is shared, the minimum is the cost.
            walls, cpus, datas = [], [], []
            for _ in range(2):
                c0 = time.process_time()
                t0 = time.perf_counter()
                data = compound_sheet_data(ds, cid, coverage=cov, radius=500, restricted=True)
                t1 = time.perf_counter()
                render_sheet_png(data, out / f"{cid}.png", dpi=150)
                t2 = time.perf_counter()
                walls.append(t2 - t0)
                datas.append(t1 - t0)
                cpus.append(time.process_time() - c0)
            data_t.append(min(datas))
            per_sheet.append(min(walls))
            cpu_sheet.append(min(cpus))
        densest = str(sizes.reindex(ids).idxmax())
        t0 = time.perf_counter()
        render_sheet_png(
            compound_sheet_data(ds, densest, coverage=cov, restricted=True), out / "dense.png"
        )
        dense_png = time.perf_counter() - t0

        # PDF against PNG of the same sheet, same run, alternating (best of 2 each)
        median_cid = ids[len(ids) // 2]
        side_by_side: list[tuple[str, float, float]] = []
        side_cpu: list[tuple[float, float]] = []  # CPU seconds: steadier on a shared machine
        render_sheet_pdf(compound_sheet_data(ds, ids[0], coverage=cov), out / "warm.pdf")
        for cid in dict.fromkeys((ids[0], median_cid, densest)):
            data = compound_sheet_data(ds, cid, coverage=cov)
            png_s, pdf_s, png_c, pdf_c = [], [], [], []
            for _ in range(3):
                c0, t0 = time.process_time(), time.perf_counter()
                render_sheet_png(data, out / f"{cid}.png")
                png_s.append(time.perf_counter() - t0)
                png_c.append(time.process_time() - c0)
                c0, t0 = time.process_time(), time.perf_counter()
                render_sheet_pdf(data, out / f"{cid}.pdf")
                pdf_s.append(time.perf_counter() - t0)
                pdf_c.append(time.process_time() - c0)
            side_by_side.append((cid, min(png_s), min(pdf_s)))
            side_cpu.append((min(png_c), min(pdf_c)))
        pdf_t = [side_by_side[0][2], side_by_side[-1][2]]

        c0, t0 = time.process_time(), time.perf_counter()
        atlas_pdf = write_atlas(ds, out=out / "atlas.pdf", coverage=cov, radius=500, **scope)
        atlas_pdf_s = time.perf_counter() - t0
        atlas_pdf_c = time.process_time() - c0
        pdf_mb = atlas_pdf.stat().st_size / 1e6
        c0, t0 = time.process_time(), time.perf_counter()
        atlas_zip = write_atlas(ds, out=out / "atlas.zip", coverage=cov, radius=500, **scope)
        atlas_zip_s = time.perf_counter() - t0
        atlas_zip_c = time.process_time() - c0
        zip_mb = atlas_zip.stat().st_size / 1e6

        t0 = time.perf_counter()
        ov = write_overview(ds, out / "overview.html", coverage=cov)
        overview_s = time.perf_counter() - t0
        ov_kb = ov.stat().st_size / 1e3

    q = statistics.quantiles(per_sheet, n=20)
    load = os.getloadavg()[0]
    lines = [
        "## sheets",
        "",
        f"`bench/sheets.py` — {time.strftime('%Y-%m-%d %H:%M')}, machine: {os.cpu_count()} cores "
        f"(shared with other jobs; load average {load:.1f} at the end), "
        f"{platform.python_implementation()} {platform.python_version()}.",
        f"Input: sample district, {len(ids)} compounds ({n_buildings} buildings; densest "
        f"{densest} with {int(sizes[densest])}), walking coverage at 500 m. A4 portrait, 150 dpi, "
        "restricted sheets (widest tables); per-sheet figures are the best of 2 runs. "
        "No peer renders these sheets, so no ratio.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| PNG sheet, mean per compound (data + render) | {statistics.mean(per_sheet):.3f} s |",
        f"| PNG sheet, median / p95 / max | {statistics.median(per_sheet):.3f} / {q[18]:.3f} / "
        f"{max(per_sheet):.3f} s |",
        f"| PNG sheet, CPU time mean / max (what 1 free core would take) | "
        f"{statistics.mean(cpu_sheet):.3f} / {max(cpu_sheet):.3f} s |",
        f"| of which sheet data (pure) | {statistics.mean(data_t) * 1000:.1f} ms mean |",
        f"| PNG sheet of the densest compound | {dense_png:.3f} s |",
        f"| sheets within 0.5 s target (wall / CPU) | {sum(t <= 0.5 for t in per_sheet)}/"
        f"{len(per_sheet)} / {sum(t <= 0.5 for t in cpu_sheet)}/{len(cpu_sheet)} |",
        f"| single-page PDF (first / densest) | {pdf_t[0]:.2f} / {pdf_t[1]:.2f} s |",
        f"| atlas PDF, {atlas_of} {n_all} compounds | {atlas_pdf_s:.1f} s = "
        f"{n_all / atlas_pdf_s:.2f} "
        f"pages/s ({atlas_pdf_c:.1f} s CPU = {n_all / atlas_pdf_c:.2f} pages per CPU-second), "
        f"{pdf_mb:.1f} MB |",
        f"| atlas ZIP of PNGs, {atlas_of} {n_all} compounds | {atlas_zip_s:.1f} s = "
        f"{n_all / atlas_zip_s:.2f} pages/s ({atlas_zip_c:.1f} s CPU = "
        f"{n_all / atlas_zip_c:.2f} pages per CPU-second), {zip_mb:.1f} MB |",
        f"| overview map HTML (Leaflet inlined) | {overview_s:.2f} s, {ov_kb:.0f} kB |",
    ]
    lines += [
        "",
        "PDF and PNG of the same sheet (same data, same run, alternating; best of 3 each; "
        "wall and CPU seconds):",
        "",
        "| compound | PNG wall / CPU | PDF wall / CPU | PDF/PNG wall / CPU |",
        "|---|---|---|---|",
        *(
            f"| {c} | {a:.3f} / {pc:.3f} s | {b:.3f} / {dc:.3f} s | {b / a:.2f} / {dc / pc:.2f} |"
            for (c, a, b), (pc, dc) in zip(side_by_side, side_cpu, strict=True)
        ),
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.no_write:
        write_section(report, path=RESULTS)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
