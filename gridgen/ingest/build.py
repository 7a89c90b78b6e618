"""The whole ingest step: a district's files in, a validated dataset and a match report out.

:func:`ingest_files` reads the inputs (:mod:`gridgen.ingest.sources`), finds their columns
(:mod:`gridgen.ingest.columns`), reads and normalises the ledger
(:mod:`gridgen.ingest.ledger`), places its buildings on the footprints
(:mod:`gridgen.ingest.matching`), builds gridgen's layers and validates them like any
input (:func:`gridgen.validate.layers.validate_layers`):

- ``streets``: the first 9 digits of 12-digit community codes (or a street code column),
  named from a street name column, drawn as the union of their communities;
- ``communities``: code, name, street;
- ``compounds``: the outlines, ids generated (``XQ0001`` ...), names kept;
- ``buildings``: the footprints with their compound by containment, households (distinct
  rooms of the ledger) and residents; a footprint no ledger row reaches has 0;
- ``roads`` (:mod:`gridgen.ingest.roads`), ``barriers`` (rivers, railways, walls:
  :mod:`gridgen.ingest.barriers`) and ``stations`` when given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.errors import ParameterError, SchemaError
from gridgen.ingest.barriers import mapped_barriers
from gridgen.ingest.columns import ColumnMap, find_columns
from gridgen.ingest.ledger import Ledger, ledger_from_rows
from gridgen.ingest.matching import match_ledger
from gridgen.ingest.placement import Footprints, Outlines, name_keys, outline_of
from gridgen.ingest.report import MatchReport, match_report
from gridgen.ingest.roads import mapped_roads
from gridgen.ingest.sources import Source, read_source
from gridgen.io.crs import WGS84, DeclaredCRS, metric_crs_for, parse_crs
from gridgen.io.spreadsheet import TableLimits, table_rows

Progress = Callable[[str], None]

STATION_KIND_WORDS: tuple[tuple[str, str], ...] = (
    ("微站", "micro"),
    ("中心", "center"),
    ("红色", "red_front"),
    ("阵地", "red_front"),
)
"""Words of Chinese station types and the kind they mean (first match wins)."""


@dataclass(frozen=True)
class IngestOptions:
    """How to read the inputs.

    Attributes
    ----------
    ledger_crs
        System of the ledger's coordinates: ``gcj02`` (default, Amap/Tencent), ``bd09`` or
        an EPSG code.
    crs
        Input → declared system for files that carry none or carry the WGS84 default
        (``{"footprints": "gcj02"}``).
    mapping
        ``--map`` column overrides.
    road_classes
        OSM class → (kind, walkable) table (default :data:`gridgen.ingest.roads.ROAD_CLASSES`).
    limits
        Limits on the ledger (rows, inflated size).
    """

    ledger_crs: str | int | None = "gcj02"
    crs: Mapping[str, str] = field(default_factory=dict)
    mapping: ColumnMap = field(default_factory=lambda: ColumnMap({}))
    road_classes: Mapping[str, tuple[str, bool]] | None = None
    limits: TableLimits = field(default_factory=TableLimits)


CRS_INPUTS = ("communities", "footprints", "compounds", "roads", "barriers", "stations")


def parse_input_crs(items: Iterable[str]) -> dict[str, str]:
    """Return input → CRS from ``INPUT=CRS`` items (``footprints=gcj02``).

    Raises
    ------
    ParameterError
        A malformed item or an unknown input.
    """
    out: dict[str, str] = {}
    for item in items:
        name, sep, crs = str(item).partition("=")
        name = name.strip().lower()
        if not sep or name not in CRS_INPUTS or not crs.strip():
            msg = f"--crs {item!r}: give INPUT=CRS with INPUT one of {', '.join(CRS_INPUTS)}"
            raise ParameterError(msg)
        parse_crs(crs.strip())  # a bad system fails here, before any file is read
        out[name] = crs.strip()
    return out


def ingest_options(
    *,
    ledger_crs: str = "gcj02",
    crs: Iterable[str] = (),
    mapping: Iterable[str] = (),
    road_classes: Iterable[str] = (),
    limits: TableLimits | None = None,
) -> IngestOptions:
    """Return the options of ``gridgen ingest`` (and ``POST /datasets/ingest``) from their text.

    Raises
    ------
    ParameterError, UnknownCRSError
        A malformed ``--crs``, ``--map`` or ``--road-class`` item, or an unknown system.
    """
    from gridgen.ingest.columns import parse_map
    from gridgen.ingest.roads import parse_road_classes

    parse_crs(ledger_crs)
    return IngestOptions(
        ledger_crs=ledger_crs,
        crs=parse_input_crs(crs),
        mapping=parse_map(mapping),
        road_classes=parse_road_classes(road_classes),
        limits=limits or TableLimits(),
    )


@dataclass(frozen=True)
class IngestResult:
    """A validated dataset, its match report, and seconds per stage."""

    dataset: Dataset
    report: MatchReport
    timings: dict[str, float]


def _text(series: pd.Series) -> pd.Series:
    """Return cells as text (whole floats without ``.0``, blank as None)."""

    def one(v: object) -> str | None:
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            return None
        if isinstance(v, float) and v == int(v):
            return str(int(v))
        text = str(v).strip()
        return text or None

    return series.astype(object).map(one)


def _communities(
    src: Source, mapping: ColumnMap
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    cols = find_columns(
        list(src.frame.columns), "communities", source=f"communities {src.path.name}",
        mapping=mapping, required=("community_id",),
    )  # fmt: skip
    ids = _text(src.frame[cols["community_id"]])
    if "street_id" in cols:
        streets = _text(src.frame[cols["street_id"]])
    elif ids.dropna().str.fullmatch(r"\d{12}").all():
        streets = ids.str.slice(0, 9)
    else:
        streets = pd.Series(None, index=ids.index, dtype=object)
    name = _text(src.frame[cols["name"]]) if "name" in cols else None
    out = gpd.GeoDataFrame(
        {"community_id": ids, "name": name, "street_id": streets},
        geometry=src.frame.geometry.values,
        crs=WGS84,
    )
    if streets.isna().all():
        return out, None
    street_names = _text(src.frame[cols["street_name"]]) if "street_name" in cols else None
    rows = []
    for sid, part in out.groupby("street_id", sort=True):
        label = street_names[part.index].dropna() if street_names is not None else pd.Series([])
        geom = shapely.union_all(part.geometry.values)
        rows.append(
            {"street_id": sid, "name": label.iloc[0] if len(label) else None, "geometry": geom}
        )
    return out, gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def _footprints(src: Source, mapping: ColumnMap, notes: list[str]) -> gpd.GeoDataFrame:
    source = f"footprints {src.path.name}"
    cols = find_columns(list(src.frame.columns), "buildings", source=source, mapping=mapping)
    ids = _text(src.frame[cols["building_id"]]) if "building_id" in cols else None
    if ids is not None and (ids.isna().any() or ids.duplicated().any()):
        bad = ids.isna() | ids.duplicated(keep=False)
        rows = src.frame.loc[bad, "source_row"].tolist()[:10]
        if mapping.get("buildings", "building_id") is not None:
            msg = (
                f"{source}: column {cols['building_id']} has blank or repeated ids (rows "
                f"{', '.join(map(str, rows))}); give each footprint its own id"
            )
            raise SchemaError(msg)
        notes.append(f"{source}: column {cols['building_id']} is not a unique id; ids generated")
        ids = None
    if ids is None:
        ids = pd.Series([f"LD{i:06d}" for i in range(1, len(src.frame) + 1)], dtype=object)
    floors = None
    if "floors" in cols:
        floors = pd.to_numeric(_text(src.frame[cols["floors"]]), errors="coerce").round()
    name = _text(src.frame[cols["name"]]) if "name" in cols else pd.Series(None, index=ids.index)
    return gpd.GeoDataFrame(
        {"building_id": ids.to_numpy(), "name": name.to_numpy(), "floors": floors},
        geometry=src.frame.geometry.values,
        crs=WGS84,
    )


def _compounds(src: Source | None, mapping: ColumnMap) -> gpd.GeoDataFrame:
    if src is None:
        return gpd.GeoDataFrame({"compound_id": [], "name": []}, geometry=[], crs=WGS84)
    cols = find_columns(
        list(src.frame.columns), "compounds", source=f"compounds {src.path.name}", mapping=mapping
    )
    ids = _text(src.frame[cols["compound_id"]]) if "compound_id" in cols else None
    if ids is None or ids.isna().any() or ids.duplicated().any():
        ids = pd.Series([f"XQ{i:04d}" for i in range(1, len(src.frame) + 1)], dtype=object)
    name = _text(src.frame[cols["name"]]) if "name" in cols else pd.Series(None, index=ids.index)
    return gpd.GeoDataFrame(
        {"compound_id": ids.to_numpy(), "name": name.to_numpy()},
        geometry=src.frame.geometry.values,
        crs=WGS84,
    )


def _stations(src: Source, mapping: ColumnMap) -> gpd.GeoDataFrame:
    cols = find_columns(
        list(src.frame.columns), "stations", source=f"stations {src.path.name}",
        mapping=mapping, required=("kind",),
    )  # fmt: skip

    def kind(v: str | None) -> str | None:
        if v is None:
            return None
        return next((k for word, k in STATION_KIND_WORDS if word in v), v.strip().lower())

    ids = _text(src.frame[cols["station_id"]]) if "station_id" in cols else None
    if ids is None or ids.isna().any() or ids.duplicated().any():
        ids = pd.Series([f"ZD{i:04d}" for i in range(1, len(src.frame) + 1)], dtype=object)
    out = {
        "station_id": ids.to_numpy(),
        "kind": _text(src.frame[cols["kind"]]).map(kind).to_numpy(),
    }
    for fld in ("name", "capacity_households"):
        if fld in cols:
            out[fld] = _text(src.frame[cols[fld]]).to_numpy()
    return gpd.GeoDataFrame(out, geometry=src.frame.geometry.values, crs=WGS84)


@dataclass(frozen=True)
class IngestPaths:
    """The files of a district (``compounds``, ``roads``, ``barriers`` and ``stations`` are
    optional)."""

    communities: Path
    footprints: Path
    ledger: Path
    compounds: Path | None = None
    roads: Path | None = None
    stations: Path | None = None
    barriers: Path | None = None

    def spatial(self) -> dict[str, Path]:
        """Return input kind → path of the spatial inputs given."""
        pairs = {
            "communities": self.communities,
            "buildings": self.footprints,
            "compounds": self.compounds,
            "roads": self.roads,
            "barriers": self.barriers,
            "stations": self.stations,
        }
        return {kind: Path(p) for kind, p in pairs.items() if p is not None}


def _declared(crs: Mapping[str, str], kind: str) -> str | None:
    names = ("footprints", "buildings") if kind == "buildings" else (kind,)
    return next((crs[n] for n in names if n in crs), None)


def _prepared(
    footprints: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame, metric: object
) -> tuple[Footprints, Outlines]:
    """Return the footprints and outlines in metres with their name keys."""
    from gridgen.ingest.addresses import compound_key, texts

    outline_geoms = np.asarray(compounds.to_crs(metric).geometry.values, dtype=object)
    outlines = Outlines(outline_geoms, [compound_key(n) for n in texts(compounds["name"])])
    fp_geoms = np.asarray(footprints.to_crs(metric).geometry.values, dtype=object)
    aoi = outline_of(fp_geoms, outlines)
    aoi_keys = [outlines.key[a] if a >= 0 else None for a in aoi]
    place, building = name_keys(footprints["name"].tolist(), aoi_keys)
    ids = footprints["building_id"].to_numpy(dtype=object)
    return Footprints(ids, fp_geoms, place, building, aoi), outlines


def _buildings(
    footprints: gpd.GeoDataFrame, fps: Footprints, compounds: gpd.GeoDataFrame, totals: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Return the buildings layer: footprints with compound, households and residents."""
    comp_ids = compounds["compound_id"].to_numpy(dtype=object)
    compound = np.where(
        fps.aoi >= 0, comp_ids[np.maximum(fps.aoi, 0)] if len(comp_ids) else None, None
    )
    per = totals.set_index("building_id")
    ids = footprints["building_id"]
    out = gpd.GeoDataFrame(
        {
            "building_id": ids.to_numpy(),
            "compound_id": compound,
            "households": per["households"].reindex(ids).fillna(0).astype(np.int64).to_numpy(),
            "residents": per["residents"].reindex(ids).fillna(0).astype(np.int64).to_numpy(),
        },
        geometry=footprints.geometry.values,
        crs=WGS84,
    )
    if footprints["floors"].notna().any():
        out["floors"] = (
            pd.array(footprints["floors"].to_numpy(), dtype="Float64").round().astype("Int64")
        )
    return out


