"""Faces: one noding of all the linework of a community, and the graph of its faces.

The cells of the planning units (:mod:`gridgen.partition.units`) are unions of *faces*:
every line that may bound a cell (the community outline, the roads that close enclosures,
compound outlines, the Voronoi edges that share open land out, the edges of land far from
every owner, the Voronoi edges that split a big compound among its buildings) is noded
once, snap-rounded to :data:`NODE_GRID` (``shapely.union_all``), and polygonized. Each
face is then labelled with its unit by a point inside it, and a unit's cell is the coverage
union of its faces.

Because every face comes from one noding, two faces share an edge exactly (the same
vertices, bit for bit): unions of faces are exact coverages (``shapely.coverage_union_all``)
and the shared boundaries between faces, hence between units, are found by matching the
segments of their rings (:func:`shared_segments`) instead of intersecting polygons pairwise.
One noding replaces the overlays of the previous recipe (an intersection, a difference and a
union per owner and enclosure, then a second noding of every cell boundary): on the
273k-household walled city the units take ~3x less time (``bench/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from gridgen.partition.cells import coverage_union

NODE_GRID = 0.001
"""Snap-rounding grid (metres) of the noded linework."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Geoms = NDArray[np.object_]


def noded_faces(lines: Geoms, region: BaseGeometry) -> Geoms:
    """Return the faces of ``lines`` and the outline of ``region`` noded together, inside it.

    Faces tile ``region`` (to the snapping grid); faces in its holes are left out.
    """
    every = np.asarray([shapely.boundary(region), *lines], dtype=object)
    # Merged first: the Voronoi edges come as two-point segments; merged into chains they
    # hold a fifth fewer vertices, and the snap-rounding union takes ~25% less time (the
    # same faces on the walled city's 91 communities).
    every = shapely.line_merge(every[~shapely.is_empty(every)])
    noded = shapely.union_all(every, grid_size=NODE_GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) == 0:
        return np.asarray([region], dtype=object)
    keep = shapely.within(shapely.point_on_surface(faces), region) & (shapely.area(faces) > 0)
    return np.asarray(faces[keep], dtype=object)


@dataclass(frozen=True)
class Segments:
    """Ring segments shared by two faces (each shared edge once).

    Attributes
    ----------
    a, b
        The two faces of each shared segment.
    start, end
        ``(s, 2)`` end points.
    """

    a: IntArray
    b: IntArray
    start: FloatArray
    end: FloatArray

    @property
    def length(self) -> FloatArray:
        """Return the length of each segment."""
        return np.asarray(np.hypot(*(self.end - self.start).T), dtype=float)


