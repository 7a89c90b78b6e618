"""A railway and a river across a generated city (a ``barriers`` layer to follow).

:func:`with_railway_and_river` takes the raw layers of any generated city (the walled,
filled or jittered-lattice city) and lays across it what the generators do not draw: a
railway from west to east on a gentle curve (a line) and a meandering river from south to
north drawn as a water area (a polygon 40 m wide). Compounds and scattered buildings in
their corridors are removed (a railway does not run through a compound), roads are kept
(they cross on bridges). The result is a city whose grids should meet on the railway and
the river banks: ``bench/barriers.py`` partitions it with and without the layer.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gridgen.io.crs import WGS84, metric_crs_for

RAIL_CORRIDOR_M = 30.0
"""Width of land cleared along the railway."""
RIVER_WIDTH_M = 40.0
"""Width of the river's water area."""
BANK_M = 15.0
"""Land cleared beyond each bank."""


def with_railway_and_river(
    raw: dict[str, gpd.GeoDataFrame], *, seed: int = 0
) -> dict[str, gpd.GeoDataFrame]:
    """Return ``raw`` (EPSG:4326 layers of a generated city) with a railway and a river in a
    ``barriers`` layer, and the compounds and buildings in their corridors removed."""
    metric = metric_crs_for(raw["communities"])
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = raw["communities"].to_crs(metric).total_bounds
    w, h = maxx - minx, maxy - miny
    x = np.linspace(minx - 200.0, maxx + 200.0, 60)
    phase = rng.uniform(0, 2 * np.pi)
    y_rail = miny + 0.4 * h + 0.06 * h * np.sin(2 * np.pi * (x - minx) / w + phase)
    rail = shapely.LineString(np.column_stack([x, y_rail]))
    y = np.linspace(miny - 200.0, maxy + 200.0, 80)
    x_river = minx + 0.62 * w + 0.05 * w * np.sin(3 * np.pi * (y - miny) / h + phase)
    centre = shapely.LineString(np.column_stack([x_river, y]))
    water = shapely.buffer(centre, RIVER_WIDTH_M / 2.0, cap_style="flat")
    cleared = shapely.union_all(
        [
            shapely.buffer(rail, RAIL_CORRIDOR_M / 2.0),
            shapely.buffer(centre, RIVER_WIDTH_M / 2.0 + BANK_M),
        ]
    )
    out = dict(raw)
    comp = raw["compounds"].to_crs(metric)
    gone = comp.loc[comp.intersects(cleared), "compound_id"].astype(str)
    out["compounds"] = raw["compounds"][~raw["compounds"]["compound_id"].astype(str).isin(gone)]
    bld = raw["buildings"]
    hit = bld.to_crs(metric).intersects(cleared).to_numpy()
    in_gone = bld["compound_id"].astype(str).isin(gone).to_numpy()
    out["buildings"] = bld[~(hit | in_gone)]
    barriers = gpd.GeoDataFrame(
        {"barrier_id": ["TL1", "HL1"], "kind": ["railway", "river"], "name": ["铁路", "河"]},
        geometry=[rail, water],
        crs=metric,
    )
    out["barriers"] = barriers.to_crs(WGS84)
    return {k: v.reset_index(drop=True) for k, v in out.items()}
