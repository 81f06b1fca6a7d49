/**
 * Monitoring: Prometheus v3.2.1 scraping the cluster through Kubernetes service discovery (API
 * servers, kubelets and their cAdvisor, node-exporter on every node, and any pod or service
 * annotated `prometheus.io/scrape: "true"`), with the read-only RBAC that discovery and scraping
 * need. Its data lives in an emptyDir for `retention`: enough for a cluster's own dashboards and
 * alerts; long-term storage is remote-write's job, not this addon's.
 */
import { stringify } from 'yaml';
import { RESTRICTED, clusterRole, clusterRoleBinding, configHash, namespace, serviceAccount } from './objects.js';
import type { AddonDefinition } from './types.js';

export const PROMETHEUS_IMAGE = 'quay.io/prometheus/prometheus:v3.2.1';
export const NODE_EXPORTER_IMAGE = 'quay.io/prometheus/node-exporter:v1.9.0';
const NS = 'cx-monitoring';
const SA = { namespace: NS, name: 'prometheus' };
const PROMETHEUS = { 'app.kubernetes.io/name': 'prometheus' };
const NODE_EXPORTER = { 'app.kubernetes.io/name': 'node-exporter' };
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface MonitoringSettings {
  retention: string;
  scrapeInterval: string;
  nodeExporter: boolean;
}

/** Prometheus' configuration: one job per kind of target, all found through the Kubernetes API. */
export function prometheusConfig(settings: MonitoringSettings, clusterName: string): string {
  const inCluster = { ca_file: `${SA_DIR}/ca.crt` };
  const bearer = { authorization: { credentials_file: `${SA_DIR}/token` } };
  const annotated = (role: 'pod' | 'endpoints'): object => ({
    job_name: role === 'pod' ? 'kubernetes-pods' : 'kubernetes-service-endpoints',
    kubernetes_sd_configs: [{ role }],
    relabel_configs: [
      {
        source_labels: [`__meta_kubernetes_${role === 'pod' ? 'pod' : 'service'}_annotation_prometheus_io_scrape`],
        action: 'keep',
        regex: 'true',
      },
      {
        source_labels: [`__meta_kubernetes_${role === 'pod' ? 'pod' : 'service'}_annotation_prometheus_io_path`],
        action: 'replace',
        target_label: '__metrics_path__',
        regex: '(.+)',
      },
      {
        source_labels: [
          '__address__',
          `__meta_kubernetes_${role === 'pod' ? 'pod' : 'service'}_annotation_prometheus_io_port`,
        ],
        action: 'replace',
        regex: '([^:]+)(?::\\d+)?;(\\d+)',
        replacement: '$1:$2',
        target_label: '__address__',
      },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      {
        source_labels: [role === 'pod' ? '__meta_kubernetes_pod_name' : '__meta_kubernetes_service_name'],
        target_label: role === 'pod' ? 'pod' : 'service',
      },
    ],
  });
  return stringify({
    global: {
      scrape_interval: settings.scrapeInterval,
      evaluation_interval: settings.scrapeInterval,
      external_labels: { cluster: clusterName },
    },
    scrape_configs: [
      { job_name: 'prometheus', static_configs: [{ targets: ['localhost:9090'] }] },
      {
        job_name: 'kubernetes-apiservers',
        scheme: 'https',
        tls_config: inCluster,
        ...bearer,
        kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: ['default'] } }],
        relabel_configs: [
          {
            source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpoint_port_name'],
            action: 'keep',
            regex: 'kubernetes;https',
          },
        ],
      },
      {
        job_name: 'kubernetes-nodes',
        scheme: 'https',
        tls_config: inCluster,
        ...bearer,
        kubernetes_sd_configs: [{ role: 'node' }],
        relabel_configs: [
          { action: 'labelmap', regex: '__meta_kubernetes_node_label_(.+)' },
          { target_label: '__address__', replacement: 'kubernetes.default.svc:443' },
          {
            source_labels: ['__meta_kubernetes_node_name'],
            regex: '(.+)',
            target_label: '__metrics_path__',
            replacement: '/api/v1/nodes/$1/proxy/metrics',
          },
        ],
      },
      {
        job_name: 'kubernetes-cadvisor',
        scheme: 'https',
        tls_config: inCluster,
        ...bearer,
        kubernetes_sd_configs: [{ role: 'node' }],
        relabel_configs: [
          { action: 'labelmap', regex: '__meta_kubernetes_node_label_(.+)' },
          { target_label: '__address__', replacement: 'kubernetes.default.svc:443' },
          {
            source_labels: ['__meta_kubernetes_node_name'],
            regex: '(.+)',
            target_label: '__metrics_path__',
            replacement: '/api/v1/nodes/$1/proxy/metrics/cadvisor',
          },
        ],
      },
      annotated('endpoints'),
      annotated('pod'),
    ],
  });
}

