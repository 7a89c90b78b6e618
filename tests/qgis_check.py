"""Open GeoPackages in headless QGIS and report each layer (run by Debian's python3).

Usage: ``QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_check.py OUT.png A.gpkg ...``.
Prints one JSON object: per file and layer, validity, CRS, feature count, the renderer and
labelling QGIS applied (our default style from ``layer_styles``); renders the ``grids``
layer of the first file with its style over the other layers to ``OUT.png``.
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProviderRegistry,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def layer_names(path):
    meta = QgsProviderRegistry.instance().providerMetadata("ogr")
    conn = meta.createConnection(path, {})
    return [t.tableName() for t in conn.tables()]


def describe(layer):
    renderer = layer.renderer()
    out = {
        "valid": layer.isValid(),
        "crs": layer.crs().authid(),
        "crs_description": layer.crs().description(),
        "count": layer.featureCount(),
        "geometry": layer.geometryType(),
        "renderer": renderer.type() if renderer else None,
        "labels": bool(layer.labelsEnabled()),
    }
    if renderer is not None and renderer.type() == "categorizedSymbol":
        out["categories"] = {
            str(c.value()): c.symbol().color().name() for c in renderer.categories()
        }
        out["attr"] = renderer.classAttribute()
    if renderer is not None and renderer.type() == "graduatedSymbol":
        out["attr"] = renderer.classAttribute()
        out["ranges"] = [r.symbol().color().name() for r in renderer.ranges()]
    if renderer is not None and renderer.type() == "singleSymbol":
        out["colour"] = renderer.symbol().color().name()
    if layer.labelsEnabled() and layer.labeling() is not None:
        settings = layer.labeling().settings()
        out["label_field"] = settings.fieldName
    return out


def main():
    png, files = sys.argv[1], sys.argv[2:]
    app = QgsApplication([], False)
    app.initQgis()
    report = {}
    render_layers = []
    for path in files:
        report[path] = {}
        for name in layer_names(path):
            layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
            if not layer.isSpatial():
                continue
            report[path][name] = describe(layer)
            if path == files[0]:
                render_layers.append(layer)
    order = {"grids": 0, "stations": 1, "building_points": 2, "buildings": 3, "compounds": 4}
    render_layers.sort(key=lambda lyr: order.get(lyr.name(), 9))
    if render_layers:
        settings = QgsMapSettings()
        settings.setLayers(render_layers)
        settings.setBackgroundColor(QColor(255, 255, 255))
        settings.setOutputSize(QSize(1400, 1000))
        settings.setDestinationCrs(render_layers[0].crs())
        extent = QgsRectangle(render_layers[0].extent())
        extent.scale(1.05)
        settings.setExtent(extent)
        job = QgsMapRendererSequentialJob(settings)
        job.start()
        job.waitForFinished()
        job.renderedImage().save(png, "png")
        report["_rendered"] = png
    print(json.dumps(report, ensure_ascii=False), flush=True)
    del render_layers, layer
    app.exitQgis()
    os._exit(0)  # skip Qt's teardown of Python-owned objects (it can crash after exitQgis)


if __name__ == "__main__":
    main()
