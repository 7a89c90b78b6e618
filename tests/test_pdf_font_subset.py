"""The cached PDF font subset: its coverage, its fallback to the full font, poppler's view."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from gridgen.dataset import Dataset

pytestmark = pytest.mark.needs_client("poppler")

MAPS = Path(__file__).resolve().parents[1] / "maps"
RARE = "堃喆珺"  # in WenQuanYi Zen Hei, not in GB 2312: drawn from the full font


def poppler(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "", done.stderr
    return done.stdout


def test_subset_is_small_renamed_and_covers_every_fixed_label() -> None:
    from fontTools.ttLib import TTFont

    from maps.pdf_font import PDF_SUBSET_FAMILY, pdf_subset_path

    font = TTFont(str(pdf_subset_path()))
    cmap = font.getBestCmap()
    assert 7_000 < len(font.getGlyphOrder()) < 10_000  # against 44,960 in the full face
    assert font["name"].getDebugName(1) == PDF_SUBSET_FAMILY
    assert font["name"].getDebugName(6) == "WenQuanYiZenHei"
    assert "glyf" in font and "CFF " not in font  # TrueType outlines, as the full face
    fixed = {ch for p in MAPS.rglob("*.py") for ch in p.read_text(encoding="utf-8")}
    missing = sorted(ch for ch in fixed if ord(ch) > 0x7F and ord(ch) not in cmap)
    assert missing == []
    assert all(ord(ch) not in cmap for ch in RARE)


def test_sample_names_need_no_fallback(sample: Dataset) -> None:
    from fontTools.ttLib import TTFont

    from maps.pdf_font import pdf_subset_path

    cmap = TTFont(str(pdf_subset_path())).getBestCmap()
    text = {
        ch
        for frame in sample.layers.values()
        for col in frame.columns
        if frame[col].dtype == object or str(frame[col].dtype).startswith("str")
        for value in frame[col].dropna().astype(str)
        for ch in value
    }
    assert len(text) > 100
    assert sorted(ch for ch in text if ord(ch) > 0x7F and ord(ch) not in cmap) == []


def test_rare_characters_fall_back_to_the_full_font(sample: Dataset, tmp_path: Path) -> None:
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.render import render_sheet_pdf

    cid = str(sample.compounds["compound_id"].iloc[0])
    data = compound_sheet_data(sample, cid)
    data = replace(data, title=f"{data.title}{RARE}")
    pdf = render_sheet_pdf(data, tmp_path / "rare.pdf")
    rows = [r.split() for r in poppler("pdffonts", str(pdf)).splitlines()[2:] if r.strip()]
    assert len(rows) == 2, rows  # the subset and, for the rare characters, the full face
    for row in rows:
        assert re.fullmatch(r"[A-Z]{6}\+WenQuanYiZenHei", row[0]), row
        assert " ".join(row[1:3]) == "CID TrueType" and row[-5:-2] == ["yes", "yes", "yes"]
    text = poppler("pdftotext", str(pdf), "-")
    assert data.title in text


def test_sheet_pdf_canvas_writes_what_matplotlib_writes(sample: Dataset) -> None:
    """The cached font look-ups and metrics change nothing in the file (but its date)."""
    import io

    import matplotlib as mpl

    from maps.fonts import PDF_RC
    from maps.pdf_font import pdf_font_families
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.pdf_canvas import print_sheet_pdf
    from maps.sheet.render import sheet_figure

    family = pdf_font_families()
    date = re.compile(rb"/CreationDate \(D:\d+Z\)")
    for cid in sample.compounds["compound_id"].astype(str).iloc[:2]:
        data = compound_sheet_data(sample, cid)
        ours, theirs = io.BytesIO(), io.BytesIO()
        with mpl.rc_context({"font.family": family, **PDF_RC}):
            print_sheet_pdf(sheet_figure(data, family=family), ours)
            sheet_figure(data, family=family).savefig(theirs, format="pdf")
        assert len(ours.getvalue()) > 10_000
        assert date.sub(b"", ours.getvalue()) == date.sub(b"", theirs.getvalue())


def test_atlas_pages_through_the_canvas_are_matplotlib_bytes(sample: Dataset) -> None:
    """Replayed text objects (strings repeated across pages) change nothing in the file."""
    import io

    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages

    from maps.fonts import PDF_RC
    from maps.pdf_font import pdf_font_families
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.pdf_canvas import print_sheet_pdf
    from maps.sheet.render import sheet_figure

    family = pdf_font_families()
    date = re.compile(rb"/CreationDate \(D:\d+Z\)")
    ids = sample.compounds["compound_id"].astype(str).iloc[:3]
    ours, theirs = io.BytesIO(), io.BytesIO()
    with mpl.rc_context({"font.family": family, **PDF_RC}):
        with PdfPages(ours) as pdf:
            for cid in ids:
                print_sheet_pdf(sheet_figure(compound_sheet_data(sample, cid), family=family), pdf)
        with PdfPages(theirs) as pdf:
            for cid in ids:
                sheet_figure(compound_sheet_data(sample, cid), family=family).savefig(
                    pdf, format="pdf"
                )
    pages = ours.getvalue().count(b"/Type /Page") - ours.getvalue().count(b"/Type /Pages")
    assert pages == 3
    assert date.sub(b"", ours.getvalue()) == date.sub(b"", theirs.getvalue())
