#!/usr/bin/env bash
# mmdebstrap --customize-hook for the machines peer's node image: runs on the host with the new
# root filesystem in $1. What kubeadm and the kubelet need from the OS, configured the way
# kubeadm's docs ask (overlay + br_netfilter, forwarding, containerd with the systemd cgroup driver).
set -euo pipefail
R="$1"

echo cx-node >"$R/etc/hostname"
# The disk is one ext4 filesystem without a partition table (the domain boots its kernel directly).
echo '/dev/vda / ext4 defaults,discard 0 1' >"$R/etc/fstab"

printf 'overlay\nbr_netfilter\n' >"$R/etc/modules-load.d/kubernetes.conf"
cat >"$R/etc/sysctl.d/90-kubernetes.conf" <<'CONF'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
CONF

# Names resolve through the network's DNS (dnsmasq of the peer): the machines of a cluster reach
# each other by host name. Static, as the image has no resolver daemon.
printf 'nameserver %s\nsearch %s\n' "${CX_DNS_SERVER:?}" "${CX_DNS_DOMAIN:?}" >"$R/etc/resolv.conf"

# CNI plugins where CNI addons (and containerd's default) look for them.
mkdir -p "$R/opt/cni/bin" "$R/etc/cni/net.d"
cp -a "$R"/usr/lib/cni/. "$R/opt/cni/bin/"

mkdir -p "$R/etc/containerd"
cat >"$R/etc/containerd/config.toml" <<CONF
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:${CX_PAUSE_TAG:?}"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/opt/cni/bin"
  conf_dir = "/etc/cni/net.d"
  conf_template = "/etc/containerd/cni-template.json"
CONF
# A node-local pod network until a pod network addon installs its own: containerd writes this
# bridge configuration with the node's pod CIDR once the kubelet has it, and the node turns Ready.
# Pods reach pods and services on their own node only (no routes between nodes).
cat >"$R/etc/containerd/cni-template.json" <<'CONF'
{
  "cniVersion": "1.0.0",
  "name": "containerd-net",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [{{range $i, $range := .PodCIDRRanges}}{{if $i}}, {{end}}[{"subnet": "{{$range}}"}]{{end}}],
        "routes": [{{range $i, $route := .Routes}}{{if $i}}, {{end}}{"dst": "{{$route}}"}{{end}}]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CONF

# cloud-init: NoCloud only (a seed ISO labelled cidata), networking by systemd-networkd.
cat >"$R/etc/cloud/cloud.cfg.d/90-cx.cfg" <<'CONF'
datasource_list: [ NoCloud, None ]
system_info:
  network:
    renderers: [ networkd ]
CONF

# Kubernetes binaries and the kubelet's unit, as the upstream packages lay them out.
install -m 0755 "${CX_NODE_BIN:?}"/kubelet "${CX_NODE_BIN}"/kubeadm "${CX_NODE_BIN}"/kubectl "$R/usr/bin/"
mkdir -p "$R/etc/systemd/system/kubelet.service.d" "$R/etc/kubernetes/manifests" "$R/var/lib/kubelet"
cat >"$R/etc/systemd/system/kubelet.service" <<'CONF'
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target containerd.service
After=network-online.target containerd.service

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
CONF
cat >"$R/etc/systemd/system/kubelet.service.d/10-kubeadm.conf" <<'CONF'
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
CONF

# The control-plane images, preloaded: the image's own containerd imports them into its k8s.io
# namespace now, on the build host (seconds), instead of on first boot (minutes under emulation).
mkdir -p "$R/proc" "$R/sys" "$R/dev" "$R/run/containerd"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
cleanup() {
  [[ -n "${CONTAINERD_PID:-}" ]] && kill "$CONTAINERD_PID" 2>/dev/null && wait "$CONTAINERD_PID" 2>/dev/null
  umount -l "$R/run" "$R/dev" "$R/sys" "$R/proc" 2>/dev/null || true
}
trap cleanup EXIT
mkdir -p "$R/var/lib/cx"
cp "${CX_IMAGES_DIR:?}"/*.tar "$R/var/lib/cx/"
chroot "$R" containerd --config /etc/containerd/config.toml --log-level warn &
CONTAINERD_PID=$!
for _ in $(seq 1 60); do chroot "$R" ctr version >/dev/null 2>&1 && break; sleep 0.5; done
for f in "$R"/var/lib/cx/*.tar; do
  chroot "$R" ctr -n k8s.io images import "/var/lib/cx/$(basename "$f")"
  rm -f "$f"
done
chroot "$R" ctr -n k8s.io images ls -q >"${CX_IMAGES_OUT:?}"
kill "$CONTAINERD_PID"; wait "$CONTAINERD_PID" 2>/dev/null || true; CONTAINERD_PID=
cleanup
trap - EXIT

chroot "$R" systemctl enable systemd-networkd.service kubelet.service containerd.service >/dev/null 2>&1
# keepalived and haproxy are in the root filesystem only to be copied into their images.
chroot "$R" systemctl disable keepalived.service haproxy.service >/dev/null 2>&1 || true
# Login on the serial console as root without a password: a test image, on a private network.
chroot "$R" passwd -d root >/dev/null
# What the image holds, for the manifest.
chroot "$R" dpkg-query -W -f '${Package} ${Version}\n' >"${CX_PACKAGES_OUT:?}"
