"""Cross-layer validation rules: references, containment and derived community ids (pure).

Called by :func:`gridgen.validate.layers.validate_layers` after the per-layer rules, on the rows
still kept. Areas and distances are computed in the dataset's metric CRS. Everything is
vectorised (spatial joins, shapely 2 arrays); Python runs per row only to word findings.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgen.schema import HOUSEHOLDS_PER_M2_FLOOR
from gridgen.validate.state import LayerState

COMPOUND_TOLERANCE_M = 2.0
"""A building whose representative point lies within this distance of its compound is inside."""

CROSSING_MIN_SHARE = 0.005
"""A compound crosses a community boundary when another community holds more than this share
of its area (smaller overlaps are digitising slivers)."""

_SINGULAR = {
    "streets": "street",
    "compounds": "compound",
    "property_companies": "property company",
}


def _kept(layer: LayerState) -> gpd.GeoDataFrame:
    """Return the kept rows of ``layer`` (index = input row)."""
    return layer.frame.loc[layer.alive]


def _mask(layer: LayerState, rows: pd.Index | np.ndarray) -> np.ndarray:
    """Return a boolean mask over all input rows of ``layer`` set at ``rows``."""
    mask = np.zeros(len(layer.rejected), dtype=bool)
    mask[np.asarray(rows, dtype=int)] = True
    return mask


def link_layers(
    layers: dict[str, LayerState], *, metric_crs: pyproj.CRS, present: set[str]
) -> None:
    """Apply the cross-layer rules in place and add the derived columns.

    Parameters
    ----------
    layers
        Working state of every dataset layer (modified in place).
    metric_crs
        Projected CRS for areas and distances.
    present
        Names of the layers the input held (references to an absent layer are reported
        once per layer rather than once per row).
    """
    communities = _kept(layers["communities"]).to_crs(metric_crs)
    _check_reference(layers["communities"], "street_id", layers["streets"], present)
    _check_reference(
        layers["compounds"], "property_company_id", layers["property_companies"], present
    )
    _assign_compound_communities(layers["compounds"], communities, metric_crs)
    buildings = layers["buildings"]
    _check_reference(buildings, "compound_id", layers["compounds"], present)
    _estimate_households(buildings, metric_crs)
    compounds = _kept(layers["compounds"]).to_crs(metric_crs)
    footprints = _kept(buildings).to_crs(metric_crs)  # projected once for both steps below
    building_points = _representative_points(footprints)
    _check_buildings_in_compounds(buildings, building_points, compounds)
    _assign_building_communities(buildings, footprints, building_points, communities, compounds)
    _assign_station_communities(layers["stations"], communities, metric_crs)


def _representative_points(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Return a point inside each geometry (the point itself for points)."""
    return gpd.GeoSeries(
        shapely.point_on_surface(np.asarray(frame.geometry.array)),
        index=frame.index,
        crs=frame.crs,
    )


def _check_reference(layer: LayerState, column: str, target: LayerState, present: set[str]) -> None:
    """Set references to ids the target layer does not keep to NA, with a finding."""
    target_id = target.schema.id_column
    if column not in layer.frame or target_id is None:
        return
    values = layer.frame[column]
    known = set(_kept(target)[target_id].dropna())
    unknown = (values.notna() & ~values.isin(known)).to_numpy() & layer.alive
    if not unknown.any():
        return
    what = _SINGULAR.get(target.name, target.name)
    effect = (
        "the building is counted as scattered (散居楼栋)"
        if column == "compound_id"
        else f"it is left without a {what}"
    )
    if target.name not in present:
        layer.add_layer_finding(
            "unknown_reference",
            column,
            f"{layer.name}: {int(unknown.sum())} rows give a {column} but the input has no "
            f"{target.name!r} layer; {column} set to empty ({effect}). Add the "
            f"{target.name!r} layer",
        )
    else:
        layer.add(
            "unknown_reference",
            unknown,
            column,
            "flagged",
            lambda r: (
                f"{layer.name} row {r}: {column} {values.iat[r]!r} is not a kept "
                f"{what} id; set to empty ({effect}). Fix the id or add the {what}"
            ),
        )
    layer.frame.loc[unknown, column] = pd.NA


