#!/usr/bin/env bash
# Prints the LDIF of the cx test directory (dc=cx,dc=test) on stdout.
# test/peers/slapd.sh loads it with slapadd when it creates the database.
#
# slapadd bypasses slapo-memberof, so this script writes memberOf itself.
# It derives every memberOf value from the member lists below, so the two
# always agree. After the load, the running overlay keeps them in sync.
#
# Needs slappasswd (package slapd) to hash the passwords ({SSHA}).
set -euo pipefail
set -f # no globbing: values() splits lists on newlines
export PATH="$PATH:/usr/sbin:/sbin"

BASE="dc=cx,dc=test"
PEOPLE="ou=people,$BASE"
GROUPS_OU="ou=groups,$BASE"
BULK="ou=bulk,$GROUPS_OU"
SERVICE="ou=service,$BASE"
BULK_COUNT=1000

hash() { slappasswd -h '{SSHA}' -s "$1"; }

user() { printf 'uid=%s,%s' "$1" "$PEOPLE"; }
group() { printf 'cn=%s,%s' "$1" "$GROUPS_OU"; }
bulk() { printf 'cn=g%04d,%s' "$1" "$BULK"; }

# --- group membership: GROUP_ORDER keeps output stable; MEMBERS holds "\n"-separated DNs.
declare -a GROUP_ORDER=()
declare -A MEMBERS=() DESCRIPTION=() MEMBEROF=()
add_group() { # dn description member-dn...
  local dn="$1" desc="$2"; shift 2
  GROUP_ORDER+=("$dn")
  DESCRIPTION[$dn]="$desc"
  local m
  for m in "$@"; do
    MEMBERS[$dn]+="$m"$'\n'
    MEMBEROF[$m]+="$dn"$'\n'
  done
}

# Three levels: alice -> cluster-operators -> platform-team -> engineering.
add_group "$(group cluster-operators)" "operators; alice is a direct member" "$(user alice)"
add_group "$(group platform-team)" "contains cluster-operators" "$(group cluster-operators)"
add_group "$(group engineering)" "contains platform-team" "$(group platform-team)"
add_group "$(group viewers)" "bob and carol (disabled)" "$(user bob)" "$(user carol)"
# A cycle: a client that follows nesting must stop. bob is in it, dave is not.
add_group "$(group cycle-a)" "cycle with cycle-b; bob is a member" "$(user bob)" "$(group cycle-b)"
add_group "$(group cycle-b)" "cycle with cycle-a" "$(group cycle-a)"
# many is a direct member of g0000..g0999; g0000 is nested in bulk-parent.
add_group "$(group bulk-parent)" "contains bulk group g0000" "$(bulk 0)"
many="$(user many)"
for ((i = 0; i < BULK_COUNT; i++)); do
  printf -v dn 'cn=g%04d,%s' "$i" "$BULK" # no $(...): 1000 forks are slow
  add_group "$dn" "bulk group $i" "$many"
done

# Multi-valued attribute, one "name: value" line per "\n"-separated value.
values() { # name newline-separated-values
  local v IFS=$'\n'
  for v in $2; do printf '%s: %s\n' "$1" "$v"; done
}

# --- output
cat <<EOF
dn: $BASE
objectClass: top
objectClass: dcObject
objectClass: organization
dc: cx
o: cx test directory

dn: $PEOPLE
objectClass: organizationalUnit
ou: people

dn: $GROUPS_OU
objectClass: organizationalUnit
ou: groups

dn: $BULK
objectClass: organizationalUnit
ou: bulk
description: $BULK_COUNT groups, all with uid=many as member

dn: $SERVICE
objectClass: organizationalUnit
ou: service

dn: cn=cx-reader,$SERVICE
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: cx-reader
description: service account for cx; may read everything except passwords
userPassword: $(hash reader-secret)

EOF

emit_user() { # uid given-name surname userAccountControl
  local dn
  dn="$(user "$1")"
  cat <<EOF
dn: $dn
objectClass: inetOrgPerson
objectClass: adUser
uid: $1
cn: $2 $3
givenName: $2
sn: $3
displayName: $2 $3
mail: $1@cx.test
sAMAccountName: $1
userPrincipalName: $1@cx.test
userAccountControl: $4
userPassword: $(hash "$1-pw")
EOF
  values memberOf "${MEMBEROF[$dn]:-}"
  echo
}

emit_user alice Alice Anderson 512
emit_user bob Bob Brown 512
emit_user carol Carol Clark 514 # 514 = 512 + ACCOUNTDISABLE
emit_user dave Dave Davis 512
emit_user many Many Groups 512

for dn in "${GROUP_ORDER[@]}"; do
  cn="${dn%%,*}"
  printf 'dn: %s\nobjectClass: groupOfNames\ncn: %s\ndescription: %s\n' "$dn" "${cn#cn=}" "${DESCRIPTION[$dn]}"
  values member "${MEMBERS[$dn]}"
  values memberOf "${MEMBEROF[$dn]:-}"
  echo
done
