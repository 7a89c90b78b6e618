"""Per-layer attribute rules: ids, column names, and type coercion (pure).

Ints become pandas nullable ``Int64``, bools come from true/false/1/0/yes/no/是/否, categories
are checked against the schema's choices; absent optional columns get the schema default.
Invalid required values reject the row; invalid optional values fall back to the default
with a ``defaulted`` finding.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgen.errors import SchemaError
from gridgen.schema import Column, LayerSchema
from gridgen.validate.state import LayerState

_TRUE = {"true", "t", "1", "yes", "y", "是", "有", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "否", "无", "0.0"}


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


def normalise_columns(frame: gpd.GeoDataFrame, schema: LayerSchema) -> gpd.GeoDataFrame:
    """Return ``frame`` with schema columns matched case-insensitively and stripped."""
    wanted = {c.lower(): c for c in schema.column_names}
    renames: dict[str, str] = {}
    for col in frame.columns:
        key = str(col).strip().lower()
        if key in wanted and col != wanted[key] and wanted[key] not in frame.columns:
            renames[col] = wanted[key]
    return frame.rename(columns=renames) if renames else frame


def check_required_columns(frame: pd.DataFrame, schema: LayerSchema) -> None:
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


def coerce_ids(layer: LayerState) -> None:
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


def _coerce_int(layer: LayerState, col: Column) -> None:
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


def _coerce_bool(layer: LayerState, col: Column) -> None:
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


def _coerce_category(layer: LayerState, col: Column) -> None:
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


def coerce_columns(layer: LayerState) -> None:
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
