"""The one finishing step: unit labels → grid polygons every producer writes.

Partition, rebalance, merge-grids, the editor's assign/move and repartition all label
planning units with grids; :func:`finish_grids` turns such a labelling into grid polygons
that a district can file:

1. **detached pieces** (:func:`attach_detached`): a piece of the community that touches no
   other piece and has fewer households than the band minimum (often none: a park across a
   river, an enclave) joins the nearest grid of the community; that grid is then a
   MultiPolygon (属地兜底: every square metre belongs to some grid) and the piece is
   reported as a ``detached_part``;
2. **shapes**: each grid is the union of its units' cells (which tile the community); a
   part of a grid cut off from its main part *inside the same piece of the community*
   (cells meeting at a point) moves, unit by unit, to the neighbouring grid it shares the
   longest boundary with;
3. **smoothing**: the shared boundaries are simplified as one coverage (GEOS), which keeps
   the tiling and the community outline; kept only when every grid stays valid and keeps
   its number of parts;
4. **footprints**: every building's footprint is made to lie inside the grid it is
   assigned to (the footprint is taken from the grids it reached into, which keep their
   other land);
5. **precision and every CRS**: grids are snap-rounded to 1 mm in the metric CRS, converted
   to EPSG:4326 and checked valid there and after conversion to the metric CRS, EPSG:3857,
   CGCS2000 (EPSG:4490), GCJ-02 and BD-09; a grid invalid anywhere is snap-rounded in
   EPSG:4326 (1e-8°, ~1 mm) and checked again (:mod:`gridgen.partition.valid_everywhere`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.io.polygons import polygonal
from gridgen.partition.cells import coverage_union, seed_spacing
from gridgen.partition.ground import MIN_LAND_WIDTH_M
from gridgen.partition.units import UnitGraph, community_geometry
from gridgen.partition.valid_everywhere import SNAP_METRES, opened_until_valid

IntArray = NDArray[np.int64]
Geoms = NDArray[np.object_]

GRID_SMOOTHING = 0.5
"""Tolerance of the coverage smoothing, in seed spacings of the area (``seed_spacing``)."""
FOOTPRINT_SLACK_M2 = 0.01
"""Area of a footprint that may lie outside its grid (rounding), m²."""


@dataclass(frozen=True, eq=False)
class Detached:
    """A piece of a grid apart from its main part: a separate piece of the community."""

    label: int
    area_m2: float
    building_ids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class FinishedGrids:
    """Grids of one community (or of its unlocked part), finished.

    Attributes
    ----------
    labels
        Grid of every unit (0..k-1), after detached pieces joined and mending.
    metric
        Grid polygons in the units' metric CRS (Polygon, or MultiPolygon for a grid with
        detached pieces).
    wgs84
        The same in EPSG:4326, valid there and in every CRS of :data:`OUTPUT_CRSS`.
    detached
        The detached pieces, per grid label.
    """

    labels: IntArray
    metric: Geoms
    wgs84: Geoms
    detached: tuple[Detached, ...]


def renumbered(labels: IntArray) -> IntArray:
    """Return labels renumbered 0..k-1 in order of first appearance of each value."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inv.ravel()].astype(np.int64)


