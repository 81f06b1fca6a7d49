#!/usr/bin/env bash
# Private, loopback-only OpenLDAP (slapd) with an Active-Directory-like
# directory for cx tests.
#
#   test/peers/slapd.sh [start]   install if absent, start if not running,
#                                 print one line of JSON (urls, CA file, DNs)
#   test/peers/slapd.sh stop      shut our instance down
#
# Env: CX_PEERS_DIR (default $HOME/.cache/cx-peers),
#      CX_SLAPD_PORT (default 33389, ldap:// with StartTLS),
#      CX_SLAPDS_PORT (default 33636, ldaps://).
# Only the JSON line goes to stdout; everything else goes to stderr.
set -euo pipefail

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ldap"
SCHEMA_SRC="$SRC_DIR/ad-lite.schema"
LDIF_GEN="$SRC_DIR/directory.ldif.sh"

PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
STATE="$PEERS_DIR/slapd"
PORT="${CX_SLAPD_PORT:-33389}"
SPORT="${CX_SLAPDS_PORT:-33636}"
START_TIMEOUT=30
STOP_TIMEOUT=30
# Bump to force a rebuild of existing databases. Edits to the schema, the
# LDIF generator or the generated slapd.conf already force one (see stamp).
DATA_VERSION=1

BASE_DN="dc=cx,dc=test"
BIND_DN="cn=cx-reader,ou=service,$BASE_DN"
BIND_PW="reader-secret"
ADMIN_DN="cn=admin,$BASE_DN"
ADMIN_PW="admin-secret"

# Set by set_paths once STATE is absolute (the CA path is printed).
set_paths() {
  DATADIR="$STATE/data"
  CONF="$STATE/slapd.conf"
  SCHEMA="$STATE/ad-lite.schema"
  LDIF="$STATE/directory.ldif"
  PIDFILE="$STATE/slapd.pid"
  LOG="$STATE/slapd.log"
  PORTFILE="$STATE/ports"
  STAMPFILE="$STATE/stamp"
  CA_PEM="$STATE/ca.pem"
  CA_KEY="$STATE/ca.key"
  SERVER_PEM="$STATE/server.pem"
  SERVER_KEY="$STATE/server.key"
  DIE_LOG="$LOG"
}
set_paths

log() { printf 'slapd.sh: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  if [[ -f "$DIE_LOG" ]]; then
    log "log file: $DIE_LOG (last lines below)"
    tail -n 25 "$DIE_LOG" >&2 || true
  fi
  exit 1
}

export PATH="$PATH:/usr/sbin:/sbin"
# Our checks must not pick up ~/.ldaprc or /etc/ldap/ldap.conf.
export LDAPNOINIT=1

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

have_tools() {
  local t
  for t in slapd slapadd slaptest slappasswd ldapwhoami ldapsearch openssl; do
    command -v "$t" >/dev/null 2>&1 || return 1
  done
}

ensure_installed() {
  if have_tools; then return 0; fi
  log "slapd/ldap-utils not installed; installing them from Debian (apt-get install slapd ldap-utils)"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install slapd, ldap-utils and openssl manually"
  local t0=$SECONDS aptlog="$PEERS_DIR/apt-slapd.log"
  log "apt output goes to $aptlog"
  # Tell Debian's postinst not to create /etc/ldap/slapd.d and its own
  # database: we never use the system instance, so it should not run.
  if command -v debconf-set-selections >/dev/null 2>&1; then
    echo "slapd slapd/no_configuration boolean true" | as_root debconf-set-selections >"$aptlog" 2>&1 9>&- || true
  fi
  if ! as_root apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$aptlog" 2>&1 9>&-; then
    tail -n 25 "$aptlog" >&2 || true
    log "ERROR: apt-get update failed (full output: $aptlog)"; exit 1
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
      install -y -qq slapd ldap-utils openssl >>"$aptlog" 2>&1 9>&-; then
    tail -n 25 "$aptlog" >&2 || true
    log "ERROR: apt-get install slapd ldap-utils failed (full output: $aptlog)"; exit 1
  fi
  log "installed slapd and ldap-utils in $((SECONDS - t0))s"
  have_tools || die "slapd/ldap-utils installed but slapd, slapadd, slaptest, slappasswd, ldapwhoami, ldapsearch or openssl is missing from PATH"
}

# True if pid exists and is not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null || true)"
  [[ "$state" != "Z" && "$state" != "X" ]]
}

