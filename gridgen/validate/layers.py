"""Validation of raw layers into a :class:`~gridgen.dataset.Dataset` (pure: no file access).

Every rule yields :class:`~gridgen.validate.report.Finding` rows naming the layer, the 0-based input
row, the feature id, the field, what was done and how to fix the input. Nothing is dropped
silently: for every layer ``rows_in == rows_kept + rows_rejected`` and every rejected row
has a ``rejected`` finding.

Decisions documented here (the data model, docs/data-model.md, leaves them open):

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
already found faulty (about 3 s for 113k buildings on 2 cores). The rules live in
:mod:`gridgen.validate.columns` (ids, types), :mod:`gridgen.validate.geometry` and
:mod:`gridgen.validate.links` (cross-layer); this module runs them in order.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from gridgen.dataset import Dataset, empty_layer
from gridgen.errors import SchemaError, UnknownLayerError, ValidationFailedError
from gridgen.io.crs import WGS84, DeclaredCRS, metric_crs_for
from gridgen.schema import (
    DATASET_LAYERS,
    LAYERS,
    QUIET_LAYERS,
    REQUIRED_LAYERS,
)
from gridgen.validate.columns import (
    check_required_columns,
    coerce_columns,
    coerce_ids,
    normalise_columns,
)
from gridgen.validate.geometry import validate_geometry
from gridgen.validate.links import link_layers
from gridgen.validate.offset import gcj02_offset_findings
from gridgen.validate.report import Finding, LayerCount, ValidationReport
from gridgen.validate.state import LayerState

# --------------------------------------------------------------------------- layers


def _start_layer(name: str, raw: pd.DataFrame) -> LayerState:
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
    frame = normalise_columns(frame, schema)
    if len(frame) == 0:  # an empty layer (GeoJSON keeps no columns without rows)
        for col in schema.column_names:
            if col not in frame.columns:
                frame[col] = pd.Series([], dtype=object)
    check_required_columns(frame, schema)
    if not schema.spatial:
        frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        frame = gpd.GeoDataFrame(frame)
    frame = frame.reset_index(drop=True)
    return LayerState(name, schema, frame, np.zeros(len(frame), dtype=bool))


def _validate_layer(name: str, raw: pd.DataFrame, declared: DeclaredCRS) -> LayerState:
    """Return one layer after the per-layer rules (ids, geometry, attribute types)."""
    layer = _start_layer(name, raw)
    coerce_ids(layer)
    if layer.schema.spatial:
        validate_geometry(layer, declared)
    coerce_columns(layer)
    return layer


def _absent_layer(name: str) -> LayerState:
    """Return the state of an optional layer that the input does not hold."""
    layer = LayerState(name, LAYERS[name], empty_layer(name), np.zeros(0, dtype=bool))
    coerce_columns(layer)
    if name in QUIET_LAYERS:
        return layer
    layer.add_layer_finding(
        "missing_layer",
        None,
        f"layer {name!r} is absent; it is treated as empty. Add it to the input if you have it",
    )
    return layer


def _kept(layer: LayerState) -> gpd.GeoDataFrame:
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
        GCJ-02/BD-09 input must already be converted (see :func:`gridgen.io.crs.frame_to_wgs84`).
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
    final = {name: _final_frame(layers[name]) for name in DATASET_LAYERS}
    if offsets := gcj02_offset_findings(final, declared, metric_crs):
        report = replace(report, findings=(*report.findings, *offsets))
    return Dataset(
        layers=final,
        metric_crs=metric_crs,
        report=report,
        name=source.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] if source else "dataset",
    )


def _report(
    layers: dict[str, LayerState], raw: dict[str, pd.DataFrame], declared: DeclaredCRS, source: str
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


def _final_frame(layer: LayerState) -> gpd.GeoDataFrame:
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
