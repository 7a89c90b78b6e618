"""The sample district and the synthetic city generator (deterministic, pure).

The sample sits in Taiyuan 小店区 around lon 112.56, lat 37.80 and is built in UTM 49N
(EPSG:32649) metres, then projected to EPSG:4326.

Layout, top down:

* a lattice of community cells (~480 m) whose interior vertices are jittered, so the
  communities are irregular quadrilaterals that share edges exactly; main roads run
  along every lattice edge and streets are blocks of lattice cells;
* inside a community, lots (compounds, a scattered-building lot, sometimes a park) are
  laid out in rows; the row and lot boundaries are minor roads (a few labelled path);
* positions inside a community are given in its unit square ``(u, v)`` and mapped with
  the bilinear map of its quadrilateral. That map sends lines of constant ``u`` or ``v``
  to straight segments and uses the same floating-point expression on both sides of a
  shared edge, so every road meets the next one at a bit-identical shared vertex (the
  network is noded without any snapping);
* buildings are axis-aligned rectangles (long side east-west, as in northern China)
  inside the largest axis-aligned rectangle of their compound quadrilateral.

Everything random comes from one seeded :class:`numpy.random.Generator`, so the same
arguments always give identical frames.

This module drives the generation; the parts live in :mod:`gridgen.sample.layout`
(lattice, lot rows, roads), :mod:`gridgen.sample.buildings` (compounds, buildings,
stations of a community) and :mod:`gridgen.sample.layers` (rows to finished layers).
The constants are re-exported here.
"""

from __future__ import annotations

import importlib.resources
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gridgen.errors import ParameterError
from gridgen.sample.buildings import add_community
from gridgen.sample.layers import LayerRows, finished_layers
from gridgen.sample.layout import (
    DISTRICT_CODE,
    AreaSpec,
    CommunityRoads,
    FloatArray,
    IntArray,
    lattice_vertices,
    main_road_segments,
)
from gridgen.sample.names import community_names, street_names

__all__ = [
    "DEFAULT_DISTRICT_SEED",
    "make_city",
    "make_district",
    "sample_path",
]

DEFAULT_DISTRICT_SEED = 20261123
_MEAN_COMMUNITY_HOUSEHOLDS = 2750.0


def sample_path() -> Path:
    """Return the folder of the sample district shipped inside the package.

    It holds ``district.gpkg`` and ``stations_gcj02.geojson`` (package data, so an installed
    wheel can run the demo); ``sample_data/make_sample.py`` regenerates them.
    """
    return Path(str(importlib.resources.files("gridgen.sample") / "data"))


def _generate(spec: AreaSpec, rng: np.random.Generator) -> dict[str, gpd.GeoDataFrame]:
    """Return all layers of the area described by ``spec`` (EPSG:4326)."""
    verts = lattice_vertices(spec, rng)
    acc = LayerRows()
    n_comm = spec.n_x * spec.n_y
    street_of = np.empty(n_comm, dtype=np.int64)
    for s, cells in enumerate(spec.street_cells):
        street_of[list(cells)] = s
    targets = np.asarray(spec.community_targets)
    micro = _largest_remainder(targets / targets.sum() * spec.n_micro)
    red = np.zeros(n_comm, dtype=bool)
    red[rng.choice(n_comm, size=min(spec.n_red_front, n_comm), replace=False)] = True

    quads = np.stack(
        [verts[:-1, :-1], verts[1:, :-1], verts[1:, 1:], verts[:-1, 1:]], axis=2
    )  # (n_x, n_y, 4, 2)
    seq_in_street = np.zeros(len(spec.street_cells), dtype=np.int64)
    parts: list[CommunityRoads] = []
    community_ids: list[str] = []
    for c in range(n_comm):
        i, j = c % spec.n_x, c // spec.n_x
        s = int(street_of[c])
        seq_in_street[s] += 1
        cid = f"{DISTRICT_CODE}{s + 1:03d}{seq_in_street[s]:03d}"
        community_ids.append(cid)
        quad = quads[i, j]
        ring = np.vstack([quad, quad[:1]])
        acc.add(
            "communities",
            np.array([shapely.polygons(ring)], dtype=object),
            community_id=[cid],
            name=[spec.community_names[c]],
            street_id=[f"{DISTRICT_CODE}{s + 1:03d}"],
        )
        parts.append(
            add_community(
                acc,
                quad,
                target=float(targets[c]),
                community_id=cid,
                community_name=spec.community_names[c],
                spec=spec,
                n_micro=int(micro[c]),
                red_front=bool(red[c]),
                west=parts[c - 1].splits["right"] if i > 0 else np.empty(0),
                south=parts[c - spec.n_x].splits["top"] if j > 0 else np.empty(0),
                rng=rng,
            )
        )

    main, main_kind = main_road_segments(verts, spec, parts)
    minor = [seg for p in parts for seg in p.minor]
    minor_kind = [k for p in parts for k in p.minor_kind]
    acc.add(
        "roads",
        np.asarray(shapely.linestrings(np.stack(main + minor)), dtype=object),
        kind=main_kind + minor_kind,
    )
    return finished_layers(acc, spec, community_ids, street_of, rng)


