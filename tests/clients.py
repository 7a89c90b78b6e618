"""The named clients the tests run (Chromium, GDAL, poppler, LibreOffice, QGIS, qgis_process).

A test that needs one carries ``pytest.mark.needs_client("<name>")``: where the client is
missing it is skipped locally and FAILS when ``CI`` is set (``tests/conftest.py``), so CI
never passes without having run the real client. An optional check inside a test asks
:func:`have_client`, which fails the test in CI the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SYSTEM_PYTHON = Path("/usr/bin/python3")


def in_ci() -> bool:
    """Return whether the tests run in CI (``CI`` set to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _has_qgis() -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import qgis.core"], capture_output=True, check=False
    )
    return probe.returncode == 0


def qgis_process_command() -> list[str]:
    """Return the ``qgis_process`` that works here (``[]`` when there is none).

    Debian 12's ``/usr/bin/qgis_process`` wrapper passes ``--noversioncheck`` (from
    ``/etc/default/qgis``), which ``qgis_process`` refuses (qgis/QGIS#57683); the program
    itself, ``qgis_process.bin``, is then run directly.
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for name in ("qgis_process", "qgis_process.bin"):
        path = shutil.which(name)
        if path is None:
            continue
        probe = subprocess.run(
            [path, "--version"], capture_output=True, text=True, check=False, env=env
        )
        if probe.returncode == 0 and "QGIS" in probe.stdout:
            return [path]
    return []


def _commands(*names: str) -> Callable[[], bool]:
    return lambda: all(shutil.which(n) is not None for n in names)


CLIENTS: dict[str, tuple[Callable[[], bool], str]] = {
    "chromium": (CHROMIUM.exists, "Debian's chromium (apt-get install chromium)"),
    "gdal": (_commands("ogrinfo", "ogr2ogr"), "GDAL's command-line tools (gdal-bin)"),
    "poppler": (_commands("pdftotext", "pdftoppm", "pdffonts"), "poppler (poppler-utils)"),
    "libreoffice": (_commands("soffice"), "LibreOffice Calc (libreoffice-calc-nogui)"),
    "qgis": (_has_qgis, "QGIS for Debian's python3 (python3-qgis)"),
    "qgis_process": (lambda: bool(qgis_process_command()), "QGIS' qgis_process (qgis)"),
}
"""Client name → (is it installed, what to install). ``scripts/test.sh`` installs them all."""


@cache
def client_present(name: str) -> bool:
    """Return whether the named client is installed (checked once per session)."""
    return CLIENTS[name][0]()


def missing_client_message(name: str) -> str:
    """Return why a test needing ``name`` cannot run, and how to fix that."""
    return f"needs {CLIENTS[name][1]}: run `bash scripts/test.sh`, which installs it"


def have_client(name: str) -> bool:
    """Return whether ``name`` is installed; fail the calling test in CI when it is not."""
    if client_present(name):
        return True
    if in_ci():
        pytest.fail(missing_client_message(name))
    return False
