"""``gridgen qgis-plugin install|uninstall [--profile-dir DIR]``: gridgen inside QGIS."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``qgis-plugin`` subcommand."""
    p = sub.add_parser(
        "qgis-plugin",
        help="install (or remove) gridgen's Processing provider in a QGIS profile",
        description=(
            "install: copy the gridgen plugin into the QGIS profile, record this gridgen "
            "executable for its algorithms, enable it and add its models; uninstall: remove "
            "them. Then `qgis_process run gridgen:partition -- DATA=... OUTPUT=...` works."
        ),
    )
    p.add_argument("action", choices=("install", "uninstall"), help="install or uninstall")
    p.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the QGIS profile folder (default: the current user's default profile, e.g. "
        "~/.local/share/QGIS/QGIS3/profiles/default, or under $QGIS_CUSTOM_CONFIG_PATH)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Install or uninstall the plugin; print what was done."""
    from gridgen_cli.qgis_install import default_profile, install, uninstall

    profile = args.profile_dir if args.profile_dir is not None else default_profile()
    if args.action == "install":
        done = install(profile)
        print(f"gridgen plugin installed in {done.plugin}")
        print(f"  runs: {shlex.join(done.command)}")
        print(f"  enabled in {done.ini}")
        for model in done.models:
            print(f"  model: {model}")
        print(
            "restart QGIS to load it; headless: QT_QPA_PLATFORM=offscreen qgis_process run "
            "gridgen:partition -- DATA=city.gpkg TARGET=300 OUTPUT=plan.gpkg"
        )
        return 0
    done = uninstall(profile)
    if done.removed:
        print(f"gridgen plugin removed from {done.plugin}")
    else:
        print(f"gridgen plugin was not installed in {profile}")
    for model in done.models:
        print(f"  model removed: {model}")
    return 0
