#!/usr/bin/env bash
# Run a command with a private PostgreSQL cluster for the registry tests:
#   scripts/with-postgres.sh CMD [ARG...]
# Installs Debian's postgresql where the machine allows it (root or passwordless
# sudo, apt-get present), creates a throw-away cluster in a temporary folder
# (initdb), starts it on a free local port (never the system's cluster), exports
# ATLAS_TEST_POSTGRES_URL for CMD, and stops and removes the cluster when CMD
# ends, however it ends. PostgreSQL refuses to run as root: as root the cluster
# runs as the `postgres` user (created by the Debian package).
# Without PostgreSQL, CMD runs alone and the PostgreSQL variants of the registry
# tests are skipped with their reason. An ATLAS_TEST_POSTGRES_URL already set is
# used as it is. The exit code is CMD's.
set -u
if [ "$#" -eq 0 ]; then
  echo "usage: scripts/with-postgres.sh CMD [ARG...]" >&2
  exit 64
fi
if [ -n "${ATLAS_TEST_POSTGRES_URL:-}" ]; then
  exec "$@"
fi

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
BIN="$(pg_bindir)"
if { [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; } && [ "$SUDO" != "none" ] && command -v apt-get >/dev/null 2>&1; then
  echo "with-postgres: installing Debian's postgresql for the registry tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  LOG=/tmp/atlas-postgresql-install.log
  $SUDO apt-get install -y -q --no-install-recommends postgresql >"$LOG" 2>&1 \
    || { $SUDO apt-get update -q >>"$LOG" 2>&1 \
         && $SUDO apt-get install -y -q --no-install-recommends postgresql >>"$LOG" 2>&1; } \
    || { echo "with-postgres: postgresql could not be installed (see $LOG)" >&2; tail -3 "$LOG" >&2; }
  BIN="$(pg_bindir)"
fi
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  echo "with-postgres: PostgreSQL unavailable; the registry tests on PostgreSQL will be skipped" >&2
  exec "$@"
fi

RUN=()
OWNER="$(id -un)"
if [ "$(id -u)" -eq 0 ]; then
  OWNER=postgres
  id -u "$OWNER" >/dev/null 2>&1 || OWNER=nobody
  RUN=(runuser -u "$OWNER" --)
fi
TMP="$(mktemp -d /tmp/atlas-pg.XXXXXX)"
chmod 755 "$TMP"
[ "$(id -u)" -eq 0 ] && chown "$OWNER" "$TMP"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOGFILE="$TMP/postgresql.log"

stop_cluster() {
  "${RUN[@]}" "$BIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
  echo "with-postgres: cluster on port $PORT stopped and removed" >&2
}

if ! "${RUN[@]}" "$BIN/initdb" -D "$TMP/data" -U atlas --auth=trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1; then
  echo "with-postgres: initdb failed; the registry tests on PostgreSQL will be skipped" >&2
  tail -5 "$TMP/initdb.log" >&2
  rm -rf "$TMP"
  exec "$@"
fi
if ! "${RUN[@]}" "$BIN/pg_ctl" -D "$TMP/data" -l "$LOGFILE" -w -t 60 \
    -o "-p $PORT -k $TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null; then
  echo "with-postgres: the cluster did not start; the registry tests on PostgreSQL will be skipped" >&2
  tail -5 "$LOGFILE" >&2
  rm -rf "$TMP"
  exec "$@"
fi
trap stop_cluster EXIT
trap 'exit 130' INT TERM
"${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U atlas atlas_test
export ATLAS_TEST_POSTGRES_URL="postgresql+psycopg://atlas@127.0.0.1:$PORT/atlas_test"
echo "with-postgres: private cluster started on port $PORT (PostgreSQL $("$BIN/postgres" --version | awk '{print $3}'))" >&2
"$@"
