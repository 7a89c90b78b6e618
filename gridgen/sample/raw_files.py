"""Writing a raw district as the files a district hands over (and its truth, kept aside).

:func:`write_raw_district` writes into a folder:

- ``communities.shp`` (+ ``.dbf`` in GBK, ``.prj`` of a CGCS2000 Gauss-Krüger zone; a
  ``.cpg`` only when asked: Chinese GIS software often writes none);
- ``footprints.gpkg`` in CGCS2000 (EPSG:4490), or ``footprints.geojson`` in GCJ-02 as an
  Amap export is (labelled WGS84: declare it with ``--crs footprints=gcj02``);
- ``compounds.geojson`` (EPSG:4490), ``stations.geojson`` (when the district has stations);
- ``roads/gis_osm_roads_free_1.shp`` as in Geofabrik's extracts (UTF-8 with ``.cpg``);
- ``ledger.xlsx`` (a title row above the header) or ``ledger.csv`` in GBK/GB18030/UTF-8, the
  coordinates in GCJ-02 or BD-09;
- ``truth/``: ``rows.csv`` (true building per ledger row), ``buildings.csv`` and
  ``communities.gpkg`` (WGS84), never read by ``gridgen ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from gridgen.io.crs import wgs84_to_bd09, wgs84_to_gcj02
from gridgen.sample.raw import RawDistrict


@dataclass(frozen=True)
class RawFormat:
    """How the raw files are written.

    Attributes
    ----------
    communities_epsg
        CGCS2000 Gauss-Krüger zone of the communities (4513-4533 with the zone number in x,
        4534-4554 without).
    cpg
        Whether the communities' Shapefile gets a ``.cpg`` naming GBK.
    footprints
        ``gpkg`` (EPSG:4490) or ``geojson-gcj02`` (GCJ-02, labelled WGS84).
    ledger
        ``xlsx`` or ``csv``.
    ledger_encoding
        CSV encoding (``gbk``, ``gb18030``, ``utf-8-sig``).
    ledger_crs
        ``gcj02`` or ``bd09``.
    title_row
        Whether the workbook has a title row above the header.
    """

    communities_epsg: int = 4526
    cpg: bool = False
    footprints: str = "gpkg"
    ledger: str = "xlsx"
    ledger_encoding: str = "gbk"
    ledger_crs: str = "gcj02"
    title_row: bool = True


def _ledger_coordinates(ledger: pd.DataFrame, system: str) -> pd.DataFrame:
    lon = pd.to_numeric(ledger["经度"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(ledger["纬度"], errors="coerce").to_numpy(float)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
    convert = wgs84_to_gcj02 if system == "gcj02" else wgs84_to_bd09
    x, y = lon.copy(), lat.copy()
    x[ok], y[ok] = convert(lon[ok], lat[ok])
    out = ledger.copy()
    out["经度"] = [f"{v:.7f}" if s else "" for v, s in zip(x, ledger["经度"] != "", strict=True)]
    out["纬度"] = [f"{v:.7f}" if s else "" for v, s in zip(y, ledger["纬度"] != "", strict=True)]
    return out


def write_ledger(ledger: pd.DataFrame, path: Path, *, title: str | None, encoding: str) -> Path:
    """Write the ledger as ``.xlsx`` (write-only, constant memory) or ``.csv``."""
    if path.suffix == ".csv":
        path.write_bytes(ledger.to_csv(index=False).encode(encoding))
        return path
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    if title:
        sheet.append([title])
    sheet.append(list(ledger.columns))
    for values in ledger.itertuples(index=False):
        sheet.append([v if v != "" else None for v in values])
    book.save(path)
    return path


def write_raw_district(
    raw: RawDistrict, folder: str | Path, fmt: RawFormat | None = None
) -> dict[str, Path]:
    """Write ``raw`` into ``folder`` (see the module docstring); return input name → path."""
    fmt = fmt or RawFormat()
    out = Path(folder)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    communities = raw.communities.to_crs(fmt.communities_epsg)
    paths["communities"] = out / "communities.shp"
    pyogrio.write_dataframe(communities, paths["communities"], encoding="GBK")
    if not fmt.cpg:
        paths["communities"].with_suffix(".cpg").unlink(missing_ok=True)
    if fmt.footprints == "gpkg":
        paths["footprints"] = out / "footprints.gpkg"
        pyogrio.write_dataframe(
            raw.footprints.to_crs(4490), paths["footprints"], layer="footprints"
        )
    else:
        from gridgen.io.crs import frame_from_wgs84, parse_crs

        paths["footprints"] = out / "footprints.geojson"
        gcj = frame_from_wgs84(raw.footprints, parse_crs("gcj02"))
        pyogrio.write_dataframe(gcj, paths["footprints"], driver="GeoJSON", COORDINATE_PRECISION=8)
    if len(raw.compounds):
        paths["compounds"] = out / "compounds.geojson"
        pyogrio.write_dataframe(raw.compounds.to_crs(4490), paths["compounds"], driver="GeoJSON")
    if raw.roads is not None:
        (out / "roads").mkdir(exist_ok=True)
        paths["roads"] = out / "roads" / "gis_osm_roads_free_1.shp"
        pyogrio.write_dataframe(raw.roads, paths["roads"], encoding="UTF-8")
    if "stations" in raw.extra:
        paths["stations"] = out / "stations.geojson"
        pyogrio.write_dataframe(raw.extra["stations"], paths["stations"], driver="GeoJSON")
    ledger = _ledger_coordinates(raw.ledger, fmt.ledger_crs)
    suffix = ".xlsx" if fmt.ledger == "xlsx" else ".csv"
    community = str(raw.communities["社区名称"].iloc[0])
    title = f"{community}等社区房屋人口台账（一标三实）" if fmt.title_row else None
    paths["ledger"] = write_ledger(
        ledger, out / f"ledger{suffix}", title=title, encoding=fmt.ledger_encoding
    )
    raw.truth_rows.to_csv(out / "truth" / "rows.csv", index=False)
    raw.truth_buildings.to_csv(out / "truth" / "buildings.csv", index=False)
    pyogrio.write_dataframe(raw.truth_communities, out / "truth" / "communities.gpkg")
    return paths
