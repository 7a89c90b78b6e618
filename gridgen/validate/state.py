"""The working state of one layer under validation (:class:`LayerState`).

Shared by the rule modules (:mod:`gridgen.validate.columns`, :mod:`gridgen.validate.geometry`,
:mod:`gridgen.validate.links`) and the runner (:mod:`gridgen.validate.layers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridgen.schema import LayerSchema
from gridgen.validate.report import Action, Finding

BoolArray = NDArray[np.bool_]


@dataclass
class LayerState:
    """Working state of one layer: frame indexed by input row, rejections, findings."""

    name: str
    schema: LayerSchema
    frame: gpd.GeoDataFrame
    rejected: BoolArray
    findings: list[Finding] = field(default_factory=list)

    @property
    def alive(self) -> BoolArray:
        """Return the mask of rows not rejected so far."""
        return ~self.rejected

    def feature_id(self, row: int) -> str | None:
        """Return the id of input row ``row`` (None when the layer has no usable id)."""
        col = self.schema.id_column
        if col is None or col not in self.frame:
            return None
        value = self.frame[col].iat[row]
        return None if pd.isna(value) else str(value)

    def add(
        self,
        rule: str,
        mask: BoolArray,
        column: str | None,
        action: Action,
        message: Callable[[int], str],
    ) -> None:
        """Record a finding for every row of ``mask`` (rejecting them when asked)."""
        rows = np.flatnonzero(mask)
        for row in rows:
            r = int(row)
            self.findings.append(
                Finding(rule, self.name, r, self.feature_id(r), column, action, message(r))
            )
        if action == "rejected":
            self.rejected[rows] = True

    def add_layer_finding(self, rule: str, column: str | None, message: str) -> None:
        """Record a layer-wide (row None) flagged finding."""
        self.findings.append(Finding(rule, self.name, None, None, column, "flagged", message))
