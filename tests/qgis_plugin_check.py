"""Run gridgen algorithms as the QGIS desktop does and report the project each leaves.

Usage (Debian's python3 with python3-qgis, headless)::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_plugin_check.py PLUGINS_DIR RUNS.json

Loads the installed plugin from ``PLUGINS_DIR`` (a profile's ``python/plugins``), then for
each run of ``RUNS.json`` (a list of ``{"algorithm": ..., "parameters": {...}, "png": ...,
"cancel": false}``) runs the algorithm in a context bound to an empty project and hands the
results to Processing's own post-processing (what the algorithm dialog calls when a run
ends), so the outputs are loaded, styled and grouped exactly as in the desktop. ``cancel``
cancels the run at its first progress report. Prints one JSON list, one object per run: the
results, the layer tree (groups and layers in order, each layer's renderer, labelling and
feature count) and the log. With ``png``, renders the first group's layers in tree order
(whole extent, then the first community's features to ``*_zoom.png``).
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsLayerTreeGroup,
    QgsLayerTreeLayer,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsRectangle,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


class Log(QgsProcessingFeedback):
    def __init__(self, cancel_at_progress=False):
        super().__init__()
        self.lines = []
        self.cancel_at_progress = cancel_at_progress

    def pushInfo(self, info):
        self.lines.append(info)

    def pushConsoleInfo(self, info):
        self.lines.append(f"CONSOLE {info}")

    def pushWarning(self, warning):
        self.lines.append(f"WARNING {warning}")

    def reportError(self, error, fatalError=False):
        self.lines.append(f"ERROR {error}")

    def setProgress(self, progress):
        super().setProgress(progress)
        if self.cancel_at_progress and progress > 0:
            self.cancel()


def tree(node):
    out = []
    for child in node.children():
        if isinstance(child, QgsLayerTreeGroup):
            out.append({"group": child.name(), "children": tree(child)})
        elif isinstance(child, QgsLayerTreeLayer) and child.layer() is not None:
            layer = child.layer()
            renderer = layer.renderer()
            out.append(
                {
                    "layer": layer.name(),
                    "source": layer.source(),
                    "renderer": renderer.type() if renderer else None,
                    "attr": getattr(renderer, "classAttribute", lambda: None)(),
                    "labels": bool(layer.labelsEnabled()),
                    "count": layer.featureCount(),
                    "valid": layer.isValid(),
                }
            )
    return out


def community_extent(layer):
    """Return the extent of the features sharing the first feature's community (or None)."""
    if layer.fields().indexOf("community_id") < 0:
        return None
    first = next(layer.getFeatures(), None)
    if first is None:
        return None
    expression = f"\"community_id\" = '{first['community_id']}'"
    extent = QgsRectangle()
    for feature in layer.getFeatures(QgsFeatureRequest().setFilterExpression(expression)):
        extent.combineExtentWith(feature.geometry().boundingBox())
    return extent


def utm_of(layer):
    """Return the UTM zone (WGS84) at the centre of ``layer``, where areas look true."""
    to_wgs84 = QgsCoordinateTransform(
        layer.crs(), QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance()
    )
    centre = to_wgs84.transform(layer.extent().center())
    zone = int((centre.x() + 180) // 6) + 1
    return QgsCoordinateReferenceSystem(f"EPSG:{(32600 if centre.y() >= 0 else 32700) + zone}")


def render(group, png):
    """Render the group's layers in tree order (UTM): the whole extent, then one community."""
    layers = [n.layer() for n in group.findLayers() if n.layer() is not None]
    utm = utm_of(layers[0])
    to_utm = QgsCoordinateTransform(layers[0].crs(), utm, QgsProject.instance())
    whole = QgsRectangle()
    for layer in layers:
        whole.combineExtentWith(layer.extent())
    polygons = [lyr for lyr in layers if lyr.geometryType() == QgsWkbTypes.PolygonGeometry]
    zoom = community_extent(polygons[0]) if polygons else None
    for path, extent in ((png, whole), (png.replace(".png", "_zoom.png"), zoom)):
        if extent is None:
            continue
        settings = QgsMapSettings()
        settings.setLayers(layers)
        settings.setBackgroundColor(QColor(255, 255, 255))
        settings.setOutputSize(QSize(1400, 1000))
        settings.setDestinationCrs(utm)
        box = to_utm.transformBoundingBox(extent)
        box.scale(1.05)
        settings.setExtent(box)
        job = QgsMapRendererSequentialJob(settings)
        job.start()
        job.waitForFinished()
        job.renderedImage().save(path, "png")


def run_one(run, project):
    """Run one algorithm as the dialog does; return its report."""
    from processing.gui.Postprocessing import handleAlgorithmResults

    project.clear()
    alg = QgsApplication.processingRegistry().createAlgorithmById(run["algorithm"])
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = Log(run.get("cancel", False))
    try:
        results, ok = alg.run(run["parameters"], context, feedback)
    except Exception as exc:  # what the dialog shows: the message, no traceback
        results, ok = {}, False
        feedback.lines.append(f"EXCEPTION {type(exc).__name__}: {exc}")
    loaded = (
        handleAlgorithmResults(alg, context, feedback, True, run["parameters"]) if ok else False
    )
    groups = [c for c in project.layerTreeRoot().children() if isinstance(c, QgsLayerTreeGroup)]
    if groups and run.get("png"):
        render(groups[0], run["png"])
    return {
        "ok": bool(ok),
        "loaded": bool(loaded),
        "results": {k: str(v) for k, v in (results or {}).items()},
        "tree": tree(project.layerTreeRoot()),
        "log": feedback.lines,
    }


def main():
    plugins, runs_file = sys.argv[1:3]
    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    sys.path.insert(0, plugins)
    import gridgen_processing

    plugin = gridgen_processing.classFactory(None)
    plugin.initProcessing()
    with open(runs_file, encoding="utf-8") as f:
        runs = json.load(f)
    project = QgsProject.instance()
    reports = [run_one(run, project) for run in runs]
    print(json.dumps(reports, ensure_ascii=False), flush=True)
    project.clear()
    app.exitQgis()
    os._exit(0)  # skip Qt's teardown of Python-owned objects (it can crash after exitQgis)


if __name__ == "__main__":
    main()