def _largest_remainder(quota: FloatArray) -> IntArray:
    """Return integers summing to ``round(quota.sum())``, each floor or ceil of its quota."""
    base = np.floor(quota).astype(np.int64)
    extra = round(float(quota.sum())) - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:extra]] += 1
    return base


def make_district(*, seed: int = DEFAULT_DISTRICT_SEED) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of the sample district (Taiyuan 小店区, EPSG:4326).

    Three streets (坞城, 龙城, 黄陵街道) of 4, 4 and 2 communities; about 90
    compounds, 1,000 buildings and 28,000 households; a centre per community, 25
    micro-stations, 3 red fronts; a noded road network; 15 property companies.

    Parameters
    ----------
    seed
        Seed of the random generator; the default gives the committed sample.

    Returns
    -------
    dict of GeoDataFrame
        One frame per name of :data:`gridgen.schema.DATASET_LAYERS` with exactly the
        schema columns (``property_companies`` has no geometry).
    """
    rng = np.random.default_rng(seed)
    n_x, n_y = 5, 2
    cells = tuple(
        tuple(j * n_x + i for j in range(n_y) for i in cols) for cols in ((0, 1), (2, 3), (4,))
    )
    names = tuple(community_names(n_x * n_y, rng))
    spec = AreaSpec(
        n_x=n_x,
        n_y=n_y,
        street_cells=cells,
        street_names=("坞城街道", "龙城街道", "黄陵街道"),
        community_names=names,
        community_targets=tuple(rng.uniform(2000.0, 3500.0, n_x * n_y)),
        n_micro=25,
        n_red_front=3,
        n_companies=15,
    )
    return _generate(spec, rng)


def make_city(*, households: int = 300_000, seed: int = 1) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of a synthetic city of about ``households`` households.

    The sample district's generator, scaled: communities of ~2,750 households on a
    square lattice, streets of up to 4 x 3 communities, about one station per 300
    households (a centre per community, red fronts in a third of them, the rest
    micro-stations), one property company per ~8 company-managed compounds.

    Parameters
    ----------
    households
        Total households requested (≥ 2,000); the result is within a few tenths of a
        percent of it.
    seed
        Seed of the random generator.

    Raises
    ------
    ParameterError
        When ``households`` is below 2,000 (one community).
    """
    if households < 2000:
        msg = f"households={households} is too small for a city: give at least 2000"
        raise ParameterError(msg)
    rng = np.random.default_rng(seed)
    n_comm = max(1, round(households / _MEAN_COMMUNITY_HOUSEHOLDS))
    n_x = math.ceil(math.sqrt(n_comm))
    n_y = math.ceil(n_comm / n_x)
    n_comm = n_x * n_y
    targets = rng.uniform(2000.0, 3500.0, n_comm)
    targets = targets / targets.sum() * households
    cells: list[tuple[int, ...]] = []
    for sy in range(0, n_y, 3):
        for sx in range(0, n_x, 4):
            cells.append(
                tuple(
                    j * n_x + i
                    for j in range(sy, min(sy + 3, n_y))
                    for i in range(sx, min(sx + 4, n_x))
                )
            )
    streets = tuple(street_names(len(cells)))
    comm_names = community_names(n_comm, rng)
    n_red = max(1, n_comm // 3)
    n_micro = max(n_comm, round(households / 300) - n_comm - n_red)
    spec = AreaSpec(
        n_x=n_x,
        n_y=n_y,
        street_cells=tuple(cells),
        street_names=streets,
        community_names=tuple(comm_names),
        community_targets=tuple(targets),
        n_micro=n_micro,
        n_red_front=n_red,
        n_companies=max(15, round(households / 2750 * 0.9)),
    )
    return _generate(spec, rng)