def unit_components(units: UnitGraph) -> IntArray:
    """Return the connected component of each unit in the unit graph."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if units.n == 0:
        return np.zeros(0, dtype=np.int64)
    e = units.edges
    g = csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(units.n, units.n))
    return np.asarray(connected_components(g, directed=False)[1], dtype=np.int64)


def attach_detached(
    units: UnitGraph, labels: IntArray, *, lo: int, pieces: Geoms | None = None
) -> IntArray:
    """Return labels where pieces too small for a grid joined the nearest grid.

    A connected piece of the unit graph with fewer than ``lo`` households (none, often: a
    park across a river) joins the grid nearest to it (by distance between cells) in
    another piece of the community: a grid of its own would be out of band for certain.
    A piece of the unit graph cut off inside the same community piece (by grids kept out
    of a redraw) stays a grid of its own, since joining would leave a grid in two parts
    on one piece of ground; but a sliver without households (under :data:`SPECK_M2` in
    all, or thinner than :data:`gridgen.partition.ground.MIN_LAND_WIDTH_M` on average:
    left between a river or railway and the outline, linked to no unit) joins the nearest
    grid wherever it is, whose shape then drops it (:func:`finish_grids`): it is no grid.
    Labels are renumbered 0..k-1.

    Parameters
    ----------
    units, labels
        The unit graph and the grid of every unit.
    lo
        Band minimum (households).
    pieces
        The separate pieces of the whole community (default: of ``units.area``).
    """
    comp = unit_components(units)
    if units.n == 0 or len(np.unique(comp)) < 2:
        return labels
    if pieces is None:
        pieces = community_pieces(units.area)
    home = np.full(units.n, -1, dtype=np.int64)  # the community piece of each cell
    if len(pieces):
        cell, piece = shapely.STRtree(pieces).query(
            shapely.point_on_surface(units.cells), predicate="intersects"
        )
        home[cell[::-1]] = piece[::-1]  # the first piece found, as _piece_of
    out = labels.copy()
    hh = units.households
    totals = np.bincount(comp, weights=hh)
    slivers = [
        c for c in np.unique(comp).tolist() if totals[c] == 0 and _sliver(units.cells[comp == c])
    ]
    ground = ~np.isin(comp, slivers)  # a sliver joins a grid of real ground, not another sliver
    for c in np.unique(comp).tolist():
        mine = comp == c
        total = int(hh[mine].sum())
        if total >= lo or len(np.unique(out[mine])) > 1:
            continue
        own = set(home[mine].tolist())
        elsewhere = ~np.isin(home, list(own)) | (home < 0)
        if c in slivers:
            elsewhere = ground
        others = np.flatnonzero(~mine & (out != out[mine][0]) & elsewhere)
        if len(others) == 0:
            continue
        piece = shapely.union_all(units.cells[mine])
        near = int(others[int(shapely.STRtree(units.cells[others]).query_nearest(piece)[0])])
        out[mine] = int(out[near])
    return renumbered(out)


def _sliver(cells: Geoms) -> bool:
    """Return whether ``cells`` (a piece without households) are a speck or a sliver."""
    area = float(shapely.area(cells).sum())
    width = 2.0 * area / max(float(shapely.length(cells).sum()), 1e-12)
    return area < SPECK_M2 or width < MIN_LAND_WIDTH_M


def grid_shapes(cells: Geoms, labels: IntArray) -> Geoms:
    """Return the union of the cells of each label (index = label, labels 0..k-1)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    out = np.empty(k, dtype=object)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    for group in np.split(order, bounds):
        if len(group) == 0:
            continue
        part = cells[group]
        out[int(labels[group[0]])] = part[0] if len(part) == 1 else _union(part)
    for g in range(k):
        if out[g] is None:
            out[g] = shapely.Polygon()
    return out


def _union(parts: Geoms) -> BaseGeometry:
    """Return the union of cells (a coverage union: unit cells share their vertices,
    :func:`gridgen.partition.cells.noded_coverage`), polygonal."""
    return polygonal(coverage_union(parts))


def community_pieces(area: BaseGeometry) -> Geoms:
    """Return the separate pieces of a community (its polygons)."""
    parts = shapely.get_parts(area)
    return np.asarray(parts[shapely.area(parts) > 0], dtype=object)


