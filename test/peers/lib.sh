# shellcheck shell=bash
# Shared by the peer scripts (sourced, not run): logging, root, apt, process and port checks.
# The sourcing script sets PEER (its name, for messages), and LOG (or DIE_LOG) before dying is useful.

export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '%s: %s\n' "$PEER" "$*" >&2; }
die() {
  log "ERROR: $*"
  local file="${DIE_LOG:-${LOG:-}}"
  if [[ -n "$file" && -f "$file" ]]; then
    log "log file: $file (last lines below)"
    tail -n 25 "$file" >&2 || true
  fi
  exit 1
}

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

# apt_install NAME PACKAGE...: installs from Debian, output in $PEERS_DIR/apt-NAME.log (appended).
apt_install() {
  local name="$1"; shift
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* manually"
  local t0=$SECONDS aptlog="$PEERS_DIR/apt-$name.log"
  mkdir -p "$PEERS_DIR"
  log "installing $* from Debian (apt output goes to $aptlog)"
  if ! as_root apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$aptlog" 2>&1 9>&-; then
    tail -n 25 "$aptlog" >&2 || true
    log "ERROR: apt-get update failed (full output: $aptlog)"; exit 1
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
      install -y -qq "$@" >>"$aptlog" 2>&1 9>&-; then
    tail -n 25 "$aptlog" >&2 || true
    log "ERROR: apt-get install $* failed (full output: $aptlog)"; exit 1
  fi
  log "installed $* in $((SECONDS - t0))s"
}

# True if pid exists and is not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null || true)"
  [[ "$state" != "Z" && "$state" != "X" ]]
}

# pid_from_file FILE PATTERN: the pid in FILE if that process is alive and its command name
# matches the extended regex PATTERN, else nothing.
pid_from_file() {
  [[ -f "$1" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$1" 2>/dev/null || true)"
  [[ -n "$pid" ]] || return 0
  if alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" =~ ^($2)$ ]]; then echo "$pid"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# reuse_running PID NAME: when the running instance PID answers `ready` on the port recorded in
# $PORTFILE, prints its result and succeeds; fails when the process went away meanwhile. The
# sourcing script defines `ready PORT` and `print_result PORT` and sets PORTFILE, PORT, START_TIMEOUT.
reuse_running() {
  local pid="$1" name="$2" rport deadline
  rport="$(cat "$PORTFILE" 2>/dev/null || echo "$PORT")"
  deadline=$((SECONDS + START_TIMEOUT))
  until ready "$rport" || ! alive "$pid"; do
    (( SECONDS < deadline )) || die "$name (pid $pid) is running but does not answer on port $rport; run '$0 stop' and retry"
    sleep 0.2
  done
  alive "$pid" || return 1
  [[ "$rport" == "$PORT" ]] || log "WARNING: already running on port $rport (requested $PORT); run '$0 stop' first to change it"
  log "already running (pid $pid, port $rport)"
  print_result "$rport"
}

# wait_gone PID NAME: waits up to $STOP_TIMEOUT seconds for a process asked to stop, then SIGKILLs it.
wait_gone() {
  local pid="$1" name="$2" deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid"; do
    if (( SECONDS >= deadline )); then
      log "still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.1
  done
  if alive "$pid"; then die "could not stop $name (pid $pid)"; fi
}

# stop_running: stops the instance recorded in the pid file. The sourcing script defines
# take_lock, running_pid and stop_pid, and sets PIDFILE.
stop_running() {
  take_lock
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  stop_pid "$pid"
  log "stopped"
}

ossl() { openssl "$@" >>"$STATE/openssl.log" 2>&1 9>&-; }

# ensure_tls CA_NAME: a private CA (kept across restarts and rebuilds, so clients can pin it) and
# a server certificate for 127.0.0.1/localhost signed by it. The sourcing script sets STATE, LOG,
# CA_PEM, CA_KEY, SERVER_PEM and SERVER_KEY.
ensure_tls() {
  local ca_name="$1"
  DIE_LOG="$STATE/openssl.log"
  local old_umask
  old_umask="$(umask)"
  umask 077
  if [[ ! -s "$CA_PEM" || ! -s "$CA_KEY" ]]; then
    log "creating private CA $CA_PEM"
    ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout "$CA_KEY" -out "$CA_PEM" -subj "/CN=$ca_name" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      || die "creating the CA with openssl failed"
    rm -f "$SERVER_PEM" "$SERVER_KEY"
  fi
  # Reissue if missing, expiring within a day, not from the current CA, or
  # not matching its key.
  if [[ ! -s "$SERVER_PEM" || ! -s "$SERVER_KEY" ]] \
      || ! ossl x509 -checkend 86400 -noout -in "$SERVER_PEM" \
      || ! ossl verify -CAfile "$CA_PEM" "$SERVER_PEM" \
      || [[ "$(openssl x509 -in "$SERVER_PEM" -noout -pubkey 2>/dev/null)" \
            != "$(openssl pkey -in "$SERVER_KEY" -pubout 2>/dev/null)" ]]; then
    log "issuing server certificate $SERVER_PEM"
    ossl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$SERVER_KEY" \
      -out "$STATE/server.csr" -subj "/CN=localhost" \
      || die "creating the server key with openssl failed"
    printf '%s\n' "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$STATE/server.ext"
    ossl x509 -req -in "$STATE/server.csr" -CA "$CA_PEM" -CAkey "$CA_KEY" \
      -CAcreateserial -CAserial "$STATE/ca.srl" -days 825 -sha256 \
      -extfile "$STATE/server.ext" -out "$SERVER_PEM" \
      || die "signing the server certificate with openssl failed"
    rm -f "$STATE/server.csr" "$STATE/server.ext"
  fi
  chmod 644 "$CA_PEM" "$SERVER_PEM"
  umask "$old_umask"
  DIE_LOG="$LOG"
}
