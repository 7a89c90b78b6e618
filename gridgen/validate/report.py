"""The validation report: findings, per-layer row accounting, JSON and a human summary."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["repaired", "rejected", "reassigned", "estimated", "flagged", "defaulted"]

RULES: dict[str, str] = {
    "invalid_geometry": "invalid geometry",
    "empty_geometry": "empty or missing geometry",
    "wrong_geometry_type": "wrong geometry type",
    "empty_id": "empty id",
    "duplicate_id": "duplicate id",
    "bad_value": "value out of range or of the wrong type",
    "unknown_reference": "reference to an id that does not exist",
    "building_outside_communities": "building outside every community",
    "station_outside_communities": "station outside every community",
    "compound_crosses_community": "compound crosses a community boundary",
    "building_outside_compound": "building outside its declared compound",
    "negative_households": "negative households",
    "non_numeric_households": "non-numeric households",
    "missing_households": "missing households",
    "households_estimated": "households estimated from footprint area × floors",
    "swapped_coordinates": "coordinates look swapped (lat/lon)",
    "outside_china_gcj02": "coordinates outside China while declared GCJ-02/BD-09",
    "missing_layer": "layer absent",
    "coordinates_out_of_range": "coordinates are not longitude/latitude (CRS not declared?)",
    "community_mismatch": "declared community differs from the one the geometry lies in",
    "compound_outside_communities": "compound outside every community",
    "gcj02_offset_suspected": "layer looks like GCJ-02 declared as WGS84 (300-700 m off)",
}


@dataclass(frozen=True)
class Finding:
    """One problem found in one row (or in a whole layer when ``row`` is None).

    Parameters
    ----------
    rule
        Key of :data:`RULES`.
    layer
        Layer name.
    row
        0-based row number in the input layer, or None for a layer-wide finding.
    feature_id
        Value of the id column in that row, when there is one.
    field
        Column concerned (``geometry`` for geometry rules).
    action
        What validation did: ``rejected`` rows are not kept; every other action keeps the row.
    message
        What is wrong and how to fix it.
    """

    rule: str
    layer: str
    row: int | None
    feature_id: str | None
    field: str | None
    action: Action
    message: str


@dataclass(frozen=True)
class LayerCount:
    """Row accounting of one layer: ``rows_in == rows_kept + rows_rejected``."""

    rows_in: int
    rows_kept: int
    rows_rejected: int


@dataclass(frozen=True)
class ValidationReport:
    """Every finding and the row accounting of every layer."""

    findings: tuple[Finding, ...] = ()
    counts: dict[str, LayerCount] = field(default_factory=dict)
    source: str = ""
    declared_crs: str = "EPSG:4326"

    def by_rule(self, rule: str) -> list[Finding]:
        """Return the findings of one rule."""
        return [f for f in self.findings if f.rule == rule]

    def rejected(self, layer: str | None = None) -> list[Finding]:
        """Return findings that rejected a row (optionally of one layer)."""
        return [
            f
            for f in self.findings
            if f.action == "rejected" and (layer is None or f.layer == layer)
        ]

    @property
    def balanced(self) -> bool:
        """Return whether every layer satisfies rows in = rows kept + rows rejected."""
        return all(c.rows_in == c.rows_kept + c.rows_rejected for c in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "source": self.source,
            "declared_crs": self.declared_crs,
            "counts": {k: asdict(v) for k, v in self.counts.items()},
            "summary": dict(Counter(f.rule for f in self.findings)),
            "findings": [asdict(f) for f in self.findings],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the report as a JSON string (UTF-8 text, Chinese kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        """Return the report stored by :meth:`to_dict`."""
        return cls(
            findings=tuple(Finding(**f) for f in data.get("findings", [])),
            counts={k: LayerCount(**v) for k, v in data.get("counts", {}).items()},
            source=data.get("source", ""),
            declared_crs=data.get("declared_crs", "EPSG:4326"),
        )

    def summary(self) -> str:
        """Return a short human summary: rows per layer and findings per rule."""
        lines = [f"validation of {self.source or 'dataset'} (declared CRS {self.declared_crs})"]
        for layer, c in self.counts.items():
            lines.append(
                f"  {layer:<20} {c.rows_in:>7} in  {c.rows_kept:>7} kept"
                f"  {c.rows_rejected:>5} rejected"
            )
        counter = Counter((f.rule, f.action) for f in self.findings)
        if counter:
            lines.append("  findings:")
            for (rule, action), n in sorted(counter.items()):
                lines.append(f"    {n:>6} × {RULES.get(rule, rule)} ({action})")
        else:
            lines.append("  no findings")
        return "\n".join(lines)
