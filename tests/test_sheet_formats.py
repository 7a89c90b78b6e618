"""The sheet format registry: every format renders in memory and is chosen by name/suffix."""

from __future__ import annotations

from pathlib import Path
from typing import get_args, get_type_hints

import pytest
from coverage_helpers import small_dataset

from gridgen.errors import UnsupportedFormatError
from maps.sheet.data import compound_sheet_data
from maps.sheet.formats import SHEET_FORMATS, SheetOptions, render_sheet, sheet_format, write_sheet

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


def test_every_format_renders_to_bytes_and_writes_by_suffix(tmp_path: Path) -> None:
    data = compound_sheet_data(small_dataset(), "K1")
    assert set(SHEET_FORMATS) == {"png", "pdf", "html"}
    for name, fmt in SHEET_FORMATS.items():
        body = render_sheet(data, name, SheetOptions(dpi=60))
        if name in MAGIC:
            assert body.startswith(MAGIC[name]), name
        else:
            assert b"<html" in body[:2000].lower() and b"K1" in body
            assert fmt.media_type.startswith("text/html")
        written = write_sheet(data, tmp_path / f"k1.{name.upper()}", SheetOptions(dpi=60))
        assert written.read_bytes()[:5] == body[:5]
    served = render_sheet(data, "html", SheetOptions(assets="served", static_url="/s"))
    assert b'"/s/' in served or b"'/s/" in served  # Leaflet from the service, not inlined
    with pytest.raises(UnsupportedFormatError, match=r"\.png, \.pdf, \.html; got '\.svg'"):
        sheet_format(".svg")
    assert not list(tmp_path.glob("*.svg"))


def test_the_service_route_offers_exactly_the_registered_formats() -> None:
    from api.routers.sheets import sheet

    assert set(get_args(get_type_hints(sheet)["fmt"])) == set(SHEET_FORMATS)
