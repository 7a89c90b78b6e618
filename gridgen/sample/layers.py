"""Rows collected by the generator and the finished, schema-conforming layers.

The generator appends rows to a :class:`LayerRows` in metric coordinates; at the end
:func:`finished_layers` turns them into GeoDataFrames with exactly the schema columns,
string ids and property companies, projected to EPSG:4326.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.dataset import empty_layer
from gridgen.io.crs import WGS84
from gridgen.sample.layout import DISTRICT_CODE, SAMPLE_METRIC_CRS, AreaSpec, FloatArray, IntArray
from gridgen.sample.names import (
    company_names,
    compound_names,
    person_names,
    phone_numbers,
)
from gridgen.schema import LAYERS, PROPERTY_MODES


@dataclass
class LayerRows:
    """Column accumulators of every layer (metric coordinates)."""

    cols: dict[str, dict[str, list[object]]] = field(default_factory=dict)
    geoms: dict[str, list[NDArray[np.object_]]] = field(default_factory=dict)
    n_compounds: int = 0

    def add(self, layer: str, geoms: NDArray[np.object_] | None, **columns: object) -> None:
        """Append rows (arrays or lists, all of equal length) to ``layer``."""
        store = self.cols.setdefault(layer, {})
        for name, values in columns.items():
            store.setdefault(name, []).append(values)
        if geoms is not None:
            self.geoms.setdefault(layer, []).append(geoms)

    def column(self, layer: str, name: str) -> NDArray[np.object_] | FloatArray:
        """Return the concatenated column ``name`` of ``layer``."""
        parts = self.cols.get(layer, {}).get(name, [])
        if not parts:
            return np.array([], dtype=object)
        return np.concatenate([np.asarray(p) for p in parts])


def _streets(acc: LayerRows, spec: AreaSpec, street_of: IntArray) -> gpd.GeoDataFrame:
    """Return the streets: unions of their communities (exact, shared lattice edges)."""
    comm = np.concatenate(acc.geoms["communities"])
    geoms = [shapely.union_all(comm[street_of == s]) for s in range(len(spec.street_cells))]
    ids = [f"{DISTRICT_CODE}{s + 1:03d}" for s in range(len(spec.street_cells))]
    return gpd.GeoDataFrame(
        {"street_id": pd.array(ids, dtype="str"), "name": pd.array(spec.street_names, dtype="str")},
        geometry=geoms,
        crs=SAMPLE_METRIC_CRS,
    )


def finished_layers(
    acc: LayerRows,
    spec: AreaSpec,
    community_ids: list[str],
    street_of: IntArray,
    rng: np.random.Generator,
) -> dict[str, gpd.GeoDataFrame]:
    """Return the finished layers with schema columns, string ids, EPSG:4326."""
    crs = SAMPLE_METRIC_CRS
    out: dict[str, gpd.GeoDataFrame] = {"streets": _streets(acc, spec, street_of)}
    out["communities"] = gpd.GeoDataFrame(
        {
            "community_id": _str(acc.column("communities", "community_id")),
            "name": _str(acc.column("communities", "name")),
            "street_id": _str(acc.column("communities", "street_id")),
        },
        geometry=np.concatenate(acc.geoms["communities"]),
        crs=crs,
    )

    companies = _companies(spec.n_companies, rng)
    comp_hh = acc.column("compounds", "households").astype(np.int64)
    n_comp = len(comp_hh)
    modes = _property_modes(comp_hh, rng)
    weights = 1.0 / np.arange(1, spec.n_companies + 1) ** 0.8
    company_of = rng.choice(companies["company_id"].to_numpy(), n_comp, p=weights / weights.sum())
    company_col = np.where(modes == "company", company_of, np.array(None, dtype=object))
    branch = rng.random(n_comp) < np.where(comp_hh >= 400, 0.7, 0.25)
    comp_names = compound_names(n_comp, rng)
    out["compounds"] = gpd.GeoDataFrame(
        {
            "compound_id": _str(acc.column("compounds", "compound_id")),
            "name": _str(comp_names),
            "community_id": _str(acc.column("compounds", "community_id")),
            "property_mode": _str(modes),
            "property_company_id": _str(company_col),
            "party_branch": branch,
        },
        geometry=np.concatenate(acc.geoms["compounds"]),
        crs=crs,
    )

    hh = acc.column("buildings", "households").astype(np.int64)
    n_b = len(hh)
    residents = np.round(hh * rng.uniform(2.3, 3.0, n_b)).astype(np.int64)
    out["buildings"] = gpd.GeoDataFrame(
        {
            "building_id": _str([f"LD{k:06d}" for k in range(1, n_b + 1)]),
            "compound_id": _str(acc.column("buildings", "compound_id")),
            "households": hh,
            "residents": residents,
            "floors": acc.column("buildings", "floors").astype(np.int64),
            "leader_name": _str(person_names(n_b, rng)),
            "leader_phone": _str(phone_numbers(n_b, rng)),
            "key_persons": rng.poisson(hh * 0.015).astype(np.int64),
            "party_members": rng.binomial(residents, 0.05).astype(np.int64),
        },
        geometry=np.concatenate(acc.geoms["buildings"]),
        crs=crs,
    )

    kinds = acc.column("stations", "kind")
    out["stations"] = gpd.GeoDataFrame(
        {
            "station_id": _str([f"ZD{k:04d}" for k in range(1, len(kinds) + 1)]),
            "kind": _str(kinds),
            "name": _str(acc.column("stations", "name")),
            "capacity_households": acc.column("stations", "capacity_households").astype(np.int64),
        },
        geometry=np.concatenate(acc.geoms["stations"]),
        crs=crs,
    )

    road_kind = acc.column("roads", "kind")
    out["roads"] = gpd.GeoDataFrame(
        {
            "road_id": _str([f"DL{k:06d}" for k in range(1, len(road_kind) + 1)]),
            "kind": _str(road_kind),
            "walkable": np.ones(len(road_kind), dtype=bool),
        },
        geometry=np.concatenate(acc.geoms["roads"]),
        crs=crs,
    )
    for name in ("streets", "communities", "compounds", "buildings", "stations", "roads"):
        frame = out[name].to_crs(WGS84)
        cols = [*LAYERS[name].column_names, "geometry"]
        out[name] = frame[cols]
    out["barriers"] = empty_layer("barriers")  # no river, railway or free-standing wall
    out["property_companies"] = companies
    return out


def _str(values: object) -> pd.Series:
    """Return ``values`` as a pandas string column (``None`` becomes NA)."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _property_modes(households: IntArray, rng: np.random.Generator) -> NDArray[np.str_]:
    """Return a property mode per compound; bigger compounds more often have a company."""
    big = np.array([0.85, 0.07, 0.03, 0.02, 0.01, 0.02])
    small = np.array([0.68, 0.07, 0.05, 0.05, 0.06, 0.09])
    u = rng.random(len(households))
    cum = np.where((households >= 400)[:, None], np.cumsum(big), np.cumsum(small))
    idx = np.minimum((u[:, None] > cum).sum(axis=1), len(PROPERTY_MODES) - 1)
    modes = np.asarray(PROPERTY_MODES)[idx]
    # every mode present: give a missing mode to a random small company compound
    for mode in PROPERTY_MODES:
        if len(modes) >= len(PROPERTY_MODES) and not (modes == mode).any():
            counts = {m: int((modes == m).sum()) for m in PROPERTY_MODES}
            donor = max(counts, key=lambda m: counts[m])
            candidates = np.flatnonzero(modes == donor)
            modes[int(rng.choice(candidates))] = mode
    return np.asarray(modes, dtype=np.str_)


def _companies(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return ``n`` property companies, with and without a party organisation."""
    names = company_names(n, rng)
    party = rng.random(n) < 0.6
    if n >= 2:
        party[0], party[-1] = True, False
    return gpd.GeoDataFrame(
        {
            "company_id": _str([f"WY{k:04d}" for k in range(1, n + 1)]),
            "name": _str(names),
            "has_party_org": party,
        }
    )
