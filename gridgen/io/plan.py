"""Reading and writing grid plans (docs/data-model.md): a GeoPackage with ``grids``,
``assignment``, ``codes`` (every code ever used: community, valid_from, valid_to, status) and a
one-row ``plan_meta`` table (target, band, seed, code scheme, metrics and problems as JSON).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgen.errors import (
    DataFileNotFoundError,
    SchemaError,
    UnknownLayerError,
    UnreadableFileError,
)
from gridgen.io.atomic import atomic_path, unsynced_sqlite
from gridgen.io.chinese_crs import describe_chinese_srs
from gridgen.io.crs import WGS84, DeclaredCRS, frame_to_wgs84, parse_crs
from gridgen.io.qgis_style import write_layer_styles
from gridgen.io.write import GPKG_DATASET_OPTIONS, labelled_output
from gridgen.partition.codes import CodeBook, CodeScheme
from gridgen.partition.lifecycle import book_from_register, code_register
from gridgen.partition.plan import GRID_COLUMNS, Plan, PlanMetrics, Problem

META_LAYER = "plan_meta"
CODES_LAYER = "codes"


def write_plan(plan: Plan, path: str | Path, *, crs: str | int | None = None) -> Path:
    """Write ``plan`` to a GeoPackage and return its path.

    Parameters
    ----------
    plan
        The plan.
    path
        Output ``.gpkg`` (replaced if it exists).
    crs
        Coordinate system of the written grids (default WGS84; ``gcj02``/``bd09`` allowed).
    """
    import pyogrio

    final = Path(path)
    # a crash leaves the old file or the new one
    with atomic_path(final) as out, unsynced_sqlite():
        grids = plan.grids
        if crs is not None:
            grids = labelled_output(grids, crs)
        # one geometry type per layer: MultiPolygon when any grid holds a detached piece
        multi = bool((grids.geometry.geom_type == "MultiPolygon").any())
        pyogrio.write_dataframe(
            grids,
            out,
            layer="grids",
            driver="GPKG",
            dataset_options=GPKG_DATASET_OPTIONS,
            promote_to_multi=multi,
            geometry_type="MultiPolygon" if multi else "Polygon",
        )
        describe_chinese_srs(out)
        pyogrio.write_dataframe(
            plan.assignment[["building_id", "grid_id"]].astype(str),
            out,
            layer="assignment",
            driver="GPKG",
            append=True,
        )
        pyogrio.write_dataframe(
            code_register(plan.grids, plan.codes),
            out,
            layer=CODES_LAYER,
            driver="GPKG",
            append=True,
        )
        meta = pd.DataFrame(
            {
                "target": [int(plan.target)],
                "band_min": [int(plan.band[0])],
                "band_max": [int(plan.band[1])],
                "seed": [int(plan.seed)],
                "crs": [DeclaredCRS(crs=WGS84).label if crs is None else str(crs)],
                "code_scheme": [json.dumps(plan.codes.scheme.to_dict())],
                "metrics": [json.dumps(plan.metrics.to_dict(), ensure_ascii=False)],
                "problems": [json.dumps([asdict(p) for p in plan.problems], ensure_ascii=False)],
            }
        )
        pyogrio.write_dataframe(meta, out, layer=META_LAYER, driver="GPKG", append=True)
        write_layer_styles(out)
    return final


def read_plan(path: str | Path) -> Plan:
    """Return the plan stored in a GeoPackage (see :func:`_read_plan`); one-line errors.

    Raises
    ------
    DataFileNotFoundError, UnknownLayerError, SchemaError, UnreadableFileError
        The message names the file (a truncated or corrupt GeoPackage is UnreadableFileError).
    """
    import pyogrio.errors
    import shapely.errors

    try:
        return _read_plan(path)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        shapely.errors.GEOSException,
    ) as exc:
        reason = " ".join(str(exc).split(";")[0].split())
        msg = (
            f"plan file {path}: cannot be read ({reason}); give a plan GeoPackage written by "
            "gridgen partition --out"
        )
        raise UnreadableFileError(msg) from None


def _problems(text: object, src: object) -> tuple[Problem, ...]:
    """Return the problems stored as JSON in ``plan_meta`` (SchemaError naming the file)."""
    try:
        return tuple(Problem(**p) for p in json.loads(str(text or "[]")))
    except (TypeError, ValueError) as err:  # a kind that is no rule, a missing field
        msg = f"plan {src}: plan_meta column problems is not a list of plan problems ({err})"
        raise SchemaError(msg) from err


def _read_plan(path: str | Path) -> Plan:
    """Return the plan stored in a GeoPackage written by :func:`write_plan` (or by hand).

    A file with only ``grids`` and ``assignment`` is accepted: target and band then default
    to 300 and 240-360, and the metrics are those stored in the grids' columns.
    """
    import pyogrio

    src = Path(path)
    if not src.exists():
        msg = f"plan file {src} does not exist: give the path of a plan GeoPackage"
        raise DataFileNotFoundError(msg)
    layers = {name for name, _ in pyogrio.list_layers(src)}
    for need in ("grids", "assignment"):
        if need not in layers:
            msg = f"plan {src} has no layer {need!r}: a plan needs layers grids and assignment"
            raise UnknownLayerError(msg)
    meta = _read_meta(src, layers)
    declared = parse_crs(str(meta["crs"])) if meta.get("crs") else None
    grids = gpd.read_file(src, layer="grids", engine="pyogrio")
    if declared is not None and declared.chinese:
        grids = frame_to_wgs84(grids.set_crs(WGS84, allow_override=True), declared)
    elif grids.crs is None:
        grids = grids.set_crs(WGS84)
    else:
        grids = grids.to_crs(WGS84)
    for col in ("grid_id", "community_id", "households"):
        if col not in grids.columns:
            msg = (
                f"plan {src}: layer grids lacks column {col!r} (required by the plan format, "
                "docs/data-model.md)"
            )
            raise SchemaError(msg)
    _check_ids(grids, "grids", "grid_id", src, unique=True)
    grids["grid_id"] = grids["grid_id"].astype(str)
    grids["community_id"] = grids["community_id"].astype(str)
    grids["households"] = _households(grids, src)
    defaults: dict[str, object] = {
        "party_org": None,
        "workers": 1,
        "buildings": 0,
        "polsby_popper": np.nan,
        "deviation": np.nan,
        "in_band": False,
        "main_road_crossings": 0,
        "valid_from": None,
        "valid_to": None,
    }
    for col, val in defaults.items():
        if col not in grids.columns:
            grids[col] = val
    grids = gpd.GeoDataFrame(
        grids[[*GRID_COLUMNS, *[c for c in grids.columns if c not in GRID_COLUMNS]]],
        geometry="geometry",
        crs=WGS84,
    )
    assignment = pyogrio.read_dataframe(src, layer="assignment", read_geometry=False)
    for col in ("building_id", "grid_id"):
        if col not in assignment.columns:
            msg = (
                f"plan {src}: layer assignment lacks column {col!r} (required by the plan "
                "format, docs/data-model.md)"
            )
            raise SchemaError(msg)
    _check_ids(assignment, "assignment", "building_id", src, unique=True)
    _check_ids(assignment, "assignment", "grid_id", src, unique=False)
    assignment = assignment[["building_id", "grid_id"]].astype(str)
    unknown = sorted(set(assignment["grid_id"]) - set(grids["grid_id"]))
    if unknown:
        msg = (
            f"plan {src}: layer assignment, column grid_id names grids not in layer grids "
            f"({', '.join(unknown[:5])}): every assigned grid must exist"
        )
        raise SchemaError(msg)
    target = _meta_int(meta, "target", 300, src)
    band = (
        _meta_int(meta, "band_min", round(0.8 * target), src),
        _meta_int(meta, "band_max", round(1.2 * target), src),
    )
    return Plan(
        grids=grids,
        assignment=assignment,
        metrics=_metrics(meta.get("metrics"), src) or _metrics_from_columns(grids),
        problems=_problems(meta.get("problems"), src),
        target=target,
        band=band,
        seed=_meta_int(meta, "seed", 0, src),
        codes=_read_codes(src, layers, meta),
    )


def _read_meta(src: Path, layers: set[str]) -> dict[str, object]:
    """Return the one row of ``plan_meta`` as a dict (empty when the table is absent or
    empty; SchemaError when it has more than one row)."""
    import pyogrio

    meta: dict[str, object] = {}
    if META_LAYER in layers:
        row = pyogrio.read_dataframe(src, layer=META_LAYER, read_geometry=False)
        if len(row) > 1:
            msg = (
                f"plan {src}: table {META_LAYER} has {len(row)} rows; a plan has one (its "
                "target, band and metrics): delete the others"
            )
            raise SchemaError(msg)
        if len(row):
            meta = row.iloc[0].to_dict()
    return meta


def _meta_int(meta: dict[str, object], key: str, default: int, src: Path) -> int:
    """Return the whole number ``meta[key]`` (``default`` when the column is absent);
    SchemaError naming the column when it is empty or not a whole number."""
    if key not in meta:
        return default
    value = meta[key]
    try:
        number = float(str(value))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number):
        shown = "empty" if value is None or str(value) in ("nan", "") else repr(value)
        msg = (
            f"plan {src}: plan_meta column {key} is {shown}, not a whole number; write it "
            f"again (e.g. {default}) or give the plan gridgen wrote"
        )
        raise SchemaError(msg)
    return int(number)


def _metrics(text: object, src: Path) -> PlanMetrics | None:
    """Return the metrics stored as JSON in ``plan_meta`` (None when empty; SchemaError
    naming the file when they are not the metrics gridgen writes)."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text):
        return None
    try:
        return PlanMetrics(**json.loads(str(text)))
    except (TypeError, ValueError) as err:  # bad JSON, a missing or unknown field
        msg = (
            f"plan {src}: plan_meta column metrics is not the plan's metrics ({err}); empty "
            "the column (the metrics are then taken from the grids) or give the plan "
            "gridgen wrote"
        )
        raise SchemaError(msg) from err


