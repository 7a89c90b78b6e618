"""Write the Processing models shipped with the gridgen QGIS plugin (run by QGIS' Python).

Usage: ``QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/qgis_models.py [OUT_DIR]``
(default: ``gridgen_cli/qgis_plugin/gridgen_processing/models``). The models are built
with PyQGIS' model API against the plugin's own algorithms, so a changed parameter shows up
as a changed ``.model3`` (``tests/test_qgis_plugin.py`` checks the committed files match).

Model ``gridgen_validate_partition_audit``: validate the dataset, partition what was
validated, audit the new grids; outputs the plan GeoPackage and the audit report.
"""

import os
import sys
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtCore import QPointF

ROOT = Path(__file__).resolve().parents[1]
CHAIN = "gridgen_validate_partition_audit"


def _number(name, label, default):
    return QgsProcessingParameterNumber(
        name, label, QgsProcessingParameterNumber.Integer, default, False, 0, 100000
    )


def _child(model, alg_id, child_id, *, description, sources, outputs, x):
    child = QgsProcessingModelChildAlgorithm(alg_id)
    child.setChildId(child_id)
    child.setDescription(description)
    child.setPosition(QPointF(x, 200))
    for name, source in sources.items():
        child.addParameterSources(name, [source])
    model_outputs = {}
    for output_name, (child_output, label) in outputs.items():
        out = QgsProcessingModelOutput(output_name, label)
        out.setChildId(child_id)
        out.setChildOutputName(child_output)
        out.setPosition(QPointF(x, 330))
        model_outputs[output_name] = out
    child.setModelOutputs(model_outputs)
    model.addChildAlgorithm(child)


def chain_model():
    """Return the validate → partition → audit model."""
    model = QgsProcessingModelAlgorithm(CHAIN, "gridgen", "gridgen")
    model.setName("校验 → 划分 → 审核 · validate → partition → audit")
    model.setHelpContent(
        {
            "ALG_DESC": "校验数据集，划分网格，再审核新网格。Validates the dataset, partitions "
            "it into grids and audits the new grids.",
            "ALG_CREATOR": "gridgen",
        }
    )
    inputs = [
        QgsProcessingParameterFile(
            "DATA", "数据集 · Dataset", QgsProcessingParameterFile.File, "gpkg"
        ),
        _number("TARGET", "每格目标户数 · Households per grid (target)", 300),
        _number("BAND_MIN", "每格户数下限 · Minimum households per grid", 240),
        _number("BAND_MAX", "每格户数上限 · Maximum households per grid", 360),
    ]
    for i, definition in enumerate(inputs):
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(120 + 220 * i, 60))
        model.addModelParameter(definition, component)
    given = QgsProcessingModelChildParameterSource.fromModelParameter
    from_child = QgsProcessingModelChildParameterSource.fromChildOutput
    band = {name: given(name) for name in ("TARGET", "BAND_MIN", "BAND_MAX")}
    _child(
        model,
        "gridgen:validate",
        "validate",
        description="校验 · validate",
        sources={"DATA": given("DATA")},
        outputs={},
        x=120,
    )
    _child(
        model,
        "gridgen:partition",
        "partition",
        description="划分 · partition",
        sources={"DATA": from_child("validate", "DATA_CHECKED"), **band},
        outputs={"PLAN": ("OUTPUT", "网格方案 · Grid plan")},
        x=400,
    )
    _child(
        model,
        "gridgen:audit",
        "audit",
        description="审核 · audit",
        sources={
            "DATA": from_child("validate", "DATA_CHECKED"),
            "GRIDS": from_child("partition", "GRIDS"),
            **band,
        },
        outputs={"AUDIT": ("OUTPUT", "审核报告 · Audit report")},
        x=680,
    )
    return model


def main():
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else (ROOT / "gridgen_cli" / "qgis_plugin" / "gridgen_processing" / "models")
    )
    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    sys.path.insert(0, str(ROOT / "gridgen_cli" / "qgis_plugin"))
    from processing.core.Processing import Processing

    Processing.initialize()
    import gridgen_processing

    gridgen_processing.classFactory(None).initProcessing()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{CHAIN}.model3"
    if not chain_model().toFile(str(path)):
        print(f"cannot write {path}", file=sys.stderr)
        os._exit(1)
    print(path, flush=True)
    app.exitQgis()
    os._exit(0)


if __name__ == "__main__":
    main()
