"""Helpers of the grid-record and report tests: real clients (LibreOffice, poppler), a drift
of a city, and an independent count of a change order by code."""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np

from gridgen.dataset import Dataset
from gridgen.partition.plan import Plan

# CSV filter options: comma, double quote, UTF-8, from row 1, ..., cells as shown, all sheets
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


def client(name: str) -> str:
    """Return the path of a program of a named client; the calling test is marked
    ``needs_client`` (``libreoffice``, ``poppler``), so it is installed here."""
    path = shutil.which(name)
    assert path is not None, f"{name}: mark the test needs_client (tests/clients.py)"
    return path


def soffice_csv(xlsx: Path, tmp: Path) -> dict[str, list[list[str]]]:
    """Open ``xlsx`` in LibreOffice headless and return every sheet as CSV rows by name."""
    out = tmp / "csv"
    run = subprocess.run(
        [
            client("soffice"),
            f"-env:UserInstallation=file://{tmp / 'lo_profile'}",
            "--headless",
            "--convert-to",
            CSV_FILTER,
            "--outdir",
            str(out),
            str(xlsx),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    sheets = {}
    for path in sorted(out.glob(f"{xlsx.stem}-*.csv")):
        with path.open(encoding="utf-8") as fh:
            sheets[path.stem.removeprefix(f"{xlsx.stem}-")] = list(csv.reader(fh))
    return sheets


def pdf_text(pdf: Path, *, first: int = 1, last: int | None = None) -> str:
    """Return the text poppler's pdftotext extracts from ``pdf``."""
    args = [client("pdftotext"), "-f", str(first)]
    if last is not None:
        args += ["-l", str(last)]
    run = subprocess.run(
        [*args, str(pdf), "-"], capture_output=True, text=True, timeout=120, check=True
    )
    return run.stdout


def pdf_page_png(pdf: Path, page: int, out: Path) -> Path:
    """Render one page with poppler's pdftoppm (to look at) and return the PNG; poppler must
    not complain on stderr."""
    stem = out.with_suffix("")
    run = subprocess.run(
        [client("pdftoppm"), "-r", "70", "-f", str(page), "-l", str(page), "-png",
         "-singlefile", str(pdf), str(stem)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert run.stderr.strip() == "", run.stderr
    return stem.with_suffix(".png")


def drifted(raw: dict[str, gpd.GeoDataFrame], *, seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    """Return raw layers a year later: +30% households in 10% of the compounds, -50% in 3%."""
    rng = np.random.default_rng(seed)
    bld = raw["buildings"].copy()
    comp = bld["compound_id"].fillna("").astype(str)
    ids = np.asarray(sorted(set(comp) - {""}))
    pick = rng.permutation(len(ids))
    up = set(ids[pick[: len(ids) // 10]])
    down = set(ids[pick[len(ids) // 10 : len(ids) // 10 + len(ids) * 3 // 100]])
    hh = bld["households"].to_numpy(dtype=float)
    hh = np.where(comp.isin(up), np.round(hh * 1.3), hh)
    hh = np.where(comp.isin(down), np.round(hh * 0.5), hh)
    bld["households"] = hh.astype(np.int64)
    return {**raw, "buildings": bld}


def count_by_code(
    dataset: Dataset, old: Plan, new: Plan
) -> tuple[int, dict[str, tuple[int, int, int, int]]]:
    """Return (households moved, code → (before, after, in, out)) counted building by
    building with plain dictionaries (no code shared with :mod:`gridgen.records.changes`)."""
    old_of = dict(zip(old.assignment["building_id"], old.assignment["grid_id"], strict=True))
    new_of = dict(zip(new.assignment["building_id"], new.assignment["grid_id"], strict=True))
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    moved = 0
    bld = dataset.buildings
    for b, hh in zip(bld["building_id"], bld["households"], strict=True):
        h = int(hh)
        a, z = str(old_of.get(b, "")), str(new_of.get(b, ""))
        if a:
            per[a][0] += h
        if z:
            per[z][1] += h
        if a != z:
            moved += h
            if z:
                per[z][2] += h
            if a:
                per[a][3] += h
    return moved, {k: (v[0], v[1], v[2], v[3]) for k, v in per.items()}
