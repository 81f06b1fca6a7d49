#!/usr/bin/env bash
# Private, loopback-only MariaDB for cx tests.
#
#   test/peers/mariadb.sh [start]   install if absent, start if not running,
#                                   print mysql://cx:cx@127.0.0.1:PORT/cx
#   test/peers/mariadb.sh stop      shut our instance down
#
# Env: CX_PEERS_DIR (default $HOME/.cache/cx-peers), CX_MARIADB_PORT (default 33306).
# Only the URL goes to stdout; everything else goes to stderr.
set -euo pipefail

PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
STATE="$PEERS_DIR/mariadb"
DATADIR="$STATE/data"
SOCKET="$STATE/mysqld.sock"
PIDFILE="$STATE/mysqld.pid"
LOG="$STATE/mysqld.log"
PORTFILE="$STATE/port"
PORT="${CX_MARIADB_PORT:-33306}"
START_TIMEOUT=60
STOP_TIMEOUT=60


PEER=mariadb.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


find_server() { command -v mariadbd || command -v mysqld || true; }

ensure_installed() {
  if [[ -n "$(find_server)" ]]; then return 0; fi
  log "mariadb-server is not installed"
  apt_install mariadb-server mariadb-server
  [[ -n "$(find_server)" ]] || die "mariadb-server installed but neither mariadbd nor mysqld found on PATH"
}

# Client tools (MariaDB renamed them; fall back to the old mysql* names).
pick() { local c; for c in "$@"; do if command -v "$c" >/dev/null 2>&1; then echo "$c"; return 0; fi; done; return 1; }


# Our pid if our server is alive, else nothing.
running_pid() { pid_from_file "$PIDFILE" 'mariadbd|mysqld'; }

ping_ok() { "$ADMIN" --no-defaults --socket="$SOCKET" -uroot --connect-timeout=2 ping >/dev/null 2>&1; }

# Serialise concurrent invocations on the same state dir. fd 9 must not leak
# into the server (or apt's maintainer scripts), or it would hold the lock.
take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 180 9 || die "timed out waiting for lock $STATE/.lock (another $0 running?)"
}

url() { printf 'mysql://cx:cx@127.0.0.1:%s/cx\n' "$1"; }

cx_ok() {
  "$CLIENT" --no-defaults -h127.0.0.1 -P"$1" -ucx -pcx --connect-timeout=5 -e 'SELECT 1' cx >/dev/null 2>&1
}

setup_users() {
  "$CLIENT" --no-defaults --socket="$SOCKET" -uroot >&2 <<'SQL' || die "creating user/database cx failed"
CREATE USER IF NOT EXISTS 'cx'@'127.0.0.1' IDENTIFIED BY 'cx';
CREATE USER IF NOT EXISTS 'cx'@'localhost' IDENTIFIED BY 'cx';
ALTER USER 'cx'@'127.0.0.1' IDENTIFIED BY 'cx';
ALTER USER 'cx'@'localhost' IDENTIFIED BY 'cx';
GRANT ALL PRIVILEGES ON *.* TO 'cx'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'cx'@'localhost';
CREATE DATABASE IF NOT EXISTS cx;
FLUSH PRIVILEGES;
SQL
}

do_start() {
  take_lock
  ensure_installed
  SERVER="$(find_server)"
  CLIENT="$(pick mariadb mysql)" || die "mariadb client not found (package mariadb-client)"
  ADMIN="$(pick mariadb-admin mysqladmin)" || die "mariadb-admin not found (package mariadb-client)"
  INSTALL_DB="$(pick mariadb-install-db mysql_install_db)" || die "mariadb-install-db not found (package mariadb-server)"

  # Unix socket paths are limited to 107 bytes.
  (( ${#SOCKET} < 100 )) || die "socket path too long (${#SOCKET} bytes): $SOCKET; set CX_PEERS_DIR to a shorter path"

  local pid deadline
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    local rport
    rport="$(cat "$PORTFILE" 2>/dev/null || echo "$PORT")"
    # It may be starting up or shutting down: give it a bounded moment.
    deadline=$((SECONDS + START_TIMEOUT))
    until ping_ok || ! alive "$pid"; do
      (( SECONDS < deadline )) || die "mariadbd (pid $pid) from $STATE is running but not answering ping on $SOCKET; run '$0 stop' and retry"
      sleep 0.2
    done
    if alive "$pid"; then
      if [[ "$rport" != "$PORT" ]]; then
        log "WARNING: already running on port $rport (requested $PORT); run '$0 stop' first to change the port"
      fi
      cx_ok "$rport" || { log "user cx not usable; (re)creating it"; setup_users; }
      log "already running (pid $pid, port $rport)"
      url "$rport"
      return 0
    fi
    log "previous mariadbd (pid $pid) went away; starting a new one"
  fi
  rm -f "$PIDFILE" "$SOCKET"

  if port_in_use "$PORT"; then
    die "port 127.0.0.1:$PORT is already in use by another process; set CX_MARIADB_PORT to a free port"
  fi

  local user
  user="$(id -un)"

  if [[ ! -d "$DATADIR/mysql" ]]; then
    log "initialising datadir $DATADIR"
    rm -rf "$DATADIR"
    mkdir -p "$DATADIR"
    "$INSTALL_DB" --no-defaults --user="$user" --datadir="$DATADIR" \
      --auth-root-authentication-method=normal --skip-test-db >>"$LOG" 2>&1 9>&- \
      || { rm -rf "$DATADIR"; die "mariadb-install-db failed"; }
  fi

  log "starting $SERVER on 127.0.0.1:$PORT (log: $LOG)"
  echo "$PORT" >"$PORTFILE"
  setsid nohup "$SERVER" --no-defaults --user="$user" --datadir="$DATADIR" \
    --socket="$SOCKET" --port="$PORT" --bind-address=127.0.0.1 \
    --pid-file="$PIDFILE" --log-error="$LOG" --skip-name-resolve \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local spid=$!

  deadline=$((SECONDS + START_TIMEOUT))
  until ping_ok; do
    alive "$spid" || die "mariadbd exited during startup"
    (( SECONDS < deadline )) || die "mariadbd did not answer ping within ${START_TIMEOUT}s (pid $spid)"
    sleep 0.2
  done

  setup_users
  cx_ok "$PORT" || die "server is up but user cx cannot connect via 127.0.0.1:$PORT"
  log "ready (pid $(running_pid), port $PORT)"
  url "$PORT"
}

do_stop() {
  take_lock
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    log "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  ADMIN="$(pick mariadb-admin mysqladmin || true)"
  log "stopping mariadbd (pid $pid)"
  if [[ -n "$ADMIN" ]]; then
    "$ADMIN" --no-defaults --socket="$SOCKET" -uroot --connect-timeout=5 shutdown >/dev/null 2>&1 \
      || kill -TERM "$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  wait_gone "$pid" mariadbd
  rm -f "$PIDFILE" "$SOCKET"
  log "stopped"
}

case "${1:-start}" in
  start) do_start ;;
  stop) do_stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
