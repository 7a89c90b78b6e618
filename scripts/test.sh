#!/usr/bin/env bash
# Run the whole test suite: ruff, mypy, pytest (PostGIS on loopback, headless Chromium).
# Installs what it needs: Debian's PostgreSQL + PostGIS, CJK font, Leaflet, Chromium, poppler,
# and a virtual environment with gridgen and its dev and bench extras.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
ensure_apt "${RUNTIME_DEBS[@]}" postgresql postgresql-15-postgis-3 chromium poppler-utils \
  gdal-bin python3-qgis qgis-providers
ensure_venv "dev,bench"
cd "$ROOT"
export PYTHONUNBUFFERED=1
export GRIDGEN_TEST_DATABASE_URL="${GRIDGEN_TEST_DATABASE_URL:-$(bash "$ROOT/scripts/start_postgis.sh")}"
echo "==> PostGIS at $GRIDGEN_TEST_DATABASE_URL"
echo "==> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "==> mypy"
"$VENV/bin/mypy"
echo "==> pytest"
set +e
"$VENV/bin/pytest" -q "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$status"
