"""All map outputs of a run in one call (used by ``gridgen demo``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gridgen.coverage.stations import DEFAULT_RADIUS_M
from gridgen.dataset import Dataset
from gridgen.partition.plan import Plan

ProgressFn = Callable[[int, int], None]


def sample_compounds(dataset: Dataset, *, count: int = 3) -> list[str]:
    """Return ``count`` telling compound ids: the one with most buildings, a median one, and
    one without property management (or the smallest), without repeats."""
    b = dataset.buildings
    sizes = b.groupby(b["compound_id"].astype("string")).size()
    sizes = sizes.reindex(dataset.compounds["compound_id"].astype(str)).fillna(0).sort_values()
    if sizes.empty:
        return []
    picks = [str(sizes.index[-1]), str(sizes.index[len(sizes) // 2])]
    comp = dataset.compounds
    none = comp.loc[comp.get("property_mode", pd.Series(dtype=str)) == "none", "compound_id"]
    picks.append(str(none.iloc[0]) if not none.empty else str(sizes.index[0]))
    out: list[str] = []
    for cid in [*picks, *map(str, sizes.index[::-1])]:
        if cid not in out:
            out.append(cid)
        if len(out) == count:
            break
    return out


def write_map_outputs(
    dataset: Dataset,
    out: str | Path,
    *,
    plan: Plan | None = None,
    coverage: pd.DataFrame | None = None,
    radius: float = DEFAULT_RADIUS_M,
    community_id: str | None = None,
    sheets: int = 3,
    progress: ProgressFn | None = None,
) -> dict[str, Path]:
    """Write the overview map, a few sheets (PNG, PDF, HTML) and one atlas into ``out``.

    Parameters
    ----------
    dataset, plan, coverage, radius
        As in :func:`maps.overview.overview_map` and :func:`maps.sheet.data.compound_sheet_data`.
    community_id
        Community of the atlas (default: the one with most compounds).
    sheets
        How many compounds get sheets (see :func:`sample_compounds`).
    progress
        ``progress(done, total)`` for the atlas pages.

    Returns
    -------
    dict
        Label → written file: ``overview``, ``sheet:<id>.png|pdf|html``, ``atlas``.
    """
    from maps.atlas import write_atlas
    from maps.overview import write_overview
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.formats import SHEET_FORMATS, write_sheet

    folder = Path(out)
    (folder / "sheets").mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    written["overview"] = write_overview(
        dataset, folder / "overview.html", plan=plan, coverage=coverage, radius=radius
    )
    for cid in sample_compounds(dataset, count=sheets):
        data = compound_sheet_data(dataset, cid, plan=plan, coverage=coverage, radius=radius)
        for fmt in SHEET_FORMATS:
            path = folder / "sheets" / f"{cid}.{fmt}"
            written[f"sheet:{cid}.{fmt}"] = write_sheet(data, path)
    if community_id is None and not dataset.compounds.empty:
        community_id = str(dataset.compounds["community_id"].astype(str).value_counts().index[0])
    if community_id is not None:
        written["atlas"] = write_atlas(
            dataset,
            out=folder / f"atlas_{community_id}.pdf",
            community_id=community_id,
            plan=plan,
            coverage=coverage,
            radius=radius,
            progress=progress,
        )
    return written
