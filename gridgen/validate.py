"""Validation of raw layers into a :class:`~gridgen.dataset.Dataset` (pure: no file access).

Every rule yields :class:`~gridgen.report.Finding` rows naming the layer, the 0-based input
row, the feature id, the field, what was done and how to fix the input. Nothing is dropped
silently: for every layer ``rows_in == rows_kept + rows_rejected`` and every rejected row
has a ``rejected`` finding.

Decisions documented here (DESIGN §1a leaves them open):

- Buildings outside every community are *kept* with ``community_id`` NA and flagged.
- A building in a known compound takes the compound's community (a compound is never split
  between grids); the compound's community is the one with the largest overlap.
- An unknown ``compound_id`` is set to NA (the building becomes scattered, 散居楼栋) and
  flagged; the same for unknown ``property_company_id`` and ``street_id``.
- A multi-part polygon in a Polygon-only layer (buildings, compounds) keeps its largest
  part (``repaired``, with the dropped share of the area in the message); a single-part
  one becomes a Polygon silently.
- Invalid optional values (negative floors, unknown ``property_mode`` ...) are replaced by
  the schema default (``defaulted``); invalid required values reject the row.

Detection is vectorised (shapely 2 arrays, spatial joins); Python loops run only over rows
already found faulty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.crs import WGS84, DeclaredCRS, metric_crs_for, outside_china
from gridgen.dataset import Dataset, empty_layer
from gridgen.errors import SchemaError, UnknownLayerError, ValidationFailedError
from gridgen.report import Action, Finding, LayerCount, ValidationReport
from gridgen.schema import (
    DATASET_LAYERS,
    LAYERS,
    REQUIRED_LAYERS,
    Column,
    LayerSchema,
)

BoolArray = NDArray[np.bool_]

_TRUE = {"true", "t", "1", "yes", "y", "是", "有", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "否", "无", "0.0"}
_GEOMETRY_NAMES = {
    -1: "missing",
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


@dataclass
class _Layer:
    """Working state of one layer: frame indexed by input row, rejections, findings."""

    name: str
    schema: LayerSchema
    frame: gpd.GeoDataFrame
    rejected: BoolArray
    findings: list[Finding] = field(default_factory=list)

    @property
    def alive(self) -> BoolArray:
        """Return the mask of rows not rejected so far."""
        return ~self.rejected

    def feature_id(self, row: int) -> str | None:
        """Return the id of input row ``row`` (None when the layer has no usable id)."""
        col = self.schema.id_column
        if col is None or col not in self.frame:
            return None
        value = self.frame[col].iat[row]
        return None if pd.isna(value) else str(value)

    def add(
        self,
        rule: str,
        mask: BoolArray,
        column: str | None,
        action: Action,
        message: Callable[[int], str],
    ) -> None:
        """Record a finding for every row of ``mask`` (rejecting them when asked)."""
        rows = np.flatnonzero(mask)
        for row in rows:
            r = int(row)
            self.findings.append(
                Finding(rule, self.name, r, self.feature_id(r), column, action, message(r))
            )
        if action == "rejected":
            self.rejected[rows] = True

    def add_layer_finding(self, rule: str, column: str | None, message: str) -> None:
        """Record a layer-wide (row None) flagged finding."""
        self.findings.append(Finding(rule, self.name, None, None, column, "flagged", message))


# --------------------------------------------------------------------------- coercion


def _blank_to_na(series: pd.Series) -> pd.Series:
    """Return ``series`` with blank strings as NA and other strings stripped."""
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype("str").str.strip()
        return text.where(text.notna() & (text != ""), other=None).where(series.notna(), None)
    return series


def _as_strings(series: pd.Series) -> pd.Series:
    """Return ``series`` as strings, integral floats without ``.0``, NA kept."""
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(values) & (values == np.round(values))
        out = series.astype("str")
        out[whole] = values[whole].astype(np.int64).astype(str)
        return out.where(series.notna(), None).astype("str")
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("str").where(series.notna(), None).astype("str")

    def one(v: object) -> object:
        if isinstance(v, float) and np.isfinite(v) and v == round(v):
            return str(int(v))
        return v if isinstance(v, str) or pd.isna(v) else str(v)  # type: ignore[call-overload]

    mixed = series.map(one) if series.dtype == object else series
    return _blank_to_na(mixed.astype("str"))


def _normalise_columns(frame: gpd.GeoDataFrame, schema: LayerSchema) -> gpd.GeoDataFrame:
    """Return ``frame`` with schema columns matched case-insensitively and stripped."""
    wanted = {c.lower(): c for c in schema.column_names}
    renames: dict[str, str] = {}
    for col in frame.columns:
        key = str(col).strip().lower()
        if key in wanted and col != wanted[key] and wanted[key] not in frame.columns:
            renames[col] = wanted[key]
    return frame.rename(columns=renames) if renames else frame


def _check_required_columns(frame: pd.DataFrame, schema: LayerSchema) -> None:
    """Raise SchemaError when a required column (or the geometry) is absent."""
    present = [str(c) for c in frame.columns if c != "geometry"]
    listing = ", ".join(present) if present else "none"
    for col in schema.columns:
        if col.required and col.name not in frame.columns:
            msg = (
                f"layer {schema.name!r} has no column {col.name!r} (required); columns present: "
                f"{listing}. Add the column or rename the one that holds it"
            )
            raise SchemaError(msg)
    if schema.spatial and not (
        isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns
    ):
        msg = (
            f"layer {schema.name!r} has no geometry; columns present: {listing}. "
            "Give geometries (a spatial file, or lon/lat or WKT columns in a CSV)"
        )
        raise SchemaError(msg)


def _default_series(col: Column, n: int, index: pd.Index) -> pd.Series:
    """Return a column of ``n`` default values with the column's dtype."""
    return _typed(pd.Series([col.default] * n, index=index, dtype=object), col)


