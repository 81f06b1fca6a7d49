/**
 * kubeadm configuration (kubeadm.k8s.io/v1beta4) and cloud-init user data for the machines of a
 * tenant cluster on real infrastructure. cx generates the PKI itself and writes it to control-plane
 * machines, so `kubeadm init` uses cx's CAs (the cluster cx later signs kubeconfigs for) and joins
 * need no certificate upload; workers join with a bootstrap token and the CA's public-key pin.
 */
import { createHash, randomBytes } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import { stringify } from 'yaml';
import type { ClusterPki } from './pki.js';

export type KubeadmRole = 'init' | 'join-control-plane' | 'join-worker';

export interface KubeadmMachine {
  clusterName: string;
  /** `1.31.4`, without the `v`. */
  kubernetesVersion: string;
  /** host:port every node reaches the API at: the control-plane VIP (or the first control plane). */
  controlPlaneEndpoint: string;
  podSubnet: string;
  serviceSubnet: string;
  /** Extra names and addresses of the API serving certificate (the VIP, a load balancer). */
  certSans: string[];
  nodeName: string;
  role: KubeadmRole;
  /** Three-node converged clusters run workloads on their control-plane nodes. */
  schedulableControlPlane: boolean;
  labels: Record<string, string>;
  taints: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
  /** `abcdef.0123456789abcdef`: how joining nodes authenticate to the API. */
  bootstrapToken: string;
  /** Files cloud-init writes besides kubeadm's (the control-plane VIP's static pods and their configuration). */
  extraFiles?: Array<{ path: string; content: string; permissions: string }>;
  /**
   * Control-plane nodes that must be Ready before this one joins: those before it. Control planes
   * join one at a time, as kubeadm advises (and Cluster API does): each brings a new etcd member,
   * and several joining at once on slow machines left etcd, and so the API, unable to answer.
   */
  joinAfter?: string[];
}

const API_VERSION = 'kubeadm.k8s.io/v1beta4';
/** The taint kubeadm (and cx) put on control-plane nodes that run no workloads. */
export const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const };

/**
 * kubeadm's waits, stretched for slow machines (software-emulated VMs, busy hypervisors): with its
 * defaults (one minute for an API call, four for the control plane to come up) an API server that
 * takes a minute to start leaves `kubeadm init` failed half-way.
 */
const TIMEOUTS = {
  controlPlaneComponentHealthCheck: '15m0s',
  kubeletHealthCheck: '10m0s',
  kubernetesAPICall: '5m0s',
  etcdAPICall: '5m0s',
  tlsBootstrap: '10m0s',
  discovery: '15m0s',
};
/** How many times the bootstrap script runs kubeadm before it gives up, and the pause between. */
export const KUBEADM_ATTEMPTS = 3;
const KUBEADM_RETRY_PAUSE_SECONDS = 10;
/** How long a control plane waits for those before it to be Ready (`joinAfter`) before it joins anyway. */
export const JOIN_TURN_WAIT_SECONDS = 1800;
const JOIN_TURN_POLL_SECONDS = 10;

/**
 * Whether a node takes new workloads: not cordoned, and without the control-plane taint kubeadm
 * puts on dedicated control-plane nodes. Other taints pick workloads rather than refuse them all.
 */
export function takesWorkloads(node: {
  spec?: { unschedulable?: boolean; taints?: Array<{ key: string; effect: string }> };
}): boolean {
  return (
    node.spec?.unschedulable !== true &&
    !(node.spec?.taints ?? []).some((t) => t.key === CONTROL_PLANE_TAINT.key && t.effect === CONTROL_PLANE_TAINT.effect)
  );
}
const KUBEADM_CONFIG_PATH = '/run/cx/kubeadm.yaml';
/** The bootstrap token's kubeconfig: kubeadm lets it read nodes (ClusterRole kubeadm:get-nodes). */
const TURN_KUBECONFIG_PATH = '/run/cx/join-turn.kubeconfig';
const BOOTSTRAP_SCRIPT_PATH = '/usr/local/sbin/cx-bootstrap';

