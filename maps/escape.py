"""Escaping of data values for the contexts where maps put them (HTML, JS template literals).

Folium builds tooltips and popups in JavaScript: a string tooltip is pasted into a JS
template literal (backticks) and then parsed as HTML; GeoJSON tooltip fields are pasted
into ``innerHTML``. :func:`html_text` makes a value safe in both: every character that
means something to HTML (``& < > " '``) or to a template literal (backtick, ``$``,
backslash) becomes a numeric character reference, which the HTML parser turns back into
the same visible text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def html_text(value: object) -> str:
    """Return ``value`` as text safe in HTML and inside a JavaScript template literal.

    Examples
    --------
    >>> html_text("<img src=x onerror=alert(1)>${x}`")
    '&lt;img src=x onerror=alert(1)&gt;&#36;{x}&#96;'
    """
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE)


def escape_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """Return GeoJSON ``props`` with every string value escaped by :func:`html_text`.

    Keys starting with ``_`` carry styling (colours) made by gridgen and stay as they are;
    numbers and ``None`` stay as they are.
    """
    return {
        k: html_text(v) if isinstance(v, str) and not k.startswith("_") else v
        for k, v in props.items()
    }
