#!/usr/bin/env bash
# schemathesis (PyPI, pinned) in a private venv: the property-based API tester the hardening tests
# run against cx's served OpenAPI document.
#
#   test/peers/schemathesis.sh [start]   install if absent, print one JSON line {"bin": PATH, "version": V}
#
# Env: CX_PEERS_DIR (default $HOME/.cache/cx-peers). Only the JSON line goes to stdout.
set -euo pipefail

PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
STATE="$PEERS_DIR/schemathesis"
VERSION="4.32.5"
PEER=schemathesis.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$STATE/venv"
LOG="$STATE/pip.log"
DIE_LOG="$LOG"

ensure_installed() {
  if [[ -x "$VENV/bin/schemathesis" && "$(cat "$STATE/installed" 2>/dev/null || true)" == "$VERSION" ]]; then return 0; fi
  log "installing schemathesis==$VERSION into $VENV (output: $LOG)"
  command -v python3 >/dev/null 2>&1 || apt_install schemathesis python3 python3-venv
  rm -rf "$VENV"
  python3 -m venv "$VENV" >>"$LOG" 2>&1 9>&- || die "python3 -m venv failed (install python3-venv)"
  "$VENV/bin/pip" install -q "schemathesis==$VERSION" >>"$LOG" 2>&1 9>&- || die "pip install schemathesis==$VERSION failed"
  echo "$VERSION" >"$STATE/installed"
}

case "${1:-start}" in
  start)
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 600 9 || die "timed out waiting for lock $STATE/.lock (another $0 running?)"
    ensure_installed
    printf '{"bin":"%s","version":"%s"}\n' "$VENV/bin/schemathesis" "$VERSION"
    ;;
  stop) ;;
  *) die "usage: $0 [start|stop]" ;;
esac