/** A bootstrap token in kubeadm's format (`[a-z0-9]{6}.[a-z0-9]{16}`). */
export function bootstrapToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number): string => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}

/** kubeadm's `--discovery-token-ca-cert-hash`: SHA-256 of the CA's SubjectPublicKeyInfo. */
export function caCertHash(caPem: string): string {
  return `sha256:${createHash('sha256')
    .update(Buffer.from(new X509Certificate(caPem).publicKey.rawData))
    .digest('hex')}`;
}

/** The kubeadm configuration documents for one machine, as YAML. */
export function renderKubeadmConfig(machine: KubeadmMachine, caPem: string): string {
  // The API server refuses a node whose taints repeat a key and effect, and kubeadm's
  // mark-control-plane phase would then never finish: the control-plane taint may come from both
  // the machine's role and the taints it was given.
  const taints = uniqueTaints([
    ...(machine.role !== 'join-worker' && !machine.schedulableControlPlane ? [CONTROL_PLANE_TAINT] : []),
    ...machine.taints,
  ]);
  const nodeRegistration = {
    name: machine.nodeName,
    criSocket: 'unix:///var/run/containerd/containerd.sock',
    taints,
    kubeletExtraArgs:
      Object.keys(machine.labels).length > 0
        ? [
            {
              name: 'node-labels',
              value: Object.entries(machine.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
            },
          ]
        : [],
    // Static pods of our own (the VIP's) are already in the manifests directory kubeadm wants empty.
    ...((machine.extraFiles ?? []).some((f) => f.path.startsWith('/etc/kubernetes/manifests/'))
      ? { ignorePreflightErrors: ['DirAvailable--etc-kubernetes-manifests'] }
      : {}),
  };
  if (machine.role === 'init') {
    return [
      {
        apiVersion: API_VERSION,
        kind: 'InitConfiguration',
        bootstrapTokens: [
          {
            token: machine.bootstrapToken,
            ttl: '24h0m0s',
            usages: ['signing', 'authentication'],
            groups: ['system:bootstrappers:kubeadm:default-node-token'],
          },
        ],
        nodeRegistration,
        timeouts: TIMEOUTS,
      },
      {
        apiVersion: API_VERSION,
        kind: 'ClusterConfiguration',
        clusterName: machine.clusterName,
        kubernetesVersion: `v${machine.kubernetesVersion}`,
        controlPlaneEndpoint: machine.controlPlaneEndpoint,
        certificatesDir: '/etc/kubernetes/pki',
        encryptionAlgorithm: 'ECDSA-P256',
        networking: { podSubnet: machine.podSubnet, serviceSubnet: machine.serviceSubnet, dnsDomain: 'cluster.local' },
        apiServer: { certSANs: machine.certSans, extraArgs: [{ name: 'profiling', value: 'false' }] },
        etcd: { local: { dataDir: '/var/lib/etcd' } },
      },
    ]
      .map((doc) => stringify(doc))
      .join('---\n');
  }
  return stringify({
    apiVersion: API_VERSION,
    kind: 'JoinConfiguration',
    nodeRegistration,
    timeouts: TIMEOUTS,
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: machine.controlPlaneEndpoint,
        token: machine.bootstrapToken,
        caCertHashes: [caCertHash(caPem)],
      },
    },
    ...(machine.role === 'join-control-plane' ? { controlPlane: { localAPIEndpoint: { bindPort: 6443 } } } : {}),
  });
}

/** The taints with each key and effect once, the first occurrence kept. */
function uniqueTaints(taints: KubeadmMachine['taints']): KubeadmMachine['taints'] {
  return taints.filter((t, i) => taints.findIndex((u) => u.key === t.key && u.effect === t.effect) === i);
}

