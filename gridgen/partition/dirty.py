"""The communities a rebalance touches: those where the audit found something to fix.

:func:`dirty_communities` reads them from the audit; :func:`out_of_band_communities` guesses
most of them from the old assignment alone, so that work on them can start while the audit
runs (:func:`gridgen.partition.rebalance.rebalance` on local processes).
"""

from __future__ import annotations

import pandas as pd

from gridgen.dataset import Dataset
from gridgen.partition.audit import Audit
from gridgen.partition.existing import GridLayer


def dirty_communities(audit: Audit, dataset: Dataset) -> set[str]:
    """Return the communities where the audit found something to fix."""
    out: set[str] = set(audit.gaps["community_id"].astype(str))
    out |= set(audit.overlaps["community_id"].astype(str))
    out |= set(audit.split_compounds.loc[~audit.split_compounds["allowed"], "community_id"])
    t = audit.grids
    bad = t[(~t["in_band"]) | (t["parts"] != 1) | (~t["valid"]) | t["crosses_community"]]
    out |= set(bad["community_id"].astype(str))
    for text in t.loc[t["crosses_community"], "communities"]:
        out |= {c for c in str(text).split(",") if c}
    if audit.unassigned:
        bld = dataset.buildings
        sel = bld["building_id"].astype(str).isin(set(audit.unassigned))
        out |= set(bld.loc[sel, "community_id"].astype(str))
    return {c for c in out if c}


def out_of_band_communities(
    dataset: Dataset,
    layer: GridLayer,
    old_code: dict[str, str],
    b_hh: dict[str, float],
    *,
    band: tuple[int, int],
) -> set[str]:
    """Return the communities of the grids out of band by the old assignment
    (``old_code``: building → code; ``b_hh``: building → households), and of the buildings
    it leaves out: most of what the audit will find after a drift, known before it ends."""
    code_of = pd.Series(old_code, dtype=object)
    hh = pd.Series(b_hh, dtype=float)
    per = hh.groupby(code_of.reindex(hh.index)).sum()
    lo, hi = band
    out_codes = set(per.index[(per < lo) | (per > hi)].astype(str))
    comm = {str(c): str(m) for c, m in zip(layer.codes, layer.community, strict=True)}
    out = {comm.get(c, "") for c in out_codes}
    bld = dataset.buildings
    missing = ~bld["building_id"].astype(str).isin(code_of.index)
    out |= set(bld.loc[missing.to_numpy(), "community_id"].astype(str))
    return {c for c in out if c}
