#!/usr/bin/env bash
# Private, loopback-only vCenter simulator (vcsim from govmomi) for the vSphere provider's tests.
#
#   test/peers/vcsim.sh [start]   build vcsim if absent, start it if not running,
#                                 print one line of JSON (url, login, CA file, inventory paths)
#   test/peers/vcsim.sh stop      shut our instance down
#
# Env: CX_PEERS_DIR (default $HOME/.cache/cx-peers), CX_VCSIM_PORT (default 38989, https).
# vcsim keeps its inventory in memory: a restart gives a fresh default VPX inventory
# (DC0, cluster DC0_C0 with 3 hosts, LocalDS_0, "VM Network", DC0_C0_RP0_VM0…).
# Only the JSON line goes to stdout; everything else goes to stderr.
set -euo pipefail

GOVMOMI_VERSION=v0.46.3
PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
STATE="$PEERS_DIR/vcsim"
PORT="${CX_VCSIM_PORT:-38989}"
START_TIMEOUT=30
STOP_TIMEOUT=15
# vcsim re-parses its listen URL with the login in it: a user name with "@" never matches.
USERNAME="cxadmin"
PASSWORD="vcsim-secret"

set_paths() {
  BIN="$STATE/bin/vcsim"
  PIDFILE="$STATE/vcsim.pid"
  PORTFILE="$STATE/port"
  LOG="$STATE/vcsim.log"
  CA_PEM="$STATE/ca.pem"
  CA_KEY="$STATE/ca.key"
  SERVER_PEM="$STATE/server.pem"
  SERVER_KEY="$STATE/server.key"
  DIE_LOG="$LOG"
}
set_paths

PEER=vcsim.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

take_lock() {
  mkdir -p "$STATE"
  STATE="$(cd "$STATE" && pwd)"
  set_paths
  exec 9>"$STATE/.lock"
  flock -w 600 9 || die "timed out waiting for lock $STATE/.lock (another $0 running?)"
}

# vcsim, and govc (the vSphere CLI tests use to check the simulator without cx), from the Go
# module proxy at a pinned version; GOPATH and the build cache stay in $STATE.
ensure_built() {
  local stamp="$STATE/bin/version"
  if [[ -x "$BIN" && -x "$STATE/bin/govc" && "$(cat "$stamp" 2>/dev/null || true)" == "$GOVMOMI_VERSION" ]]; then return 0; fi
  command -v go >/dev/null 2>&1 || die "go not found in PATH; install Go (1.22 or later) to build vcsim"
  command -v openssl >/dev/null 2>&1 || apt_install vcsim openssl
  local buildlog="$STATE/build.log" t0=$SECONDS
  DIE_LOG="$buildlog"
  log "building vcsim $GOVMOMI_VERSION with go install (output: $buildlog)"
  GOPATH="$STATE/gopath" GOBIN="$STATE/bin" GOCACHE="$STATE/gocache" GOFLAGS=-modcacherw \
    timeout 900 go install "github.com/vmware/govmomi/vcsim@$GOVMOMI_VERSION" "github.com/vmware/govmomi/govc@$GOVMOMI_VERSION" >"$buildlog" 2>&1 9>&- \
    || die "go install github.com/vmware/govmomi/{vcsim,govc}@$GOVMOMI_VERSION failed"
  echo "$GOVMOMI_VERSION" >"$stamp"
  log "built vcsim and govc in $((SECONDS - t0))s"
  DIE_LOG="$LOG"
}


running_pid() { pid_from_file "$PIDFILE" vcsim; }

# vcsim answers its service-version document over TLS verified by our CA.
ready() { curl -fsS --max-time 2 --cacert "$CA_PEM" "https://127.0.0.1:$1/sdk/vimServiceVersions.xml" >/dev/null 2>&1; }

json_str() { local s="${1//\\/\\\\}"; printf '"%s"' "${s//\"/\\\"}"; }

print_result() { # port
  printf '{"url":%s,"username":%s,"password":%s,"caFile":%s,"datacenter":"DC0","computeCluster":"DC0/host/DC0_C0","resourcePool":"DC0/host/DC0_C0/Resources","datastore":"DC0/datastore/LocalDS_0","network":"DC0/network/VM Network","folder":"DC0/vm","template":"DC0/vm/DC0_C0_RP0_VM0","hosts":3,"govc":%s}\n' \
    "$(json_str "https://127.0.0.1:$1/sdk")" "$(json_str "$USERNAME")" "$(json_str "$PASSWORD")" "$(json_str "$CA_PEM")" "$(json_str "$STATE/bin/govc")"
}

stop_pid() {
  log "stopping vcsim (pid $1)"
  kill -TERM "$1" 2>/dev/null || true
  wait_gone "$1" vcsim
  rm -f "$PIDFILE"
}

do_start() {
  take_lock
  command -v curl >/dev/null 2>&1 || apt_install vcsim curl
  ensure_built
  local pid deadline
  pid="$(running_pid)"
  if [[ -n "$pid" ]] && reuse_running "$pid" vcsim; then return 0; fi
  rm -f "$PIDFILE"
  port_in_use "$PORT" && die "port 127.0.0.1:$PORT is already in use by another process; set CX_VCSIM_PORT to a free port"
  ensure_tls 'cx test vCenter CA'
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  log "starting vcsim on https://127.0.0.1:$PORT/sdk (log: $LOG)"
  echo "$PORT" >"$PORTFILE"
  # Default VPX model: 1 datacenter, 1 cluster of 3 hosts, 1 standalone host, 1 datastore,
  # 2 VMs per resource pool. -E /dev/null: the variables it would print are in our JSON line.
  setsid nohup "$BIN" -l "127.0.0.1:$PORT" -tlscert "$SERVER_PEM" -tlskey "$SERVER_KEY" \
    -username "$USERNAME" -password "$PASSWORD" -cluster 1 -host 3 -E /dev/null \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local vpid=$!
  echo "$vpid" >"$PIDFILE"
  deadline=$((SECONDS + START_TIMEOUT))
  until ready "$PORT"; do
    alive "$vpid" || die "vcsim exited during startup"
    (( SECONDS < deadline )) || die "vcsim did not answer within ${START_TIMEOUT}s (pid $vpid)"
    sleep 0.2
  done
  log "ready (pid $vpid, port $PORT)"
  print_result "$PORT"
}

case "${1:-start}" in
  start) do_start ;;
  stop) stop_running ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
