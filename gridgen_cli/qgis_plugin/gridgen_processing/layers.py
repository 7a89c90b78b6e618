"""Output GeoPackages loaded into the project: styled, grouped, in a sensible order.

gridgen writes each layer's default QGIS style into the GeoPackage (table
``layer_styles``). Every spatial layer of an output is queued with
``context.addLayerToLoadOnCompletion``; when Processing has added it to the project, a
post-processor applies that default style and puts the layer in the run's group of the
layer tree (QGIS 3.32 and later group by ``LayerDetails.groupName`` themselves).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from qgis.core import (
    QgsLayerTreeGroup,
    QgsLayerTreeLayer,
    QgsMapLayer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingUtils,
    QgsProject,
)

from .spec import Text

ORDER = (
    "grids",
    "proposed_sites",
    "stations",
    "gaps",
    "overlaps",
    "split_compounds",
    "uncovered_buildings",
    "coverage",
    "building_points",
    "buildings",
    "compounds",
    "roads",
    "barriers",
    "barriers_lines",
    "communities",
    "streets",
)
"""Layers from top to bottom of a group (others after them, by name)."""
NAMES = {
    "grids": Text("网格", "grids"),
    "proposed_sites": Text("建议站点", "proposed sites"),
    "stations": Text("服务站", "stations"),
    "gaps": Text("缝隙", "gaps"),
    "overlaps": Text("重叠", "overlaps"),
    "split_compounds": Text("拆分小区", "split compounds"),
    "uncovered_buildings": Text("未覆盖楼栋", "uncovered buildings"),
    "coverage": Text("覆盖率", "coverage"),
    "buildings": Text("楼栋", "buildings"),
    "compounds": Text("小区", "compounds"),
    "roads": Text("道路", "roads"),
    "barriers": Text("河流铁路围墙", "rivers, railways, walls"),
    "barriers_lines": Text("河流铁路围墙（线）", "rivers, railways, walls (lines)"),
    "communities": Text("社区", "communities"),
    "streets": Text("街道", "streets"),
}
GROUPS_BUILT_IN = hasattr(QgsProcessingContext.LayerDetails, "groupName")
_KEEP: list[QgsProcessingLayerPostProcessorInterface] = []
"""Post-processors stay referenced here: QGIS holds them by a plain pointer."""


def spatial_tables(path: str) -> list[str]:
    """Return the feature tables of a GeoPackage worth loading, top layer first.

    An empty table of no declared geometry type (``GEOMETRY``) is left out: QGIS would
    open it as a layer without symbology.
    """
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as con:
        rows = con.execute(
            "SELECT c.table_name, g.geometry_type_name FROM gpkg_contents c "
            "JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
            "WHERE c.data_type = 'features'"
        ).fetchall()
        names = [
            str(table)
            for table, kind in rows
            if str(kind).upper() != "GEOMETRY"
            or con.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None
        ]
    return sorted(names, key=rank_key)


def rank_key(table: str) -> tuple[int, str]:
    """Return the sort key of a layer in its group."""
    return (ORDER.index(table) if table in ORDER else len(ORDER), table)


class StyledOutput(QgsProcessingLayerPostProcessorInterface):
    """Apply the GeoPackage's default style and file the layer under its run's group."""

    def __init__(self, group: str, rank: int) -> None:
        super().__init__()
        self.group = group
        self.rank = rank

    def postProcessLayer(
        self, layer: QgsMapLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        """Style ``layer`` from ``layer_styles`` and move it into the group (QGIS < 3.32)."""
        message, ok = layer.loadDefaultStyle()
        if not ok:
            feedback.pushInfo(f"{layer.name()}: no default style ({message})")
        layer.triggerRepaint()
        project = context.project() or QgsProject.instance()
        if not GROUPS_BUILT_IN and project is not None:
            file_under_group(project, layer, self.group, self.rank)


def file_under_group(project: QgsProject, layer: QgsMapLayer, group_name: str, rank: int) -> None:
    """Move ``layer``'s node into the top-level group ``group_name``, ordered by ``rank``."""
    root = project.layerTreeRoot()
    node = root.findLayer(layer.id())
    if node is None:
        return
    group = root.findGroup(group_name)
    if group is None:
        group = root.insertGroup(0, group_name)
    if node.parent() is group:
        return
    layer.setCustomProperty("gridgen/rank", rank)
    position = sum(
        1
        for child in group.children()
        if isinstance(child, QgsLayerTreeLayer)
        and child.layer() is not None
        and int(child.layer().customProperty("gridgen/rank", 99)) <= rank
    )
    clone = node.clone()
    group.insertChildNode(position, clone)
    parent = node.parent()
    if isinstance(parent, QgsLayerTreeGroup):
        parent.removeChildNode(node)


def queue_outputs(context: QgsProcessingContext, path: str, group: str, zh_first: bool) -> int:
    """Queue every spatial layer of the GeoPackage ``path`` to load; return how many."""
    project = context.project()
    if project is None:
        return 0
    tables = spatial_tables(path)
    for rank, table in enumerate(tables):
        name = NAMES[table].pick(zh_first) if table in NAMES else table
        details = QgsProcessingContext.LayerDetails(
            name, project, "", QgsProcessingUtils.LayerHint.Vector
        )
        if GROUPS_BUILT_IN:
            details.groupName = group
            details.layerSortKey = len(tables) - rank  # a greater key is drawn on top
        processor = StyledOutput(group, rank)
        _KEEP.append(processor)
        details.setPostProcessor(processor)
        context.addLayerToLoadOnCompletion(f"{path}|layername={table}", details)
    return len(tables)
