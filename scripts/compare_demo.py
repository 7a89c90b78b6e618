"""Compare two ``gridgen demo`` output folders: exit 0 when every output is the same.

Usage::

    python scripts/compare_demo.py BEFORE_DIR AFTER_DIR

What "the same" means, per file type (everything else byte for byte):

- ``*.gpkg``: every layer has the same columns, values and exact geometries (QGIS
  ``layer_styles`` rows aside from their ``update_time``);
- ``*.png``: the same pixels (PNG metadata may carry a software version);
- ``*.xlsx``: the same sheets and cell values (zip entries carry times);
- ``*.pdf``: the same page count and text (``pdftotext``) and the same bytes once the
  creation date and document id are removed;
- ``summary.txt``: the same lines once the random store ids and the folder are removed;
- ``*.html``, ``*.json``, ``*.txt``: the same text once folium's random element ids
  (``map_<32 hex>``) and the folder holding the sample data are removed;
- ``gridgen.db`` (the embedded store): the same layer rows and plan versions (grids,
  assignment, locked grids, metrics, problems), ignoring random ids and times.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np


def same_gpkg(a: Path, b: Path) -> str | None:
    """Return why two GeoPackages differ, or None."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    la = sorted(name for name, _ in pyogrio.list_layers(a))
    lb = sorted(name for name, _ in pyogrio.list_layers(b))
    if la != lb:
        return f"layers {la} != {lb}"
    for layer in la:
        fa, fb = gpd.read_file(a, layer=layer), gpd.read_file(b, layer=layer)
        if layer == "layer_styles":  # QGIS styles carry the time they were written
            fa, fb = fa.drop(columns="update_time"), fb.drop(columns="update_time")
        try:
            pd.testing.assert_frame_equal(
                pd.DataFrame(fa.drop(columns="geometry", errors="ignore")),
                pd.DataFrame(fb.drop(columns="geometry", errors="ignore")),
            )
        except AssertionError as exc:
            return f"layer {layer}: {exc}"
        if "geometry" in fa.columns and not fa.geometry.geom_equals_exact(fb.geometry, 0).all():
            return f"layer {layer}: geometries differ"
    return None


def same_png(a: Path, b: Path) -> str | None:
    """Return why two PNGs differ (pixels), or None."""
    from PIL import Image

    pa, pb = np.asarray(Image.open(a)), np.asarray(Image.open(b))
    if pa.shape != pb.shape:
        return f"size {pa.shape} != {pb.shape}"
    return None if np.array_equal(pa, pb) else f"{int((pa != pb).any(axis=-1).sum())} pixels"


def same_xlsx(a: Path, b: Path) -> str | None:
    """Return why two workbooks differ (sheet names and cell values), or None.

    The bytes differ run to run: the zip entries and ``docProps/core.xml`` carry times.
    """
    from openpyxl import load_workbook

    wa, wb = load_workbook(a, read_only=True), load_workbook(b, read_only=True)
    if wa.sheetnames != wb.sheetnames:
        return f"sheets {wa.sheetnames} != {wb.sheetnames}"
    for name in wa.sheetnames:
        ra = list(wa[name].iter_rows(values_only=True))
        rb = list(wb[name].iter_rows(values_only=True))
        if ra != rb:
            return f"sheet {name}: cell values differ"
    return None


PDF_VOLATILE = re.compile(
    rb"/(CreationDate|ModDate) \(D:[^)]*\)|/ID \[<[0-9a-fA-F]+> ?<[0-9a-fA-F]+>\]"
)


def same_pdf(a: Path, b: Path) -> str | None:
    """Return why two PDFs differ (text and bytes without dates and ids), or None."""
    ta = subprocess.run(["pdftotext", str(a), "-"], capture_output=True, check=True).stdout
    tb = subprocess.run(["pdftotext", str(b), "-"], capture_output=True, check=True).stdout
    if ta != tb:
        return "text differs"
    if PDF_VOLATILE.sub(b"", a.read_bytes()) != PDF_VOLATILE.sub(b"", b.read_bytes()):
        return "bytes differ (beyond dates and ids)"
    return None


VOLATILE_TEXT = (
    (re.compile(r"_[0-9a-f]{32}(?=\b|_)"), "_ID"),  # folium element ids
    (re.compile(r"[^\s\"']*/gridgen/sample/data/"), "SAMPLE/"),  # where the package lives
)


def same_text(a: Path, b: Path) -> str | None:
    """Return why two text files differ beyond random element ids and paths, or None."""
    ta, tb = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    for pattern, repl in VOLATILE_TEXT:
        ta, tb = pattern.sub(repl, ta), pattern.sub(repl, tb)
    return None if ta == tb else "text differs"


def _summary(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\b[0-9a-f]{12}\b", "ID", text)
    return [re.sub(r"sqlite:///\S+", "sqlite:///DB", line) for line in text.splitlines()]


def store_rows(path: Path) -> dict[str, object]:
    """Return the store's content without random ids and times."""
    con = sqlite3.connect(path)
    try:
        out: dict[str, object] = {}
        for key, idx, fid, community, props, geom in con.execute(
            "SELECT layer_key, idx, fid, community_id, props, geom FROM features "
            "ORDER BY layer_key, idx"
        ):
            kind = re.sub(r"/[0-9a-f]{12}/", "/ID/", key)
            row = (idx, fid, community, json.loads(props), geom)
            out.setdefault(kind, []).append(row)  # type: ignore[union-attr]
        versions = con.execute(
            "SELECT version, parent, message, metrics, locked, assignment FROM plan_versions "
            "ORDER BY version"
        ).fetchall()
        out["versions"] = [
            (
                v,
                p,
                m,
                json.loads(meta or "null"),
                json.loads(lk or "null"),
                json.loads(asg or "null"),
            )
            for v, p, m, meta, lk, asg in versions
        ]
        out["counts"] = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("datasets", "plans", "plan_versions", "features")
        }
        return out
    finally:
        con.close()


def compare(before: Path, after: Path) -> list[str]:
    """Return the differences between two demo folders (empty when the same)."""
    fa = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    fb = {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    problems = [f"only in {before}: {p}" for p in sorted(fa - fb)]
    problems += [f"only in {after}: {p}" for p in sorted(fb - fa)]
    for rel in sorted(fa & fb):
        a, b = before / rel, after / rel
        if rel.suffix == ".gpkg":
            why = same_gpkg(a, b)
        elif rel.suffix == ".png":
            why = same_png(a, b)
        elif rel.suffix == ".pdf":
            why = same_pdf(a, b)
        elif rel.suffix == ".xlsx":
            why = same_xlsx(a, b)
        elif rel.name == "summary.txt":
            why = None if _summary(a) == _summary(b) else "lines differ"
        elif rel.suffix in (".html", ".json", ".txt", ".csv"):
            why = same_text(a, b)
        elif rel.suffix == ".db":
            why = None if store_rows(a) == store_rows(b) else "store content differs"
        else:
            why = None if a.read_bytes() == b.read_bytes() else "bytes differ"
        if why is not None:
            problems.append(f"{rel}: {why}")
    return problems


def main(argv: list[str]) -> int:
    """Compare the two folders given on the command line; print each difference."""
    if len(argv) != 2:
        print("usage: compare_demo.py BEFORE_DIR AFTER_DIR", file=sys.stderr)
        return 2
    before, after = Path(argv[0]), Path(argv[1])
    problems = compare(before, after)
    n = sum(1 for p in before.rglob("*") if p.is_file())
    for line in problems:
        print(line)
    print(f"{n} files compared: {'identical' if not problems else f'{len(problems)} differ'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
