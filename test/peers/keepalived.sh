#!/usr/bin/env bash
# keepalived from Debian, for checking the configuration cx generates (`keepalived -t`) and, in
# network namespaces a test creates, for moving VIPs for real. Nothing is started here.
#
#   test/peers/keepalived.sh [start]   install if absent; print one line of JSON with the binary
set -euo pipefail
PEER=keepalived
PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-start}" in
  start)
    command -v keepalived >/dev/null 2>&1 || apt_install keepalived keepalived
    binary="$(command -v keepalived)" || die "keepalived is not on PATH after installing it"
    # No pipe into head: with pipefail, keepalived's SIGPIPE would fail the script.
    version="$("$binary" --version 2>&1 || true)"
    version="${version%%$'\n'*}"
    log "using $version"
    printf '{"binary":"%s","version":"%s"}\n' "$binary" "${version//\"/}"
    ;;
  stop) ;;
  *) die "usage: $0 [start|stop]" ;;
esac