def shared_segments(faces: Geoms) -> Segments:
    """Return the segments two faces share (faces from one noding share exact vertices).

    Every ring segment is keyed by its two end points (in a fixed order); a key met twice
    is an edge between the two faces that hold it, a key met once lies on the outline.
    """
    rings, ring_face = shapely.get_rings(faces, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    p, q = xy[:-1][same], xy[1:][same]
    face = ring_face[ring[:-1][same]]
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    lo = np.where(swap[:, None], q, p)
    hi = np.where(swap[:, None], p, q)
    order = np.lexsort((hi[:, 1], hi[:, 0], lo[:, 1], lo[:, 0]))
    lo, hi, face = lo[order], hi[order], face[order]
    twin = np.flatnonzero(np.all(lo[1:] == lo[:-1], axis=1) & np.all(hi[1:] == hi[:-1], axis=1))
    return Segments(
        a=np.asarray(face[twin], dtype=np.int64),
        b=np.asarray(face[twin + 1], dtype=np.int64),
        start=lo[twin],
        end=hi[twin],
    )


def pair_lengths(
    label: IntArray, segs: Segments, length: FloatArray | None = None
) -> tuple[IntArray, FloatArray]:
    """Return the label pairs ``i < j`` that share segments and their shared length."""
    la, lb = label[segs.a], label[segs.b]
    diff = (la != lb) & (la >= 0) & (lb >= 0)
    lens = segs.length if length is None else length
    lo = np.minimum(la, lb)[diff]
    hi = np.maximum(la, lb)[diff]
    if len(lo) == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    key, inv = np.unique(np.column_stack([lo, hi]), axis=0, return_inverse=True)
    total = np.bincount(inv.ravel(), weights=lens[diff], minlength=len(key))
    return np.asarray(key, dtype=np.int64), np.asarray(total, dtype=float)


def label_components(label: IntArray, segs: Segments) -> IntArray:
    """Return the connected piece of every face among the faces of its own label."""
    n = len(label)
    inside = label[segs.a] == label[segs.b]
    g = csr_matrix((np.ones(int(inside.sum())), (segs.a[inside], segs.b[inside])), shape=(n, n))
    return np.asarray(connected_components(g, directed=False)[1], dtype=np.int64)


def contiguous_labels(label: IntArray, faces: Geoms, segs: Segments) -> IntArray:
    """Return labels where every label's faces are one connected piece, where possible.

    The largest piece (by area) of a label keeps it; every other piece joins the label
    whose main piece it shares the longest boundary with (a piece with no such neighbour
    keeps its label: an island, reported later as non-contiguous).
    """
    label = label.copy()
    comp = label_components(label, segs)
    area = shapely.area(faces)
    comp_area = np.bincount(comp, weights=area)
    comp_label = np.full(len(comp_area), -1, dtype=np.int64)
    comp_label[comp] = label
    order = np.lexsort((-comp_area, comp_label))
    first = np.ones(len(order), dtype=bool)
    first[1:] = comp_label[order][1:] != comp_label[order][:-1]
    main = np.zeros(len(comp_area), dtype=bool)
    main[order[first]] = True
    stray = ~main & (comp_label >= 0)
    if not stray.any():
        return label
    # shared length between each stray piece and the main pieces of other labels
    ca, cb = comp[segs.a], comp[segs.b]
    lens = segs.length
    rows, cols, vals = [], [], []
    for x, y in ((ca, cb), (cb, ca)):
        sel = stray[x] & main[y] & (comp_label[x] != comp_label[y])
        rows.append(x[sel])
        cols.append(comp_label[y][sel])
        vals.append(lens[sel])
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    if len(r) == 0:
        return label
    key, inv = np.unique(np.column_stack([r, c]), axis=0, return_inverse=True)
    total = np.bincount(inv.ravel(), weights=v)
    best = np.lexsort((key[:, 1], -total, key[:, 0]))  # per piece: longest, then lowest label
    k = key[best]
    head = np.ones(len(k), dtype=bool)
    head[1:] = k[1:, 0] != k[:-1, 0]
    new_label = comp_label.copy()
    new_label[k[head, 0]] = k[head, 1]
    return np.asarray(new_label[comp], dtype=np.int64)


def grouped_unions(faces: Geoms, label: IntArray, k: int) -> Geoms:
    """Return per label ``0..k-1`` the coverage union of its faces (empty when none)."""
    out = np.empty(k, dtype=object)
    order = np.argsort(label, kind="stable")
    lab = label[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    ends = np.r_[starts[1:], len(lab)]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        g = int(lab[s])
        if g < 0:
            continue
        members = faces[order[s:e]]
        out[g] = members[0] if len(members) == 1 else coverage_union(members)
    for g in np.flatnonzero([o is None for o in out]).tolist():
        out[g] = shapely.Polygon()
    return out


def voronoi_ridges(xy: FloatArray, labels: IntArray) -> FloatArray:
    """Return the Voronoi edges between points of different labels, ``(m, 2, 2)``.

    scipy's Voronoi (Qhull) gives each ridge with the two points it separates, so the
    edges between owners come without building a polygon per point (GEOS's Voronoi gives
    polygons only). Four points far outside (label -1) make every ridge between two input
    points finite; ridges reaching them lie far away and are not returned. ``xy`` must
    have no duplicate points.
    """
    if len(xy) < 2 or len(np.unique(labels)) < 2:
        return np.zeros((0, 2, 2))
    from scipy.spatial import Voronoi

    lo, hi = xy.min(axis=0), xy.max(axis=0)
    mid = (lo + hi) / 2.0
    reach = 10.0 * max(float(np.max(hi - lo)), 1.0)
    corners = mid + reach * np.asarray([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float)
    pts = np.vstack([xy - mid, corners - mid])
    lab = np.r_[labels, -np.ones(4, dtype=np.int64)]
    vor = Voronoi(pts)
    rp = np.asarray(vor.ridge_points)
    rv = np.asarray(vor.ridge_vertices)
    keep = (lab[rp[:, 0]] >= 0) & (lab[rp[:, 1]] >= 0) & (lab[rp[:, 0]] != lab[rp[:, 1]])
    keep &= (rv >= 0).all(axis=1)
    return np.asarray(vor.vertices[rv[keep]] + mid, dtype=float)


def ridge_lines(ridges: FloatArray) -> BaseGeometry:
    """Return ``(m, 2, 2)`` segments as one MultiLineString."""
    if len(ridges) == 0:
        return shapely.MultiLineString()
    lines = shapely.linestrings(ridges.reshape(-1, 2), indices=np.repeat(np.arange(len(ridges)), 2))
    return shapely.MultiLineString(list(np.asarray(lines, dtype=object)))
