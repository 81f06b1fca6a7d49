#!/usr/bin/env bash
# Booted hosts for cx's bare-metal path: an air-gapped node image, and N virtual machines behind a
# real Redfish BMC emulator (sushy-tools' libvirt driver), on a network that lives in a network
# namespace of their own.
#
#   test/peers/machines.sh build       build (or find cached) the node image: a Debian root
#                                      filesystem (mmdebstrap), kubelet/kubeadm/kubectl and the
#                                      control-plane images of one Kubernetes version, preloaded;
#                                      print one line of JSON (the image, its manifest)
#   test/peers/machines.sh start [N]   build, then start (idempotent) the namespace, libvirtd,
#                                      N hosts (powered off) and sushy-emulator; print one line of
#                                      JSON (Redfish URL, login, CA, systems with ids and MACs, the
#                                      network and how the host reaches it)
#   test/peers/machines.sh stop        power the hosts off, undefine them, stop sushy-emulator,
#                                      libvirtd and dnsmasq, delete the namespace
#
# Env: CX_PEERS_DIR (default $HOME/.cache/cx-peers), CX_MACHINES_REDFISH_PORT (default 38010).
# The image, the Go builds and the logs live in $CX_PEERS_DIR/machines/ (and the Kubernetes
# binaries in $CX_PEERS_DIR/kubernetes/, built by kubernetes.sh). The image is rebuilt only when
# one of its inputs changes (package list, customize.sh, binaries, images). Only the result goes
# to stdout; progress goes to stderr. Needs root (mmdebstrap, namespaces, libvirtd).
set -euo pipefail

# The newest version cx's bare-metal provider offers (packages/providers-baremetal/src/provider.ts).
KUBERNETES_VERSION=1.37.2
DEBIAN_SUITE=trixie
DEBIAN_MIRROR=http://deb.debian.org/debian
# What a kubeadm node needs from Debian (the kernel boots the VM; cloud-init reads a NoCloud seed);
# keepalived, haproxy and busybox go into images of their own (the control-plane VIP's static pods
# and the end-to-end test's workload), not onto the node.
DEBIAN_PACKAGES=(systemd-sysv udev dbus kmod linux-image-amd64 e2fsprogs procps ca-certificates
  containerd runc containernetworking-plugins cloud-init iproute2 iptables nftables conntrack socat
  ebtables ethtool iputils-ping less
  keepalived haproxy busybox-static)
SUSHY_VERSION=2.2.0
DISK_SIZE=8G
VM_MEMORY_MIB=2048
VM_CPUS=2
MAX_HOSTS=8
# Images built here from Debian's packages, preloaded beside the control-plane images (the names an
# air-gapped site gives its mirror; cx is pointed at them with ha.keepalivedImage / ha.haproxyImage).
KEEPALIVED_IMAGE=localhost/cx-machines/keepalived:$DEBIAN_SUITE
HAPROXY_IMAGE=localhost/cx-machines/haproxy:$DEBIAN_SUITE
WORKLOAD_IMAGE=localhost/cx-machines/busybox:$DEBIAN_SUITE

PEERS_DIR="${CX_PEERS_DIR:-${HOME:-/root}/.cache/cx-peers}"
ROOT="$PEERS_DIR/machines"
BIN_DIR="$ROOT/bin"
LOG_DIR="$ROOT/logs"
WORK_DIR="$ROOT/work"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIXTURES="$HERE/machines"
K8S_BIN="$PEERS_DIR/kubernetes/bin"

# The hosts' network: a bridge in namespace $NETNS, dnsmasq on it; the host reaches it through a
# veth pair (198.51.100.0/24 is TEST-NET-2, a documentation range nothing routes).
NETNS=cx-machines
BRIDGE=br0
NET_PREFIX=198.51.100
HOST_IF=cxm-host
DNS_DOMAIN=machines.cx.test
PORT="${CX_MACHINES_REDFISH_PORT:-38010}"
USERNAME=admin
PASSWORD=machines-secret
POOL_DIR=/var/lib/libvirt/images
START_TIMEOUT=60
STOP_TIMEOUT=30

PEER=machines.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

now_us() { local t="${EPOCHREALTIME//[.,]/}"; printf '%s' "$t"; }
since() { local d=$(( $(now_us) - $1 )); printf '%d.%ds' $((d / 1000000)) $(( (d / 100000) % 10 )); }
json_str() { local s="${1//\\/\\\\}"; printf '"%s"' "${s//\"/\\\"}"; }

take_lock() {
  mkdir -p "$ROOT" "$BIN_DIR" "$LOG_DIR" "$WORK_DIR"
  exec 9>"$ROOT/.lock"
  flock -w 3600 9 || die "timed out waiting for $ROOT/.lock (another $0 running?)"
}

need_root() { [[ $EUID -eq 0 ]] || die "needs root (mmdebstrap, network namespaces, libvirtd); run it with sudo"; }

# ---------------------------------------------------------------- build

go_env() {
  command -v go >/dev/null 2>&1 || die "go not found on PATH"
  # The Kubernetes peers' Go caches: most of what etcd and coredns import is compiled there already.
  export GOCACHE="$PEERS_DIR/kubernetes/gocache" GOMODCACHE="$PEERS_DIR/kubernetes/gomod" GOPATH="$PEERS_DIR/kubernetes/gopath"
  export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=mod -buildvcs=false"
}