def _typed(series: pd.Series, col: Column) -> pd.Series:
    """Return ``series`` (already cleaned) in the dtype of column kind ``col.kind``."""
    if col.kind == "int":
        return pd.to_numeric(series, errors="coerce").round().astype("Int64")
    if col.kind == "float":
        return pd.to_numeric(series, errors="coerce").astype("Float64")
    if col.kind == "bool":
        return series.astype("boolean") if series.isna().any() else series.astype(bool)
    return series.astype("str")


def _coerce_ids(layer: _Layer) -> None:
    """Convert the id column to strings; reject empty and duplicate ids (first one kept)."""
    col = layer.schema.id_column
    if col is None or col not in layer.frame:
        return
    ids = _as_strings(layer.frame[col])
    layer.frame[col] = ids
    empty = ids.isna().to_numpy()
    layer.add(
        "empty_id",
        empty & layer.alive,
        col,
        "rejected",
        lambda r: f"{layer.name} row {r}: {col} is empty; give every row a unique {col}",
    )
    dup = ids.duplicated(keep="first").to_numpy() & ~empty
    first_row = {v: i for i, v in reversed(list(enumerate(ids.to_numpy())))}
    layer.add(
        "duplicate_id",
        dup & layer.alive,
        col,
        "rejected",
        lambda r: (
            f"{layer.name} row {r}: {col} {ids.iat[r]!r} already used by row "
            f"{first_row[ids.iat[r]]} (kept); give each row a unique {col}"
        ),
    )


