"""Benchmark: PDF sheet before/after the PDF font subset and canvas, against the PNG sheet.

Same run, same data, alternating, best of 3 each, CPU seconds (steadier than wall time on a
shared machine): the PNG sheet, the old PDF path (the full 45,000-glyph WenQuanYi Zen Hei face
through ``Figure.savefig``) and the current one (``render_sheet(data, "pdf")``: cached GB 2312
subset + :mod:`maps.sheet.pdf_canvas`). Prints a Markdown table with PDF/PNG ratios; figures
are recorded by hand in the issue-12 section of ``bench/RESULTS.md``.

Run: ``.venv/bin/python bench/pdf_fonts_ab.py [--limit N]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable


def main() -> None:
    """Run the A/B and print the table."""
    import matplotlib as mpl

    from gridgen.io.read import load_sample
    from maps.fonts import PDF_RC, pdf_font_family
    from maps.sheet.data import SheetData, compound_sheet_data
    from maps.sheet.formats import render_sheet
    from maps.sheet.render import sheet_figure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=6, help="number of compounds")
    args = parser.parse_args()
    ds = load_sample()
    ids = ds.compounds["compound_id"].astype(str).tolist()[: 2 * args.limit : 2]
    full = pdf_font_family()

    def before(data: SheetData) -> None:
        fig = sheet_figure(data, dpi=150, family=full)
        with mpl.rc_context({"font.family": full, **PDF_RC}):  # type: ignore[dict-item]
            fig.savefig(io.BytesIO(), format="pdf")

    warm = compound_sheet_data(ds, ids[0])
    before(warm)
    render_sheet(warm, "pdf")
    render_sheet(warm, "png")
    print("| compound | PNG | PDF before | PDF after |\n|---|---|---|---|")
    rows = []
    for cid in ids:
        data = compound_sheet_data(ds, cid)
        runs: dict[str, Callable[[SheetData], object]] = {
            "png": lambda d: render_sheet(d, "png"),
            "old": before,
            "new": lambda d: render_sheet(d, "pdf"),
        }
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(3):
            for key, run in runs.items():
                c0 = time.process_time()
                run(data)
                best[key] = min(best[key], time.process_time() - c0)
        rows.append(best)
        png, old, new = best["png"], best["old"], best["new"]
        print(
            f"| {cid} | {png:.3f} s | {old:.3f} s ({old / png:.2f}×) "
            f"| {new:.3f} s ({new / png:.2f}×) |"
        )
    med = {k: statistics.median(r[k] / r["png"] for r in rows) for k in ("old", "new")}
    print(f"median PDF/PNG: before {med['old']:.2f}×, after {med['new']:.2f}×")


if __name__ == "__main__":
    main()
