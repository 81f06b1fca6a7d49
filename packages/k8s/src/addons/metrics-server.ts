/**
 * metrics-server v0.7.2: the resource metrics API (`metrics.k8s.io`) that `kubectl top` and the
 * HorizontalPodAutoscaler read, registered as an aggregated API (APIService). Objects are those
 * of the upstream release manifest (components.yaml).
 */
import { RESTRICTED, clusterRole, clusterRoleBinding, roleBinding, serviceAccount } from './objects.js';
import type { AddonDefinition } from './types.js';

export const METRICS_SERVER_IMAGE = 'registry.k8s.io/metrics-server/metrics-server:v0.7.2';
const NS = 'kube-system';
const SA = { namespace: NS, name: 'metrics-server' };
const SELECTOR = { 'k8s-app': 'metrics-server' };

export const metricsServer: AddonDefinition = {
  name: 'metrics-server',
  version: 'v0.7.2',
  description: 'Resource metrics API (metrics.k8s.io) for `kubectl top` and the HorizontalPodAutoscaler.',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      replicas: {
        type: 'integer',
        minimum: 1,
        maximum: 5,
        default: 1,
        description: 'Replicas (2 or more with a PodDisruptionBudget upstream recommends for HA)',
      },
      kubeletInsecureTls: {
        type: 'boolean',
        default: false,
        description: 'Skip verifying kubelet serving certificates (only where kubelets serve self-signed ones)',
      },
    },
  },
  render(raw) {
    const settings = raw as { replicas: number; kubeletInsecureTls: boolean };
    return [
      serviceAccount(NS, SA.name),
      clusterRole(
        'system:aggregated-metrics-reader',
        [{ apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }],
        {
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
        },
      ),
      clusterRole('system:metrics-server', [
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ]),
      roleBinding(
        NS,
        'metrics-server-auth-reader',
        { kind: 'Role', name: 'extension-apiserver-authentication-reader' },
        SA,
      ),
      clusterRoleBinding('metrics-server:system:auth-delegator', 'system:auth-delegator', SA),
      clusterRoleBinding('system:metrics-server', 'system:metrics-server', SA),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'metrics-server', namespace: NS },
        spec: { selector: SELECTOR, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' }] },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'metrics-server', namespace: NS },
        spec: {
          replicas: settings.replicas,
          selector: { matchLabels: SELECTOR },
          strategy: { rollingUpdate: { maxUnavailable: 0 } },
          template: {
            metadata: { labels: { ...SELECTOR } },
            spec: {
              serviceAccountName: SA.name,
              priorityClassName: 'system-cluster-critical',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              containers: [
                {
                  name: 'metrics-server',
                  image: METRICS_SERVER_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  args: [
                    '--cert-dir=/tmp',
                    '--secure-port=10250',
                    '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
                    '--kubelet-use-node-status-port',
                    '--metric-resolution=15s',
                    ...(settings.kubeletInsecureTls ? ['--kubelet-insecure-tls'] : []),
                  ],
                  ports: [{ name: 'https', containerPort: 10250, protocol: 'TCP' }],
                  livenessProbe: {
                    httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' },
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  readinessProbe: {
                    httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' },
                    initialDelaySeconds: 20,
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  resources: { requests: { cpu: '100m', memory: '200Mi' } },
                  securityContext: { ...RESTRICTED, runAsUser: 1000 },
                  volumeMounts: [{ name: 'tmp-dir', mountPath: '/tmp' }],
                },
              ],
              volumes: [{ name: 'tmp-dir', emptyDir: {} }],
            },
          },
        },
      },
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: 'v1beta1.metrics.k8s.io' },
        spec: {
          service: { name: 'metrics-server', namespace: NS },
          group: 'metrics.k8s.io',
          version: 'v1beta1',
          insecureSkipTLSVerify: true,
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
    ];
  },
};
