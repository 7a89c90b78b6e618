"""The in-memory subsetter of the PDF font against fontTools' own, and poppler's view of it."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from gridgen.io.read import load_sample

# 楼 and 馨 (GB 2312 level 2), digits, ① and the composite glyphs ≈ (two components) and
# ∷ (a composite of the composite ∶: nested components)
TEXT = "网格化治理楼栋长户数覆盖率馨0123456789ABCxyz①≈∷"


def _glyph_ids(path: Path, text: str) -> set[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path))
    cmap = font.getBestCmap()
    return {font.getGlyphID(cmap[ord(ch)]) for ch in text}


def test_fast_subset_keeps_every_outline_and_advance() -> None:
    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.ttLib import TTFont
    from matplotlib.backends import _backend_pdf_ps
    from matplotlib.font_manager import FontPath
    from matplotlib.ft2font import FT2Font, LoadFlags

    from maps.pdf_font import pdf_subset_path
    from maps.pdf_subset import cached_face, subset_font

    path = pdf_subset_path()
    gids = _glyph_ids(path, TEXT)
    face = cached_face(str(path))
    assert any(g in face.components for g in gids)  # the composites are really tested
    font, mapping = subset_font(face, gids)
    data = io.BytesIO()
    font.save(data)
    ours = TTFont(io.BytesIO(data.getvalue()))
    assert sorted(mapping) == sorted(gids)
    assert ours.getGlyphOrder()[0] == ".notdef"
    assert ours["maxp"].numGlyphs == len(ours.getGlyphOrder()) < 60
    # fontTools' subsetter, as matplotlib runs it, is the reference
    original = getattr(_backend_pdf_ps.get_glyphs_subset, "__wrapped__", None)
    assert original is not None
    with original(FontPath(str(path), 0), gids) as ref:
        theirs = TTFont(_backend_pdf_ps.font_as_file(ref.font))
        ref_map = dict(ref.glyph_index_map)
    ft = FT2Font(io.BytesIO(data.getvalue()))  # FreeType reads it as matplotlib will
    for gid in gids:
        a, b = ours.getGlyphName(mapping[gid]), theirs.getGlyphName(ref_map[gid])
        pen_a, pen_b = RecordingPen(), RecordingPen()
        ours.getGlyphSet()[a].draw(pen_a)
        theirs.getGlyphSet()[b].draw(pen_b)
        assert pen_a.value == pen_b.value, a
        assert ours["hmtx"][a][0] == theirs["hmtx"][b][0]
        glyph = ft.load_glyph(mapping[gid], flags=LoadFlags.NO_SCALE | LoadFlags.NO_HINTING)
        assert glyph.horiAdvance == theirs["hmtx"][b][0]
    # every character asked for, plus those of the composites' components (∶ of ∷, ∼ of ≈)
    assert set(ours.getBestCmap()) == {ord(ch) for ch in TEXT} | {0x2236, 0x223C}


@pytest.mark.needs_client("poppler")
def test_sheet_pdf_with_fast_subset_renders_like_fonttools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same pixels from poppler, silent pdffonts/pdftotext, a much smaller subsetting cost."""
    from maps import pdf_subset
    from maps.sheet.data import compound_sheet_data
    from maps.sheet.render import render_sheet_pdf

    sample = load_sample()
    cid = str(sample.compounds["compound_id"].iloc[0])
    data = compound_sheet_data(sample, cid)
    calls: list[int] = []
    real = pdf_subset.subset_font

    def counted(face: pdf_subset.CachedFace, gids: object) -> object:
        calls.append(1)
        return real(face, gids)  # type: ignore[arg-type]

    monkeypatch.setattr(pdf_subset, "subset_font", counted)
    fast = render_sheet_pdf(data, tmp_path / "fast.pdf")
    assert len(calls) == 1  # one embedded font, cut by the fast path
    monkeypatch.setattr(pdf_subset, "_FAST_PATHS", set())  # every font through fontTools
    slow = render_sheet_pdf(data, tmp_path / "slow.pdf")
    assert len(calls) == 1
    pngs = []
    for pdf in (fast, slow):
        for command in (["pdffonts", str(pdf)], ["pdftotext", str(pdf), "-"]):
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            assert done.stderr == "", done.stderr
        subprocess.run(
            ["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
            check=True,
            capture_output=True,
        )
        pngs.append(pdf.with_suffix(".png").read_bytes())
    assert pngs[0] == pngs[1]
    text = subprocess.run(
        ["pdftotext", str(fast), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert data.title in text
