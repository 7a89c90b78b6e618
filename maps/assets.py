"""Offline assets: vendored Leaflet and folium pages without CDNs (fonts: :mod:`maps.fonts`).

Nothing a gridgen page needs is fetched from a CDN. Leaflet is taken from the npm
registry once, at set-up time (``python -m maps.assets``), and unpacked into
``maps/static/vendor/leaflet/`` (git-ignored). Pages are then written in one of two modes:

``inline``
    Leaflet's JS and CSS (with its images as ``data:`` URIs) are inlined into the HTML
    file, so the file opens offline from ``file://``.
``served``
    The page links to ``{static_url}/vendor/leaflet/...``, the service's static mount
    (see :func:`maps.static_dir`).

folium 0.20 links jQuery, Bootstrap, Font Awesome and awesome-markers from CDNs by
default; gridgen pages use none of them (plain ``GeoJson``, ``CircleMarker``, tooltips,
``LayerControl`` and HTML legends need only Leaflet), so they are dropped. Any other
folium element that asks for an external script makes :func:`render_offline_html` fail
loudly rather than emit a CDN link.
"""

from __future__ import annotations

import base64
import re
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Literal

import folium
from branca.element import Element, Figure
from folium.elements import JSCSSMixin

from maps import static_dir
from maps.errors import MissingAssetError
from maps.npm import stage_npm_dist

LEAFLET_VERSION = "1.9.4"
DEBIAN_LEAFLET = Path("/usr/share/javascript/leaflet")
AssetMode = Literal["inline", "served"]

_LEAFLET_NAMES = {"leaflet": "leaflet.js", "leaflet_css": "leaflet.css"}
_SETUP_HINT = "run `python -m maps.assets` once (it fetches leaflet@{v} with `npm pack`)"


def leaflet_dir() -> Path:
    """Return the folder that holds the vendored Leaflet ``dist`` files."""
    return static_dir() / "vendor" / "leaflet"


def assets_present() -> bool:
    """Return whether the vendored Leaflet files are installed."""
    d = leaflet_dir()
    return (d / "leaflet.js").is_file() and (d / "leaflet.css").is_file()


def ensure_assets(*, force: bool = False, npm: str = "npm") -> Path:
    """Install Leaflet into :func:`leaflet_dir` from the npm registry when it is missing.

    Runs ``npm pack leaflet@1.9.4`` in a temporary folder and extracts ``package/dist/*``;
    when npm or the registry is unavailable, copies Debian's ``libjs-leaflet``
    (``/usr/share/javascript/leaflet``) if installed. The folder is replaced atomically, so
    concurrent callers never see half a copy.

    Parameters
    ----------
    force
        Re-download even when the files are present.
    npm
        The npm executable.

    Returns
    -------
    Path
        The Leaflet folder.
    """
    target = leaflet_dir()
    if assets_present() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = Path(tmp) / "leaflet"
        try:
            stage_npm_dist(f"leaflet@{LEAFLET_VERSION}", staged, npm=npm)
        except MissingAssetError:
            # Offline fallback: Debian's libjs-leaflet, when installed.
            if not (DEBIAN_LEAFLET / "leaflet.js").is_file():
                raise
            shutil.copytree(
                DEBIAN_LEAFLET, staged, ignore=shutil.ignore_patterns("*.gz", "*.brotli")
            )
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    _inline_leaflet.cache_clear()
    return target


def require_assets() -> Path:
    """Return :func:`leaflet_dir`, or raise :class:`MissingAssetError` saying how to install."""
    if not assets_present():
        msg = f"offline map assets are missing in {leaflet_dir()}: " + _SETUP_HINT.format(
            v=LEAFLET_VERSION
        )
        raise MissingAssetError(msg)
    return leaflet_dir()


@cache
def _inline_leaflet() -> tuple[str, str]:
    """Return Leaflet's JS and its CSS with images turned into ``data:`` URIs."""
    d = require_assets()
    js = (d / "leaflet.js").read_text(encoding="utf-8")
    css = (d / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        img = d / match.group(1)
        if not img.is_file():
            return match.group(0)
        b64 = base64.b64encode(img.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{b64})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    # "</script>" inside the library would end the inline tag early.
    js = js.replace("</script", "<\\/script")
    return js, css


def _walk(element: object) -> list[object]:
    """Return ``element`` and all its descendants."""
    out = [element]
    for child in getattr(element, "_children", {}).values():
        out.extend(_walk(child))
    return out


def make_offline(m: folium.Map, *, mode: AssetMode = "inline", static_url: str = "/static") -> None:
    """Point every asset of map ``m`` at vendored Leaflet (inlined or under ``static_url``).

    Parameters
    ----------
    m
        A folium map with all its layers added.
    mode
        ``"inline"`` for standalone files, ``"served"`` for pages served by the service.
    static_url
        URL prefix of :func:`static_dir` in served mode.

    Raises
    ------
    MissingAssetError
        When Leaflet is not installed, or an element needs a library gridgen does not vendor.
    """
    require_assets()
    if mode not in ("inline", "served"):
        msg = f"mode must be 'inline' or 'served', got {mode!r}"
        raise ValueError(msg)
    for el in _walk(m.get_root()):
        if not isinstance(el, JSCSSMixin):
            continue
        if el is not m:
            extra = [n for n, _ in [*el.default_js, *el.default_css] if n not in _LEAFLET_NAMES]
            if extra:
                msg = (
                    f"folium element {type(el).__name__} needs {', '.join(extra)}, which "
                    "gridgen does not vendor; use plain GeoJson/CircleMarker layers instead"
                )
                raise MissingAssetError(msg)
        # Instance attributes shadow folium's module-level CDN lists (which stay untouched).
        el.default_js = []
        el.default_css = []
    root = m.get_root()
    assert isinstance(root, Figure)
    if mode == "inline":
        js, css = _inline_leaflet()
        root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
        root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet")
    else:
        base = f"{static_url.rstrip('/')}/vendor/leaflet"
        m.default_js = [("leaflet", f"{base}/leaflet.js")]
        m.default_css = [("leaflet_css", f"{base}/leaflet.css")]
    # The header elements must come before the map's own script; folium renders the
    # header's children in insertion order, and map scripts go to the html/script parts.


def render_offline_html(
    m: folium.Map, *, mode: AssetMode = "inline", static_url: str = "/static"
) -> str:
    """Return the HTML of map ``m`` with no CDN link (see :func:`make_offline`)."""
    make_offline(m, mode=mode, static_url=static_url)
    html: str = m.get_root().render()
    return html


def main(argv: list[str] | None = None) -> int:
    """Install the offline assets (``python -m maps.assets [--force]``)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        path = ensure_assets(force="--force" in args)
    except MissingAssetError as exc:
        print(f"maps.assets: error: {exc}", file=sys.stderr)
        return 1
    print(f"Leaflet {LEAFLET_VERSION} installed in {path}")
    try:  # build the PDF font subset now rather than at the first PDF (~2 s)
        from maps.pdf_font import pdf_subset_path

        print(f"PDF font subset in {pdf_subset_path()}")
    except MissingAssetError as exc:
        print(f"maps.assets: note: {exc}", file=sys.stderr)
    from maps.maplibre import MAPLIBRE  # the editor's and the viewer's MapLibre GL JS
    from maps.swagger import SWAGGER_UI  # the service's /docs page

    force = [a for a in args if a == "--force"]
    return MAPLIBRE.main(force) or SWAGGER_UI.main(force)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
