"""Processing parameters from :class:`.spec.Param`, and their values as command-line text.

A layer input (``grids``, ``points``) given as a plain file that gridgen reads is passed as
is; any other layer (one loaded in QGIS, a layer of a multi-layer file, selected features,
a database layer) is first written to a temporary GeoPackage named after the layer.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qgis.core import (
    QgsFeatureRequest,
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from .spec import Param, Text, number_text

LAYER_FILES = (".gpkg", ".geojson", ".json", ".zip", ".shp")
"""Layer files gridgen reads itself (``--grids``, ``--candidates``)."""
DATASET_FILTER = Text(
    "GeoPackage (*.gpkg);;Shapefile 压缩包 (*.zip);;CSV (*.csv);;所有文件 (*.*)",
    "GeoPackage (*.gpkg);;Zipped Shapefile (*.zip);;CSV (*.csv);;All files (*.*)",
)
SOURCE_TYPES = {
    "grids": "TypeVectorPolygon",
    "points": "TypeVectorPoint",
    "layer": "TypeVectorAnyGeometry",
}
"""Layer kinds → the geometry Processing offers for them."""
FILE_TYPES = {
    ".gpkg": "GeoPackage",
    ".json": "JSON",
    ".csv": "CSV",
    ".xlsx": "Excel",
    ".html": "HTML",
    ".png": "PNG",
    ".pdf": "PDF",
    ".zip": "ZIP",
}


def file_filter(suffixes: tuple[str, ...], zh_first: bool) -> str:
    """Return a Qt file filter with one entry per suffix (the first is the default)."""
    if not suffixes:
        return DATASET_FILTER.zh if zh_first else DATASET_FILTER.en
    return ";;".join(f"{FILE_TYPES.get(s, s[1:].upper())} (*{s})" for s in suffixes)


def definition(p: Param, zh_first: bool) -> QgsProcessingParameterDefinition:
    """Return the Processing parameter for ``p``, labelled in both languages."""
    label = p.label.pick(zh_first)
    d = _make(p, label, zh_first)
    if p.advanced:
        d.setFlags(d.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return d


def _make(p: Param, label: str, zh_first: bool) -> QgsProcessingParameterDefinition:
    kind = p.kind
    if kind in ("dataset", "file"):
        return QgsProcessingParameterFile(
            p.name,
            label,
            QgsProcessingParameterFile.File,
            "",
            None,
            p.optional,
            file_filter(p.suffixes, zh_first),
        )
    if kind in SOURCE_TYPES:
        wanted = getattr(QgsProcessing, SOURCE_TYPES[kind])
        return QgsProcessingParameterFeatureSource(p.name, label, [wanted], None, p.optional)
    if kind == "grids_many":
        return QgsProcessingParameterMultipleLayers(
            p.name, label, QgsProcessing.TypeVectorPolygon, None, p.optional
        )
    if kind in ("int", "float"):
        number = (
            QgsProcessingParameterNumber.Integer
            if kind == "int"
            else QgsProcessingParameterNumber.Double
        )
        d = QgsProcessingParameterNumber(p.name, label, number, p.default, p.optional)
        if p.minimum is not None:
            d.setMinimum(p.minimum)
        if p.maximum is not None:
            d.setMaximum(p.maximum)
        return d
    if kind == "enum":
        options = [t.pick(zh_first) for t in p.choice_labels]
        return QgsProcessingParameterEnum(p.name, label, options, False, p.default, p.optional)
    if kind == "bool":
        return QgsProcessingParameterBoolean(p.name, label, bool(p.default), p.optional)
    if kind == "crs":
        return QgsProcessingParameterCrs(p.name, label, None, p.optional)
    if kind == "date":
        return QgsProcessingParameterDateTime(
            p.name, label, QgsProcessingParameterDateTime.Date, None, p.optional
        )
    if kind in ("string", "lines"):
        multiline = kind == "lines"
        return QgsProcessingParameterString(p.name, label, p.default, multiline, p.optional)
    if kind == "field":
        return QgsProcessingParameterField(
            p.name, label, None, p.parent, QgsProcessingParameterField.Any, False, p.optional
        )
    return QgsProcessingParameterFileDestination(
        p.name, label, file_filter(p.suffixes, zh_first), None, p.optional, not p.optional
    )


def plain_layer_file(value: Any, *, any_suffix: bool = False) -> bool:
    """Return whether ``value`` is a path gridgen reads as it is (no layer name, no filter).

    ``any_suffix``: every file on disk (inputs gridgen reads in many formats, such as
    ``ingest``'s roads from an ``.osm.pbf``).
    """
    if not isinstance(value, str) or "|" in value:
        return False
    suffix = os.path.splitext(value)[1].lower()
    return os.path.isfile(value) and (any_suffix or suffix in LAYER_FILES)


def uri_layer_name(value: Any) -> str:
    """Return the ``layername=`` of a layer source such as ``plan.gpkg|layername=grids``."""
    if not isinstance(value, str):
        return ""
    for part in value.split("|")[1:]:
        key, _, name = part.partition("=")
        if key.strip().lower() == "layername":
            return name.strip()
    return ""


def safe_name(name: str) -> str:
    """Return ``name`` usable as a file name (letters of any script kept)."""
    cleaned = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._")
    return cleaned or "layer"


def export_source(
    source: Any,
    name: str,
    workdir: str,
    context: QgsProcessingContext,
    feedback: QgsProcessingFeedback,
) -> str:
    """Write the features of ``source`` (a feature source or vector layer) to a GeoPackage.

    The file is ``WORKDIR/<unique>/<name>.gpkg`` with one layer ``<name>``, in the source's
    own CRS (gridgen converts it); returns its path.
    """
    folder = tempfile.mkdtemp(prefix="layer-", dir=workdir)
    base = safe_name(name)
    path = os.path.join(folder, f"{base}.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = base
    options.fileEncoding = "UTF-8"
    writer = QgsVectorFileWriter.create(
        path,
        source.fields(),
        source.wkbType(),
        source.sourceCrs(),
        context.transformContext(),
        options,
    )
    if writer.hasError() != QgsVectorFileWriter.NoError:
        msg = f"cannot write the layer {name!r} to {path}: {writer.errorMessage()}"
        raise QgsProcessingException(msg)
    request = QgsFeatureRequest()
    for feature in source.getFeatures(request):
        if feedback.isCanceled():
            break
        writer.addFeature(feature)
    del writer  # closes the file
    feedback.pushInfo(f"layer {name!r} written to {path} for gridgen")
    return path


@dataclass
class Inputs:
    """What resolving a parameter's value needs: the algorithm and its run."""

    alg: QgsProcessingAlgorithm
    parameters: dict[str, Any]
    context: QgsProcessingContext
    feedback: QgsProcessingFeedback
    workdir: str  # temporary files of this run


def layer_value(run: Inputs, p: Param) -> str | None:
    """Return the path gridgen reads for a layer parameter (exported when needed)."""
    raw = run.parameters.get(p.name)
    if raw is None or raw == "":
        return None
    if plain_layer_file(raw, any_suffix=p.kind == "layer"):
        return str(raw)
    source = run.alg.parameterAsSource(run.parameters, p.name, run.context)
    if source is None:
        raise QgsProcessingException(run.alg.invalidSourceError(run.parameters, p.name))
    name = uri_layer_name(raw) or source.sourceName() or p.name.lower()
    return export_source(source, name, run.workdir, run.context, run.feedback)


def layer_list_value(run: Inputs, p: Param) -> list[str]:
    """Return the paths gridgen reads for a multiple-layer parameter."""
    raw = run.parameters.get(p.name) or []
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    paths = []
    for item in items:
        if plain_layer_file(item):
            paths.append(str(item))
            continue
        layer = item if isinstance(item, QgsMapLayer) else None
        if layer is None:
            layer = QgsProcessingUtils.mapLayerFromString(str(item), run.context)
        if not isinstance(layer, QgsVectorLayer):
            msg = f"{p.name}: {item} is not a vector layer QGIS can open"
            raise QgsProcessingException(msg)
        paths.append(export_source(layer, layer.name(), run.workdir, run.context, run.feedback))
    return paths


def _number(run: Inputs, p: Param) -> str | None:
    raw = run.parameters.get(p.name)
    if (raw is None or raw == "") and p.default is None:
        return None
    if p.kind == "int":
        return number_text(run.alg.parameterAsInt(run.parameters, p.name, run.context))
    return number_text(run.alg.parameterAsDouble(run.parameters, p.name, run.context))


def _enum(run: Inputs, p: Param) -> str | None:
    index = run.alg.parameterAsEnum(run.parameters, p.name, run.context)
    return p.choices[index] if 0 <= index < len(p.choices) else None


def _crs(run: Inputs, p: Param) -> str | None:
    crs = run.alg.parameterAsCrs(run.parameters, p.name, run.context)
    if not crs.isValid():
        return None
    return str(crs.authid() or crs.toWkt())


def _date(run: Inputs, p: Param) -> str | None:
    raw = run.parameters.get(p.name)
    if raw is None or raw == "":
        return None
    stamp = run.alg.parameterAsDateTime(run.parameters, p.name, run.context)
    day = stamp.date()  # QGIS 3.22 has no parameterAsDate
    return str(day.toString("yyyy-MM-dd")) if day.isValid() else None


def _field(run: Inputs, p: Param) -> str | None:
    fields = run.alg.parameterAsFields(run.parameters, p.name, run.context)
    return str(fields[0]) if fields else None


def _text(run: Inputs, p: Param) -> str | None:
    return str(run.alg.parameterAsString(run.parameters, p.name, run.context)).strip() or None


def _lines(run: Inputs, p: Param) -> list[str]:
    text = str(run.alg.parameterAsString(run.parameters, p.name, run.context) or "")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _file(run: Inputs, p: Param) -> str | None:
    return str(run.alg.parameterAsFile(run.parameters, p.name, run.context)) or None


def _output(run: Inputs, p: Param) -> str | None:
    path = str(run.alg.parameterAsFileOutput(run.parameters, p.name, run.context) or "")
    if not path and p.temporary:
        path = os.path.join(run.workdir, f"{p.name.lower()}{p.suffixes[0]}")
    return path or None


def _bool(run: Inputs, p: Param) -> bool:
    return bool(run.alg.parameterAsBoolean(run.parameters, p.name, run.context))


VALUES: dict[str, Callable[[Inputs, Param], Any]] = {
    "dataset": _file,
    "file": _file,
    "grids": layer_value,
    "points": layer_value,
    "layer": layer_value,
    "grids_many": layer_list_value,
    "int": _number,
    "float": _number,
    "enum": _enum,
    "bool": _bool,
    "crs": _crs,
    "date": _date,
    "string": _text,
    "lines": _lines,
    "field": _field,
    "output": _output,
}
"""Parameter kind → its command-line value (None or [] when not given)."""


def cli_value(run: Inputs, p: Param) -> Any:
    """Return the command-line text of parameter ``p`` (None: not given)."""
    return VALUES[p.kind](run, p)