def mend_grids(
    units: UnitGraph, labels: IntArray, geoms: Geoms, *, rounds: int = 3
) -> tuple[IntArray, Geoms]:
    """Return labels and shapes where parts cut off inside one community piece moved over.

    A part of a grid that lies in another piece of the community than the grid's main part
    is a detached part (kept); a part in the same piece (cells meeting only at a point)
    gives its units to the neighbouring grid they share the longest boundary with.
    """
    labels = labels.copy()
    pieces = community_pieces(units.area)
    tree = shapely.STRtree(pieces) if len(pieces) else None
    ea, eb = units.edges[:, 0], units.edges[:, 1]
    for _ in range(rounds):
        touched: set[int] = set()
        for g in np.flatnonzero(shapely.get_num_geometries(geoms) > 1).tolist():
            parts = shapely.get_parts(geoms[g])
            main = parts[int(np.argmax(shapely.area(parts)))]
            home = _piece_of(tree, main)
            members = np.flatnonzero(labels == g)
            pts = shapely.point_on_surface(units.cells[members])
            for u in members[~shapely.intersects(main, pts)].tolist():
                if _piece_of(tree, units.cells[u]) != home:
                    continue  # a detached piece of the community: stays with the grid
                sel = (ea == u) | (eb == u)
                other = np.where(ea[sel] == u, eb[sel], ea[sel])
                ok = labels[other] != g
                if not ok.any():
                    continue
                best = int(labels[other[ok][np.argmax(units.shared_length[sel][ok])]])
                labels[u] = best
                touched.update({g, best})
        if not touched:
            break
        for g in sorted(touched):
            part = units.cells[labels == g]
            geoms[g] = _union(part) if len(part) else shapely.Polygon()
    return labels, geoms


def _piece_of(tree: shapely.STRtree | None, geom: BaseGeometry) -> int:
    """Return the index of the community piece holding (most of) ``geom``, -1 if none."""
    if tree is None:
        return -1
    hit = tree.query(shapely.point_on_surface(geom), predicate="intersects")
    return int(hit[0]) if len(hit) else -1


def smooth_grids(geoms: Geoms, *, tolerance: float) -> Geoms:
    """Return the grids with their shared boundaries simplified as one coverage.

    The lines that split open land between compounds are Voronoi zigzags; simplifying the
    grids together (GEOS coverage simplification) keeps them gap- and overlap-free and the
    outer boundary (the community, or the edge of locked grids) untouched. A result where a
    grid is invalid, changes its number of parts, or would fall apart when snapped to
    :data:`SNAP_METRES` (a neck simplified to nothing) is refused, and half the tolerance is
    tried (three times); the input comes back when none passes.
    """
    if len(geoms) < 2 or tolerance <= 0:
        return geoms
    parts = shapely.get_num_geometries(geoms)
    for scale in (1.0, 0.5, 0.25):
        try:
            out = shapely.coverage_simplify(geoms, tolerance * scale, simplify_boundary=False)
        except shapely.errors.GEOSException:
            return geoms
        snapped = shapely.set_precision(out, SNAP_METRES)
        ok = (
            shapely.is_valid(out)
            & (shapely.get_num_geometries(out) == parts)
            & (shapely.get_num_geometries(snapped) == parts)
            & np.isin(shapely.get_type_id(out), (3, 6))
        )
        if ok.all():
            return np.asarray(out, dtype=object)
    return geoms


def unit_footprints(dataset: Dataset, units: UnitGraph) -> Geoms:
    """Return the metric footprint (or point) of every building of ``units``, in order."""
    index = dataset.derived("finish.building_index", _building_index)
    pos = np.asarray(index.get_indexer(pd.Index(np.asarray(units.building_ids, dtype=str))))
    geoms = np.asarray(dataset.metric("buildings").geometry.to_numpy(), dtype=object)
    out = np.asarray(geoms[np.maximum(pos, 0)], dtype=object).copy() if len(pos) else geoms[:0]
    if (pos < 0).any():
        out[pos < 0] = shapely.Point()
    return out


