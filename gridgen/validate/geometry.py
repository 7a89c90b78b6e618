"""Per-layer geometry rules: missing, swapped, out of range, outside China, invalid, wrong type.

Detection is vectorised over the layer (shapely 2 arrays); repair runs per row only on rows
already found faulty.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.io.crs import DeclaredCRS, outside_china
from gridgen.validate.report import Action
from gridgen.validate.state import LayerState

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


def validate_geometry(layer: LayerState, declared: DeclaredCRS) -> None:
    """Apply the geometry rules: missing, swapped, out of range, invalid, wrong type."""
    geoms = np.asarray(layer.frame.geometry.array, dtype=object)
    _check_coordinates(layer, geoms, declared)
    fixed = _repaired_geometries(layer, geoms)
    if fixed:
        frame = layer.frame
        rows = np.fromiter(fixed.keys(), dtype=int)
        new = geoms.copy()
        new[rows] = np.array(list(fixed.values()), dtype=object)
        layer.frame = frame.set_geometry(gpd.GeoSeries(new, index=frame.index, crs=frame.crs))


def _check_coordinates(
    layer: LayerState, geoms: NDArray[np.object_], declared: DeclaredCRS
) -> None:
    """Reject missing geometries, swapped lat/lon and coordinates that are not lon/lat;
    flag points outside China in GCJ-02/BD-09 input (left unconverted)."""
    name = layer.name
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


def _repaired_geometries(layer: LayerState, geoms: NDArray[np.object_]) -> dict[int, object]:
    """Return the repaired geometry of every kept row that is invalid or of a wrong type.

    Rows that cannot be repaired are rejected; every repair is a ``repaired`` finding.
    """
    allowed = layer.schema.geometry_types
    alive = layer.alive
    type_names = np.array([_GEOMETRY_NAMES[int(t)] for t in range(-1, 8)], dtype=object)
    types = type_names[shapely.get_type_id(geoms) + 1]
    invalid = alive & ~shapely.is_valid(geoms)
    wrong = alive & ~invalid & ~np.isin(types, allowed)
    fixed: dict[int, object] = {}
    for row in np.flatnonzero(invalid | wrong):
        r = int(row)
        repaired = (
            _repaired_invalid(layer, r, geoms[r])
            if invalid[r]
            else _repaired_type(layer, r, geoms[r], str(types[r]))
        )
        if repaired is not None:
            fixed[r] = repaired
    return fixed


def _repaired_invalid(layer: LayerState, r: int, geom: BaseGeometry) -> BaseGeometry | None:
    """Return an invalid geometry repaired by make_valid (None: row rejected)."""
    name, allowed = layer.name, layer.schema.geometry_types
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
        return None
    extra = f"; {note}" if note else ""
    _one(
        layer,
        "invalid_geometry",
        r,
        "repaired",
        f"{name} row {r}: invalid geometry "
        f"({reason}) repaired with make_valid{extra}; check the outline",
    )
    return repaired


def _repaired_type(
    layer: LayerState, r: int, geom: BaseGeometry, type_name: str
) -> BaseGeometry | None:
    """Return a geometry of a type the layer does not take as one it takes (None: rejected)."""
    name, allowed = layer.name, layer.schema.geometry_types
    coerced, note = _coerced_geometry(geom, allowed)
    if coerced is None:
        _one(
            layer,
            "wrong_geometry_type",
            r,
            "rejected",
            f"{name} row {r}: geometry "
            f"type {type_name} is not allowed ({note}); give "
            f"{' or '.join(allowed)}",
        )
        return None
    if note:
        _one(
            layer,
            "wrong_geometry_type",
            r,
            "repaired",
            f"{name} row {r}: {type_name} {note}; split the feature if both parts are needed",
        )
    return coerced


def _one(layer: LayerState, rule: str, row: int, action: Action, message: str) -> None:
    """Record one finding for input row ``row``."""
    mask = np.zeros(len(layer.rejected), dtype=bool)
    mask[row] = True
    layer.add(rule, mask, "geometry", action, lambda _r: message)