def _coerce_int(layer: _Layer, col: Column) -> None:
    """Coerce an int column; bad values reject (households) or fall back to the default."""
    raw = _blank_to_na(layer.frame[col.name])
    num = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy(na_value=np.nan, copy=True)
    given = raw.notna().to_numpy()
    non_numeric = given & np.isnan(num)
    negative = num < 0
    fraction = np.isfinite(num) & (num != np.round(num))
    alive = layer.alive
    name, label = col.name, layer.name
    if col.name == "households":
        layer.add(
            "non_numeric_households",
            non_numeric & alive,
            name,
            "rejected",
            lambda r: (
                f"{label} row {r}: households {raw.iat[r]!r} is not a number; give a "
                "whole number of households ≥ 0"
            ),
        )
        layer.add(
            "negative_households",
            negative & layer.alive,
            name,
            "rejected",
            lambda r: (
                f"{label} row {r}: households {num[r]:g} is negative; give a whole number ≥ 0"
            ),
        )
        layer.add(
            "bad_value",
            fraction & layer.alive,
            name,
            "rejected",
            lambda r: (
                f"{label} row {r}: households {num[r]:g} is not a whole number; give a "
                "whole number of households"
            ),
        )
        num[non_numeric | negative | fraction] = np.nan
    else:
        bad = non_numeric | negative | fraction
        fallback = "empty" if col.default is None else repr(col.default)
        layer.add(
            "bad_value",
            bad & alive,
            name,
            "defaulted",
            lambda r: (
                f"{label} row {r}: {name} {raw.iat[r]!r} is not a whole number ≥ 0; "
                f"set to {fallback}. Give a whole number ≥ 0"
            ),
        )
        num[bad] = np.nan
        if col.default is not None:
            num[np.isnan(num)] = float(col.default)  # type: ignore[arg-type]
    layer.frame[name] = pd.Series(np.round(num), index=layer.frame.index).astype("Int64")


def _coerce_bool(layer: _Layer, col: Column) -> None:
    """Coerce a bool column from true/false/1/0/yes/no/是/否; bad values get the default."""
    raw = layer.frame[col.name]
    if pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.astype("boolean")
    else:
        text = _as_strings(raw).str.lower()
        values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        values[text.isin(_TRUE).to_numpy()] = True
        values[text.isin(_FALSE).to_numpy()] = False
        bad = (text.notna() & values.isna()).to_numpy()
        layer.add(
            "bad_value",
            bad & layer.alive,
            col.name,
            "defaulted",
            lambda r: (
                f"{layer.name} row {r}: {col.name} {raw.iat[r]!r} is not true/false; "
                f"set to {col.default}. Give true/false, 1/0, yes/no or 是/否"
            ),
        )
    if col.default is not None:
        values = values.fillna(bool(col.default))
    layer.frame[col.name] = _typed(values, col)


def _coerce_category(layer: _Layer, col: Column) -> None:
    """Check a category column against its choices (required: reject, optional: default)."""
    text = _as_strings(layer.frame[col.name]).str.lower()
    known = text.isin(col.choices).to_numpy()
    missing = text.isna().to_numpy()
    choices = ", ".join(col.choices)
    if col.required:
        layer.add(
            "bad_value",
            ~known & layer.alive,
            col.name,
            "rejected",
            lambda r: (
                f"{layer.name} row {r}: {col.name} "
                f"{'is empty' if missing[r] else repr(text.iat[r]) + ' is unknown'}; "
                f"give one of {choices}"
            ),
        )
    else:
        layer.add(
            "bad_value",
            ~known & ~missing & layer.alive,
            col.name,
            "defaulted",
            lambda r: (
                f"{layer.name} row {r}: {col.name} {text.iat[r]!r} is unknown; set to "
                f"{col.default!r}. Give one of {choices}"
            ),
        )
        text = text.where(known, str(col.default))
    layer.frame[col.name] = text.astype("str")


def _coerce_columns(layer: _Layer) -> None:
    """Coerce every schema column to its type; add absent optional columns with defaults."""
    frame = layer.frame
    for col in layer.schema.columns:
        if col.kind == "id" or col.name == layer.schema.id_column:
            continue
        if col.name not in frame.columns:
            frame[col.name] = _default_series(col, len(frame), frame.index)
        elif col.kind == "float":
            frame[col.name] = pd.to_numeric(_blank_to_na(frame[col.name]), errors="coerce")
        elif col.kind == "int":
            _coerce_int(layer, col)
        elif col.kind == "bool":
            _coerce_bool(layer, col)
        elif col.kind == "category":
            _coerce_category(layer, col)
        else:
            frame[col.name] = _as_strings(frame[col.name])


# --------------------------------------------------------------------------- geometry