# go_module_build NAME MODULE VERSION PACKAGE GOLINE: builds PACKAGE from a wrapper module that
# requires MODULE at VERSION (pinned) into $BIN_DIR/NAME-VERSION, unless it is there.
go_module_build() {
  local name="$1" module="$2" version="$3" pkg="$4" goline="$5"
  local out="$BIN_DIR/$name-$version" dir="$WORK_DIR/$name-$version" blog="$LOG_DIR/$name-$version.log" t0
  [[ -x "$out" ]] && return 0
  t0="$(now_us)"
  log "building $name $version from $module@$version (log: $blog)"
  rm -rf "$dir"; mkdir -p "$dir"
  printf 'module cx.local/peers/wrapper\n\ngo %s\n\nrequire %s %s\n' "$goline" "$module" "$version" >"$dir/go.mod"
  (cd "$dir" && nice -n 15 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg") >"$blog" 2>&1 </dev/null 9>&- \
    || { rm -f "$out.tmp"; DIE_LOG="$blog" die "building $name $version failed"; }
  mv -f "$out.tmp" "$out"
  log "built $name $version in $(since "$t0")"
}

# The binaries of one Kubernetes version (kubernetes.sh builds and caches them), and the image
# versions kubeadm of that version expects: etcd, coredns and pause are built to match them.
ensure_binaries() {
  log "Kubernetes v$KUBERNETES_VERSION node binaries (test/peers/kubernetes.sh node)"
  nice -n 15 bash "$HERE/kubernetes.sh" node "$KUBERNETES_VERSION" >"$WORK_DIR/kubernetes-node.json" 9>&- \
    || die "test/peers/kubernetes.sh node $KUBERNETES_VERSION failed"
  local list
  list="$("$K8S_BIN/kubeadm-v$KUBERNETES_VERSION" config images list --kubernetes-version "v$KUBERNETES_VERSION" 2>/dev/null)" \
    || die "kubeadm v$KUBERNETES_VERSION config images list failed"
  ETCD_TAG="$(sed -n 's|^registry.k8s.io/etcd:||p' <<<"$list")"
  COREDNS_TAG="$(sed -n 's|^registry.k8s.io/coredns/coredns:||p' <<<"$list")"
  PAUSE_TAG="$(sed -n 's|^registry.k8s.io/pause:||p' <<<"$list")"
  [[ -n "$ETCD_TAG" && -n "$COREDNS_TAG" && -n "$PAUSE_TAG" ]] || die "unexpected kubeadm image list: $list"
  ETCD_VERSION="v${ETCD_TAG%-*}"
  go_env
  go_module_build etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 1.26
  go_module_build coredns github.com/coredns/coredns "$COREDNS_TAG" github.com/coredns/coredns 1.25.0
  # pause: our own few lines (test/peers/machines/pause), tagged as the pause kubeadm expects.
  local psum
  psum="$(cat "$FIXTURES/pause/"* | sha256sum | cut -c1-12)"
  if [[ ! -x "$BIN_DIR/pause-$psum" ]]; then
    (cd "$FIXTURES/pause" && nice -n 15 go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/pause-$psum" .) \
      >"$LOG_DIR/pause.log" 2>&1 9>&- || DIE_LOG="$LOG_DIR/pause.log" die "building pause failed"
  fi
  PAUSE_BIN="$BIN_DIR/pause-$psum"
}

# The Debian root filesystem, cached by its package list and suite (mmdebstrap, minutes).
ensure_rootfs_base() {
  command -v mmdebstrap >/dev/null 2>&1 || apt_install machines mmdebstrap
  local key
  key="$(printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "${DEBIAN_PACKAGES[@]}" | sha256sum | cut -c1-12)"
  BASE="$WORK_DIR/rootfs-base-$key"
  [[ -f "$BASE/.complete" ]] && return 0
  local blog="$LOG_DIR/mmdebstrap.log" t0 inc
  t0="$(now_us)"
  inc="$(IFS=,; echo "${DEBIAN_PACKAGES[*]}")"
  log "building the Debian $DEBIAN_SUITE root filesystem with mmdebstrap (minutes; log: $blog)"
  rm -rf "$BASE"
  nice -n 15 timeout 1800 mmdebstrap --mode=root --variant=apt --include="$inc" \
    "$DEBIAN_SUITE" "$BASE" "$DEBIAN_MIRROR" >"$blog" 2>&1 </dev/null 9>&- \
    || DIE_LOG="$blog" die "mmdebstrap $DEBIAN_SUITE failed"
  touch "$BASE/.complete"
  log "root filesystem built in $(since "$t0"): $BASE"
}

# oci_archive OUT NAME:TAG STAGE ENTRYPOINT_JSON: an OCI image layout archive holding one layer
# (the files under STAGE), named NAME:TAG for `ctr images import`. Reproducible (fixed mtimes).
oci_archive() {
  local out="$1" ref="$2" stage="$3" entrypoint="$4" d
  d="$(mktemp -d "$WORK_DIR/oci.XXXXXX")"
  mkdir -p "$d/blobs/sha256"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$stage" -cf "$d/layer.tar" .
  local layer lsize config csize manifest msize
  layer="$(sha256sum "$d/layer.tar" | cut -d' ' -f1)"; lsize="$(stat -c %s "$d/layer.tar")"
  mv "$d/layer.tar" "$d/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$entrypoint" "$layer" >"$d/config.json"
  config="$(sha256sum "$d/config.json" | cut -d' ' -f1)"; csize="$(stat -c %s "$d/config.json")"
  mv "$d/config.json" "$d/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$csize" "$layer" "$lsize" >"$d/manifest.json"
  manifest="$(sha256sum "$d/manifest.json" | cut -d' ' -f1)"; msize="$(stat -c %s "$d/manifest.json")"
  mv "$d/manifest.json" "$d/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$msize" "$ref" "${ref##*:}" >"$d/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d" -cf "$out.tmp" oci-layout index.json blobs
  mv -f "$out.tmp" "$out"
  rm -rf "$d"
}

# stage_files STAGE ROOTFS FILE...: copies FILEs (absolute paths in ROOTFS) and the shared
# libraries they load into STAGE, keeping their paths.
stage_files() {
  local stage="$1" rootfs="$2" f lib; shift 2
  for f in "$@"; do
    mkdir -p "$stage$(dirname "$f")"
    cp -a "$rootfs$f" "$stage$f"
    while read -r lib; do
      [[ -n "$lib" && -e "$rootfs$lib" && ! -e "$stage$lib" ]] || continue
      mkdir -p "$stage$(dirname "$lib")"
      cp -L "$rootfs$lib" "$stage$lib"
    done < <(chroot "$rootfs" ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' || true)
  done
}

# The control-plane images as OCI archives, with the names and tags kubeadm expects, so that
# `kubeadm init` finds every image already in containerd and pulls nothing.
ensure_images() {
  IMAGES_DIR="$WORK_DIR/images-v$KUBERNETES_VERSION"
  local key
  key="$( { sha256sum "$K8S_BIN"/kube-{apiserver,controller-manager,scheduler,proxy}-v"$KUBERNETES_VERSION" \
    "$BIN_DIR/etcd-$ETCD_VERSION" "$BIN_DIR/coredns-$COREDNS_TAG" "$PAUSE_BIN" | cut -d' ' -f1
    declare -f oci_archive stage_files ensure_images; cat "$BASE/.complete"; } | sha256sum | cut -c1-12)"
  [[ "$(cat "$IMAGES_DIR/.key" 2>/dev/null || true)" == "$key" ]] && return 0
  log "building the control-plane images (OCI archives) in $IMAGES_DIR"
  rm -rf "$IMAGES_DIR"; mkdir -p "$IMAGES_DIR"
  local c stage="$WORK_DIR/stage" v="v$KUBERNETES_VERSION"
  base_stage() {
    rm -rf "$stage"; mkdir -p "$stage/usr/local/bin" "$stage/etc" "$stage/tmp" "$stage/var/run"
    chmod 1777 "$stage/tmp"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$stage/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
    # The host's CA bundle: control-plane components that call out (webhooks, OIDC) verify TLS.
    mkdir -p "$stage/etc/ssl/certs"
    cp -L "$BASE/etc/ssl/certs/ca-certificates.crt" "$stage/etc/ssl/certs/"
  }
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    base_stage
    install -m 0755 "$K8S_BIN/$c-$v" "$stage/usr/local/bin/$c"
    oci_archive "$IMAGES_DIR/$c.tar" "registry.k8s.io/$c:$v" "$stage" "[\"/usr/local/bin/$c\"]"
  done
  # kube-proxy programs iptables (nft backend) and conntrack: Debian's, with their libraries.
  base_stage
  install -m 0755 "$K8S_BIN/kube-proxy-$v" "$stage/usr/local/bin/kube-proxy"
  local xt=() f
  while read -r f; do xt+=("${f#"$BASE"}"); done < <(find "$BASE/usr/lib/x86_64-linux-gnu/xtables" -name '*.so')
  stage_files "$stage" "$BASE" /usr/sbin/xtables-nft-multi /usr/sbin/conntrack /usr/sbin/nft "${xt[@]}"
  for f in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf xtables-nft-multi "$stage/usr/sbin/$f"
  done
  oci_archive "$IMAGES_DIR/kube-proxy.tar" "registry.k8s.io/kube-proxy:$v" "$stage" '["/usr/local/bin/kube-proxy"]'
  base_stage
  install -m 0755 "$BIN_DIR/etcd-$ETCD_VERSION" "$stage/usr/local/bin/etcd"
  mkdir -p "$stage/var/lib/etcd"
  oci_archive "$IMAGES_DIR/etcd.tar" "registry.k8s.io/etcd:$ETCD_TAG" "$stage" '["/usr/local/bin/etcd"]'
  base_stage
  install -m 0755 "$BIN_DIR/coredns-$COREDNS_TAG" "$stage/coredns"
  oci_archive "$IMAGES_DIR/coredns.tar" "registry.k8s.io/coredns/coredns:$COREDNS_TAG" "$stage" '["/coredns"]'
  rm -rf "$stage"; mkdir -p "$stage"
  install -m 0755 "$PAUSE_BIN" "$stage/pause"
  oci_archive "$IMAGES_DIR/pause.tar" "registry.k8s.io/pause:$PAUSE_TAG" "$stage" '["/pause"]'
  # The control-plane VIP's static pods (cx's ha.keepalivedImage and ha.haproxyImage, mirrored
  # here from Debian's packages) and a workload with a shell and an HTTP server (busybox).
  base_stage
  # /run: without it keepalived takes itself for already running and exits.
  mkdir -p "$stage/etc/keepalived" "$stage/run" "$stage/var/run/keepalived"
  stage_files "$stage" "$BASE" /usr/sbin/keepalived
  # keepalived refuses to start without its build options file: it looks in /etc/keepalived, then
  # beside argv[0] (`keepalived`, as cx's pod runs it: the working directory, /).
  cp "$BASE/etc/keepalived/keepalived.config-opts" "$stage/etc/keepalived/keepalived.config-opts"
  cp "$BASE/etc/keepalived/keepalived.config-opts" "$stage/keepalived.config-opts"
  # What cx's keepalived configuration runs: its port check (timeout, bash) and, with unicast
  # peers, its start script (sh, getent, sed, awk, cmp, sleep, mv).
  stage_files "$stage" "$BASE" /usr/bin/bash /usr/bin/dash /usr/bin/timeout /usr/bin/getent /usr/bin/sed \
    /usr/bin/mawk /usr/bin/cmp /usr/bin/sleep /usr/bin/mv
  ln -s usr/bin "$stage/bin"
  ln -s dash "$stage/usr/bin/sh"
  ln -s mawk "$stage/usr/bin/awk"
  oci_archive "$IMAGES_DIR/keepalived.tar" "$KEEPALIVED_IMAGE" "$stage" '["/usr/sbin/keepalived"]'
  base_stage
  mkdir -p "$stage/usr/local/etc/haproxy" "$stage/var/lib/haproxy"
  stage_files "$stage" "$BASE" /usr/sbin/haproxy
  oci_archive "$IMAGES_DIR/haproxy.tar" "$HAPROXY_IMAGE" "$stage" \
    '["/usr/sbin/haproxy","-W","-db","-f","/usr/local/etc/haproxy/haproxy.cfg"]'
  base_stage
  mkdir -p "$stage/bin"
  cp -L "$BASE/bin/busybox" "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  oci_archive "$IMAGES_DIR/busybox.tar" "$WORKLOAD_IMAGE" "$stage" '["/bin/busybox"]'
  rm -rf "$stage"
  echo "$key" >"$IMAGES_DIR/.key"
}

# The node image: the root filesystem plus customize.sh's configuration, as one ext4 filesystem
# in a qcow2 disk, and the kernel and initrd the hosts boot directly. Rebuilt when an input changes.
ensure_image() {
  local key
  key="$( { cat "$BASE/.complete" "$IMAGES_DIR/.key" "$FIXTURES/customize.sh"
    sha256sum "$K8S_BIN"/{kubelet,kubeadm,kubectl}-v"$KUBERNETES_VERSION" | cut -d' ' -f1
    echo "$DISK_SIZE $PAUSE_TAG"; declare -f ensure_image; } | sha256sum | cut -c1-12)"
  IMAGE_DIR="$ROOT/image-v$KUBERNETES_VERSION-$key"
  [[ -f "$IMAGE_DIR/manifest.json" ]] && return 0
  local blog="$LOG_DIR/image.log" t0 rootfs="$WORK_DIR/rootfs" nodebin="$WORK_DIR/node-bin"
  t0="$(now_us)"
  : >"$blog"
  log "building the node image $IMAGE_DIR (log: $blog)"
  rm -rf "$rootfs" "$nodebin" "$IMAGE_DIR.tmp"; mkdir -p "$nodebin" "$IMAGE_DIR.tmp"
  local c
  for c in kubelet kubeadm kubectl; do cp "$K8S_BIN/$c-v$KUBERNETES_VERSION" "$nodebin/$c"; done
  cp -a "$BASE" "$rootfs" 2>>"$blog" || DIE_LOG="$blog" die "copying the root filesystem failed"
  rm -f "$rootfs/.complete"
  CX_NODE_BIN="$nodebin" CX_IMAGES_DIR="$IMAGES_DIR" CX_PAUSE_TAG="$PAUSE_TAG" CX_DNS_SERVER="$NET_PREFIX.1" CX_DNS_DOMAIN="$DNS_DOMAIN" \
    CX_PACKAGES_OUT="$IMAGE_DIR.tmp/packages.txt" CX_IMAGES_OUT="$IMAGE_DIR.tmp/images.txt" bash "$FIXTURES/customize.sh" "$rootfs" >>"$blog" 2>&1 9>&- \
    || DIE_LOG="$blog" die "customize.sh failed"
  # The kernel and initrd outside the disk: the hosts boot them directly (no boot loader).
  cp -L "$rootfs/vmlinuz" "$IMAGE_DIR.tmp/vmlinuz"
  cp -L "$rootfs/initrd.img" "$IMAGE_DIR.tmp/initrd.img"
  truncate -s "$DISK_SIZE" "$WORK_DIR/disk.raw"
  nice -n 15 mkfs.ext4 -q -F -L cx-root -d "$rootfs" "$WORK_DIR/disk.raw" >>"$blog" 2>&1 \
    || DIE_LOG="$blog" die "mkfs.ext4 -d failed"
  command -v qemu-img >/dev/null 2>&1 || apt_install machines qemu-utils
  nice -n 15 qemu-img convert -f raw -O qcow2 "$WORK_DIR/disk.raw" "$IMAGE_DIR.tmp/disk.qcow2" >>"$blog" 2>&1 \
    || DIE_LOG="$blog" die "qemu-img convert failed"
  rm -rf "$WORK_DIR/disk.raw" "$rootfs" "$nodebin"
  {
    printf '{"kubernetesVersion":%s,"debianSuite":%s,"debianMirror":%s,' "$(json_str "$KUBERNETES_VERSION")" \
      "$(json_str "$DEBIAN_SUITE")" "$(json_str "$DEBIAN_MIRROR")"
    printf '"images":["registry.k8s.io/kube-apiserver:v%s","registry.k8s.io/kube-controller-manager:v%s","registry.k8s.io/kube-scheduler:v%s","registry.k8s.io/kube-proxy:v%s","registry.k8s.io/etcd:%s","registry.k8s.io/coredns/coredns:%s","registry.k8s.io/pause:%s"],' \
      "$KUBERNETES_VERSION" "$KUBERNETES_VERSION" "$KUBERNETES_VERSION" "$KUBERNETES_VERSION" "$ETCD_TAG" "$COREDNS_TAG" "$PAUSE_TAG"
    printf '"goModules":{"k8s.io/kubernetes":"v%s","go.etcd.io/etcd/server/v3":%s,"github.com/coredns/coredns":%s},' \
      "$KUBERNETES_VERSION" "$(json_str "$ETCD_VERSION")" "$(json_str "$COREDNS_TAG")"
    printf '"pause":"test/peers/machines/pause (built here)",'
    printf '"keepalivedImage":%s,"haproxyImage":%s,"workloadImage":%s,' "$(json_str "$KEEPALIVED_IMAGE")" \
      "$(json_str "$HAPROXY_IMAGE")" "$(json_str "$WORKLOAD_IMAGE")"
    printf '"preloaded":['
    awk 'BEGIN{s=""} NF && $1 !~ /^sha256:/ {printf "%s\"%s\"", s, $1; s=","}' "$IMAGE_DIR.tmp/images.txt"
    printf '],'
    printf '"debianPackages":{'
    awk 'BEGIN{s=""} {printf "%s\"%s\":\"%s\"", s, $1, $2; s=","}' "$IMAGE_DIR.tmp/packages.txt"
    printf '}}\n'
  } >"$IMAGE_DIR.tmp/manifest.json"
  rm -rf "$IMAGE_DIR"; mv "$IMAGE_DIR.tmp" "$IMAGE_DIR"
  ln -sfn "$(basename "$IMAGE_DIR")" "$ROOT/image"
  # Older builds (the hosts run on a copy in the pool's directory, not on these).
  find "$ROOT" -maxdepth 1 -name 'image-v*' -type d ! -name "$(basename "$IMAGE_DIR")" -exec rm -rf {} +
  log "node image built in $(since "$t0"): $IMAGE_DIR ($(du -m "$IMAGE_DIR/disk.qcow2" | cut -f1) MB qcow2)"
}

