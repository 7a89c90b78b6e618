"""Vendoring browser libraries from the npm registry: ``npm pack`` and unpack ``dist/``.

Used at set-up time for Leaflet (:mod:`maps.assets`), MapLibre GL JS (:mod:`maps.maplibre`)
and Swagger UI (:mod:`maps.swagger`); the pages then load them from this service, never
from a CDN.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from gridgen.errors import MissingAssetError

DIST = "package/dist/"


def stage_npm_dist(
    spec: str,
    staged: Path,
    *,
    npm: str = "npm",
    keep: Callable[[str], bool] | None = None,
    root: str = DIST,
) -> Path:
    """Unpack ``dist/`` of ``npm pack spec`` (e.g. ``leaflet@1.9.4``) into ``staged``.

    ``npm pack`` runs in ``staged.parent`` (a temporary folder of the caller); ``keep``
    selects files by their path below ``root`` (default ``package/dist/``; a package that
    ships its files at the top, such as swagger-ui-dist, passes ``package/``).

    Raises
    ------
    MissingAssetError
        When npm is missing, times out or fails (the message says how to fix it).
    """
    if shutil.which(npm) is None:
        msg = f"cannot install {spec}: `{npm}` is not on PATH; `apt-get install npm` and retry"
        raise MissingAssetError(msg)
    work = staged.parent
    try:
        proc = subprocess.run(
            [npm, "pack", spec, "--silent"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MissingAssetError(f"`npm pack {spec}` timed out; check the npm registry") from exc
    name = spec.rsplit("@", 1)[0].lstrip("@").replace("/", "-")
    tarballs = list(work.glob(f"{name}-*.tgz"))
    if proc.returncode != 0 or not tarballs:
        msg = (
            f"`npm pack {spec}` failed (exit {proc.returncode}): "
            f"{proc.stderr.strip()[:300]}; check that the npm registry is reachable"
        )
        raise MissingAssetError(msg)
    with tarfile.open(tarballs[0]) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith(root) and (keep is None or keep(m.name.removeprefix(root)))
        ]
        for m in members:
            m.name = m.name.removeprefix(root)
        tar.extractall(staged, members=members, filter="data")
    return staged
