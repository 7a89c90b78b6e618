"""Write the Processing models shipped with the gridgen QGIS plugin (run by QGIS' Python).

Usage: ``QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/qgis_models.py [OUT_DIR]``
(default: ``gridgen_cli/qgis_plugin/gridgen_processing/models``). The models are built
with PyQGIS' model API against the plugin's own algorithms, so a changed parameter shows up
as a changed ``.model3`` (``tests/test_qgis_process.py`` checks the committed files match).

- ``gridgen_validate_partition_audit``: validate a dataset, partition what was validated,
  audit the new grids; outputs the plan GeoPackage and the audit report.
- ``gridgen_ingest_validate_partition_audit``: the same from a district's own files (community
  boundaries, footprints, ledger, optional compounds, roads and stations), ingested first;
  outputs the dataset, the match report, the plan and the audit.
"""

import os
import sys
from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtCore import QPointF

ROOT = Path(__file__).resolve().parents[1]
CHAIN = "gridgen_validate_partition_audit"
INGEST_CHAIN = "gridgen_ingest_validate_partition_audit"
given = QgsProcessingModelChildParameterSource.fromModelParameter
from_child = QgsProcessingModelChildParameterSource.fromChildOutput
static = QgsProcessingModelChildParameterSource.fromStaticValue


def _number(name, label, default):
    return QgsProcessingParameterNumber(
        name, label, QgsProcessingParameterNumber.Integer, default, False, 0, 100000
    )


def _layer(name, label, optional=False):
    return QgsProcessingParameterFeatureSource(
        name, label, [QgsProcessing.TypeVectorAnyGeometry], None, optional
    )


def _child(model, alg_id, child_id, *, sources, outputs, x):
    """Add ``alg_id`` as ``child_id``; ``outputs``: model output → (child output, label)."""
    child = QgsProcessingModelChildAlgorithm(alg_id)
    child.setChildId(child_id)
    child.setDescription(DESCRIPTIONS[child_id])
    child.setPosition(QPointF(x, 220))
    for name, source in sources.items():
        child.addParameterSources(name, [source])
    model_outputs = {}
    for output_name, (child_output, label) in outputs.items():
        out = QgsProcessingModelOutput(output_name, label)
        out.setChildId(child_id)
        out.setChildOutputName(child_output)
        out.setPosition(QPointF(x, 350))
        model_outputs[output_name] = out
    child.setModelOutputs(model_outputs)
    model.addChildAlgorithm(child)


DESCRIPTIONS = {
    "ingest": "导入 · ingest",
    "validate": "校验 · validate",
    "partition": "划分 · partition",
    "audit": "审核 · audit",
}


def _model(name, title, description, inputs):
    model = QgsProcessingModelAlgorithm(name, "gridgen", "gridgen")
    model.setName(title)
    model.setHelpContent({"ALG_DESC": description, "ALG_CREATOR": "gridgen"})
    band = [
        _number("TARGET", "每格目标户数 · Households per grid (target)", 300),
        _number("BAND_MIN", "每格户数下限 · Minimum households per grid", 240),
        _number("BAND_MAX", "每格户数上限 · Maximum households per grid", 360),
    ]
    for i, definition in enumerate([*inputs, *band]):
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(120 + 200 * (i % 5), 40 + 70 * (i // 5)))
        model.addModelParameter(definition, component)
    return model


def _grid_steps(model, data, x):
    """Add validate → partition → audit on ``data`` (a child parameter source)."""
    band = {name: given(name) for name in ("TARGET", "BAND_MIN", "BAND_MAX")}
    _child(model, "gridgen:validate", "validate", sources={"DATA": data}, outputs={}, x=x)
    checked = from_child("validate", "DATA_CHECKED")
    _child(
        model,
        "gridgen:partition",
        "partition",
        sources={"DATA": checked, **band},
        outputs={"PLAN": ("OUTPUT", "网格方案 · Grid plan")},
        x=x + 260,
    )
    _child(
        model,
        "gridgen:audit",
        "audit",
        sources={"DATA": checked, "GRIDS": from_child("partition", "GRIDS"), **band},
        outputs={"AUDIT": ("OUTPUT", "审核报告 · Audit report")},
        x=x + 520,
    )
    return model


def chain_model():
    """Return the validate → partition → audit model."""
    model = _model(
        CHAIN,
        "校验 → 划分 → 审核 · validate → partition → audit",
        "校验数据集，划分网格，再审核新网格。Validates the dataset, partitions it into grids "
        "and audits the new grids.",
        [
            QgsProcessingParameterFile(
                "DATA", "数据集 · Dataset", QgsProcessingParameterFile.File, "gpkg"
            )
        ],
    )
    return _grid_steps(model, given("DATA"), 120)


def ingest_chain_model():
    """Return the ingest → validate → partition → audit model."""
    model = _model(
        INGEST_CHAIN,
        "导入 → 校验 → 划分 → 审核 · ingest → validate → partition → audit",
        "把区县原始资料导入为数据集，校验，划分网格，再审核新网格。Ingests a district's own "
        "files into a dataset, validates it, partitions it into grids and audits the grids.",
        [
            _layer("COMMUNITIES", "社区边界 · Community boundaries"),
            _layer("FOOTPRINTS", "楼栋轮廓 · Building footprints"),
            QgsProcessingParameterFile(
                "LEDGER", "房屋人口台账 · Household ledger", QgsProcessingParameterFile.File, "xlsx"
            ),
            _layer("COMPOUNDS", "小区范围（可选）· Compound outlines (optional)", True),
            _layer("ROADS", "道路（可选）· Roads (optional)", True),
            _layer("STATIONS", "服务站（可选）· Stations (optional)", True),
        ],
    )
    names = ("COMMUNITIES", "FOOTPRINTS", "LEDGER", "COMPOUNDS", "ROADS", "STATIONS")
    _child(
        model,
        "gridgen:ingest",
        "ingest",
        sources={**{n: given(n) for n in names}, "LOAD_OUTPUTS": static(False)},
        outputs={
            "DATASET": ("OUTPUT", "数据集 · Dataset"),
            "MATCH": ("MATCH_REPORT", "匹配报告 · Match report"),
        },
        x=120,
    )
    return _grid_steps(model, from_child("ingest", "OUTPUT"), 380)


def main():
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else (ROOT / "gridgen_cli" / "qgis_plugin" / "gridgen_processing" / "models")
    )
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    sys.path.insert(0, str(ROOT / "gridgen_cli" / "qgis_plugin"))
    from processing.core.Processing import Processing

    Processing.initialize()
    import gridgen_processing

    gridgen_processing.classFactory(None).initProcessing()
    out.mkdir(parents=True, exist_ok=True)
    for name, build in ((CHAIN, chain_model), (INGEST_CHAIN, ingest_chain_model)):
        path = out / f"{name}.model3"
        if not build().toFile(str(path)):
            print(f"cannot write {path}", file=sys.stderr)
            os._exit(1)
        print(path, flush=True)
    app.exitQgis()
    os._exit(0)


if __name__ == "__main__":
    main()
