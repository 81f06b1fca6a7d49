/**
 * kube-router v2.11.1: the pod network (CNI), a second choice to flannel. Objects are those of the
 * upstream manifest for kubeadm clusters (daemonset/kubeadm-kuberouter.yaml at tag v2.11.1 of
 * cloudnativelabs/kube-router), in kube-system as there: kube-router on every node gives pods a
 * bridge (`kube-bridge`) on the node's podCIDR, which kube-controller-manager allocates from the
 * kubeadm podSubnet, and routes between nodes by BGP rather than encapsulation; it also enforces
 * NetworkPolicies (flannel does not). Like flannel it is of the `network` stage, one per cluster.
 *
 * Upstream's manifest runs the untagged image with `imagePullPolicy: Always`; cx pins the release's
 * tag and lets the default (IfNotPresent) apply. Its `kubeconfig` hostPath volume is left out: this
 * variant passes no `--kubeconfig`, so kube-router talks to the API with its service account.
 * Upstream's service-proxy variant (kubeadm-kuberouter-all-features.yaml) is not offered: it takes
 * over from kube-proxy, which kubeadm installs in every cx cluster and cx does not remove.
 */
import { clusterRole, clusterRoleBinding, serviceAccount } from './objects.js';
import type { AddonDefinition } from './types.js';

export const KUBE_ROUTER_VERSION = 'v2.11.1';
export const KUBE_ROUTER_IMAGE = `docker.io/cloudnativelabs/kube-router:${KUBE_ROUTER_VERSION}`;
const NS = 'kube-system';
const SA = { namespace: NS, name: 'kube-router' };
const LABELS = { 'k8s-app': 'kube-router', tier: 'node' };
const CNI_CONF_FILE = '/etc/cni/net.d/10-kuberouter.conflist';
/** kube-router fills in the node's podCIDR (ipam.subnet) itself when it starts. */
const CNI_CONF = {
  cniVersion: '0.3.0',
  name: 'mynet',
  plugins: [
    { name: 'kubernetes', type: 'bridge', bridge: 'kube-bridge', isDefaultGateway: true, ipam: { type: 'host-local' } },
  ],
};
/**
 * Upstream's init script: writes the CNI configuration unless kube-router already did (it rewrites
 * the file with the node's subnet), and removes another CNI's single-file `*.conf` it would lose to.
 */
const INSTALL_CNI = [
  'set -e -x;',
  `if [ ! -f ${CNI_CONF_FILE} ]; then`,
  'if [ -f /etc/cni/net.d/*.conf ]; then',
  'rm -f /etc/cni/net.d/*.conf;',
  'fi;',
  'TMP=/etc/cni/net.d/.tmp-kuberouter-cfg;',
  'cp /etc/kube-router/cni-conf.json ${TMP};',
  `mv \${TMP} ${CNI_CONF_FILE};`,
  'fi;',
  'if [ -x /usr/local/bin/cni-install ]; then',
  '/usr/local/bin/cni-install;',
  'fi;',
].join(' ');

export const cniKubeRouter: AddonDefinition = {
  name: 'cni-kube-router',
  version: KUBE_ROUTER_VERSION,
  description:
    'kube-router pod network (CNI): a bridge per node on its podCIDR, routes between nodes by BGP, and NetworkPolicy enforcement.',
  stage: 'network',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      networkPolicy: {
        type: 'boolean',
        default: true,
        description:
          "Also enforce NetworkPolicies with iptables/ipset (--run-firewall), as upstream's kubeadm manifest does",
      },
    },
  },
  render(raw) {
    const settings = raw as { networkPolicy: boolean };
    return [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-router-cfg', namespace: NS, labels: { ...LABELS } },
        data: { 'cni-conf.json': `${JSON.stringify(CNI_CONF, null, 2)}\n` },
      },
      serviceAccount(NS, SA.name),
      clusterRole('kube-router', [
        {
          apiGroups: [''],
          resources: ['namespaces', 'pods', 'services', 'nodes', 'endpoints'],
          verbs: ['list', 'get', 'watch'],
        },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'get', 'watch'] },
        { apiGroups: ['extensions'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
        { apiGroups: [''], resources: ['services/status'], verbs: ['update'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ]),
      clusterRoleBinding('kube-router', 'kube-router', SA),
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'kube-router', namespace: NS, labels: { ...LABELS } },
        spec: {
          selector: { matchLabels: { ...LABELS } },
          template: {
            metadata: { labels: { ...LABELS } },
            spec: {
              priorityClassName: 'system-node-critical',
              serviceAccountName: SA.name,
              hostNetwork: true,
              hostPID: true,
              // Every node, NotReady ones included: they are NotReady because this pod is not there yet.
              tolerations: [
                { effect: 'NoSchedule', operator: 'Exists' },
                { key: 'CriticalAddonsOnly', operator: 'Exists' },
                { effect: 'NoExecute', operator: 'Exists' },
              ],
              initContainers: [
                {
                  name: 'install-cni',
                  image: KUBE_ROUTER_IMAGE,
                  command: ['/bin/sh', '-c', INSTALL_CNI],
                  volumeMounts: [
                    { name: 'cni-conf-dir', mountPath: '/etc/cni/net.d' },
                    { name: 'kube-router-cfg', mountPath: '/etc/kube-router' },
                    { name: 'host-opt', mountPath: '/opt' },
                  ],
                },
              ],
              containers: [
                {
                  name: 'kube-router',
                  image: KUBE_ROUTER_IMAGE,
                  args: [
                    '--run-router=true',
                    `--run-firewall=${settings.networkPolicy}`,
                    '--run-service-proxy=false',
                    '--bgp-graceful-restart=true',
                  ],
                  env: [
                    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'KUBE_ROUTER_CNI_CONF_FILE', value: CNI_CONF_FILE },
                  ],
                  livenessProbe: {
                    httpGet: { path: '/healthz', port: 20244 },
                    initialDelaySeconds: 10,
                    periodSeconds: 3,
                  },
                  resources: { requests: { cpu: '250m', memory: '250Mi' } },
                  securityContext: { privileged: true },
                  volumeMounts: [
                    { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                    { name: 'cni-conf-dir', mountPath: '/etc/cni/net.d' },
                    { name: 'xtables-lock', mountPath: '/run/xtables.lock', readOnly: false },
                  ],
                },
              ],
              volumes: [
                { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
                { name: 'cni-conf-dir', hostPath: { path: '/etc/cni/net.d' } },
                { name: 'kube-router-cfg', configMap: { name: 'kube-router-cfg' } },
                { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
                { name: 'host-opt', hostPath: { path: '/opt' } },
              ],
            },
          },
        },
      },
    ];
  },
};
