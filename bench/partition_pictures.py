"""Pictures: communities before (previous engine) and after (v3), grids over roads and walls.

Run: ``.venv/bin/python bench/partition_pictures.py --data CITY.gpkg --before OLD.gpkg
--after NEW.gpkg --communities ID1,ID2 --out bench/pictures/NAME.png`` (the GeoPackages are
the ones ``bench/partition.py --keep DIR`` leaves). One row per community, the previous
engine left and v3 right: grids filled by households (red when out of band), grid
boundaries black, main roads red, minor roads blue, paths green, compound walls orange,
buildings grey, and in magenta the stretches of interior grid boundary farther than 15 m
from every road and compound edge (what the "boundary on the ground" figure counts).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.collections import LineCollection

from gridgen.dataset import Dataset
from gridgen.io.plan import read_plan
from gridgen.io.read import read_dataset
from gridgen.partition.boundaries import GROUND_DISTANCE, interior_boundary


def off_ground(ds: Dataset, grids: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Return ``(n, 2, 2)`` segments of interior boundary farther than 15 m from the ground."""
    lines = interior_boundary(grids, outline)
    if len(lines) == 0:
        return np.zeros((0, 2, 2))
    xy, idx = shapely.get_coordinates(shapely.segmentize(lines, 5.0), return_index=True)
    same = idx[:-1] == idx[1:]
    segs = np.stack([xy[:-1][same], xy[1:][same]], axis=1)
    mids = shapely.points(segs.mean(axis=1))
    ground = np.concatenate(
        [
            ds.metric("roads").geometry.to_numpy(),
            shapely.boundary(ds.metric("compounds").geometry.to_numpy()),
        ]
    )
    hit, _ = shapely.STRtree(ground).query(mids, predicate="dwithin", distance=GROUND_DISTANCE)
    off = np.ones(len(mids), dtype=bool)
    off[np.unique(hit)] = False
    return segs[off]


def draw(ax: plt.Axes, ds: Dataset, plan_path: Path, cid: str, title: str) -> None:
    """Draw one community's grids of one plan on ``ax``."""
    plan = read_plan(plan_path)
    comm = ds.metric("communities")
    comm = comm[comm["community_id"].astype(str) == cid]
    grids = plan.grids[plan.grids["community_id"].astype(str) == cid].to_crs(ds.metric_crs)
    x0, y0, x1, y1 = comm.total_bounds
    box = shapely.box(x0 - 40, y0 - 40, x1 + 40, y1 + 40)
    colours = np.where(grids["in_band"].astype(bool), "#9ecae1", "#fb6a4a")
    grids.plot(ax=ax, color=colours, alpha=0.35)
    comp = ds.metric("compounds")
    comp[comp.intersects(box)].boundary.plot(ax=ax, color="orange", lw=0.8)
    bld = ds.metric("buildings")
    bld[bld.intersects(box)].plot(ax=ax, color="#888888")
    roads = ds.metric("roads")
    roads = roads[roads.intersects(box)]
    for kind, colour, width in (
        ("main", "red", 2.5),
        ("minor", "blue", 1.2),
        ("path", "green", 0.8),
    ):
        roads[roads["kind"] == kind].plot(ax=ax, color=colour, lw=width)
    grids.boundary.plot(ax=ax, color="black", lw=1.6)
    comm.boundary.plot(ax=ax, color="purple", lw=2.5)
    segs = off_ground(ds, grids.geometry.to_numpy(), comm.geometry.to_numpy())
    ax.add_collection(LineCollection(segs, colors="magenta", linewidths=3.5))
    for row in grids.itertuples():
        p = row.geometry.representative_point()
        ax.annotate(str(row.households), (p.x, p.y), ha="center", fontsize=8)
    ax.set_xlim(x0 - 40, x1 + 40)
    ax.set_ylim(y0 - 40, y1 + 40)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("--communities", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--before-label", default="previous engine")
    ap.add_argument("--after-label", default="v3 (grids from the ground)")
    args = ap.parse_args()
    ds = read_dataset(args.data)
    cids = args.communities.split(",")
    fig, axes = plt.subplots(len(cids), 2, figsize=(16, 8 * len(cids)))
    axes = np.atleast_2d(axes)
    for row, cid in zip(axes, cids, strict=True):
        draw(row[0], ds, args.before, cid, f"community {cid}: {args.before_label}")
        draw(row[1], ds, args.after, cid, f"community {cid}: {args.after_label}")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=60)
    print(args.out)


if __name__ == "__main__":
    main()
