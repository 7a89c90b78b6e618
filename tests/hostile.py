"""A copy of the sample district whose every free-text field carries a script payload.

Each payload, if it ran, would set ``window.__pwned`` (or open a dialog); the browser
tests assert it stays unset.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridgen.sample.district import sample_path

PAYLOADS: tuple[str, ...] = (
    "站${window.__pwned='template'}",
    "</script><script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "`;window.__pwned='backtick';`",
    "\\`${alert(1)}",
    "<svg onload=alert(1)>",
)
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "streets": ("name",),
    "communities": ("name",),
    "compounds": ("name",),
    "buildings": ("leader_name", "leader_phone"),
    "stations": ("name",),
    "property_companies": ("name",),
}


def hostile_district(folder: Path) -> Path:
    """Write the hostile copy of the sample district to ``folder`` and return its path."""
    src = sample_path() / "district.gpkg"
    out = folder / "hostile.gpkg"
    for layer, _ in pyogrio.list_layers(src):
        frame = gpd.read_file(src, layer=layer)
        for col in TEXT_COLUMNS.get(layer, ()):
            frame[col] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(frame))]
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
            frame.to_file(out, layer=layer, driver="GPKG")
        else:
            pyogrio.write_dataframe(pd.DataFrame(frame), out, layer=layer, driver="GPKG")
    return out
