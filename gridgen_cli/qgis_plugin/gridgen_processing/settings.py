"""The ``gridgen`` executable the algorithms run, and the user's language.

``gridgen qgis-plugin install`` records the command it was run from in ``install.json``
beside this module; the provider's setting (Settings › Options › Processing › Providers ›
gridgen) starts with that executable and may point at another one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from processing.core.ProcessingConfig import ProcessingConfig
from qgis.core import QgsApplication

from .spec import Text

HERE = Path(__file__).resolve().parent
INSTALL_RECORD = HERE / "install.json"
EXECUTABLE_SETTING = "GRIDGEN_EXECUTABLE"
EXECUTABLE_LABEL = Text("gridgen 程序", "gridgen executable")


def chinese_first() -> bool:
    """Return whether QGIS runs in Chinese (texts then show Chinese first)."""
    return str(QgsApplication.locale()).lower().startswith("zh")


def install_record() -> dict[str, object]:
    """Return what ``gridgen qgis-plugin install`` recorded (empty when absent or broken)."""
    try:
        record = json.loads(INSTALL_RECORD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def recorded_command() -> list[str]:
    """Return the gridgen command recorded at install (``[]`` when none)."""
    command = install_record().get("command")
    if isinstance(command, list) and all(isinstance(a, str) for a in command):
        return list(command)
    return []


def gridgen_command() -> list[str]:
    """Return the command that runs gridgen: the setting, else the install record, else PATH.

    A setting naming a file that is gone (an old virtual environment kept in the options
    after ``gridgen qgis-plugin install`` ran from a new one) gives way to the record.
    """
    setting = str(ProcessingConfig.getSetting(EXECUTABLE_SETTING) or "").strip()
    recorded = recorded_command()
    chosen = bool(setting) and (not recorded or setting != recorded[0])
    if chosen and (not recorded or Path(setting).is_file()):
        return [setting]
    if recorded:
        return recorded
    found = shutil.which("gridgen")
    return [found] if found else []
