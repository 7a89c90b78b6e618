"""One gridgen subcommand as a QGIS Processing algorithm (built from its :class:`AlgorithmSpec`).

Running it: the parameters become gridgen's command line (layers loaded in QGIS written to
temporary GeoPackages first), the ``gridgen`` executable runs in its own process (QGIS'
Python needs none of gridgen's dependencies), its progress lines drive the progress bar,
its summary goes to the log, cancelling stops the process, and its one-line error becomes
the algorithm's error. Output GeoPackages load into the project styled and grouped.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingUtils,
)
from qgis.PyQt.QtGui import QIcon

from . import readers, runner
from .layers import queue_outputs
from .params import Inputs, cli_value, definition
from .settings import EXECUTABLE_LABEL, HERE, gridgen_command
from .spec import (
    GROUPS,
    AlgorithmSpec,
    CommandLineError,
    Text,
    command_line,
    parameter_hint,
)

LOAD_OUTPUTS = "LOAD_OUTPUTS"
LOAD_LABEL = Text("运行后把输出图层加入项目", "Open the output layers after running")
FAIL_ON_REJECTED = "FAIL_ON_REJECTED"
FAIL_LABEL = Text("有被拒绝的行时失败", "Fail when rows are rejected")
CANCELLED = Text("已取消：gridgen 进程已停止", "Cancelled: the gridgen process was stopped")
STATUS = Text("gridgen 以非零状态结束，见日志", "gridgen ended with a non-zero status: see the log")
WARNINGS = {
    "validate": Text(
        "有被拒绝的行：原因见校验报告", "Rows were rejected: the validation report lists why"
    ),
}


class GridgenAlgorithm(QgsProcessingAlgorithm):
    """A Processing algorithm that runs ``gridgen COMMAND ...``."""

    def __init__(self, spec: AlgorithmSpec, zh_first: bool) -> None:
        super().__init__()
        self.spec = spec
        self.zh_first = zh_first

    def name(self) -> str:
        """Return the id within the provider."""
        return self.spec.name

    def displayName(self) -> str:
        """Return the title in both languages."""
        return self.spec.title.pick(self.zh_first)

    def group(self) -> str:
        """Return the group name in both languages."""
        return GROUPS[self.spec.group].pick(self.zh_first)

    def groupId(self) -> str:
        """Return the group id (the same in every language)."""
        return self.spec.group

    def tags(self) -> list[str]:
        """Return words the toolbox search matches, in both languages."""
        t = self.spec.title
        return ["gridgen", self.spec.command, t.zh, t.en, "网格", "grid"]

    def shortHelpString(self) -> str:
        """Return the help in both languages, the user's first."""
        first, second = (self.spec.help.zh, self.spec.help.en)
        if not self.zh_first:
            first, second = second, first
        paragraphs = [*first.split("\n\n"), *second.split("\n\n")]
        return "".join(f"<p>{p}</p>" for p in paragraphs)

    def icon(self) -> QIcon:
        """Return the gridgen icon."""
        return QIcon(str(HERE / "icon.svg"))

    def createInstance(self) -> GridgenAlgorithm:
        """Return a new copy (Processing runs copies)."""
        return GridgenAlgorithm(self.spec, self.zh_first)

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs of the spec."""
        for p in self.spec.params:
            self.addParameter(definition(p, self.zh_first))
        if self.spec.name == "validate":
            self.addParameter(
                QgsProcessingParameterBoolean(
                    FAIL_ON_REJECTED, FAIL_LABEL.pick(self.zh_first), False
                )
            )
        if any(p.load for p in self.spec.params):
            load = QgsProcessingParameterBoolean(LOAD_OUTPUTS, LOAD_LABEL.pick(self.zh_first), True)
            load.setFlags(load.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(load)
        for r in self.spec.results:
            label = r.label.pick(self.zh_first)
            if r.kind == "layer":
                self.addOutput(QgsProcessingOutputVectorLayer(r.name, label))
            elif r.kind == "number":
                self.addOutput(QgsProcessingOutputNumber(r.name, label))
            else:
                self.addOutput(QgsProcessingOutputFile(r.name, label))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> dict[str, Any]:
        """Run gridgen; return the output files, layers and figures."""
        workdir = tempfile.mkdtemp(prefix="gridgen-", dir=QgsProcessingUtils.tempFolder())
        run = Inputs(self, parameters, context, feedback, workdir)
        values = {p.name: cli_value(run, p) for p in self.spec.params}
        try:
            arguments = command_line(self.spec, values)
        except CommandLineError as exc:
            raise QgsProcessingException(f"gridgen {self.spec.command}: {exc}") from exc
        self._prepare_outputs(values)
        outcome = self._run([*self._command(), *arguments], workdir, feedback)
        self._check(outcome, parameters, context, feedback)
        feedback.setProgress(100)
        if self.parameterAsBoolean(parameters, LOAD_OUTPUTS, context):
            self._load(values, context, feedback)
        return self._results(values)

    def _command(self) -> list[str]:
        command = gridgen_command()
        if not command or not (os.path.isfile(command[0]) and os.access(command[0], os.X_OK)):
            where = command[0] if command else "(none recorded)"
            msg = (
                f"{EXECUTABLE_LABEL.en} {where} not found: run `gridgen qgis-plugin install` "
                "again, or set it in Settings > Options > Processing > Providers > gridgen"
            )
            raise QgsProcessingException(msg)
        return command

    def _prepare_outputs(self, values: dict[str, Any]) -> None:
        """Create the folders of the output files (gridgen writes beside the target)."""
        for p in self.spec.params:
            path = values.get(p.name)
            if p.kind == "output" and path:
                Path(str(path)).parent.mkdir(parents=True, exist_ok=True)

    def _run(
        self, argv: list[str], workdir: str, feedback: QgsProcessingFeedback
    ) -> runner.Outcome:
        feedback.pushCommandInfo(" ".join(shlex.quote(a) for a in argv))
        phase = [""]

        def progress(what: str, percent: float) -> None:
            if what != phase[0]:
                phase[0] = what
                feedback.setProgressText(f"gridgen {self.spec.command}: {what}")
            feedback.setProgress(percent)

        callbacks = runner.Callbacks(
            stdout=feedback.pushInfo,
            message=feedback.pushConsoleInfo,
            progress=progress,
            cancelled=feedback.isCanceled,
        )
        try:
            return runner.run(argv, callbacks, cwd=workdir)
        except OSError as exc:
            msg = f"cannot run {argv[0]}: {exc.strerror or exc}"
            raise QgsProcessingException(msg) from exc

    def _check(
        self,
        outcome: runner.Outcome,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> None:
        """Raise the run's one-line reason when it failed or was cancelled."""
        if outcome.cancelled:
            raise QgsProcessingException(CANCELLED.pick(self.zh_first))
        failed = outcome.status not in self.spec.ok_statuses or bool(outcome.error)
        strict = self.spec.name == "validate" and self.parameterAsBoolean(
            parameters, FAIL_ON_REJECTED, context
        )
        if failed or (strict and outcome.status != 0):
            reason = runner.failure_reason(outcome, self.spec.command)
            raise QgsProcessingException(reason + parameter_hint(self.spec, reason))
        if outcome.status != 0:
            feedback.pushWarning(WARNINGS.get(self.spec.name, STATUS).pick(self.zh_first))

    def _load(
        self, values: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        """Queue the layers of the output GeoPackages to load into the project, grouped."""
        for p in self.spec.params:
            path = values.get(p.name)
            if not (p.load and path and str(path).lower().endswith(".gpkg")):
                continue
            if not os.path.isfile(str(path)):
                continue
            group = f"gridgen {self.spec.command}: {Path(str(path)).name}"
            count = queue_outputs(context, str(path), group, self.zh_first)
            if count:
                feedback.pushInfo(f"{count} layers of {path} will be loaded into group {group!r}")

    def _results(self, values: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            p.name: values[p.name] for p in self.spec.params if p.kind == "output"
        }
        for r in self.spec.results:
            source = values.get(r.source)
            if r.kind == "input" or source is None:
                out[r.name] = source
            elif r.kind == "layer":
                out[r.name] = f"{source}|layername={r.key}"
            elif os.path.isfile(str(source)):
                out[r.name] = readers.number(str(source), r.reader, r.key)
        return out