print_image() {
  printf '{"kubernetesVersion":%s,"disk":%s,"kernel":%s,"initrd":%s,"manifest":%s,"keepalivedImage":%s,"haproxyImage":%s,"workloadImage":%s}\n' \
    "$(json_str "$KUBERNETES_VERSION")" "$(json_str "$IMAGE_DIR/disk.qcow2")" "$(json_str "$IMAGE_DIR/vmlinuz")" \
    "$(json_str "$IMAGE_DIR/initrd.img")" "$(json_str "$IMAGE_DIR/manifest.json")" "$(json_str "$KEEPALIVED_IMAGE")" \
    "$(json_str "$HAPROXY_IMAGE")" "$(json_str "$WORKLOAD_IMAGE")"
}

build_all() {
  need_root
  local t0
  t0="$(now_us)"
  ensure_binaries
  ensure_rootfs_base
  ensure_images
  ensure_image
  log "node image ready in $(since "$t0")"
}

do_build() {
  take_lock
  build_all
  exec 9>&-
  print_image
}

# ---------------------------------------------------------------- hosts

STATE="$ROOT/run"
VENV="$ROOT/venv"
CERT="$STATE/cert.pem"
KEY="$STATE/key.pem"
AUTH="$STATE/htpasswd"
CONF="$STATE/emulator.conf"
LOG="$STATE/sushy.log"
SUSHY_PID="$STATE/sushy.pid"
LIBVIRTD_PID="$STATE/libvirtd.pid"
VIRTLOGD_PID="$STATE/virtlogd.pid"
DNSMASQ_PID="$STATE/dnsmasq.pid"

