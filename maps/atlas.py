"""Atlas: the sheets of every compound of a community or street in one file."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib as mpl
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages

from gridgen.dataset import Dataset
from gridgen.errors import NotFoundError, UnsupportedFormatError
from gridgen.io.atomic import atomic_path
from gridgen.partition.plan import Plan
from maps.fonts import PDF_RC, cjk_font_family
from maps.pdf_font import pdf_font_families
from maps.sheet.data import SheetData, compound_ids, compound_sheet_data
from maps.sheet.formats import SHEET_FORMATS, SheetOptions
from maps.sheet.layout import Orientation, Paper
from maps.sheet.pdf_canvas import print_sheet_pdf
from maps.sheet.render import sheet_figure

ProgressFn = Callable[[int, int], None]


def write_atlas(
    dataset: Dataset,
    *,
    out: str | Path,
    community_id: str | None = None,
    street_id: str | None = None,
    plan: Plan | None = None,
    coverage: pd.DataFrame | None = None,
    radius: float | None = None,
    restricted: bool = False,
    paper: Paper = "A4",
    orientation: Orientation = "portrait",
    dpi: float = 150,
    progress: ProgressFn | None = None,
) -> Path:
    """Write the sheets of all compounds of a community or street; return the file.

    Parameters
    ----------
    dataset
        A validated dataset.
    out
        ``.pdf``: one multi-page PDF (one page per compound, fonts embedded once);
        ``.zip``: a zip of PNG sheets named ``<compound_id>.png``.
    community_id, street_id
        Which compounds (all of the dataset when neither is given).
    plan, coverage, radius, restricted
        As in :func:`maps.sheet.data.compound_sheet_data`.
    paper, orientation, dpi
        Page format (``dpi`` applies to PNGs).
    progress
        Called as ``progress(done, total)`` after each page.

    Raises
    ------
    NotFoundError
        When the community/street does not exist or has no compounds.
    UnsupportedFormatError
        When ``out`` is neither ``.pdf`` nor ``.zip``.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in (".pdf", ".zip"):
        msg = f"atlas output must end in .pdf or .zip, got {path.name!r}"
        raise UnsupportedFormatError(msg)
    ids = compound_ids(dataset, community_id=community_id, street_id=street_id)
    if not ids:
        where = community_id or street_id or dataset.name
        msg = f"{where!r} has no compounds: there is nothing to put in an atlas"
        raise NotFoundError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    total = len(ids)
    family: str | list[str] = pdf_font_families() if suffix == ".pdf" else cjk_font_family()
    rc: dict[str, Any] = {"font.family": family, **PDF_RC}

    def sheets() -> Iterator[tuple[int, str, SheetData]]:
        for i, cid in enumerate(ids, start=1):
            data = compound_sheet_data(
                dataset, cid, plan=plan, coverage=coverage, radius=radius, restricted=restricted
            )
            yield i, cid, data

    with atomic_path(path) as tmp, mpl.rc_context(rc):  # type: ignore[arg-type]
        if suffix == ".pdf":
            with PdfPages(tmp) as pdf:
                meta = pdf.infodict()
                meta["Title"] = f"一小区一图示 · {community_id or street_id or dataset.name}"
                meta["Creator"] = "gridgen"
                for i, _cid, data in sheets():
                    fig = sheet_figure(
                        data, paper=paper, orientation=orientation, dpi=dpi, family=family
                    )
                    print_sheet_pdf(fig, pdf)
                    if progress is not None:
                        progress(i, total)
        else:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
                options = SheetOptions(paper=paper, orientation=orientation, dpi=dpi)
                for i, cid, data in sheets():
                    zf.writestr(f"{cid}.png", SHEET_FORMATS["png"].render(data, options))
                    if progress is not None:
                        progress(i, total)
    return path
