#!/usr/bin/env bash
# Run the demo on the sample district: validate, partition, coverage, siting, maps -> out/
# Installs what it needs (Debian fonts and Leaflet, a virtual environment with gridgen).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
ensure_apt "${RUNTIME_DEBS[@]}"
ensure_venv dev
cd "$ROOT"
exec "$VENV/bin/gridgen" demo --out "${1:-out}"