def _building_index(dataset: Dataset) -> pd.Index:
    """Return the building ids of the dataset as an index (position of each id)."""
    ids = np.asarray(
        dataset.metric("buildings")["building_id"].astype(str).to_numpy(), dtype=object
    )
    out: pd.Index = pd.Index(ids)
    return out


def footprints_outside(geoms: Geoms, footprints: Geoms, owner: IntArray) -> NDArray[np.bool_]:
    """Return per building whether its footprint lies (beyond rounding) outside its grid."""
    out = np.zeros(len(footprints), dtype=bool)
    if len(footprints) == 0:
        return out
    grid = geoms[owner]
    poly = np.isin(shapely.get_type_id(footprints), (3, 6))
    inside = shapely.covered_by(footprints, grid)
    check = np.flatnonzero(poly & ~inside)
    if len(check):
        left = shapely.area(shapely.difference(footprints[check], grid[check]))
        out[check] = left > FOOTPRINT_SLACK_M2
    pts = np.flatnonzero(~poly & ~shapely.is_empty(footprints))
    out[pts] = ~shapely.intersects(footprints[pts], grid[pts])
    return out


def carve_footprints(geoms: Geoms, footprints: Geoms, owner: IntArray, area: BaseGeometry) -> Geoms:
    """Return grids where every footprint lies inside its owner grid (taken from others)."""
    geoms = geoms.copy()
    for b in np.flatnonzero(footprints_outside(geoms, footprints, owner)).tolist():
        fp = footprints[b]
        if not np.isin(shapely.get_type_id(fp), (3, 6)):
            fp = shapely.buffer(fp, 0.5, quad_segs=2)
        piece = polygonal(shapely.intersection(fp, area))
        if shapely.is_empty(piece):
            continue
        g = int(owner[b])
        for o in np.flatnonzero(shapely.intersects(geoms, piece)).tolist():
            if o != g:
                geoms[o] = polygonal(shapely.difference(geoms[o], piece))
        geoms[g] = polygonal(shapely.union(geoms[g], piece))
    return geoms


def give_crumbs(geoms: Geoms, keep: list[Geoms], pieces: Geoms) -> Geoms:
    """Return grids where parts holding none of their ``keep`` points, inside the same
    community piece as the grid's main part, join the grid they share most boundary with."""
    geoms = geoms.copy()
    tree = shapely.STRtree(pieces) if len(pieces) else None
    for g in np.flatnonzero(shapely.get_num_geometries(geoms) > 1).tolist():
        parts = shapely.get_parts(geoms[g])
        main = int(np.argmax(shapely.area(parts)))
        home = _piece_of(tree, parts[main])
        for i, p in enumerate(parts):
            if i == main or _piece_of(tree, p) != home:
                continue
            if len(keep[g]) and shapely.intersects(p, keep[g]).any():
                continue
            shared = shapely.length(shapely.intersection(geoms, shapely.buffer(p, 0.01)))
            shared[g] = 0.0
            j = int(np.argmax(shared))
            if shared[j] <= 0:
                continue
            geoms[j] = polygonal(shapely.union(geoms[j], p))
            geoms[g] = polygonal(shapely.difference(geoms[g], p))
    return geoms


def detached_parts(units: UnitGraph, labels: IntArray, geoms: Geoms) -> tuple[Detached, ...]:
    """Return every part of a grid other than its largest, with the buildings it holds."""
    out: list[Detached] = []
    b_label = labels[units.building_unit] if len(units.building_unit) else np.zeros(0, int)
    for g in np.flatnonzero(shapely.get_num_geometries(geoms) > 1).tolist():
        parts = shapely.get_parts(geoms[g])
        areas = shapely.area(parts)
        for i in np.argsort(-areas)[1:].tolist():
            mine = b_label == g
            cells = units.cells[units.building_unit[mine]] if mine.any() else np.zeros(0, object)
            hit = shapely.intersects(cells, parts[i]) if len(cells) else np.zeros(0, bool)
            b_ids = tuple(sorted(str(b) for b in units.building_ids[mine][hit]))
            out.append(Detached(int(g), float(areas[i]), b_ids))
    return tuple(out)