export const monitoring: AddonDefinition = {
  name: 'monitoring',
  version: 'v3.2.1',
  description:
    'Prometheus scraping the cluster (API servers, kubelets, cAdvisor, node-exporter, annotated pods and services), with its RBAC.',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      retention: {
        type: 'string',
        pattern: '^[1-9][0-9]{0,3}[hdw]$',
        default: '15d',
        description: 'How long samples are kept (Prometheus --storage.tsdb.retention.time), e.g. 15d',
      },
      scrapeInterval: {
        type: 'string',
        pattern: '^[1-9][0-9]{0,3}[sm]$',
        default: '30s',
        description: 'How often targets are scraped, e.g. 30s',
      },
      nodeExporter: { type: 'boolean', default: true, description: 'Run node-exporter (host metrics) on every node' },
    },
  },
  render(raw, cluster) {
    const settings = raw as unknown as MonitoringSettings;
    const config = prometheusConfig(settings, cluster.name);
    return [
      namespace(NS),
      serviceAccount(NS, SA.name),
      clusterRole('cx-monitoring-prometheus', [
        {
          apiGroups: [''],
          resources: ['nodes', 'nodes/metrics', 'nodes/proxy', 'services', 'endpoints', 'pods'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
        { nonResourceURLs: ['/metrics', '/metrics/cadvisor'], verbs: ['get'] },
      ]),
      clusterRoleBinding('cx-monitoring-prometheus', 'cx-monitoring-prometheus', SA),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'prometheus', namespace: NS },
        data: { 'prometheus.yml': config },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'prometheus', namespace: NS },
        spec: { selector: PROMETHEUS, ports: [{ name: 'web', port: 9090, targetPort: 'web', protocol: 'TCP' }] },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'prometheus', namespace: NS },
        spec: {
          replicas: 1,
          strategy: { type: 'Recreate' },
          selector: { matchLabels: PROMETHEUS },
          template: {
            // A changed configuration rolls the pod (Prometheus would need a reload otherwise).
            metadata: { labels: { ...PROMETHEUS }, annotations: { 'cx.dev/config-hash': configHash(config) } },
            spec: {
              serviceAccountName: SA.name,
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              securityContext: { runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, runAsNonRoot: true },
              containers: [
                {
                  name: 'prometheus',
                  image: PROMETHEUS_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  args: [
                    '--config.file=/etc/prometheus/prometheus.yml',
                    '--storage.tsdb.path=/prometheus',
                    `--storage.tsdb.retention.time=${settings.retention}`,
                    '--web.enable-lifecycle',
                  ],
                  ports: [{ name: 'web', containerPort: 9090, protocol: 'TCP' }],
                  readinessProbe: { httpGet: { path: '/-/ready', port: 'web' }, periodSeconds: 5 },
                  livenessProbe: {
                    httpGet: { path: '/-/healthy', port: 'web' },
                    periodSeconds: 15,
                    failureThreshold: 6,
                  },
                  resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { memory: '2Gi' } },
                  securityContext: RESTRICTED,
                  volumeMounts: [
                    { name: 'config', mountPath: '/etc/prometheus', readOnly: true },
                    { name: 'data', mountPath: '/prometheus' },
                  ],
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: 'prometheus' } },
                { name: 'data', emptyDir: {} },
              ],
            },
          },
        },
      },
      ...(settings.nodeExporter
        ? [
            {
              apiVersion: 'apps/v1',
              kind: 'DaemonSet',
              metadata: { name: 'node-exporter', namespace: NS },
              spec: {
                selector: { matchLabels: NODE_EXPORTER },
                template: {
                  metadata: {
                    labels: { ...NODE_EXPORTER },
                    annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100' },
                  },
                  spec: {
                    hostNetwork: true,
                    hostPID: true,
                    nodeSelector: { 'kubernetes.io/os': 'linux' },
                    tolerations: [{ operator: 'Exists' }],
                    securityContext: { runAsUser: 65534, runAsNonRoot: true },
                    containers: [
                      {
                        name: 'node-exporter',
                        image: NODE_EXPORTER_IMAGE,
                        imagePullPolicy: 'IfNotPresent',
                        args: [
                          '--path.procfs=/host/proc',
                          '--path.sysfs=/host/sys',
                          '--path.rootfs=/host/root',
                          '--web.listen-address=:9100',
                        ],
                        ports: [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }],
                        resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                        securityContext: RESTRICTED,
                        volumeMounts: [
                          { name: 'proc', mountPath: '/host/proc', readOnly: true },
                          { name: 'sys', mountPath: '/host/sys', readOnly: true },
                          {
                            name: 'root',
                            mountPath: '/host/root',
                            readOnly: true,
                            mountPropagation: 'HostToContainer',
                          },
                        ],
                      },
                    ],
                    volumes: [
                      { name: 'proc', hostPath: { path: '/proc' } },
                      { name: 'sys', hostPath: { path: '/sys' } },
                      { name: 'root', hostPath: { path: '/' } },
                    ],
                  },
                },
              },
            },
          ]
        : []),
    ];
  },
};
