"""Coverage tables (CSV/JSON) and layers (GeoPackage), siting results; candidate layers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from gridgen.coverage.siting import SitingResult
from gridgen.dataset import Dataset
from gridgen.errors import DataFileNotFoundError, ParameterError, UnsupportedFormatError
from gridgen.io.atomic import write_text_atomic
from gridgen.io.csvsafe import write_csv

if TYPE_CHECKING:
    from gridgen.partition.plan import Plan

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".json")
SITING_UNCOVERED_COLUMNS: tuple[str, ...] = (
    "building_id",
    "compound_id",
    "community_id",
    "households",
    "geometry",
)
"""Columns of the ``uncovered_buildings`` layer written with the proposed sites."""


def _plain(value: Any) -> Any:
    """Return ``value`` as a JSON-ready Python scalar (NA and NaN become None)."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of ``table`` (geometry dropped) as JSON-ready dicts."""
    frame = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def write_table(
    table: pd.DataFrame, path: str | Path, *, meta: dict[str, Any] | None = None
) -> Path:
    """Write a table as CSV (UTF-8 with BOM, opens in Excel) or JSON.

    JSON is ``{"meta": {...}, "rows": [...]}`` plus any extra tables given in ``meta``
    under the key ``tables`` (name → DataFrame).
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        msg = f"cannot write {target.name}: give a file ending in .csv or .json"
        raise UnsupportedFormatError(msg)
    frame = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    if suffix == ".csv":
        return write_csv(frame, target)
    info = dict(meta or {})
    extra = info.pop("tables", {})
    doc: dict[str, Any] = {
        "meta": {k: _plain(v) for k, v in info.items()},
        "rows": table_records(frame),
    }
    for name, other in extra.items():
        doc[name] = table_records(other)
    return write_text_atomic(target, json.dumps(doc, ensure_ascii=False, indent=1))


def _level_shapes(dataset: Dataset, level: str, plan: Plan | None) -> gpd.GeoDataFrame:
    """Return the polygons (or points) of the groups at ``level``, keyed like the table."""
    if level == "building":
        b = dataset.buildings
        return gpd.GeoDataFrame({"building_id": b["building_id"].astype(str)}, geometry=b.geometry)
    if level == "grid":
        if plan is None:
            msg = "level 'grid' needs a plan: pass --plan PLAN.gpkg"
            raise ParameterError(msg)
        g = plan.grids
        return gpd.GeoDataFrame({"grid_id": g["grid_id"].astype(str)}, geometry=g.geometry)
    if level in ("community", "street"):
        layer = dataset.communities if level == "community" else dataset.streets
        key = f"{level}_id"
        out = gpd.GeoDataFrame({key: layer[key].astype(str)}, geometry=layer.geometry)
        if "name" in layer.columns:
            out["name"] = layer["name"].astype("string").to_numpy()
        return out
    whole = dataset.communities.geometry.union_all()
    return gpd.GeoDataFrame(
        {"district": [dataset.name]}, geometry=[whole], crs=dataset.communities.crs
    )


def write_coverage_layers(
    dataset: Dataset,
    table: pd.DataFrame,
    cov: pd.DataFrame,
    load: pd.DataFrame,
    path: str | Path,
    *,
    level: str,
    plan: Plan | None = None,
) -> Path:
    """Write coverage as a GeoPackage QGIS opens styled (one writer for CLI and plugin).

    Layers: ``coverage`` (the table rolled up at ``level`` on the groups' geometry, coloured
    by covered ``share``), ``stations`` (each station with its load, from
    :func:`gridgen.coverage.stations.station_load`) and ``uncovered_buildings``.
    Groups without a key (buildings outside every grid of the plan) stay out of the
    ``coverage`` layer; they are in the CSV/JSON table.
    """
    from gridgen.coverage.uncovered import uncovered_buildings
    from gridgen.io.write import write_frames

    target = Path(path)
    if target.suffix.lower() != ".gpkg":
        msg = f"cannot write {target.name}: coverage layers are written to a .gpkg file"
        raise UnsupportedFormatError(msg)
    shapes = _level_shapes(dataset, level, plan)
    key = str(shapes.columns[0])
    rows = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    rows = rows[rows[key].notna()].astype({key: str})
    extra = [c for c in rows.columns if c not in shapes.columns or c == key]
    coverage = shapes.merge(rows[extra], on=key, how="inner")
    st = dataset.stations.astype({"station_id": str})
    shared = [c for c in load.columns if c != "station_id" and c in st.columns]
    stations = st.drop(columns=shared).merge(
        load.astype({"station_id": str}), on="station_id", how="left"
    )
    uncovered = uncovered_buildings(dataset, cov, columns=SITING_UNCOVERED_COLUMNS)
    frames = {"coverage": coverage, "stations": stations, "uncovered_buildings": uncovered}
    return write_frames(frames, target)


def write_siting(
    dataset: Dataset, result: SitingResult, path: str | Path, *, crs: str | int | None = None
) -> Path:
    """Write layers ``proposed_sites`` and ``uncovered_buildings`` (GeoPackage or folder)."""
    from gridgen.coverage.uncovered import coverage_of_uncovered_ids, uncovered_buildings
    from gridgen.io.write import write_frames

    target = Path(path)
    if target.suffix.lower() not in (".gpkg", ""):
        msg = f"cannot write {target.name}: give a .gpkg file (or a folder for GeoJSON)"
        raise UnsupportedFormatError(msg)
    return write_frames(
        {
            "proposed_sites": result.sites,
            "uncovered_buildings": uncovered_buildings(
                dataset,
                coverage_of_uncovered_ids(dataset, result.uncovered_building_ids),
                columns=SITING_UNCOVERED_COLUMNS,
            ),
        },
        target,
        crs=crs,
    )


def read_candidates(path: str | Path) -> gpd.GeoDataFrame:
    """Return a candidate-site point layer from a GeoPackage, GeoJSON or Shapefile."""
    import pyogrio

    src = Path(path)
    if not src.exists():
        msg = f"candidate file {src} does not exist: give a point layer (GeoPackage, GeoJSON)"
        raise DataFileNotFoundError(msg)
    frame = pyogrio.read_dataframe(src)
    if frame.crs is None:
        frame = frame.set_crs(4326)
    return frame
