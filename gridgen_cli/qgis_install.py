"""Install the QGIS plugin shipped with gridgen into a QGIS profile, and remove it.

A QGIS profile is a folder (``~/.local/share/QGIS/QGIS3/profiles/default`` on Linux) with
``python/plugins/`` (one folder per plugin), ``processing/models/`` (the graphical
modeller's ``.model3`` files) and ``QGIS/QGIS3.ini``, whose ``[PythonPlugins]`` section
lists the enabled plugins (``NAME=true``). QGIS and ``qgis_process`` load an enabled plugin
at start; ``qgis_process`` starts the Processing provider of those with
``hasProcessingProvider=yes`` in their ``metadata.txt``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gridgen import __version__
from gridgen.errors import ParameterError
from gridgen_cli.qgis_plugin import MODELS_SOURCE, PLUGIN_NAME, PLUGIN_SOURCE

PLUGINS_SECTION = "PythonPlugins"


def profiles_root(env: dict[str, str] | None = None) -> Path:
    """Return the folder holding QGIS' ``profiles/`` for this user.

    ``QGIS_CUSTOM_CONFIG_PATH`` when set (as QGIS reads it), else the platform's
    application data folder followed by ``QGIS/QGIS3``.
    """
    env = dict(os.environ) if env is None else env
    custom = env.get("QGIS_CUSTOM_CONFIG_PATH", "").strip()
    if custom:
        return Path(custom)
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "QGIS" / "QGIS3"


def default_profile(env: dict[str, str] | None = None) -> Path:
    """Return the profile QGIS opens by default (``profiles.ini``, else ``default``)."""
    profiles = profiles_root(env) / "profiles"
    name = "default"
    ini = profiles / "profiles.ini"
    if ini.is_file():
        for line in ini.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "defaultProfile" and value.strip():
                name = value.strip()
    return profiles / name


def ini_with(text: str, section: str, key: str, value: str | None) -> str:
    """Return the QSettings ini ``text`` with ``key`` of ``section`` set (None: removed).

    Every other line is kept as it is (QSettings' own encoding of values included).
    """
    lines = text.splitlines()
    header = f"[{section}]"
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        if value is None:
            return text
        tail = ["", header, f"{key}={value}"] if lines else [header, f"{key}={value}"]
        return "\n".join([*lines, *tail]) + "\n"
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    body = [ln for ln in lines[start + 1 : end] if ln.partition("=")[0].strip() != key]
    if value is not None:
        last = max((i for i, ln in enumerate(body) if ln.strip()), default=-1)
        body.insert(last + 1, f"{key}={value}")
    return "\n".join([*lines[: start + 1], *body, *lines[end:]]) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def set_plugin_enabled(profile: Path, enabled: bool) -> Path:
    """Enable (``NAME=true``) or forget the plugin in the profile's ``QGIS3.ini``."""
    ini = profile / "QGIS" / "QGIS3.ini"
    text = ini.read_text(encoding="utf-8", errors="surrogateescape") if ini.is_file() else ""
    new = ini_with(text, PLUGINS_SECTION, PLUGIN_NAME, "true" if enabled else None)
    if new != text:
        _write_atomic(ini, new)
    return ini


def gridgen_command() -> list[str]:
    """Return the command that runs this gridgen (its console script, else ``python -m``)."""
    name = "gridgen.exe" if sys.platform == "win32" else "gridgen"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return [str(beside.absolute())]
    found = shutil.which("gridgen")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "gridgen_cli.main"]


@dataclass
class Installed:
    """What an install or uninstall did."""

    profile: Path
    plugin: Path
    ini: Path
    command: list[str] = field(default_factory=list)
    models: list[Path] = field(default_factory=list)
    removed: bool = False


def _check_profile(profile: Path) -> None:
    if profile.exists() and not profile.is_dir():
        msg = f"--profile-dir {profile} is a file: give a QGIS profile folder"
        raise ParameterError(msg)


def install(profile: Path, *, command: list[str] | None = None) -> Installed:
    """Copy the plugin into ``profile``, record the gridgen command, enable it, add the models.

    An earlier copy is replaced (a new copy is made beside it, then swapped in).
    """
    _check_profile(profile)
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    target = plugins / PLUGIN_NAME
    run = command or gridgen_command()
    staging = Path(tempfile.mkdtemp(dir=plugins, prefix=f".{PLUGIN_NAME}."))
    try:
        copy = staging / PLUGIN_NAME
        shutil.copytree(PLUGIN_SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        record = {
            "command": run,
            "version": __version__,
            "source": str(PLUGIN_SOURCE),
        }
        (copy / "install.json").write_text(
            json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if target.exists():
            shutil.rmtree(target)
        copy.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    models = profile / "processing" / "models"
    models.mkdir(parents=True, exist_ok=True)
    copied = []
    for model in sorted(MODELS_SOURCE.glob("*.model3")):
        shutil.copyfile(model, models / model.name)
        copied.append(models / model.name)
    ini = set_plugin_enabled(profile, True)
    return Installed(profile, target, ini, run, copied)


def uninstall(profile: Path) -> Installed:
    """Remove the plugin, its models and its ``QGIS3.ini`` entry from ``profile``."""
    _check_profile(profile)
    target = profile / "python" / "plugins" / PLUGIN_NAME
    removed = target.exists()
    if removed:
        shutil.rmtree(target)
    gone = []
    for model in sorted(MODELS_SOURCE.glob("*.model3")):
        installed = profile / "processing" / "models" / model.name
        if installed.exists():
            installed.unlink()
            gone.append(installed)
    ini = profile / "QGIS" / "QGIS3.ini"
    if ini.is_file():
        set_plugin_enabled(profile, False)
    return Installed(profile, target, ini, models=gone, removed=removed)