def _coerced_geometry(
    geom: BaseGeometry, allowed: tuple[str, ...]
) -> tuple[BaseGeometry | None, str]:
    """Return ``geom`` as an allowed type and a note on what was dropped.

    Returns ``(None, reason)`` when no allowed geometry can be made from it.
    """
    kind = geom.geom_type
    if geom.is_empty:
        return None, "it is empty"
    if kind in allowed:
        return geom, ""
    if kind == "GeometryCollection":
        dims = {"Point": 0, "LineString": 1, "Polygon": 2}
        want = max(dims.get(t.removeprefix("Multi"), -1) for t in allowed)
        parts = [p for p in shapely.get_parts(shapely.get_parts(geom)) if not p.is_empty]
        keep = [p for p in parts if shapely.get_dimensions(p) == want]
        if not keep:
            return None, f"it has no {allowed[0]} part"
        merged = shapely.union_all(keep) if want == 2 else shapely.multilinestrings(keep)
        if want == 0:
            merged = shapely.multipoints(keep)
        out, note = _coerced_geometry(merged, allowed)
        dropped = len(parts) - len(keep)
        extra = f"dropped {dropped} part(s) of another dimension" if dropped else ""
        return out, "; ".join(s for s in (extra, note) if s)
    if kind.startswith("Multi") and kind.removeprefix("Multi") in allowed:
        parts = list(shapely.get_parts(geom))
        if len(parts) == 1:
            return parts[0], ""
        if kind == "MultiPolygon":
            areas = shapely.area(parts)
            share = 100.0 * (1.0 - areas.max() / areas.sum())
            return (
                parts[int(np.argmax(areas))],
                f"kept the largest of {len(parts)} parts, dropped {share:.1f}% of the area",
            )
        return None, f"it has {len(parts)} parts; give one {kind.removeprefix('Multi')}"
    return None, f"it is a {kind}; give {' or '.join(allowed)}"


def _validate_geometry(layer: _Layer, declared: DeclaredCRS) -> None:
    """Apply the geometry rules: missing, swapped, out of range, invalid, wrong type."""
    frame = layer.frame
    name, allowed = layer.name, layer.schema.geometry_types
    geoms = np.asarray(frame.geometry.array, dtype=object)
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        cx = (bounds[:, 0] + bounds[:, 2]) / 2.0
        cy = (bounds[:, 1] + bounds[:, 3]) / 2.0
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms) | ~np.isfinite(cx + cy)
    layer.add(
        "empty_geometry",
        missing & layer.alive,
        "geometry",
        "rejected",
        lambda r: (
            f"{name} row {r}: geometry is empty or missing; draw the feature or give its "
            "coordinates"
        ),
    )
    with np.errstate(invalid="ignore"):
        in_china = ~outside_china(cx, cy)
        swapped = ((np.abs(cy) > 90) & (np.abs(cx) <= 90)) | (~outside_china(cy, cx) & ~in_china)
        out_of_range = ((np.abs(cx) > 180) | (np.abs(cy) > 90)) & ~swapped
    usable = layer.alive & ~missing
    if usable.sum() and (swapped & usable).sum() > 0.5 * usable.sum():
        layer.add_layer_finding(
            "swapped_coordinates",
            "geometry",
            f"{name}: {int((swapped & usable).sum())} of {int(usable.sum())} rows look like "
            "lat/lon instead of lon/lat; swap the lon/lat columns (x is longitude)",
        )
    layer.add(
        "swapped_coordinates",
        swapped & usable,
        "geometry",
        "rejected",
        lambda r: (
            f"{name} row {r}: coordinates ({cx[r]:.5f}, {cy[r]:.5f}) look like lat/lon; "
            "swap the lon/lat columns (x is longitude)"
        ),
    )
    layer.add(
        "coordinates_out_of_range",
        out_of_range & layer.alive & ~missing,
        "geometry",
        "rejected",
        lambda r: (
            f"{name} row {r}: coordinates ({cx[r]:.1f}, {cy[r]:.1f}) are not longitude/"
            "latitude; declare the file's CRS (for example --crs EPSG:32650)"
        ),
    )
    if declared.chinese:
        layer.add(
            "outside_china_gcj02",
            ~in_china & layer.alive & ~missing,
            "geometry",
            "flagged",
            lambda r: (
                f"{name} row {r}: ({cx[r]:.5f}, {cy[r]:.5f}) is outside China although "
                f"the input is declared {declared.chinese}; it was left unconverted. Check the "
                "coordinates or the declared CRS"
            ),
        )
    alive = layer.alive
    type_names = np.array([_GEOMETRY_NAMES[int(t)] for t in range(-1, 8)], dtype=object)
    types = type_names[shapely.get_type_id(geoms) + 1]
    invalid = alive & ~shapely.is_valid(geoms)
    wrong = alive & ~invalid & ~np.isin(types, allowed)
    fixed: dict[int, object] = {}
    for row in np.flatnonzero(invalid | wrong):
        r = int(row)
        geom = geoms[r]
        if invalid[r]:
            reason = shapely.is_valid_reason(geom)
            repaired, note = _coerced_geometry(shapely.make_valid(geom), allowed)
            if repaired is None or shapely.is_empty(repaired):
                _one(
                    layer,
                    "invalid_geometry",
                    r,
                    "rejected",
                    f"{name} row {r}: invalid "
                    f"geometry ({reason}) cannot be repaired ({note}); redraw the feature",
                )
                continue
            fixed[r] = repaired
            extra = f"; {note}" if note else ""
            _one(
                layer,
                "invalid_geometry",
                r,
                "repaired",
                f"{name} row {r}: invalid geometry "
                f"({reason}) repaired with make_valid{extra}; check the outline",
            )
        else:
            coerced, note = _coerced_geometry(geom, allowed)
            if coerced is None:
                _one(
                    layer,
                    "wrong_geometry_type",
                    r,
                    "rejected",
                    f"{name} row {r}: geometry "
                    f"type {types[r]} is not allowed ({note}); give "
                    f"{' or '.join(allowed)}",
                )
                continue
            fixed[r] = coerced
            if note:
                _one(
                    layer,
                    "wrong_geometry_type",
                    r,
                    "repaired",
                    f"{name} row {r}: {types[r]} {note}; split the feature if both parts "
                    "are needed",
                )
    if fixed:
        rows = np.fromiter(fixed.keys(), dtype=int)
        new = geoms.copy()
        new[rows] = np.array(list(fixed.values()), dtype=object)
        layer.frame = frame.set_geometry(gpd.GeoSeries(new, index=frame.index, crs=frame.crs))


