"""The plugin object: registers the gridgen provider with Processing."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication

from .provider import GridgenProvider


class GridgenPlugin:
    """Adds the provider in the desktop (``initGui``) and ``qgis_process`` (``initProcessing``)."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.provider: GridgenProvider | None = None

    def initProcessing(self) -> None:
        """Register the provider once."""
        if self.provider is None:
            self.provider = GridgenProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        """Register the provider when the desktop starts the plugin."""
        self.initProcessing()

    def unload(self) -> None:
        """Remove the provider."""
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