# Host i (1-based): its domain name, MAC, address and Redfish id (the libvirt domain's UUID).
host_name() { echo "cx-machine-$1"; }
host_mac() { printf '52:54:00:c6:33:%02x' "$1"; }
host_ip() { echo "$NET_PREFIX.$((10 + $1))"; }
host_uuid() { printf '6d3c2a51-8e0b-4f7a-9c11-0000000000%02d' "$1"; }

in_ns() { ip netns exec "$NETNS" "$@"; }

ensure_host_packages() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
  command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
  command -v libvirtd >/dev/null 2>&1 || missing+=(libvirt-daemon-system libvirt-clients)
  command -v dnsmasq >/dev/null 2>&1 || missing+=(dnsmasq-base)
  /usr/bin/python3 -c 'import libvirt' 2>/dev/null || missing+=(python3-libvirt)
  /usr/bin/python3 -c 'import venv' 2>/dev/null || missing+=(python3-venv)
  command -v genisoimage >/dev/null 2>&1 || missing+=(genisoimage)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  ((${#missing[@]} == 0)) || apt_install machines "${missing[@]}"
  # sushy-tools with Debian's libvirt bindings (building libvirt-python from PyPI needs a compiler),
  # so in a venv of Debian's own Python (/usr/bin/python3, whatever python3 is first on PATH).
  if [[ ! -x "$VENV/bin/sushy-emulator" || "$(cat "$VENV/.installed" 2>/dev/null || true)" != "$SUSHY_VERSION" ]]; then
    log "installing sushy-tools==$SUSHY_VERSION into $VENV"
    rm -rf "$VENV"
    /usr/bin/python3 -m venv --system-site-packages "$VENV" >"$LOG_DIR/pip.log" 2>&1 9>&- \
      && "$VENV/bin/pip" install -q "sushy-tools==$SUSHY_VERSION" >>"$LOG_DIR/pip.log" 2>&1 9>&- \
      || DIE_LOG="$LOG_DIR/pip.log" die "installing sushy-tools==$SUSHY_VERSION failed"
    echo "$SUSHY_VERSION" >"$VENV/.installed"
  fi
}

ensure_netns() {
  if ! ip netns list | grep -qw "$NETNS"; then
    log "creating network namespace $NETNS (bridge $BRIDGE, $NET_PREFIX.0/24)"
    ip netns add "$NETNS"
  fi
  in_ns ip link set lo up
  in_ns ip link show "$BRIDGE" >/dev/null 2>&1 || in_ns ip link add "$BRIDGE" type bridge
  in_ns ip addr replace "$NET_PREFIX.1/24" dev "$BRIDGE"
  in_ns ip link set "$BRIDGE" up
  # The host's way in: a veth pair, the host end $NET_PREFIX.254 (no route out of the namespace:
  # the VMs reach nothing but each other and the host's veth address).
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name cxm-ns
    ip link set cxm-ns netns "$NETNS"
  fi
  in_ns ip link set cxm-ns master "$BRIDGE"
  in_ns ip link set cxm-ns up
  ip addr replace "$NET_PREFIX.254/24" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  local pid
  pid="$(pid_from_file "$DNSMASQ_PID" dnsmasq)"
  if [[ -z "$pid" ]]; then
    local i hosts=()
    # A fixed address per host, and no fixed name: a host is known by the name it sends (cloud-init
    # sets it, from the seed, before the network is up), as the machine cx provisions on it (its
    # control-plane machines reach each other by those names, as kubeadm and cx's VIP need).
    for ((i = 1; i <= MAX_HOSTS; i++)); do hosts+=("--dhcp-host=$(host_mac "$i"),$(host_ip "$i")"); done
    # DHCP and DNS for the VMs, bound to the bridge only. The gateway is the bridge's own address:
    # kubeadm and the kubelet pick the node's address from the default route, and the namespace
    # forwards nowhere, so nothing leaves the network.
    in_ns dnsmasq --pid-file="$DNSMASQ_PID" --log-facility="$STATE/dnsmasq.log" --conf-file=/dev/null \
      --interface="$BRIDGE" --bind-interfaces --except-interface=lo --port=53 \
      --dhcp-range="$NET_PREFIX.100,$NET_PREFIX.199,12h" --dhcp-option="option:router,$NET_PREFIX.1" \
      --dhcp-option="option:dns-server,$NET_PREFIX.1" --domain=machines.cx.test --local=/machines.cx.test/ \
      --expand-hosts --no-resolv --no-hosts --dhcp-leasefile="$STATE/dnsmasq.leases" \
      "${hosts[@]}" 9>&- || die "dnsmasq failed to start (log: $STATE/dnsmasq.log)"
  fi
}

virsh_() { virsh -c qemu:///system "$@"; }

# libvirtd (and virtlogd) run inside the namespace, so QEMU's tap devices join its bridge there;
# sushy-emulator talks to libvirtd over its unix socket from the host.
ensure_libvirtd() {
  local pid
  pid="$(pid_from_file "$LIBVIRTD_PID" libvirtd)"
  if [[ -z "$pid" ]]; then
    if pgrep -x libvirtd >/dev/null 2>&1 || pgrep -x virtlogd >/dev/null 2>&1; then
      die "a libvirtd or virtlogd this script did not start is running; this peer runs its own inside namespace $NETNS (stop that one first)"
    fi
    log "starting libvirtd and virtlogd inside namespace $NETNS"
    in_ns virtlogd -d -p "$VIRTLOGD_PID" 9>&- || die "virtlogd failed to start"
    in_ns libvirtd -d -p "$LIBVIRTD_PID" 9>&- || die "libvirtd failed to start"
    local deadline=$((SECONDS + START_TIMEOUT))
    until virsh_ version >/dev/null 2>&1; do
      ((SECONDS < deadline)) || die "libvirtd did not answer within ${START_TIMEOUT}s"
      sleep 0.5
    done
  fi
  # sushy-tools' virtual media keeps the inserted images in the storage pool named `default`.
  if ! virsh_ pool-info default >/dev/null 2>&1; then
    mkdir -p "$POOL_DIR"
    virsh_ pool-define-as default dir --target "$POOL_DIR" >/dev/null || die "defining the storage pool default failed"
  fi
  if [[ "$(virsh_ pool-info default 2>/dev/null)" != *running* ]]; then
    virsh_ pool-start default >/dev/null || die "starting the storage pool default failed"
  fi
}

domain_xml() { # i disk console
  local i="$1"
  cat <<XML
<domain type='qemu'>
  <name>$(host_name "$i")</name>
  <uuid>$(host_uuid "$i")</uuid>
  <memory unit='MiB'>$VM_MEMORY_MIB</memory>
  <vcpu>$VM_CPUS</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$POOL_DIR/cx-machines-vmlinuz</kernel>
    <initrd>$POOL_DIR/cx-machines-initrd.img</initrd>
    <cmdline>root=/dev/vda rw console=ttyS0 net.ifnames=0</cmdline>
    <boot dev='hd'/>
  </os>
  <cpu mode='maximum'/>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='$2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='bridge'>
      <mac address='$(host_mac "$i")'/>
      <source bridge='$BRIDGE'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='$3'/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path='$3'/>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
XML
}

# ensure_hosts N: defines N powered-off domains on copy-on-write overlays of the node image.
ensure_hosts() {
  local n="$1" i name disk console key
  key="$(basename "$(readlink -f "$IMAGE_DIR")")"
  # The node image where libvirt's QEMU (user libvirt-qemu) can read it: in the pool's directory.
  if [[ "$(cat "$POOL_DIR/cx-machines-image.key" 2>/dev/null || true)" != "$key" ]]; then
    log "copying the node image into $POOL_DIR"
    cp "$IMAGE_DIR/disk.qcow2" "$POOL_DIR/cx-machines-base.qcow2"
    cp "$IMAGE_DIR/vmlinuz" "$POOL_DIR/cx-machines-vmlinuz"
    cp "$IMAGE_DIR/initrd.img" "$POOL_DIR/cx-machines-initrd.img"
    chmod 0644 "$POOL_DIR"/cx-machines-{base.qcow2,vmlinuz,initrd.img}
    echo "$key" >"$POOL_DIR/cx-machines-image.key"
    for ((i = 1; i <= MAX_HOSTS; i++)); do rm -f "$POOL_DIR/$(host_name "$i").qcow2"; done
  fi
  for ((i = 1; i <= n; i++)); do
    name="$(host_name "$i")"
    disk="$POOL_DIR/$name.qcow2"
    console="$STATE/console-$i.log"
    if virsh_ dominfo "$name" >/dev/null 2>&1 && [[ -f "$disk" ]]; then continue; fi
    virsh_ destroy "$name" >/dev/null 2>&1 || true
    virsh_ undefine "$name" >/dev/null 2>&1 || true
    qemu-img create -q -f qcow2 -F qcow2 -b "$POOL_DIR/cx-machines-base.qcow2" "$disk" \
      || die "qemu-img create (overlay for $name) failed"
    domain_xml "$i" "$disk" "$console" >"$STATE/$name.xml"
    virsh_ define "$STATE/$name.xml" >/dev/null || die "virsh define $name failed ($STATE/$name.xml)"
    log "defined $name ($(host_mac "$i"), $(host_ip "$i")), powered off"
  done
  echo "$n" >"$STATE/hosts"
}

ensure_tls_and_auth() {
  if [[ ! -s "$CERT" || ! -s "$KEY" ]] || ! openssl x509 -checkend 86400 -noout -in "$CERT" >/dev/null 2>&1; then
    ( umask 077
      openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 -keyout "$KEY" -out "$CERT" \
        -subj "/CN=cx test Redfish BMC (machines)" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -addext "basicConstraints=critical,CA:TRUE" >>"$STATE/openssl.log" 2>&1 9>&- ) \
      || { DIE_LOG="$STATE/openssl.log"; die "creating the certificate with openssl failed"; }
    chmod 644 "$CERT"
  fi
  if [[ ! -s "$AUTH" ]]; then
    ( umask 077
      "$VENV/bin/python" -c 'import bcrypt,sys; print(sys.argv[1]+":"+bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(rounds=5)).decode())' "$USERNAME" "$PASSWORD" >"$AUTH" ) \
      || die "writing $AUTH failed"
  fi
}

render_conf() { # n
  local i ids=""
  for ((i = 1; i <= $1; i++)); do ids+="'$(host_uuid "$i")', "; done
  echo "# Generated by test/peers/machines.sh on every start of sushy-emulator."
  echo "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'"
  echo "SUSHY_EMULATOR_LISTEN_PORT = $PORT"
  echo "SUSHY_EMULATOR_SSL_CERT = '$CERT'"
  echo "SUSHY_EMULATOR_SSL_KEY = '$KEY'"
  echo "SUSHY_EMULATOR_AUTH_FILE = '$AUTH'"
  echo "SUSHY_EMULATOR_LIBVIRT_URI = 'qemu:///system'"
  echo "SUSHY_EMULATOR_ALLOWED_INSTANCES = [$ids]"
  echo "SUSHY_EMULATOR_IGNORE_BOOT_DEVICE = False"
}

sushy_ready() {
  curl -fsS --max-time 5 --cacert "$CERT" -u "$USERNAME:$PASSWORD" "https://127.0.0.1:$1/redfish/v1/Systems" 2>/dev/null \
    | grep -q "$(host_uuid 1)"
}

ensure_sushy() {
  local n="$1" pid stamp
  stamp="$(render_conf "$n" | sha256sum | cut -c1-12)"
  pid="$(pid_from_file "$SUSHY_PID" 'sushy-emulator|python.*')"
  if [[ -n "$pid" && "$(cat "$STATE/sushy.stamp" 2>/dev/null || true)" == "$stamp" ]] && sushy_ready "$PORT"; then return 0; fi
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid" sushy-emulator; fi
  port_in_use "$PORT" && die "port 127.0.0.1:$PORT is already in use; set CX_MACHINES_REDFISH_PORT to a free port"
  # sushy's server binds without SO_REUSEADDR: after a restart, wait out the old connections'
  # TIME-WAIT (at most a minute on Linux).
  local tw_deadline=$((SECONDS + 70))
  while [[ -n "$(ss -Htan state time-wait "( sport = :$PORT )" 2>/dev/null)" ]] && ((SECONDS < tw_deadline)); do sleep 1; done
  render_conf "$n" >"$CONF"
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  log "starting sushy-emulator (libvirt driver) on https://127.0.0.1:$PORT (log: $LOG)"
  SUSHY_EMULATOR_CONFIG="$CONF" setsid nohup "$VENV/bin/sushy-emulator" --config "$CONF" </dev/null >>"$LOG" 2>&1 9>&- &
  local spid=$! deadline=$((SECONDS + START_TIMEOUT))
  echo "$spid" >"$SUSHY_PID"
  until sushy_ready "$PORT"; do
    alive "$spid" || DIE_LOG="$LOG" die "sushy-emulator exited during startup"
    ((SECONDS < deadline)) || DIE_LOG="$LOG" die "sushy-emulator did not list the hosts within ${START_TIMEOUT}s"
    sleep 0.5
  done
  echo "$stamp" >"$STATE/sushy.stamp"
}

print_hosts() { # n
  local i systems="" sep=""
  for ((i = 1; i <= $1; i++)); do
    systems+="$sep{\"id\":$(json_str "$(host_uuid "$i")"),\"name\":$(json_str "$(host_name "$i")"),\"mac\":$(json_str "$(host_mac "$i")"),\"ip\":$(json_str "$(host_ip "$i")"),\"console\":$(json_str "$STATE/console-$i.log")}"
    sep=","
  done
  printf '{"url":%s,"username":%s,"password":%s,"caFile":%s,"systems":[%s],' \
    "$(json_str "https://127.0.0.1:$PORT")" "$(json_str "$USERNAME")" "$(json_str "$PASSWORD")" "$(json_str "$CERT")" "$systems"
  printf '"network":{"namespace":%s,"cidr":%s,"hostAddress":%s,"dnsServer":%s,"dhcpRange":%s,"domain":"machines.cx.test","freeAddresses":%s},' \
    "$(json_str "$NETNS")" "$(json_str "$NET_PREFIX.0/24")" "$(json_str "$NET_PREFIX.254")" "$(json_str "$NET_PREFIX.1")" \
    "$(json_str "$NET_PREFIX.100-$NET_PREFIX.199")" "$(json_str "$NET_PREFIX.200-$NET_PREFIX.250")"
  printf '"accel":"tcg","memoryMiB":%s,"cpus":%s,"libvirtUri":"qemu:///system","image":' "$VM_MEMORY_MIB" "$VM_CPUS"
  print_image | tr -d '\n'
  printf '}\n'
}

do_start() {
  local n="${1:-2}"
  [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= MAX_HOSTS)) || die "N must be 1..$MAX_HOSTS (got '$n')"
  take_lock
  build_all
  mkdir -p "$STATE"
  DIE_LOG="$LOG"
  ensure_host_packages
  ensure_netns
  ensure_libvirtd
  ensure_hosts "$n"
  ensure_tls_and_auth
  ensure_sushy "$n"
  exec 9>&-
  log "ready: $n host(s) behind https://127.0.0.1:$PORT"
  print_hosts "$n"
}

do_stop() {
  take_lock
  local pid i name
  pid="$(pid_from_file "$SUSHY_PID" 'sushy-emulator|python.*')"
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid" sushy-emulator; fi
  rm -f "$SUSHY_PID"
  if [[ -n "$(pid_from_file "$LIBVIRTD_PID" libvirtd)" ]]; then
    for ((i = 1; i <= MAX_HOSTS; i++)); do
      name="$(host_name "$i")"
      virsh_ dominfo "$name" >/dev/null 2>&1 || continue
      timeout 60 virsh -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
      timeout 60 virsh -c qemu:///system undefine "$name" >/dev/null 2>&1 || true
      rm -f "$POOL_DIR/$name.qcow2"
    done
    pid="$(pid_from_file "$LIBVIRTD_PID" libvirtd)"
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" libvirtd
  fi
  pid="$(pid_from_file "$VIRTLOGD_PID" virtlogd)"
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid" virtlogd; fi
  pid="$(pid_from_file "$DNSMASQ_PID" dnsmasq)"
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid" dnsmasq; fi
  ip link del "$HOST_IF" 2>/dev/null || true
  ip netns del "$NETNS" 2>/dev/null || true
  log "stopped"
}

# ---------------------------------------------------------------- smoke

# smoke: what cx's bare-metal path will do, by hand, on host 1: a NoCloud seed ISO (label cidata,
# user-data + meta-data) served on loopback and inserted through Redfish virtual media, power on
# through Redfish, cloud-init runs `kubeadm init` with a minimal configuration and only the
# preloaded images (imagePullPolicy Never; the network has no way out anyway). Prints the
# measured times and memory as one line of JSON, and powers the host off (always).
SMOKE_BOOT_TIMEOUT=${CX_MACHINES_BOOT_TIMEOUT:-900}
redfish() { # METHOD PATH [BODY]
  curl -fsS --max-time 60 --cacert "$CERT" -u "$USERNAME:$PASSWORD" -X "$1" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "https://127.0.0.1:$PORT$2"
}
do_smoke() {
  local started ip console seed="$STATE/seed" t0
  started="$(do_start 1)" || exit 1
  # Global: the EXIT trap (power off, stop serving the seed) runs after this function returned.
  SMOKE_ID="$(host_uuid 1)"; SMOKE_HTTP_PID=""
  local id="$SMOKE_ID"
  ip="$(host_ip 1)"; console="$STATE/console-1.log"
  # A fresh disk (the host is powered off): cloud-init and kubeadm run as on a first boot.
  qemu-img create -q -f qcow2 -F qcow2 -b "$POOL_DIR/cx-machines-base.qcow2" "$POOL_DIR/$(host_name 1).qcow2" \
    || die "qemu-img create (fresh overlay for $(host_name 1)) failed"
  rm -rf "$seed"; mkdir -p "$seed/iso"
  printf 'instance-id: cx-smoke-%s\nlocal-hostname: %s\n' "$(date +%s)" "$(host_name 1)" >"$seed/iso/meta-data"
  sed -e "s/@KUBERNETES_VERSION@/v$KUBERNETES_VERSION/g" -e "s/@NODE_IP@/$ip/g" -e "s/@NODE_NAME@/$(host_name 1)/g" \
    "$FIXTURES/smoke-user-data.yaml.in" >"$seed/iso/user-data"
  genisoimage -quiet -output "$seed/seed.iso" -volid cidata -joliet -rock "$seed/iso/user-data" "$seed/iso/meta-data" \
    || die "genisoimage failed"
  # Served on loopback for sushy-emulator to fetch, as cx's sddc would serve it to a BMC.
  local hport=38011
  python3 -m http.server --bind 127.0.0.1 --directory "$seed" "$hport" >"$seed/http.log" 2>&1 &
  SMOKE_HTTP_PID=$!
  cleanup_smoke() {
    set +e
    redfish POST "/redfish/v1/Systems/$SMOKE_ID/Actions/ComputerSystem.Reset" '{"ResetType":"ForceOff"}' >/dev/null 2>&1
    [[ -n "$SMOKE_HTTP_PID" ]] && kill "$SMOKE_HTTP_PID" 2>/dev/null
  }
  trap cleanup_smoke EXIT
  sleep 1
  redfish POST "/redfish/v1/Systems/$id/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia" \
    "{\"Image\":\"http://127.0.0.1:$hport/seed.iso\",\"Inserted\":true,\"WriteProtected\":true}" >/dev/null \
    || DIE_LOG="$LOG" die "Redfish InsertMedia failed"
  : >"$console"
  t0=$SECONDS
  redfish POST "/redfish/v1/Systems/$id/Actions/ComputerSystem.Reset" '{"ResetType":"On"}' >/dev/null \
    || DIE_LOG="$LOG" die "Redfish power on failed"
  log "powered $(host_name 1) on through Redfish; waiting up to ${SMOKE_BOOT_TIMEOUT}s (console: $console)"
  local t_login="" t_cloudinit="" t_kubelet="" t_init="" t_api="" rc="" rss=""
  while ((SECONDS - t0 < SMOKE_BOOT_TIMEOUT)); do
    [[ -z "$t_login" ]] && grep -q 'login:' "$console" 2>/dev/null && t_login=$((SECONDS - t0)) && log "login prompt after ${t_login}s"
    [[ -z "$t_cloudinit" ]] && grep -q 'CX-MARK runcmd' "$console" 2>/dev/null && t_cloudinit=$((SECONDS - t0)) && log "cloud-init runcmd after ${t_cloudinit}s"
    [[ -z "$t_kubelet" ]] && grep -q 'CX-MARK kubelet active' "$console" 2>/dev/null && t_kubelet=$((SECONDS - t0)) && log "kubelet running after ${t_kubelet}s"
    if [[ -z "$t_init" ]] && grep -q 'CX-MARK kubeadm-init exit' "$console" 2>/dev/null; then
      t_init=$((SECONDS - t0)); rc="$(sed -n 's/.*CX-MARK kubeadm-init exit \([0-9]*\).*/\1/p' "$console" | head -n1)"
      log "kubeadm init exited $rc after ${t_init}s"
    fi
    if [[ -n "$t_init" && -z "$t_api" ]] && curl -ksf --max-time 5 "https://$ip:6443/readyz" >/dev/null 2>&1; then
      t_api=$((SECONDS - t0)); log "the API server answers /readyz from the host at https://$ip:6443 after ${t_api}s"
    fi
    [[ -n "$t_init" && ( -n "$t_api" || "$rc" != 0 ) ]] && grep -q 'CX-MARK done' "$console" && break
    sleep 2
  done
  rss="$(ps -o rss= -C qemu-system-x86_64 | sort -n | tail -n1 | tr -d ' ')"
  printf '{"loginPromptSeconds":%s,"cloudInitRuncmdSeconds":%s,"kubeletActiveSeconds":%s,"kubeadmInitSeconds":%s,"kubeadmInitExit":%s,"apiReadyFromHostSeconds":%s,"qemuRssMiB":%s,"console":%s}\n' \
    "${t_login:-null}" "${t_cloudinit:-null}" "${t_kubelet:-null}" "${t_init:-null}" "${rc:-null}" "${t_api:-null}" \
    "$(( ${rss:-0} / 1024 ))" "$(json_str "$console")"
  [[ "$rc" == 0 && -n "$t_api" ]] || DIE_LOG="$console" die "smoke failed (console: $console)"
}

case "${1:-start}" in
  build) do_build ;;
  start) shift || true; do_start "${1:-2}" ;;
  stop) do_stop ;;
  smoke) do_smoke ;;
  *) echo "usage: $0 build | start [N] | stop | smoke" >&2; exit 2 ;;
esac