def _one(layer: _Layer, rule: str, row: int, action: Action, message: str) -> None:
    """Record one finding for input row ``row``."""
    mask = np.zeros(len(layer.rejected), dtype=bool)
    mask[row] = True
    layer.add(rule, mask, "geometry", action, lambda _r: message)


# --------------------------------------------------------------------------- layers


def _start_layer(name: str, raw: pd.DataFrame) -> _Layer:
    """Return the working state of one raw layer (schema checked, WGS84, row index)."""
    schema = LAYERS[name]
    frame = raw.copy()
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns:
        if frame.geometry.name != "geometry":
            frame = frame.rename_geometry("geometry")
        if frame.crs is None:
            frame = frame.set_crs(WGS84)
        elif not frame.crs.equals(WGS84):
            frame = frame.to_crs(WGS84)
    frame = _normalise_columns(frame, schema)
    _check_required_columns(frame, schema)
    if not schema.spatial:
        frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        frame = gpd.GeoDataFrame(frame)
    frame = frame.reset_index(drop=True)
    return _Layer(name, schema, frame, np.zeros(len(frame), dtype=bool))


def _validate_layer(name: str, raw: pd.DataFrame, declared: DeclaredCRS) -> _Layer:
    """Return one layer after the per-layer rules (ids, geometry, attribute types)."""
    layer = _start_layer(name, raw)
    _coerce_ids(layer)
    if layer.schema.spatial:
        _validate_geometry(layer, declared)
    _coerce_columns(layer)
    return layer


def _absent_layer(name: str) -> _Layer:
    """Return the state of an optional layer that the input does not hold."""
    layer = _Layer(name, LAYERS[name], empty_layer(name), np.zeros(0, dtype=bool))
    _coerce_columns(layer)
    layer.add_layer_finding(
        "missing_layer",
        None,
        f"layer {name!r} is absent; it is treated as empty. Add it to the input if you have it",
    )
    return layer


def _kept(layer: _Layer) -> gpd.GeoDataFrame:
    """Return the kept rows of ``layer`` (index = input row)."""
    return layer.frame.loc[layer.alive]


