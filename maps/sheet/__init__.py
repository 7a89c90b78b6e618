"""The compound sheet (一小区一图示): data, layout, map panel, tables, text and renderers."""