# Our pid if our server is alive, else nothing.
running_pid() {
  [[ -f "$PIDFILE" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || return 0
  if alive "$pid"; then
    case "$(cat "/proc/$pid/comm" 2>/dev/null || true)" in slapd) echo "$pid" ;; esac
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The service account can bind over plain ldap:// (the readiness check).
bind_ok() {
  ldapwhoami -x -H "ldap://127.0.0.1:$1/" -D "$BIND_DN" -w "$BIND_PW" \
    -o nettimeout=2 >/dev/null 2>&1
}

# Serialise concurrent invocations on the same state dir. fd 9 must not leak
# into the server (or apt's maintainer scripts), or it would hold the lock.
take_lock() {
  mkdir -p "$STATE"
  STATE="$(cd "$STATE" && pwd)"
  set_paths
  exec 9>"$STATE/.lock"
  flock -w 180 9 || die "timed out waiting for lock $STATE/.lock (another $0 running?)"
}

json_str() { local s="${1//\\/\\\\}"; printf '"%s"' "${s//\"/\\\"}"; }

print_result() { # port sport
  printf '{"url":%s,"ldapsUrl":%s,"caFile":%s,"bindDn":%s,"bindPassword":%s,"adminDn":%s,"adminPassword":%s,"baseDn":%s,"userBaseDn":%s,"groupBaseDn":%s}\n' \
    "$(json_str "ldap://127.0.0.1:$1")" "$(json_str "ldaps://127.0.0.1:$2")" "$(json_str "$CA_PEM")" \
    "$(json_str "$BIND_DN")" "$(json_str "$BIND_PW")" "$(json_str "$ADMIN_DN")" "$(json_str "$ADMIN_PW")" \
    "$(json_str "$BASE_DN")" "$(json_str "ou=people,$BASE_DN")" "$(json_str "ou=groups,$BASE_DN")"
}

# slapd.conf. Everything the server needs lives in $STATE, so a moved or
# deleted checkout does not break a running or restarted instance.
render_conf() {
  cat <<EOF
# Generated by test/peers/slapd.sh; rewritten on every cold start.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $SCHEMA

modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint

pidfile $PIDFILE
argsfile $STATE/slapd.args

TLSCACertificateFile $CA_PEM
TLSCertificateFile $SERVER_PEM
TLSCertificateKeyFile $SERVER_KEY

# Hash passwords set through the Password Modify extended operation.
password-hash {SSHA}

# Like AD (MaxPageSize 1000): an unpaged search returns at most 1000 entries;
# a paged search can return any number.
sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited

# The root DSE and the schema are public, as on AD: clients read them first.
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
suffix "$BASE_DN"
rootdn "$ADMIN_DN"
rootpw $ADMIN_PW
directory $DATADIR
# Map size (the file grows only as needed); the default 10 MiB is too small
# for tests that add many entries.
maxsize 1073741824
# Anonymous clients may bind and read the root DSE, nothing else: searches
# get unwillingToPerform (53, "authentication required"), so a client has
# to bind first (as on AD).
require authc

index objectClass eq
index uid,sAMAccountName,userPrincipalName,mail eq,sub
index cn eq,sub
index member,memberOf eq
index userAccountControl eq

# memberOf on users and on nested groups; kept in sync with member.
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

# Deleting or renaming an entry also fixes the member values pointing at it.
overlay refint
refint_attributes member

access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="$BIND_DN" read
  by * none
EOF
}

# Identifies the data and config this script would build. A different stamp
# on disk means the database was built from something else: rebuild it.
compute_stamp() {
  {
    echo "$DATA_VERSION"
    cat "$SCHEMA_SRC" "$LDIF_GEN"
    render_conf | grep -v "^#"  # comment edits need no rebuild
  } | sha256sum | cut -d' ' -f1
}

ossl() { openssl "$@" >>"$STATE/openssl.log" 2>&1 9>&-; }

# Private CA (kept across restarts and rebuilds, so clients can pin it) and
# a server certificate for 127.0.0.1/localhost signed by it.
ensure_tls() {
  DIE_LOG="$STATE/openssl.log"
  local old_umask
  old_umask="$(umask)"
  umask 077
  if [[ ! -s "$CA_PEM" || ! -s "$CA_KEY" ]]; then
    log "creating private CA $CA_PEM"
    ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout "$CA_KEY" -out "$CA_PEM" -subj "/CN=cx test LDAP CA" \
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

# Recreate the database from the schema and the generated LDIF. slapadd on
# a stopped server is fast (about a second for ~1000 entries).
build_database() {
  log "building the database in $DATADIR"
  local loadlog="$STATE/slapadd.log"
  DIE_LOG="$loadlog"
  : >"$loadlog"
  rm -rf "$DATADIR" "$STAMPFILE"
  mkdir -p "$DATADIR"
  bash "$LDIF_GEN" >"$LDIF" 2>>"$loadlog" || die "generating the LDIF with $LDIF_GEN failed"
  slapadd -q -f "$CONF" -l "$LDIF" >>"$loadlog" 2>&1 9>&- \
    || { rm -rf "$DATADIR"; die "slapadd of $LDIF failed"; }
  echo "$STAMP" >"$STAMPFILE"
  DIE_LOG="$LOG"
}

# Ask slapd to stop (SIGTERM), wait, then SIGKILL. mdb survives a kill.
stop_pid() {
  local pid="$1"
  log "stopping slapd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid"; do
    if (( SECONDS >= deadline )); then
      log "still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.1
  done
  if alive "$pid"; then die "could not stop slapd (pid $pid)"; fi
  rm -f "$PIDFILE"
}

do_start() {
  take_lock
  ensure_installed
  [[ -f "$SCHEMA_SRC" && -f "$LDIF_GEN" ]] || die "missing $SCHEMA_SRC or $LDIF_GEN"
  STAMP="$(compute_stamp)"

  local pid deadline
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    local rport rsport
    read -r rport rsport <"$PORTFILE" 2>/dev/null || { rport="$PORT"; rsport="$SPORT"; }
    if [[ "$(cat "$STAMPFILE" 2>/dev/null || true)" != "$STAMP" ]]; then
      log "schema, data or config changed since this instance was built; rebuilding"
      stop_pid "$pid"
    else
      # It may be starting up or shutting down: give it a bounded moment.
      deadline=$((SECONDS + START_TIMEOUT))
      until bind_ok "$rport" || ! alive "$pid"; do
        (( SECONDS < deadline )) || die "slapd (pid $pid) from $STATE is running but the service account cannot bind on port $rport; run '$0 stop' and retry"
        sleep 0.1
      done
      if alive "$pid"; then
        if [[ "$rport" != "$PORT" || "$rsport" != "$SPORT" ]]; then
          log "WARNING: already running on ports $rport/$rsport (requested $PORT/$SPORT); run '$0 stop' first to change them"
        fi
        log "already running (pid $pid, ports $rport/$rsport)"
        print_result "$rport" "$rsport"
        return 0
      fi
      log "previous slapd (pid $pid) went away; starting a new one"
    fi
  fi
  rm -f "$PIDFILE"

  [[ "$PORT" != "$SPORT" ]] || die "CX_SLAPD_PORT and CX_SLAPDS_PORT must differ (both $PORT)"
  local p
  for p in "$PORT" "$SPORT"; do
    if port_in_use "$p"; then
      die "port 127.0.0.1:$p is already in use by another process; set CX_SLAPD_PORT / CX_SLAPDS_PORT to free ports"
    fi
  done

  ensure_tls
  cp "$SCHEMA_SRC" "$SCHEMA"
  ( umask 077; render_conf >"$CONF" )  # holds rootpw
  mkdir -p "$DATADIR"  # slaptest checks that the directory exists
  slaptest -u -f "$CONF" >"$STATE/slaptest.log" 2>&1 9>&- \
    || { DIE_LOG="$STATE/slaptest.log"; die "slaptest rejected $CONF"; }

  if [[ ! -f "$DATADIR/data.mdb" || "$(cat "$STAMPFILE" 2>/dev/null || true)" != "$STAMP" ]]; then
    build_database
  fi

  # Keep one previous log; a fresh log makes the tail in errors relevant.
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  log "starting slapd on 127.0.0.1:$PORT (ldap, StartTLS) and 127.0.0.1:$SPORT (ldaps) (log: $LOG)"
  echo "$PORT $SPORT" >"$PORTFILE"
  # -d keeps slapd in the foreground and sends its log (level "stats": one
  # line per connection and operation) to $LOG instead of syslog.
  setsid nohup slapd -d stats -f "$CONF" \
    -h "ldap://127.0.0.1:$PORT/ ldaps://127.0.0.1:$SPORT/" \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local spid=$!

  deadline=$((SECONDS + START_TIMEOUT))
  until bind_ok "$PORT"; do
    alive "$spid" || die "slapd exited during startup"
    (( SECONDS < deadline )) || die "slapd did not accept the service account bind within ${START_TIMEOUT}s (pid $spid)"
    sleep 0.1
  done
  log "ready (pid $spid, ports $PORT/$SPORT)"
  print_result "$PORT" "$SPORT"
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
  stop_pid "$pid"
  log "stopped"
}

case "${1:-start}" in
  start) do_start ;;
  stop) do_stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
