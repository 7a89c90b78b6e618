"""The gridgen Processing provider: the algorithms of the catalogue and one setting."""

from __future__ import annotations

from processing.core.ProcessingConfig import ProcessingConfig, Setting
from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithm import GridgenAlgorithm
from .catalogue import ALGORITHMS
from .settings import (
    EXECUTABLE_LABEL,
    EXECUTABLE_SETTING,
    HERE,
    chinese_first,
    install_record,
    recorded_command,
)
from .spec import Text


class GridgenProvider(QgsProcessingProvider):
    """gridgen's algorithms in the Processing toolbox, models and ``qgis_process``."""

    def __init__(self) -> None:
        super().__init__()
        self.zh_first = chinese_first()

    def id(self) -> str:
        """Return the provider id (algorithms are ``gridgen:NAME``)."""
        return "gridgen"

    def name(self) -> str:
        """Return the provider name shown in the toolbox."""
        return "gridgen"

    def longName(self) -> str:
        """Return the name with its purpose and version."""
        what = Text("网格化治理", "community grid governance").pick(self.zh_first)
        return f"gridgen {self.versionInfo()} ({what})".replace("  ", " ")

    def versionInfo(self) -> str:
        """Return the gridgen version the plugin was installed from."""
        return str(install_record().get("version", ""))

    def icon(self) -> QIcon:
        """Return the provider icon."""
        return QIcon(str(HERE / "icon.svg"))

    def svgIconPath(self) -> str:
        """Return the provider icon file."""
        return str(HERE / "icon.svg")

    def load(self) -> bool:
        """Register the executable setting, then the algorithms."""
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        recorded = recorded_command()
        ProcessingConfig.addSetting(
            Setting(
                self.name(),
                EXECUTABLE_SETTING,
                EXECUTABLE_LABEL.pick(self.zh_first),
                recorded[0] if len(recorded) == 1 else "",
                valuetype=Setting.FILE,
            )
        )
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        """Remove the setting."""
        ProcessingConfig.removeSetting(EXECUTABLE_SETTING)

    def loadAlgorithms(self) -> None:
        """Add one algorithm per entry of the catalogue."""
        for spec in ALGORITHMS:
            self.addAlgorithm(GridgenAlgorithm(spec, self.zh_first))
