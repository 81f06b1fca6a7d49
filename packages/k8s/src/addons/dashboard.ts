/**
 * Kubernetes Dashboard v2.7.0 (the upstream recommended.yaml: the dashboard and its metrics
 * scraper, with their RBAC), plus one service account per cx role, bound to the ClusterRole that
 * role gives in the cluster (view, edit, cluster-admin). `GET /api/v1/clusters/{id}/dashboard`
 * answers a link through the API server's service proxy and a short-lived token of the caller's
 * role's account, so that the dashboard shows exactly what the caller's kubeconfig would.
 */
import {
  RESTRICTED,
  clusterRole,
  clusterRoleBinding,
  namespace,
  role,
  roleBinding,
  serviceAccount,
} from './objects.js';
import type { AddonDefinition, KubernetesObject } from './types.js';

export const DASHBOARD_IMAGE = 'docker.io/kubernetesui/dashboard:v2.7.0';
export const METRICS_SCRAPER_IMAGE = 'docker.io/kubernetesui/metrics-scraper:v1.0.8';
export const DASHBOARD_NAMESPACE = 'kubernetes-dashboard';
const SA = { namespace: DASHBOARD_NAMESPACE, name: 'kubernetes-dashboard' };

/** cx role → the service account whose tokens the dashboard link carries, and the ClusterRole it is bound to. */
export const DASHBOARD_ACCOUNTS = {
  viewer: { serviceAccount: 'cx-dashboard-viewer', clusterRole: 'view' },
  operator: { serviceAccount: 'cx-dashboard-operator', clusterRole: 'edit' },
  admin: { serviceAccount: 'cx-dashboard-admin', clusterRole: 'cluster-admin' },
} as const;

/** Path of the dashboard behind the cluster's API server (its service proxy). */
export const DASHBOARD_PROXY_PATH = `/api/v1/namespaces/${DASHBOARD_NAMESPACE}/services/https:kubernetes-dashboard:/proxy/`;

function secret(name: string, data: Record<string, string> = {}): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: DASHBOARD_NAMESPACE }, data };
}

function deployment(
  name: string,
  selector: Record<string, string>,
  container: Record<string, unknown>,
  volumes: unknown[],
): KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: DASHBOARD_NAMESPACE },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 10,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector } },
        spec: {
          serviceAccountName: SA.name,
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          tolerations: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
          containers: [
            {
              securityContext: { ...RESTRICTED, runAsUser: 1001, runAsGroup: 2001 },
              imagePullPolicy: 'IfNotPresent',
              ...container,
            },
          ],
          volumes,
        },
      },
    },
  };
}

export const dashboard: AddonDefinition = {
  name: 'dashboard',
  version: 'v2.7.0',
  description:
    'Kubernetes Dashboard (web UI). GET /api/v1/clusters/{id}/dashboard gives each user a link and a one-hour token of their own role.',
  render() {
    const dashboardSelector = { 'k8s-app': 'kubernetes-dashboard' };
    const scraperSelector = { 'k8s-app': 'dashboard-metrics-scraper' };
    const roleAccounts = Object.values(DASHBOARD_ACCOUNTS).flatMap(({ serviceAccount: name, clusterRole: bound }) => [
      serviceAccount(DASHBOARD_NAMESPACE, name),
      clusterRoleBinding(name, bound, { namespace: DASHBOARD_NAMESPACE, name }),
    ]);
    return [
      namespace(DASHBOARD_NAMESPACE),
      serviceAccount(DASHBOARD_NAMESPACE, SA.name),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kubernetes-dashboard', namespace: DASHBOARD_NAMESPACE },
        spec: { selector: dashboardSelector, ports: [{ port: 443, targetPort: 8443 }] },
      },
      secret('kubernetes-dashboard-certs'),
      secret('kubernetes-dashboard-csrf', { csrf: '' }),
      secret('kubernetes-dashboard-key-holder'),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kubernetes-dashboard-settings', namespace: DASHBOARD_NAMESPACE },
      },
      role(DASHBOARD_NAMESPACE, 'kubernetes-dashboard', [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: ['kubernetes-dashboard-key-holder', 'kubernetes-dashboard-certs', 'kubernetes-dashboard-csrf'],
          verbs: ['get', 'update', 'delete'],
        },
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: ['kubernetes-dashboard-settings'],
          verbs: ['get', 'update'],
        },
        {
          apiGroups: [''],
          resources: ['services'],
          resourceNames: ['heapster', 'dashboard-metrics-scraper'],
          verbs: ['proxy'],
        },
        {
          apiGroups: [''],
          resources: ['services/proxy'],
          resourceNames: [
            'heapster',
            'http:heapster:',
            'https:heapster:',
            'dashboard-metrics-scraper',
            'http:dashboard-metrics-scraper',
          ],
          verbs: ['get'],
        },
      ]),
      clusterRole('kubernetes-dashboard', [
        { apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ]),
      roleBinding(DASHBOARD_NAMESPACE, 'kubernetes-dashboard', { kind: 'Role', name: 'kubernetes-dashboard' }, SA),
      clusterRoleBinding('kubernetes-dashboard', 'kubernetes-dashboard', SA),
      deployment(
        'kubernetes-dashboard',
        dashboardSelector,
        {
          name: 'kubernetes-dashboard',
          image: DASHBOARD_IMAGE,
          ports: [{ containerPort: 8443, protocol: 'TCP' }],
          args: ['--auto-generate-certificates', `--namespace=${DASHBOARD_NAMESPACE}`],
          volumeMounts: [
            { name: 'kubernetes-dashboard-certs', mountPath: '/certs' },
            { name: 'tmp-volume', mountPath: '/tmp' },
          ],
          livenessProbe: {
            httpGet: { scheme: 'HTTPS', path: '/', port: 8443 },
            initialDelaySeconds: 30,
            timeoutSeconds: 30,
          },
        },
        [
          { name: 'kubernetes-dashboard-certs', secret: { secretName: 'kubernetes-dashboard-certs' } },
          { name: 'tmp-volume', emptyDir: {} },
        ],
      ),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'dashboard-metrics-scraper', namespace: DASHBOARD_NAMESPACE },
        spec: { selector: scraperSelector, ports: [{ port: 8000, targetPort: 8000 }] },
      },
      deployment(
        'dashboard-metrics-scraper',
        scraperSelector,
        {
          name: 'dashboard-metrics-scraper',
          image: METRICS_SCRAPER_IMAGE,
          ports: [{ containerPort: 8000, protocol: 'TCP' }],
          livenessProbe: {
            httpGet: { scheme: 'HTTP', path: '/', port: 8000 },
            initialDelaySeconds: 30,
            timeoutSeconds: 30,
          },
          volumeMounts: [{ name: 'tmp-volume', mountPath: '/tmp' }],
        },
        [{ name: 'tmp-volume', emptyDir: {} }],
      ),
      ...roleAccounts,
    ];
  },
};