def _check_ids(frame: pd.DataFrame, layer: str, column: str, src: Path, *, unique: bool) -> None:
    """Refuse empty values in ``frame[column]`` (and repeated ones when ``unique``),
    naming the rows (SchemaError)."""
    text = frame[column].astype("string").str.strip()
    empty = (text.isna() | text.eq("")).to_numpy()
    if empty.any():
        rows = ", ".join(str(int(i) + 1) for i in empty.nonzero()[0][:5])
        msg = f"plan {src}: layer {layer}, column {column} is empty in row(s) {rows}; fill it"
        raise SchemaError(msg)
    repeated = text[text.duplicated()].unique()
    if unique and len(repeated):
        msg = (
            f"plan {src}: layer {layer}, column {column} repeats {', '.join(repeated[:5])}: "
            f"each must appear once (a building in one grid, a grid code once)"
        )
        raise SchemaError(msg)


def _households(grids: gpd.GeoDataFrame, src: Path) -> pd.Series:
    """Return the grids' household counts as integers (SchemaError naming the rows that are
    not whole numbers ≥ 0)."""
    numbers = pd.to_numeric(grids["households"], errors="coerce")
    bad = (numbers.isna() | (numbers < 0) | (numbers != numbers.round())).to_numpy()
    if bad.any():
        rows = ", ".join(str(int(i) + 1) for i in bad.nonzero()[0][:5])
        msg = (
            f"plan {src}: layer grids, column households is not a whole number ≥ 0 in "
            f"row(s) {rows}; fix those rows"
        )
        raise SchemaError(msg)
    return pd.Series(numbers.astype(np.int64), index=grids.index)


