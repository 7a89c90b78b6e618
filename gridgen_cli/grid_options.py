"""Options shared by the commands that read existing grid layers (audit, rebalance, merge)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

    from gridgen.dataset import Dataset


def add_grid_options(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    """Add ``--grids``, ``--id-column``, ``--grids-crs``, ``--crs``, ``--target``, ``--band``."""
    parser.add_argument(
        "--grids",
        type=Path,
        action="append" if many else "store",
        required=many,
        help="existing grid layer: GeoPackage, GeoJSON or zipped Shapefile"
        + (" (repeat for each layer)" if many else ""),
    )
    parser.add_argument(
        "--id-column",
        default=None,
        help="grid code column (default: first of grid_id, code, 网格编码, 网格编号)",
    )
    parser.add_argument(
        "--grids-crs", default=None, help="declared CRS of the grid layer: EPSG code, gcj02, bd09"
    )
    parser.add_argument("--crs", default=None, help="declared CRS of DATA")
    parser.add_argument("--target", type=int, default=300, help="households per grid (300)")
    parser.add_argument("--band", default=None, help="MIN,MAX households (default ±20%%)")


def load_grids(args: argparse.Namespace, ds: Dataset, path: Path) -> gpd.GeoDataFrame:
    """Return the grid layer at ``path`` in WGS84, refused when it does not lie on ``ds``."""
    from gridgen.io.grids import read_grid_layer
    from gridgen.partition.existing import check_grid_extent

    grids = read_grid_layer(path, id_column=args.id_column, crs=args.grids_crs)
    check_grid_extent(ds, grids, source=str(path))
    return grids