def _overlaps(left: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return (left row, community row, community_id, overlap area) for intersecting pairs."""
    pairs = gpd.sjoin(
        left[["geometry"]], communities[["community_id", "geometry"]], predicate="intersects"
    )
    left_geoms = np.asarray(left.geometry.loc[pairs.index].array)
    right_geoms = np.asarray(communities.geometry.loc[pairs["index_right"]].array)
    area = shapely.area(shapely.intersection(left_geoms, right_geoms))
    return pd.DataFrame(
        {
            "row": pairs.index.to_numpy(),
            "right": pairs["index_right"].to_numpy(),
            "community_id": pairs["community_id"].to_numpy(),
            "area": area,
        }
    )


def _assign_compound_communities(
    layer: LayerState, communities: gpd.GeoDataFrame, metric_crs: pyproj.CRS
) -> None:
    """Set each compound's community to the one with the largest overlap, with findings."""
    frame = layer.frame
    declared = frame["community_id"].copy()
    kept = _kept(layer).to_crs(metric_crs)
    assigned = pd.Series(pd.NA, index=frame.index, dtype="str")
    if not kept.empty:
        pairs = _overlaps(kept, communities).sort_values(["row", "area"], ascending=[True, False])
        pairs = pairs[pairs["area"] > 0]
        total = kept.geometry.area
        best = pairs.drop_duplicates("row")
        assigned.loc[best["row"].to_numpy()] = best["community_id"].to_numpy()
        share = pairs["area"].to_numpy() / total.loc[pairs["row"]].to_numpy()
        pairs = pairs.assign(share=share)
        crossing = pairs[pairs["share"] > CROSSING_MIN_SHARE].groupby("row")["community_id"].size()
        crossing_rows = crossing.index[crossing.to_numpy() > 1]
        by_row = dict(iter(pairs[pairs["row"].isin(crossing_rows)].groupby("row")))

        def crossing_message(r: int) -> str:
            parts = ", ".join(
                f"{c} ({100 * s:.0f}%)"
                for c, s in zip(by_row[r]["community_id"], by_row[r]["share"], strict=True)
            )
            was = declared.iat[r]
            note = f" (declared {was})" if pd.notna(was) and was != assigned.iat[r] else ""
            return (
                f"compounds row {r}: crosses communities {parts}; assigned to {assigned.iat[r]} "
                f"(largest overlap){note}. Redraw the compound or the community boundary if "
                "that is wrong"
            )

        layer.add(
            "compound_crosses_community",
            _mask(layer, crossing_rows),
            "community_id",
            "reassigned",
            crossing_message,
        )
        mismatch = (
            (declared.notna() & assigned.notna() & (declared != assigned)).to_numpy()
            & layer.alive
            & ~_mask(layer, crossing_rows)
        )
        layer.add(
            "community_mismatch",
            mismatch,
            "community_id",
            "reassigned",
            lambda r: (
                f"compounds row {r}: declared community_id {declared.iat[r]!r} but the "
                f"polygon lies in {assigned.iat[r]!r}; set to {assigned.iat[r]!r}. Fix the "
                "community_id or the polygon"
            ),
        )
    outside = assigned.isna().to_numpy() & layer.alive
    layer.add(
        "compound_outside_communities",
        outside,
        "geometry",
        "flagged",
        lambda r: (
            f"compounds row {r}: the polygon lies outside every community; community_id "
            "set to empty. Fix the polygon or add the community"
        ),
    )
    frame["community_id"] = assigned


def _estimate_households(layer: LayerState, metric_crs: pyproj.CRS) -> None:
    """Estimate missing households from footprint area × floors, else reject the row."""
    frame = layer.frame
    frame["households_estimated"] = False
    missing = frame["households"].isna().to_numpy() & layer.alive
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    geoms = gpd.GeoSeries(frame.geometry.iloc[rows].to_numpy(), crs=frame.crs)
    area = geoms.to_crs(metric_crs).area.to_numpy()
    polygon = (shapely.get_dimensions(np.asarray(geoms.array)) == 2) & (area > 0)
    floors = frame["floors"].iloc[rows].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ok = polygon & np.isfinite(floors) & (floors > 0)
    estimate = np.maximum(1, np.rint(area * np.nan_to_num(floors) * HOUSEHOLDS_PER_M2_FLOOR))
    per_row = {int(r): i for i, r in enumerate(rows)}
    done = _mask(layer, rows[ok])
    frame.loc[done, "households"] = estimate[ok].astype(int)
    frame.loc[done, "households_estimated"] = True
    layer.add(
        "households_estimated",
        done,
        "households",
        "estimated",
        lambda r: (
            f"buildings row {r}: households missing; estimated "
            f"{int(estimate[per_row[r]])} from footprint {area[per_row[r]]:.0f} m² × "
            f"{int(floors[per_row[r]])} floors at {1 / HOUSEHOLDS_PER_M2_FLOOR:.0f} m² per "
            "household. Give households to replace the estimate"
        ),
    )
    layer.add(
        "missing_households",
        _mask(layer, rows[~ok]),
        "households",
        "rejected",
        lambda r: (
            f"buildings row {r}: households missing and no estimate possible (needs a "
            "footprint polygon and floors); give households or floors"
        ),
    )


def _check_buildings_in_compounds(
    layer: LayerState, points: gpd.GeoSeries, compounds: gpd.GeoDataFrame
) -> None:
    """Flag buildings whose representative point lies outside their declared compound."""
    compound_ids = layer.frame["compound_id"].loc[points.index]
    has = compound_ids.notna().to_numpy()
    if not has.any() or compounds.empty:
        return
    by_id = pd.Series(np.asarray(compounds.geometry.array), index=compounds["compound_id"])
    aligned = by_id.reindex(compound_ids[has]).to_numpy()
    pts = np.asarray(points.array)[has]
    inside = shapely.dwithin(pts, aligned, COMPOUND_TOLERANCE_M)
    rows = points.index[has][~inside]
    distance = dict(zip(rows, shapely.distance(pts[~inside], aligned[~inside]), strict=True))
    layer.add(
        "building_outside_compound",
        _mask(layer, rows),
        "compound_id",
        "flagged",
        lambda r: (
            f"buildings row {r}: lies {distance[r]:.0f} m outside its compound "
            f"{compound_ids.loc[r]!r}; fix the compound_id (empty for a scattered building) or "
            "the outlines"
        ),
    )


def _containing_community(
    points: gpd.GeoSeries, footprints: gpd.GeoDataFrame | None, communities: gpd.GeoDataFrame
) -> pd.Series:
    """Return the community containing each point (ties: largest footprint overlap)."""
    out = pd.Series(pd.NA, index=points.index, dtype="str")
    if points.empty:
        return out
    pairs = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points),
        communities[["community_id", "geometry"]],
        predicate="intersects",
    )
    tied = pairs.index.duplicated(keep=False)
    if tied.any() and footprints is not None:
        tie_pairs = pairs[tied]
        left = np.asarray(footprints.geometry.loc[tie_pairs.index].array)
        right = np.asarray(communities.geometry.loc[tie_pairs["index_right"]].array)
        area = shapely.area(shapely.intersection(left, right))
        order = np.lexsort((-area, tie_pairs.index.to_numpy()))
        winners = tie_pairs.iloc[order]
        winners = winners[~winners.index.duplicated(keep="first")]
        pairs = pd.concat([pairs[~tied], winners])
    pairs = pairs[~pairs.index.duplicated(keep="first")]
    out.loc[pairs.index] = pairs["community_id"].to_numpy()
    return out


