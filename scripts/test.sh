#!/usr/bin/env bash
# Run the whole test suite: ruff, mypy, pytest (PostGIS on loopback, headless Chromium).
# Installs what it needs: Debian's PostgreSQL + PostGIS, CJK font, Leaflet, Chromium, poppler,
# and a virtual environment with gridgen and its dev and bench extras.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
ensure_apt "${RUNTIME_DEBS[@]}" postgresql postgresql-15-postgis-3 chromium poppler-utils libreoffice-calc-nogui gdal-bin \
  python3-qgis qgis-providers qgis
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
# Two runs: everything not marked `serial` on every core (pytest-xdist, one test file per
# worker), then the `serial` tests alone (a Dask LocalCluster, live servers, timings).
# Exit status 5 (no tests collected) is fine for one run but fails when both collect none.
echo "==> pytest (parallel)"
set +e
"$VENV/bin/pytest" -q -n auto --dist loadfile -m "not serial" "$@"
parallel=$?
echo "==> pytest (serial)"
"$VENV/bin/pytest" -q -m serial "$@"
serial=$?
set -e
for status in "$parallel" "$serial"; do
  if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    exit "$status"
  fi
done
if [ "$parallel" -eq 5 ] && [ "$serial" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit 0