/**
 * How a failed kubeadm is resumed rather than undone, by role: once `marker` and `also` exist
 * (unless `leftover` was on the disk before the script ran: an earlier cluster's, on a reused
 * host), the next attempt skips `skipPhases`, which are done, and goes on from there (idempotent).
 * - init: once the control plane's static pods run, from the wait for them: on a slow machine the
 *   API server can need longer than kubeadm's own 10 s requests allow to settle, and starting
 *   again from nothing would only be slower.
 * - a control plane's join: once its etcd member was added (etcd-join writes etcd.yaml after
 *   that), from etcd-join, which skips an existing member and promotes it: kubeadm reads the member
 *   list once with a 2 s deadline after adding a learner, which a slow etcd misses, and undoing
 *   the join would remove the member only to add it again.
 */
const RESUMES: Partial<
  Record<KubeadmRole, { marker: string; also: string; leftover: string; skipPhases: string; what: string }>
> = {
  init: {
    marker: '/etc/kubernetes/manifests/kube-apiserver.yaml',
    also: '/etc/kubernetes/admin.conf',
    leftover: '/etc/kubernetes/admin.conf',
    skipPhases: 'preflight,certs,kubeconfig,etcd,control-plane,kubelet-start',
    what: 'with the control plane started; resuming from its wait',
  },
  'join-control-plane': {
    marker: '/etc/kubernetes/manifests/etcd.yaml',
    also: '/var/lib/kubelet/config.yaml',
    leftover: '/etc/kubernetes/manifests/etcd.yaml',
    skipPhases: 'preflight,control-plane-prepare,check-etcd,kubelet-start',
    what: "after adding this node's etcd member; resuming from etcd-join",
  },
};

/**
 * The script cloud-init runs: kubeadm until it succeeds, at most KUBEADM_ATTEMPTS times. A failed
 * attempt that got far enough is resumed (RESUMES); any other is undone with `kubeadm reset`, which
 * also deletes what cx wrote under /etc/kubernetes (the CAs, the VIP's static pods), so those are
 * saved first and put back before the retry. A control plane with `joinAfter` first waits its
 * turn (see KubeadmMachine.joinAfter).
 */
export function renderBootstrapScript(
  command: string[],
  role: KubeadmRole,
  keepsKubernetesFiles: boolean,
  joinAfter: string[] = [],
): string {
  const saved = '/var/lib/cx/bootstrap-files.tar';
  const resume = RESUMES[role];
  return [
    '#!/bin/sh',
    '# Written by cx: bootstraps this node with kubeadm, retrying a failed attempt.',
    'set -u',
    'umask 077',
    ...joinAfter.flatMap((node) => [
      `# Control planes join one at a time: ${node} first.`,
      'waited=0',
      `until [ "$(kubectl --kubeconfig ${TURN_KUBECONFIG_PATH} --request-timeout=10s get node ${node} -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; do`,
      `  if [ "$waited" -ge ${JOIN_TURN_WAIT_SECONDS} ]; then`,
      `    echo "cx-bootstrap: ${node} is not Ready after ${JOIN_TURN_WAIT_SECONDS} s; joining without waiting for it" >&2`,
      '    break',
      '  fi',
      `  [ "$waited" = 0 ] && echo "cx-bootstrap: waiting for ${node} to be Ready before joining the control plane" >&2`,
      `  sleep ${JOIN_TURN_POLL_SECONDS}`,
      `  waited=$((waited + ${JOIN_TURN_POLL_SECONDS}))`,
      'done',
    ]),
    ...(keepsKubernetesFiles ? ['mkdir -p /var/lib/cx', `tar -C / -cf ${saved} etc/kubernetes || exit 1`] : []),
    'attempt=1',
    `resume=""`,
    // What an earlier cluster left on the disk (a reused host) is never resumed.
    ...(resume ? ['leftover=0', `[ -f ${resume.leftover} ] && leftover=1`] : []),
    `until ${command.join(' ')} $resume; do`,
    `  if [ "$attempt" -ge ${KUBEADM_ATTEMPTS} ]; then`,
    '    echo "cx-bootstrap: kubeadm failed $attempt times; giving up (see the messages above)" >&2',
    '    exit 1',
    '  fi',
    '  attempt=$((attempt + 1))',
    ...(resume
      ? [
          `  if [ "$leftover" = 0 ] && [ -f ${resume.marker} ] && [ -f ${resume.also} ]; then`,
          `    echo "cx-bootstrap: kubeadm failed ${resume.what} (attempt $attempt)" >&2`,
          `    resume=--skip-phases=${resume.skipPhases}`,
          `    sleep ${KUBEADM_RETRY_PAUSE_SECONDS}`,
          '    continue',
          '  fi',
          '  resume=""',
        ]
      : []),
    '  echo "cx-bootstrap: kubeadm failed; undoing it and trying again (attempt $attempt)" >&2',
    '  kubeadm reset --force',
    ...(resume ? ['  leftover=0'] : []),
    ...(keepsKubernetesFiles ? [`  tar -C / -xpf ${saved} || exit 1`] : []),
    `  sleep ${KUBEADM_RETRY_PAUSE_SECONDS}`,
    'done',
    ...(keepsKubernetesFiles ? [`rm -f ${saved}`] : []),
    '',
  ].join('\n');
}

