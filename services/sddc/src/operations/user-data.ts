/**
 * The cloud-init user data that makes a machine of a real provider join its cluster the kubeadm
 * way: the first control-plane machine runs `kubeadm init`, the other control-plane machines join
 * as control plane (the cluster PKI is written to them), workers join with the bootstrap token.
 */
import { createHmac } from 'node:crypto';
import {
  APISERVER_PORT,
  controlPlaneVipFiles,
  kubeVipFiles,
  CONTROL_PLANE_TAINT,
  renderCloudInit,
  VIP_API_PORT,
  type KubeadmRole,
  type StaticFile,
} from '@cx/k8s';
import type { ClusterBootstrap, MachineSpec } from '@cx/sddc-contract';

const POD_SUBNET = '10.244.0.0/16';
const SERVICE_SUBNET = '10.96.0.0/12';
const API_PORT = 6443;

/** Images of the control-plane VIP's static pods (configuration `ha.*`). */
export interface VipImages {
  keepalivedImage: string;
  haproxyImage: string;
  kubeVipImage: string;
}

export function machineUserData(spec: MachineSpec, bootstrap: ClusterBootstrap, images: VipImages): string {
  // The create workflow names control-plane machines <cluster>-cp-<i>; machine 0 initialises the cluster.
  const firstControlPlane = spec.name.replace(/-cp-\d+$/, '-cp-0');
  const role: KubeadmRole =
    spec.role === 'worker' ? 'join-worker' : spec.name === firstControlPlane ? 'init' : 'join-control-plane';
  const initName = spec.role === 'control-plane' ? firstControlPlane : `${bootstrap.clusterName}-cp-0`;
  const vip = bootstrap.controlPlane?.vip;
  const controlPlaneNames = Array.from(
    { length: bootstrap.controlPlane?.count ?? 1 },
    (_, i) => `${bootstrap.clusterName}-cp-${i}`,
  );
  const kubeVip = bootstrap.controlPlane?.vipManager === 'kube-vip';
  const vipInterface = bootstrap.controlPlane?.vipInterface ?? 'eth0';
  let vipFiles: StaticFile[] = [];
  if (vip && spec.role === 'control-plane') {
    vipFiles = kubeVip
      ? kubeVipFiles({ vip, interface: vipInterface, image: images.kubeVipImage, initialising: role === 'init' })
      : controlPlaneVipFiles({
          clusterName: bootstrap.clusterName,
          vip,
          interface: vipInterface,
          controlPlaneNames,
          self: spec.name,
          unicast: bootstrap.controlPlane?.vipUnicast === true,
          ...images,
        });
  }
  return renderCloudInit(
    {
      clusterName: bootstrap.clusterName,
      kubernetesVersion: spec.kubernetesVersion,
      // With a VIP, every node reaches the API through it (haproxy on the control-plane machines, or
      // kube-vip's leader straight to its kube-apiserver); without, on the first control-plane machine by its host name.
      controlPlaneEndpoint: vip
        ? `${vip.includes(':') ? `[${vip}]` : vip}:${kubeVip ? APISERVER_PORT : VIP_API_PORT}`
        : `${initName}:${API_PORT}`,
      podSubnet: POD_SUBNET,
      serviceSubnet: SERVICE_SUBNET,
      certSans: vip ? [vip, ...controlPlaneNames] : [initName],
      nodeName: spec.name,
      role,
      ...(vipFiles.length > 0 ? { extraFiles: vipFiles } : {}),
      // The cluster's first control planes join in order; one made later (a replacement under
      // another name) joins a control plane already up.
      ...(role === 'join-control-plane' && controlPlaneNames.indexOf(spec.name) > 0
        ? { joinAfter: controlPlaneNames.slice(0, controlPlaneNames.indexOf(spec.name)) }
        : {}),
      schedulableControlPlane:
        spec.role === 'control-plane' &&
        !(spec.taints ?? []).some((t) => t.key === CONTROL_PLANE_TAINT.key && t.effect === CONTROL_PLANE_TAINT.effect),
      labels: spec.labels ?? {},
      taints: spec.taints ?? [],
      bootstrapToken: clusterBootstrapToken(bootstrap),
    },
    bootstrap.pki,
  );
}

/**
 * Where the cluster's Kubernetes API answers once a machine booted with `machineUserData` is up
 * (rule O3, for providers that boot hosts and do not know it themselves): the VIP when the cluster
 * has one (haproxy's port, or kube-apiserver's behind kube-vip), else the first control-plane
 * machine's kube-apiserver at its first address. Undefined for other machines, or without an address.
 */
export function machineApiEndpoint(
  spec: MachineSpec,
  bootstrap: ClusterBootstrap,
  addresses: readonly string[],
): string | undefined {
  if (spec.role !== 'control-plane') return undefined;
  const url = (host: string, port: number): string => `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const vip = bootstrap.controlPlane?.vip;
  if (vip) return url(vip, bootstrap.controlPlane?.vipManager === 'kube-vip' ? APISERVER_PORT : VIP_API_PORT);
  const address = addresses[0];
  return spec.name.endsWith('-cp-0') && address ? url(address, API_PORT) : undefined;
}

/**
 * The cluster's bootstrap token, derived from its CA key so that every machine's user data carries
 * the same one without cx storing another secret (kubeadm's format `[a-z0-9]{6}.[a-z0-9]{16}`).
 */
export function clusterBootstrapToken(bootstrap: ClusterBootstrap): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = createHmac('sha256', bootstrap.pki.ca.keyPem)
    .update(`cx bootstrap token ${bootstrap.clusterName}`)
    .digest();
  const text = [...bytes.subarray(0, 22)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${text.slice(0, 6)}.${text.slice(6, 22)}`;
}
