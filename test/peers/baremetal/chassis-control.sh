#!/usr/bin/env bash
# Chassis control program of one simulated BMC (ipmi_sim's `chassis_control` directive,
# see ipmi_lan(5)): `chassis-control.sh <mc> get|set <parm> [<value>]`.
# "Powered on" means a bounded `sleep 3600` host process is alive (its pid in $CX_BMC_STATE/host.pid),
# so the power state a test reads is real. The boot device is not supported: like the default
# simulator, ipmi_sim then refuses `chassis bootdev`.
set -euo pipefail
STATE_DIR="${CX_BMC_STATE:?CX_BMC_STATE is not set}"
PIDFILE="$STATE_DIR/host.pid"
shift  # the MC address

host_pid() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == sleep ]]; then echo "$pid"; fi
}
power_on() {
  [[ -n "$(host_pid)" ]] && return 0
  setsid nohup sleep 3600 </dev/null >/dev/null 2>&1 &
  echo $! >"$PIDFILE"
}
power_off() {
  local pid
  pid="$(host_pid)"
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  rm -f "$PIDFILE"
}

op="${1:-}"; shift || true
case "$op" in
  get)
    for parm in "$@"; do
      case "$parm" in
        power) if [[ -n "$(host_pid)" ]]; then echo "power:1"; else echo "power:0"; fi ;;
        *) echo "unsupported parameter $parm" >&2; exit 1 ;;
      esac
    done ;;
  set)
    while (( $# >= 2 )); do
      case "$1" in
        power) if [[ "$2" == 1 ]]; then power_on; else power_off; fi ;;
        reset) if [[ "$2" == 1 ]]; then power_off; power_on; fi ;;
        *) echo "unsupported parameter $1" >&2; exit 1 ;;
      esac
      shift 2
    done ;;
  check) exit 0 ;;
  *) echo "usage: $0 <mc> get|set <parm> [<value>]" >&2; exit 1 ;;
esac
