"""CSV formula injection (issue 11, class 5): every CSV output neutralises formula cells.

Names and ids beginning with ``=``, ``+``, ``-``, ``@``, tab or CR come out prefixed with a
single quote in ``/coverage?f=csv``, ``/coverage/stations``, ``/coverage/property`` and
``gridgen coverage --out x.csv``; LibreOffice then reads them as text, not formulas.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from cli_helpers import run_main
from clients import have_client
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from gridgen.io.csvsafe import FORMULA_STARTS, csv_text
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}
FORMULAS = ("=1+1", "+SUM(1,2)", "-2+3", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://x")')


def _formula_district(folder: Path) -> Path:
    src = sample_path() / "district.gpkg"
    out = folder / "district.gpkg"
    for layer, _ in pyogrio.list_layers(src):
        frame = gpd.read_file(src, layer=layer)
        if layer in ("communities", "stations", "compounds", "streets"):
            frame["name"] = [FORMULAS[i % len(FORMULAS)] + "名" for i in range(len(frame))]
        if layer in ("streets", "communities"):  # ids too: every street id starts a formula
            frame["street_id"] = "=" + frame["street_id"].astype(str)
        if layer == "stations":
            frame["station_id"] = [f"={i}+1" for i in range(len(frame))]
        if isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame:
            frame.to_file(out, layer=layer, driver="GPKG")
        else:
            pyogrio.write_dataframe(pd.DataFrame(frame), out, layer=layer, driver="GPKG")
    return out


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _assert_neutral(text: str) -> int:
    """Assert no cell starts a formula; return how many cells were neutralised."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    cells = [c for row in rows for c in row]
    bad = [c for c in cells if c.startswith(FORMULA_STARTS) and not _number(c)]
    assert bad == [], bad[:5]
    return sum(1 for c in cells if c.startswith("'") and c[1:].startswith(FORMULA_STARTS))


def test_csv_text_neutralises_formula_cells_only() -> None:
    frame = pd.DataFrame({"name": [*FORMULAS, "普通", None], "n": [-1] * 7 + [2, 3]})
    text = csv_text(frame, bom=False)
    assert _assert_neutral(text) == len(FORMULAS)
    back = pd.read_csv(io.StringIO(text, newline=""))
    assert back["n"].tolist() == [-1] * 7 + [2, 3]  # numbers stay numbers
    assert back["name"].iloc[0] == "'=1+1"


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _formula_district(tmp_path_factory.mktemp("formula"))


@pytest.fixture
def client(district: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        with district.open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)}, headers=ADMIN)
        assert r.status_code == 201, r.text
        yield c


def test_api_csv_outputs_are_neutralised(client: TestClient) -> None:
    for path in (
        "/coverage?f=csv&level=community",
        "/coverage?f=csv&level=street",
        "/coverage/stations?f=csv",
        "/coverage/property?f=csv",
    ):
        r = client.get(path, headers=ADMIN)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("text/csv")
        assert _assert_neutral(r.text) > 0, path


def test_cli_coverage_csv_is_neutralised(district: Path, tmp_path: Path) -> None:
    out = tmp_path / "cov.csv"
    done = run_main("coverage", str(district), "--level", "community", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert _assert_neutral(text) > 0
    if not have_client("libreoffice"):  # fails in CI
        pytest.skip("LibreOffice (soffice) is not installed")
    soffice = str(shutil.which("soffice"))
    # LibreOffice reads the cells as text: converted back, the street id keeps its "'="
    # (a formula "=140105003" would come back as the number 140105003)
    conv = subprocess.run(
        [soffice, "--headless", "--convert-to", "csv", "--outdir", str(tmp_path / "lo"), str(out)],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert conv.returncode == 0, conv.stderr
    again = (tmp_path / "lo" / "cov.csv").read_text(encoding="utf-8", errors="replace")
    assert "'=140105003" in again, again[:300]
