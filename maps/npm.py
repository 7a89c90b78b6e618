"""Vendoring browser libraries from the npm registry: ``npm pack`` and unpack ``dist/``.

Used at set-up time for Leaflet (:mod:`maps.assets`), MapLibre GL JS (:mod:`maps.maplibre`)
and Swagger UI (:mod:`maps.swagger`); the pages then load them from this service, never
from a CDN.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maps import static_dir
from maps.errors import MissingAssetError

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


@dataclass(frozen=True)
class VendoredPackage:
    """A browser library installed once from npm into ``maps/static/vendor/<folder>``.

    Only ``files`` (paths below ``root`` in the npm tarball) are kept; the folder is
    git-ignored and served by the service under ``/static/vendor/<folder>``.
    """

    label: str
    """Name in messages, e.g. ``MapLibre GL JS 5.24.1``."""
    spec: str
    """What ``npm pack`` fetches, e.g. ``maplibre-gl@5.24.1``."""
    folder: str
    files: tuple[str, ...]
    root: str = DIST

    def path(self) -> Path:
        """Return the folder holding the vendored files."""
        return static_dir() / "vendor" / self.folder

    def present(self) -> bool:
        """Return whether every vendored file is installed."""
        return all((self.path() / f).is_file() for f in self.files)

    def ensure(self, *, force: bool = False, npm: str = "npm") -> Path:
        """Install the files with ``npm pack`` when missing; return the folder.

        The folder is replaced atomically. Raises :class:`MissingAssetError` (saying how to
        fix it) when npm or the registry is unavailable.
        """
        target = self.path()
        if self.present() and not force:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            staged = stage_npm_dist(
                self.spec,
                Path(tmp) / self.folder,
                npm=npm,
                keep=lambda name: name in self.files,
                root=self.root,
            )
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
        return target

    def main(self, argv: list[str] | None = None) -> int:
        """Install from the command line (``--force`` reinstalls); return the exit code."""
        args = sys.argv[1:] if argv is None else argv
        try:
            path = self.ensure(force="--force" in args)
        except MissingAssetError as exc:
            print(f"{self.folder}: error: {exc}", file=sys.stderr)
            return 1
        print(f"{self.label} installed in {path}")
        return 0
