/**
 * flannel v0.26.7: the pod network (CNI). Objects are those of the upstream release manifest
 * (Documentation/kube-flannel.yml at tag v0.26.7): flanneld on every node allocates each node a
 * subnet of the pod network and routes between them (VXLAN by default). Kubelets report NotReady
 * until a CNI has written its configuration, so this addon is of the `network` stage: a cluster
 * template that lists it gets it applied before its create workflow waits for Ready nodes.
 */
import { clusterRole, clusterRoleBinding, configHash, serviceAccount } from './objects.js';
import type { AddonDefinition } from './types.js';

export const FLANNEL_IMAGE = 'ghcr.io/flannel-io/flannel:v0.26.7';
export const FLANNEL_CNI_PLUGIN_IMAGE = 'ghcr.io/flannel-io/flannel-cni-plugin:v1.6.2-flannel1';
/** The pod subnet cx gives kubeadm (services/sddc user-data): flannel must allocate from the same one. */
export const DEFAULT_POD_NETWORK = '10.244.0.0/16';
const NS = 'kube-flannel';
const SA = { namespace: NS, name: 'flannel' };
const CNI_CONF = {
  name: 'cbr0',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

export const cniFlannel: AddonDefinition = {
  name: 'cni-flannel',
  version: 'v0.26.7',
  description: 'flannel pod network (CNI): a subnet of the pod network per node, routed between nodes over VXLAN.',
  stage: 'network',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      podNetwork: {
        type: 'string',
        default: DEFAULT_POD_NETWORK,
        pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$',
        description:
          "The cluster's pod subnet (kubeadm podSubnet; cx bootstraps clusters with 10.244.0.0/16): flannel allocates node subnets from it",
      },
      backend: {
        enum: ['vxlan', 'host-gw'],
        default: 'vxlan',
        description:
          'How traffic crosses nodes: vxlan (encapsulated, works anywhere) or host-gw (routes; nodes must share an L2 network)',
      },
    },
  },
  render(raw) {
    const settings = raw as { podNetwork: string; backend: string };
    const netConf = `${JSON.stringify({ Network: settings.podNetwork, EnableNFTables: false, Backend: { Type: settings.backend } }, null, 2)}\n`;
    return [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: NS, labels: { 'k8s-app': 'flannel', 'pod-security.kubernetes.io/enforce': 'privileged' } },
      },
      clusterRole(
        'flannel',
        [
          { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
        ],
        { 'k8s-app': 'flannel' },
      ),
      clusterRoleBinding('flannel', 'flannel', SA),
      serviceAccount(NS, SA.name),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'kube-flannel-cfg',
          namespace: NS,
          labels: { tier: 'node', 'k8s-app': 'flannel', app: 'flannel' },
        },
        data: { 'cni-conf.json': `${JSON.stringify(CNI_CONF, null, 2)}\n`, 'net-conf.json': netConf },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: {
          name: 'kube-flannel-ds',
          namespace: NS,
          labels: { tier: 'node', app: 'flannel', 'k8s-app': 'flannel' },
        },
        spec: {
          selector: { matchLabels: { app: 'flannel' } },
          template: {
            // flanneld reads net-conf.json at start only: a changed backend rolls the pods.
            metadata: {
              labels: { tier: 'node', app: 'flannel' },
              annotations: { 'cx.dev/config-hash': configHash(netConf) },
            },
            spec: {
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                      { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
                    ],
                  },
                },
              },
              hostNetwork: true,
              priorityClassName: 'system-node-critical',
              // Every node, NotReady ones included: they are NotReady because this pod is not there yet.
              tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
              serviceAccountName: SA.name,
              initContainers: [
                {
                  name: 'install-cni-plugin',
                  image: FLANNEL_CNI_PLUGIN_IMAGE,
                  command: ['cp'],
                  args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
                  volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }],
                },
                {
                  name: 'install-cni',
                  image: FLANNEL_IMAGE,
                  command: ['cp'],
                  args: ['-f', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'],
                  volumeMounts: [
                    { name: 'cni', mountPath: '/etc/cni/net.d' },
                    { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                  ],
                },
              ],
              containers: [
                {
                  name: 'kube-flannel',
                  image: FLANNEL_IMAGE,
                  command: ['/opt/bin/flanneld'],
                  args: ['--ip-masq', '--kube-subnet-mgr'],
                  resources: { requests: { cpu: '100m', memory: '50Mi' } },
                  securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
                  env: [
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                  ],
                  volumeMounts: [
                    { name: 'run', mountPath: '/run/flannel' },
                    { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                    { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                  ],
                },
              ],
              volumes: [
                { name: 'run', hostPath: { path: '/run/flannel' } },
                { name: 'cni-plugin', hostPath: { path: '/opt/cni/bin' } },
                { name: 'cni', hostPath: { path: '/etc/cni/net.d' } },
                { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
                { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
              ],
            },
          },
        },
      },
    ];
  },
};