def validate_layers(
    raw: dict[str, pd.DataFrame],
    *,
    declared_crs: DeclaredCRS | None = None,
    source: str = "",
) -> Dataset:
    """Return the validated dataset of raw layers, with its report.

    Parameters
    ----------
    raw
        Layer name → frame as read (any CRS; frames without a CRS are taken as WGS84).
        GCJ-02/BD-09 input must already be converted (see :func:`gridgen.crs.frame_to_wgs84`).
    declared_crs
        The coordinate system the input was declared in (used by the rule that flags points
        outside China while declared GCJ-02/BD-09, and recorded in the report).
    source
        A label for the report (the input path).

    Returns
    -------
    Dataset
        Layers in EPSG:4326 with a RangeIndex; buildings gain ``community_id`` and
        ``households_estimated``; stations and compounds gain ``community_id``.

    Raises
    ------
    UnknownLayerError
        A raw layer name is not a dataset layer.
    SchemaError
        A required layer or a required column is absent.
    ValidationFailedError
        No community is usable (nothing can be placed).
    """
    declared = declared_crs or DeclaredCRS(crs=WGS84)
    for name in raw:
        if name not in DATASET_LAYERS:
            msg = f"unknown layer {name!r}: a dataset has layers {', '.join(DATASET_LAYERS)}"
            raise UnknownLayerError(msg)
    for name in REQUIRED_LAYERS:
        if name not in raw:
            msg = (
                f"layer {name!r} is required but absent; the input has "
                f"{', '.join(raw) or 'no layers'}. Add a {name!r} layer"
            )
            raise SchemaError(msg)
    layers = {
        name: _validate_layer(name, raw[name], declared) if name in raw else _absent_layer(name)
        for name in DATASET_LAYERS
    }
    from gridgen.validate_links import link_layers

    communities = _kept(layers["communities"])
    metric_crs: pyproj.CRS | None = None
    if not communities.empty:
        metric_crs = metric_crs_for(communities)
        link_layers(layers, metric_crs=metric_crs, present=set(raw))
    report = _report(layers, raw, declared, source)
    if metric_crs is None:
        msg = (
            f"no usable community in {source or 'the input'}: every community row was rejected "
            "or the layer is empty; see the validation report"
        )
        raise ValidationFailedError(msg, report)
    return Dataset(
        layers={name: _final_frame(layers[name]) for name in DATASET_LAYERS},
        metric_crs=metric_crs,
        report=report,
        name=source.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] if source else "dataset",
    )


def _report(
    layers: dict[str, _Layer], raw: dict[str, pd.DataFrame], declared: DeclaredCRS, source: str
) -> ValidationReport:
    """Return the report of all layers (findings and balanced row counts)."""
    findings: list[Finding] = []
    counts: dict[str, LayerCount] = {}
    for name, layer in layers.items():
        findings.extend(layer.findings)
        rows_in = len(raw[name]) if name in raw else 0
        rejected = int(layer.rejected.sum())
        counts[name] = LayerCount(rows_in, rows_in - rejected, rejected)
    return ValidationReport(
        findings=tuple(findings), counts=counts, source=source, declared_crs=declared.label
    )


def _final_frame(layer: _Layer) -> gpd.GeoDataFrame:
    """Return the kept rows in output form: schema, derived, extra columns, then geometry."""
    kept = _kept(layer).reset_index(drop=True)
    schema_cols = list(layer.schema.column_names)
    derived = [c for c in _DERIVED.get(layer.name, ()) if c in kept.columns]
    extras = [c for c in kept.columns if c not in schema_cols and c not in derived]
    extras = [c for c in extras if c != "geometry"]
    if not layer.schema.spatial:
        return gpd.GeoDataFrame(pd.DataFrame(kept[schema_cols + derived + extras]))
    cols = [*schema_cols, *derived, *extras, "geometry"]
    return gpd.GeoDataFrame(kept[cols], geometry="geometry", crs=WGS84)


_DERIVED: dict[str, tuple[str, ...]] = {
    "buildings": ("community_id", "households_estimated"),
    "stations": ("community_id",),
}


def validation_summary(report: ValidationReport) -> str:
    """Return the short human summary of ``report``."""
    return report.summary()
