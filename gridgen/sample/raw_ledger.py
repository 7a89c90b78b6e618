"""The messy population ledger (一标三实) of a raw district: one row per household (room).

See :mod:`gridgen.sample.raw` for what the mess is made of; the rows carry their truth in
columns starting with ``_`` until :func:`ledger_frame` splits them off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj

from gridgen.io.crs import WGS84
from gridgen.sample.raw import DoorBuilding, RawSpec, cn_number, full_width, rooms_of, spelled

LEDGER_COLUMNS = (
    "序号",
    "社区名称",
    "小区名称",
    "楼栋",
    "单元",
    "房号",
    "标准地址",
    "人口数",
    "经度",
    "纬度",
)


def pick(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < p)


def _compound_cell(name: str | None, m: float, rng: np.random.Generator) -> str:
    if name is None or pick(rng, 0.15 * m):
        return ""
    if name.endswith("小区") and pick(rng, 0.3):
        return name[:-2]
    return name + "小区" if not name.endswith("小区") and pick(rng, 0.2 * m) else name


def household_rows(
    b: DoorBuilding, spec: RawSpec, rng: np.random.Generator
) -> list[dict[str, object]]:
    """Return the ledger rows of one building (one per room) with truth fields."""
    m = spec.mess
    rooms = rooms_of(b.households, b.floors)
    if not rooms:  # not a home (a shop, a school): no ledger row
        return []
    extra = rng.multinomial(
        max(0, b.residents - len(rooms)), np.full(len(rooms), 1 / max(1, len(rooms)))
    )
    rows = []
    head = "".join(spec.place) + b.street + b.community
    for (unit, room), people in zip(rooms, 1 + extra, strict=True):
        number = (
            ""
            if b.compound is None
            else spelled(b.number, b.spelling if pick(rng, 1 - 0.5 * m) else int(rng.integers(8)))
        )
        unit_cell = [str(unit), f"{unit}单元", f"{cn_number(unit)}单元"][
            int(rng.choice(3, p=[0.6, 0.3, 0.1]))
        ]
        room_cell = [room, f"{room}室", full_width(room)][int(rng.choice(3, p=[0.7, 0.2, 0.1]))]
        compound_cell = _compound_cell(b.compound, m, rng)
        building_cell = "" if pick(rng, 0.05 * m) else number
        in_address = b.compound if b.compound is not None and not pick(rng, 0.1 * m) else ""
        in_building = spelled(b.number, 0) if b.compound else ""
        address = f"{head}{b.doorplate}{in_address}{in_building}{unit}单元{room}室"
        if compound_cell and building_cell and pick(rng, 0.03 * m):
            address = ""
        residents = str(people) if not pick(rng, 0.05 * m) else f"{people}人"
        x = y = np.nan
        if pick(rng, spec.coordinate_share):
            if b.gate is not None:
                x, y = b.gate
            else:
                dx, dy = b.doors[min(unit, len(b.doors)) - 1]
                x, y = dx + rng.normal(0, spec.noise_m), dy + rng.normal(0, spec.noise_m)
        rows.append(
            {
                "社区名称": b.community, "小区名称": compound_cell, "楼栋": building_cell,
                "单元": unit_cell, "房号": room_cell, "标准地址": address, "人口数": residents,
                "x": x, "y": y, "_building": b.building_id,
                "_kind": "household" if b.present else "missing_building",
                "_room": f"{unit}-{room}", "_people": int(people),
            }
        )  # fmt: skip
    return rows


def messy_extras(
    rows: list[dict[str, object]], spec: RawSpec, rng: np.random.Generator
) -> list[dict[str, object]]:
    """Return ``rows`` with points outside the district, duplicates and junk rows added.

    A duplicate is an exact copy (its 序号 aside) of the row before it, outside point and all.
    """
    rows = list(rows)
    with_xy = [
        i
        for i, r in enumerate(rows)
        if np.isfinite(float(str(r["x"]))) and r["_kind"] == "household"
    ]
    for k, i in enumerate(
        rng.choice(with_xy, size=min(spec.outside_rows, len(with_xy)), replace=False)
    ):
        rows[i] = {**rows[i], "_outside": ("swap", "zero", "far")[k % 3]}
    out: list[dict[str, object]] = []
    for row in rows:
        out.append(row)
        if pick(rng, spec.duplicate_share):
            out.append({**row, "_kind": "duplicate"})
    blank = dict.fromkeys((*LEDGER_COLUMNS[1:7], "人口数"), "") | {
        "x": np.nan,
        "y": np.nan,
        "_building": "",
        "_room": "",
    }
    at = int(rng.integers(1, max(2, len(out))))
    out.insert(at, {**blank, "_kind": "junk"})
    out.insert(
        at // 2, {**blank, "社区名称": str(rows[0]["社区名称"]), "人口数": "2", "_kind": "junk"}
    )
    total = sum(int(str(r["_people"])) for r in rows)
    out.append({**blank, "序号": "合计", "人口数": str(total), "_kind": "junk"})
    return out


def ledger_frame(
    rows: list[dict[str, object]], metric: pyproj.CRS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the ledger (text cells, WGS84 lon/lat) and the truth per data row."""
    frame = pd.DataFrame(rows)
    tr = pyproj.Transformer.from_crs(metric, WGS84, always_xy=True)
    lon, lat = tr.transform(frame["x"].to_numpy(float), frame["y"].to_numpy(float))
    lon, lat = np.asarray(lon), np.asarray(lat)
    outside = frame.get("_outside", pd.Series(None, index=frame.index)).to_numpy(dtype=object)
    lon, lat = lon.copy(), lat.copy()
    swap = outside == "swap"
    lon[swap], lat[swap] = lat[swap].copy(), lon[swap].copy()
    lon[outside == "zero"] = lat[outside == "zero"] = 0.0
    lon[outside == "far"] += 0.1
    seq = frame.get("序号", pd.Series(None, index=frame.index)).astype(object)
    numbers = iter(range(1, len(frame) + 1))
    ledger = pd.DataFrame(
        {
            "序号": [s if isinstance(s, str) and s else str(next(numbers)) for s in seq],
            **{c: frame[c].fillna("").astype(str) for c in LEDGER_COLUMNS[1:8]},
            "经度": [f"{v:.7f}" if np.isfinite(v) else "" for v in lon],
            "纬度": [f"{v:.7f}" if np.isfinite(v) else "" for v in lat],
        }
    )
    truth = pd.DataFrame(
        {
            "row": np.arange(1, len(frame) + 1),
            "building_id": frame["_building"].fillna("").astype(str),
            "kind": frame["_kind"].astype(str),
            "room": frame["_room"].fillna("").astype(str),
            "outside": [o if isinstance(o, str) else "" for o in outside],
        }
    )
    return ledger, truth
