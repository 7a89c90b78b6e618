"""The QGIS plugin shipped inside gridgen (``gridgen qgis-plugin install`` copies it).

:data:`PLUGIN_SOURCE` is the plugin folder; :data:`MODELS_SOURCE` holds the Processing
models installed with it.
"""

from __future__ import annotations

from pathlib import Path

PLUGIN_NAME = "gridgen_processing"
PLUGIN_SOURCE = Path(__file__).resolve().parent / PLUGIN_NAME
MODELS_SOURCE = PLUGIN_SOURCE / "models"