def ingest_files(
    paths: IngestPaths,
    *,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    name: str = "ingest",
) -> IngestResult:
    """Return the validated dataset and the match report of a district's files.

    Raises
    ------
    InputError
        Any input that cannot be used (the message names the file, column or row and the
        fix): see :mod:`gridgen.ingest.sources`, :mod:`gridgen.ingest.ledger`.
    """
    from gridgen.validate.layers import validate_layers

    opts = options or IngestOptions()
    say = progress or (lambda message: None)
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(stage: str) -> float:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now
        return timings[stage]

    sources = {
        kind: read_source(path, kind, crs=_declared(opts.crs, kind))
        for kind, path in paths.spatial().items()
    }
    notes = [note for src in sources.values() for note in src.notes]
    communities, streets = _communities(sources["communities"], opts.mapping)
    footprints = _footprints(sources["buildings"], opts.mapping, notes)
    compounds = _compounds(sources.get("compounds"), opts.mapping)
    say(
        f"read {len(communities)} communities, {len(footprints)} footprints, "
        f"{len(compounds)} compounds ({lap('read_inputs'):.1f} s)"
    )
    rows = table_rows(paths.ledger, paths.ledger.name, limits=opts.limits)
    say(f"ledger {paths.ledger.name}: {len(rows)} rows read ({lap('read_ledger'):.1f} s)")
    ledger = ledger_from_rows(rows, paths.ledger.name, crs=opts.ledger_crs, mapping=opts.mapping)
    del rows
    say(f"ledger: {ledger.rows} data rows normalised ({lap('normalise'):.1f} s)")
    metric = metric_crs_for(communities)
    fps, outlines = _prepared(footprints, compounds, metric)
    district = shapely.union_all(communities.to_crs(metric).geometry.values)
    matching = match_ledger(ledger.frame, fps, outlines, district=district, metric=metric)
    matched = int(matching.rows["how"].isin(["coordinate", "address", "both"]).sum())
    buildings = len(matching.buildings)
    say(f"matched {matched} of {ledger.rows} rows to {buildings} footprints ({lap('match'):.1f} s)")
    raw: dict[str, pd.DataFrame] = {
        "communities": communities,
        "compounds": compounds,
        "buildings": _buildings(footprints, fps, compounds, matching.buildings),
    }
    if streets is not None:
        raw["streets"] = streets
    raw |= _linework(sources, opts, notes)
    if "stations" in sources:
        raw["stations"] = _stations(sources["stations"], opts.mapping)
    dataset = validate_layers(raw, declared_crs=DeclaredCRS(crs=WGS84), source=name)
    rejected = sum(c.rows_rejected for c in dataset.report.counts.values())
    findings = len(dataset.report.findings)
    say(f"validated: {findings} findings, {rejected} rows rejected ({lap('validate'):.1f} s)")
    report = match_report(
        matching,
        footprints=len(footprints),
        ledger=_ledger_info(ledger, paths.ledger),
        notes=tuple(notes),
    )
    return IngestResult(dataset=dataset, report=report, timings=timings)


