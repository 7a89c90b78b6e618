"""gridgen for QGIS: a Processing provider whose algorithms run the ``gridgen`` program.

QGIS loads this folder as the plugin ``gridgen_processing`` (``gridgen qgis-plugin install``
copies it into a QGIS profile). Only :func:`classFactory` is defined here, so that gridgen's
own tests import the pure modules (:mod:`.spec`, :mod:`.catalogue`, :mod:`.runner`,
:mod:`.readers`) without QGIS.
"""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:
    """Return the plugin object QGIS (or ``qgis_process``, with ``iface`` None) loads."""
    from .plugin import GridgenPlugin

    return GridgenPlugin(iface)
