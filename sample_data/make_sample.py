"""Write the committed sample files from the deterministic generator.

Run from the repository root::

    .venv/bin/python sample_data/make_sample.py

It writes ``gridgen/sample/data/district.gpkg`` (one layer per name of
``gridgen.schema.DATASET_LAYERS``; ``property_companies`` as a table without geometry),
``gridgen/sample/data/stations_gcj02.geojson`` (the stations layer in GCJ-02, to exercise
the conversion on the way in) and ``gridgen/sample/data/raw/``: the same district as its
offices would hand it over (a GBK Shapefile of communities in CGCS2000 Gauss-Krüger zone
38, EPSG:4490 footprints and compound outlines, Geofabrik-like roads, a messy 一标三实
ledger in GCJ-02; the truth kept aside in ``raw/truth/``), the input of ``gridgen ingest``
(README: "Start from your district's files"). The output depends only on the seed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridgen.io.crs import frame_from_wgs84, parse_crs
from gridgen.sample.district import DEFAULT_DISTRICT_SEED, make_district, sample_path
from gridgen.sample.raw import RawSpec
from gridgen.sample.raw_district import raw_district
from gridgen.sample.raw_files import RawFormat, write_raw_district
from gridgen.schema import DATASET_LAYERS


def write_sample(out_dir: Path, *, seed: int = DEFAULT_DISTRICT_SEED) -> list[Path]:
    """Write the sample district files into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    layers = make_district(seed=seed)
    gpkg = out_dir / "district.gpkg"
    gpkg.unlink(missing_ok=True)
    for name in DATASET_LAYERS:
        frame = layers[name]
        if "geometry" in frame.columns:
            pyogrio.write_dataframe(frame, gpkg, layer=name, driver="GPKG")
        else:  # attribute-only table (GeoPackage "attributes" content)
            pyogrio.write_dataframe(pd.DataFrame(frame), gpkg, layer=name, driver="GPKG")
    geojson = out_dir / "stations_gcj02.geojson"
    geojson.unlink(missing_ok=True)
    gcj = frame_from_wgs84(layers["stations"], parse_crs("gcj02"))
    pyogrio.write_dataframe(gcj, geojson, driver="GeoJSON", COORDINATE_PRECISION=8)
    return [gpkg, geojson, *write_raw_sample(out_dir / "raw", layers)]


def write_raw_sample(folder: Path, layers: dict[str, gpd.GeoDataFrame]) -> list[Path]:
    """Write the sample district's raw files (and their truth) into ``folder``."""
    if folder.exists():
        shutil.rmtree(folder)
    raw = raw_district(layers, RawSpec())
    paths = write_raw_district(raw, folder, RawFormat())
    return sorted(paths.values())


def main() -> int:
    """Write the sample into ``gridgen/sample/data/`` (or the folder given as argument)."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else sample_path()
    for path in write_sample(out):
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
