# Shared set-up steps for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Idempotent: each step checks before it installs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GRIDGEN_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ensure_apt PKG...: install the Debian packages that are missing.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ensure_venv EXTRAS: create the virtual environment and install the project (editable).
ensure_venv() {
  local extras="$1"
  if ! "$PY" -c "import venv, ensurepip" >/dev/null 2>&1; then
    ensure_apt python3-venv
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.gridgen-installed-$extras"
  local want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing gridgen[$extras] into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
    echo "$want" > "$stamp"
  fi
  # Leaflet for offline pages (npm when present, else Debian's libjs-leaflet); git-ignored.
  # MapLibre GL JS for the grid editor needs npm (Debian 12 has no libjs-maplibre-gl).
  command -v npm >/dev/null 2>&1 || ensure_apt npm
  "$VENV/bin/python" -m maps.assets >/dev/null
}

# The CJK font for sheets and Leaflet for offline web maps; both from Debian.
RUNTIME_DEBS=(fonts-noto-cjk fonts-wqy-zenhei libjs-leaflet fontconfig)
