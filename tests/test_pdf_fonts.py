"""PDF sheets and atlases checked with poppler: fonts as declared, embedded once, Chinese text."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gridgen.dataset import Dataset

pytestmark = pytest.mark.needs_client("poppler")


def poppler(*args: str) -> str:
    """Run a poppler tool; assert it says nothing on stderr (no warning of any kind)."""
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "", done.stderr
    return done.stdout


def fonts(path: Path) -> list[list[str]]:
    rows = poppler("pdffonts", str(path)).splitlines()[2:]
    return [r.split() for r in rows if r.strip()]


def test_sheet_pdf_font_embedded_once_as_truetype_and_text_extractable(
    sample: Dataset, tmp_path: Path
) -> None:
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.render import render_sheet_pdf

    cid = str(sample.compounds["compound_id"].iloc[0])
    data = compound_sheet_data(sample, cid)
    pdf = render_sheet_pdf(data, tmp_path / "sheet.pdf")
    rows = fonts(pdf)
    assert len(rows) == 1, rows  # one font, one embedded subset
    name, kind = rows[0][0], " ".join(rows[0][1:3])
    assert name.endswith("+WenQuanYiZenHei") and kind == "CID TrueType"
    assert rows[0][-5:-2] == ["yes", "yes", "yes"]  # embedded, subset, ToUnicode
    text = poppler("pdftotext", str(pdf), "-")
    assert data.title in text
    assert "一小区一图示" in text


def test_atlas_pdf_embeds_the_font_once_for_every_page(sample: Dataset, tmp_path: Path) -> None:
    from maps.atlas import write_atlas

    cid = str(sample.communities["community_id"].iloc[0])
    pdf = write_atlas(sample, out=tmp_path / "atlas.pdf", community_id=cid)
    pages = int(poppler("pdfinfo", str(pdf)).split("Pages:")[1].split()[0])
    assert pages >= 2
    rows = fonts(pdf)
    assert len(rows) == 1, rows
    assert "一小区一图示" in poppler("pdftotext", str(pdf), "-")