def _linework(
    sources: Mapping[str, Source], opts: IngestOptions, notes: list[str]
) -> dict[str, pd.DataFrame]:
    """Return the ``roads`` and ``barriers`` layers of the inputs given (notes: what was
    left out, by class)."""
    out: dict[str, pd.DataFrame] = {}
    if "roads" in sources:
        src = sources["roads"]
        cols = find_columns(
            list(src.frame.columns), "roads", source=f"roads {src.path.name}",
            mapping=opts.mapping, required=("fclass",),
        )  # fmt: skip
        roads = mapped_roads(src.frame, cols, table=opts.road_classes)
        out["roads"] = roads.frame.drop(columns=["name"])
        if roads.dropped:
            notes.append(f"roads: left out (not roads on the ground): {_counts(roads.dropped)}")
        if roads.unknown:
            notes.append(
                f"roads: classes not in the table, taken as minor: {_counts(roads.unknown)}"
            )
    if "barriers" in sources:
        src = sources["barriers"]
        cols = find_columns(
            list(src.frame.columns), "barriers", source=f"barriers {src.path.name}",
            mapping=opts.mapping,
        )  # fmt: skip
        barriers = mapped_barriers(src.frame, cols)
        out["barriers"] = barriers.frame
        notes.append(f"barriers: kept {_counts(barriers.by_kind) or 'none'}")
        if barriers.dropped:
            notes.append(
                "barriers: left out (trams, drains, fences, tunnels, unknown classes): "
                f"{_counts(barriers.dropped)}"
            )
    return out


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def _ledger_info(ledger: Ledger, path: Path) -> dict[str, object]:
    return {
        "file": path.name,
        "rows": ledger.rows,
        "header_row": ledger.header_row,
        "columns": ledger.columns,
        "ignored": list(ledger.ignored),
        "crs": ledger.crs,
    }