def _read_codes(src: Path, layers: set[str], meta: dict[str, object]) -> CodeBook:
    """Return the code book of a plan file (``plain`` with nothing retired when absent)."""
    import pyogrio

    text = meta.get("code_scheme")
    scheme = CodeScheme.from_dict(json.loads(str(text)) if text else None)
    if CODES_LAYER not in layers:
        return CodeBook(scheme)
    register = pyogrio.read_dataframe(src, layer=CODES_LAYER, read_geometry=False)
    if not {"grid_id", "community_id", "valid_to"} <= set(register.columns):
        return CodeBook(scheme)
    return book_from_register(register, scheme)


def _metrics_from_columns(grids: gpd.GeoDataFrame) -> PlanMetrics:
    n = len(grids)
    single = grids.geometry.geom_type.eq("Polygon")
    return PlanMetrics(
        n_grids=n,
        households=int(grids["households"].sum()),
        band_compliance=float(grids["in_band"].astype(bool).mean()) if n else 0.0,
        mean_polsby_popper=float(grids["polsby_popper"].mean()) if n else 0.0,
        max_abs_deviation=float(np.abs(grids["deviation"]).max()) if n else 0.0,
        cut_edges=0,
        main_road_crossings=int((grids["main_road_crossings"] > 0).sum()),
        contiguous_share=float(single.mean()) if n else 1.0,
        tiling_ok=False,
        max_tiling_error=float("nan"),
        max_overlap_m2=float("nan"),
    )
