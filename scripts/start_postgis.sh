#!/usr/bin/env bash
# Start (idempotently) a throwaway PostgreSQL + PostGIS server on loopback for tests and benchmarks.
#
# Environment:
#   GRIDGEN_PG_PORT  port on 127.0.0.1 (default 55432)
#   GRIDGEN_PG_DATA  data directory (default /tmp/gridgen-pg)
#   GRIDGEN_PG_DB    database to create with the postgis extension (default gridgen_test)
#
# Prints the database URL on stdout, for example:
#   export GRIDGEN_TEST_DATABASE_URL=$(scripts/start_postgis.sh)
set -euo pipefail

PORT="${GRIDGEN_PG_PORT:-55432}"
DATA="${GRIDGEN_PG_DATA:-/tmp/gridgen-pg}"
DB="${GRIDGEN_PG_DB:-gridgen_test}"
if ! [[ "$DB" =~ ^[A-Za-z_][A-Za-z0-9_-]{0,62}$ ]]; then
    echo "start_postgis.sh: GRIDGEN_PG_DB must be letters, digits, _ or - (at most 63, not starting with a digit or -), got '$DB'" >&2
    exit 2
fi

BIN=""
for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/pg_ctl" ]; then BIN="$d"; fi
done
if [ -z "$BIN" ]; then
    echo "start_postgis.sh: no PostgreSQL found under /usr/lib/postgresql/*/bin; install postgresql and postgis" >&2
    exit 1
fi

as_pg() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if ! as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    if [ ! -f "$DATA/PG_VERSION" ]; then
        mkdir -p "$DATA"
        if [ "$(id -u)" = "0" ]; then chown postgres: "$DATA"; fi
        chmod 700 "$DATA"
        as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
    fi
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2
fi

PSQL=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
if [ "$(as_pg "${PSQL[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE \"$DB\"" >&2
fi
as_pg "${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS postgis" >&2

echo "postgresql://postgres@127.0.0.1:$PORT/$DB"