def _assign_building_communities(
    layer: LayerState,
    projected: gpd.GeoDataFrame,
    points: gpd.GeoSeries,
    communities: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
) -> None:
    """Set buildings' community: their compound's, else the one containing them
    (``projected``: the kept buildings in the communities' CRS, by input row)."""
    frame = layer.frame
    footprints = projected.loc[_kept(layer).index]
    containing = _containing_community(points, footprints, communities)
    compound_community = (
        frame["compound_id"]
        .loc[points.index]
        .map(pd.Series(compounds["community_id"].to_numpy(), index=compounds["compound_id"]))
    )
    final = compound_community.where(compound_community.notna(), containing).astype("str")
    frame["community_id"] = pd.Series(pd.NA, index=frame.index, dtype="str")
    frame.loc[points.index, "community_id"] = final
    rows_outside = containing.index[containing.isna().to_numpy()]
    layer.add(
        "building_outside_communities",
        _mask(layer, rows_outside),
        "community_id",
        "flagged",
        lambda r: (
            f"buildings row {r}: lies outside every community; "
            + (
                f"counted in community {final.loc[r]!r} of its compound"
                if pd.notna(final.loc[r])
                else "community_id left empty, so no grid will hold it"
            )
            + ". Fix its location or extend the communities"
        ),
    )
    moved = (containing.notna() & final.notna() & (containing != final)).to_numpy()
    moved_rows = points.index[moved]
    layer.add(
        "compound_crosses_community",
        _mask(layer, moved_rows),
        "community_id",
        "reassigned",
        lambda r: (
            f"buildings row {r}: lies in community {containing.loc[r]!r} but its "
            f"compound {frame['compound_id'].iat[r]!r} belongs to {final.loc[r]!r} (largest "
            "overlap); counted there"
        ),
    )


def _assign_station_communities(
    layer: LayerState, communities: gpd.GeoDataFrame, metric_crs: pyproj.CRS
) -> None:
    """Set stations' community (the one containing them); flag stations outside all."""
    frame = layer.frame
    kept = _kept(layer)
    points = (
        kept.geometry.to_crs(metric_crs) if not kept.empty else gpd.GeoSeries([], crs=metric_crs)
    )
    containing = _containing_community(points, None, communities)
    frame["community_id"] = pd.Series(pd.NA, index=frame.index, dtype="str")
    frame.loc[containing.index, "community_id"] = containing
    outside = containing.index[containing.isna().to_numpy()]
    layer.add(
        "station_outside_communities",
        _mask(layer, outside),
        "geometry",
        "flagged",
        lambda r: (
            f"stations row {r}: lies outside every community; community_id left empty. "
            "Fix its location or extend the communities"
        ),
    )