def _shaped(
    units: UnitGraph,
    labels: IntArray,
    footprints: Geoms,
    points: Geoms,
    *,
    smooth: float,
    mend: bool,
) -> tuple[IntArray, Geoms]:
    """Return labels and grids: shapes, mended, smoothed, footprints inside (steps 2-4)."""
    geoms = grid_shapes(units.cells, labels)
    if mend:
        labels, geoms = mend_grids(units, labels, geoms)
    geoms = smooth_grids(geoms, tolerance=smooth)
    owner = labels[units.building_unit] if len(units.building_unit) else np.zeros(0, int)
    geoms = carve_footprints(geoms, footprints, owner, units.area)
    keep = [points[owner == g] for g in range(len(geoms))]
    return labels, give_crumbs(geoms, keep, community_pieces(units.area))


SPECK_M2 = 1.0
"""Parts of a grid smaller than this (m², not its largest) are rounding specks, dropped."""


def _without_specks(geom: BaseGeometry) -> BaseGeometry:
    """Return ``geom`` without parts under :data:`SPECK_M2` (its largest part is kept)."""
    parts = shapely.get_parts(geom)
    if len(parts) < 2:
        return geom
    areas = shapely.area(parts)
    keep = (areas >= SPECK_M2) | (np.arange(len(parts)) == int(np.argmax(areas)))
    if keep.all():
        return geom
    kept = parts[keep]
    return kept[0] if len(kept) == 1 else shapely.MultiPolygon(list(kept))


def finish_grids(
    dataset: Dataset,
    units: UnitGraph,
    labels: IntArray,
    *,
    band: tuple[int, int],
    smooth: float | None = None,
    mend: bool = True,
) -> FinishedGrids:
    """Return the finished grids of one labelling (module doc, steps 1-5).

    Parameters
    ----------
    dataset
        The dataset (for building footprints and the metric CRS).
    units
        The unit graph; its cells tile the area the grids must tile.
    labels
        Grid of every unit.
    band
        ``(min, max)`` households: a detached piece below the minimum joins the nearest grid.
    smooth
        Tolerance (metres) of the coverage smoothing (0: none; default
        :data:`GRID_SMOOTHING` seed spacings of the area).
    mend
        Join detached pieces and move units cut off from their grid (partition, rebalance,
        merge). The editor passes ``False``: its labels (0..k-1, a grid per code) are the
        planner's, and a grid in pieces stays in pieces so that the edit can be refused.
    """
    if units.n == 0:
        empty = np.zeros(0, dtype=object)
        return FinishedGrids(np.zeros(0, dtype=np.int64), empty, empty, ())
    if smooth is None:
        smooth = GRID_SMOOTHING * seed_spacing(units.area)
    if mend:
        whole = community_pieces(community_geometry(dataset, units.community_id))
        labels = attach_detached(units, renumbered(labels), lo=band[0], pieces=whole)
    footprints = unit_footprints(dataset, units)
    points = shapely.point_on_surface(footprints) if len(footprints) else footprints
    for _ in range(3):
        labels, geoms = _shaped(units, labels, footprints, points, smooth=smooth, mend=mend)
        snapped = shapely.set_precision(geoms, SNAP_METRES)
        split = shapely.get_num_geometries(snapped) > shapely.get_num_geometries(geoms)
        if not split.any() or not mend:
            break
        # snapping cut a neck narrower than a millimetre: the units off the main part move
        labels, _ = mend_grids(units, labels, np.asarray(snapped, dtype=object))
    geoms = np.asarray([_without_specks(polygonal(g)) for g in snapped], dtype=object)
    geoms, wgs = opened_until_valid(geoms, dataset.metric_crs)
    return FinishedGrids(labels, geoms, wgs, detached_parts(units, labels, geoms))