/**
 * cloud-init user data that installs the configuration (and, on control-plane machines, the CAs
 * and service-account keys kubeadm expects under /etc/kubernetes/pki) and runs kubeadm.
 */
export function renderCloudInit(machine: KubeadmMachine, pki: ClusterPki): string {
  const file = (path: string, content: string, permissions = '0600'): Record<string, string> => ({
    path,
    content,
    permissions,
    owner: 'root:root',
  });
  const controlPlane = machine.role !== 'join-worker';
  const files = [
    file(KUBEADM_CONFIG_PATH, renderKubeadmConfig(machine, pki.ca.certPem)),
    ...(controlPlane
      ? [
          file('/etc/kubernetes/pki/ca.crt', pki.ca.certPem, '0644'),
          file('/etc/kubernetes/pki/ca.key', pki.ca.keyPem),
          file('/etc/kubernetes/pki/front-proxy-ca.crt', pki.frontProxyCa.certPem, '0644'),
          file('/etc/kubernetes/pki/front-proxy-ca.key', pki.frontProxyCa.keyPem),
          file('/etc/kubernetes/pki/etcd/ca.crt', pki.etcdCa.certPem, '0644'),
          file('/etc/kubernetes/pki/etcd/ca.key', pki.etcdCa.keyPem),
          file('/etc/kubernetes/pki/sa.pub', pki.serviceAccount.publicKeyPem, '0644'),
          file('/etc/kubernetes/pki/sa.key', pki.serviceAccount.privateKeyPem),
        ]
      : []),
    ...(machine.extraFiles ?? []).map((f) => file(f.path, f.content, f.permissions)),
  ];
  const command =
    machine.role === 'init'
      ? ['kubeadm', 'init', '--config', KUBEADM_CONFIG_PATH, '--upload-certs=false']
      : ['kubeadm', 'join', '--config', KUBEADM_CONFIG_PATH];
  const keepsKubernetesFiles = files.some((f) => f['path']!.startsWith('/etc/kubernetes/'));
  const joinAfter = machine.role === 'join-control-plane' ? (machine.joinAfter ?? []) : [];
  if (joinAfter.length > 0) files.push(file(TURN_KUBECONFIG_PATH, turnKubeconfig(machine, pki.ca.certPem)));
  files.push(
    file(BOOTSTRAP_SCRIPT_PATH, renderBootstrapScript(command, machine.role, keepsKubernetesFiles, joinAfter), '0700'),
  );
  return `#cloud-config\n${stringify({ hostname: machine.nodeName, write_files: files, runcmd: [[BOOTSTRAP_SCRIPT_PATH]] })}`;
}

/** A kubeconfig of the bootstrap token, for a joining control plane to see when its turn comes. */
function turnKubeconfig(machine: KubeadmMachine, caPem: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: machine.clusterName,
        cluster: {
          server: `https://${machine.controlPlaneEndpoint}`,
          'certificate-authority-data': Buffer.from(caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'bootstrap', user: { token: machine.bootstrapToken } }],
    contexts: [{ name: 'bootstrap', context: { cluster: machine.clusterName, user: 'bootstrap' } }],
    'current-context': 'bootstrap',
  });
}
