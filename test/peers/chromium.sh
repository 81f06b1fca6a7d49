#!/usr/bin/env bash
# Chromium from Debian: the real browser the web console's tests drive (playwright-core from npm
# launches it; Playwright's own browser download is not used).
#
#   test/peers/chromium.sh [start]   install if absent, print one JSON line {"bin": PATH, "version": V}
#
# Env: CX_PEERS_DIR (default $HOME/.cache/cx-peers). Only the JSON line goes to stdout.
set -euo pipefail

PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
STATE="$PEERS_DIR/chromium"
PEER=chromium.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=/usr/bin/chromium

case "${1:-start}" in
  start)
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 600 9 || die "timed out waiting for lock $STATE/.lock (another $0 running?)"
    [[ -x "$BIN" ]] || apt_install chromium chromium
    VERSION="$("$BIN" --version 2>/dev/null 9>&- | awk '{print $2}')" || die "$BIN --version failed"
    printf '{"bin":"%s","version":"%s"}\n' "$BIN" "$VERSION"
    ;;
  stop) ;;
  *) die "usage: $0 [start|stop]" ;;
esac
