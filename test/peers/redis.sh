#!/usr/bin/env bash
# Private, loopback-only Redis for cx tests (configured for BullMQ).
#
#   test/peers/redis.sh [start]   install if absent, start if not running,
#                                 print redis://127.0.0.1:PORT
#   test/peers/redis.sh stop      shut our instance down
#
# Env: CX_PEERS_DIR (default $HOME/.cache/cx-peers), CX_REDIS_PORT (default 36379).
# Only the URL goes to stdout; everything else goes to stderr.
set -euo pipefail

PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
STATE="$PEERS_DIR/redis"
PIDFILE="$STATE/redis.pid"
LOG="$STATE/redis.log"
PORTFILE="$STATE/port"
PORT="${CX_REDIS_PORT:-36379}"
START_TIMEOUT=30
STOP_TIMEOUT=30


PEER=redis.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


ensure_installed() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then return 0; fi
  log "redis-server is not installed"
  apt_install redis-server redis-server
  command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not found on PATH"
  command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found on PATH (package redis-tools)"
}


# Our pid if our server is alive, else nothing.
running_pid() { pid_from_file "$PIDFILE" 'redis-server.*'; }

ping_ok() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null || true)" == "PONG" ]]; }

# Serialise concurrent invocations on the same state dir. fd 9 must not leak
# into the server (or apt's maintainer scripts), or it would hold the lock.
take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 180 9 || die "timed out waiting for lock $STATE/.lock (another $0 running?)"
}

url() { printf 'redis://127.0.0.1:%s\n' "$1"; }

do_start() {
  take_lock
  ensure_installed

  local pid deadline
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    local rport
    rport="$(cat "$PORTFILE" 2>/dev/null || echo "$PORT")"
    # It may be starting up or shutting down: give it a bounded moment.
    deadline=$((SECONDS + START_TIMEOUT))
    until ping_ok "$rport" || ! alive "$pid"; do
      (( SECONDS < deadline )) || die "redis-server (pid $pid) from $STATE is running but not answering PING on port $rport; run '$0 stop' and retry"
      sleep 0.1
    done
    if alive "$pid"; then
      if [[ "$rport" != "$PORT" ]]; then
        log "WARNING: already running on port $rport (requested $PORT); run '$0 stop' first to change the port"
      fi
      log "already running (pid $pid, port $rport)"
      url "$rport"
      return 0
    fi
    log "previous redis-server (pid $pid) went away; starting a new one"
  fi
  rm -f "$PIDFILE"

  if port_in_use "$PORT"; then
    die "port 127.0.0.1:$PORT is already in use by another process; set CX_REDIS_PORT to a free port"
  fi

  log "starting redis-server on 127.0.0.1:$PORT (log: $LOG)"
  echo "$PORT" >"$PORTFILE"
  # shellcheck disable=SC2094 # the log path is only passed as an argument
  redis-server --port "$PORT" --bind 127.0.0.1 --protected-mode yes \
    --dir "$STATE" --daemonize yes --pidfile "$PIDFILE" --logfile "$LOG" \
    --save "" --appendonly no --maxmemory-policy noeviction \
    </dev/null >>"$LOG" 2>&1 9>&- || die "redis-server failed to start"

  deadline=$((SECONDS + START_TIMEOUT))
  until ping_ok "$PORT"; do
    (( SECONDS < deadline )) || die "redis-server did not answer PING within ${START_TIMEOUT}s"
    sleep 0.1
  done
  local policy
  policy="$(redis-cli -h 127.0.0.1 -p "$PORT" config get maxmemory-policy 2>/dev/null | tail -n 1)"
  [[ "$policy" == "noeviction" ]] || die "maxmemory-policy is '$policy', expected noeviction"
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
  local rport
  rport="$(cat "$PORTFILE" 2>/dev/null || echo "$PORT")"
  log "stopping redis-server (pid $pid)"
  redis-cli -h 127.0.0.1 -p "$rport" shutdown nosave >/dev/null 2>&1 \
    || kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" redis-server
  rm -f "$PIDFILE"
  log "stopped"
}

case "${1:-start}" in
  start) do_start ;;
  stop) do_stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
