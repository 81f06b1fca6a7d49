/**
 * local-path-provisioner v0.0.37 (Rancher): a StorageClass for clusters without a block-storage CSI
 * driver, baremetal first. Objects are those of the upstream manifest (deploy/local-path-storage.yaml
 * at tag v0.0.37 of rancher/local-path-provisioner). The provisioner answers a PersistentVolumeClaim
 * of the class `local-path` with a hostPath-backed volume: a directory under the host path on the
 * node the claim's first pod is scheduled to (`WaitForFirstConsumer`), made and removed by a short
 * helper pod running the `setup` / `teardown` scripts of its ConfigMap.
 *
 * Node-local volumes: the data lives on one node only, and a pod using it is bound to that node for
 * good (the volume carries a node affinity). Losing the node loses the data; nothing is replicated.
 * Fine for baremetal clusters and labs, not for data that must survive a machine (HA data).
 *
 * Two differences from upstream: the helper pod's image is pinned (upstream names the untagged
 * busybox), and the namespace is labelled for the `privileged` Pod Security level, since helper pods
 * mount the host path (the `baseline` level refuses hostPath volumes).
 */
import { clusterRole, clusterRoleBinding, role, roleBinding, serviceAccount } from './objects.js';
import type { AddonDefinition } from './types.js';

export const LOCAL_PATH_VERSION = 'v0.0.37';
export const LOCAL_PATH_IMAGE = `docker.io/rancher/local-path-provisioner:${LOCAL_PATH_VERSION}`;
/** The helper pod that makes and removes volume directories on the node. */
export const LOCAL_PATH_HELPER_IMAGE = 'docker.io/library/busybox:1.37.0';
/** The provisioner name the StorageClass hands claims to (upstream's default `--provisioner-name`). */
export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const LOCAL_PATH_CLASS = 'local-path';
const NS = 'local-path-storage';
const SA = { namespace: NS, name: 'local-path-provisioner-service-account' };
const ROLE = 'local-path-provisioner-role';
const BINDING = 'local-path-provisioner-bind';
const CONFIG = 'local-path-config';
const CONFIG_DIR = '/etc/config/';
const APP = { app: 'local-path-provisioner' };

interface LocalPathSettings {
  path: string;
  default: boolean;
  reclaimPolicy: 'Delete' | 'Retain';
}

const SETUP = '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"';
const TEARDOWN = '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"';
const HELPER_POD = [
  'apiVersion: v1',
  'kind: Pod',
  'metadata:',
  '  name: helper-pod',
  'spec:',
  '  priorityClassName: system-node-critical',
  '  tolerations:',
  '    - key: node.kubernetes.io/disk-pressure',
  '      operator: Exists',
  '      effect: NoSchedule',
  '  containers:',
  '  - name: helper-pod',
  `    image: ${LOCAL_PATH_HELPER_IMAGE}`,
  '    imagePullPolicy: IfNotPresent',
].join('\n');

const probe = (path: string, initialDelaySeconds: number, periodSeconds: number): Record<string, unknown> => ({
  httpGet: { path, port: 'health' },
  initialDelaySeconds,
  periodSeconds,
});

export const localPathStorage: AddonDefinition = {
  name: 'local-path-storage',
  version: LOCAL_PATH_VERSION,
  description:
    'Rancher local-path-provisioner: the StorageClass local-path, volumes in a directory of the node their pod runs on (node-local: not for data that must survive a machine).',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      path: {
        type: 'string',
        default: '/opt/local-path-provisioner',
        maxLength: 255,
        // Absolute, no trailing slash, no `.` or `..` segment: volumes are made (and removed) under it.
        pattern: '^(/(?!\\.\\.?(/|$))[A-Za-z0-9._-]+)+$',
        description:
          'Directory on every node under which volumes are made (absolute); changing it applies to new volumes only',
      },
      default: { type: 'boolean', default: true, description: "Make local-path the cluster's default StorageClass" },
      reclaimPolicy: {
        type: 'string',
        enum: ['Delete', 'Retain'],
        default: 'Delete',
        description:
          "What happens to a volume's directory once its claim is deleted (fixed at install: a StorageClass's reclaimPolicy cannot change)",
      },
    },
  },
  render(raw) {
    const settings = raw as unknown as LocalPathSettings;
    const config = { nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [settings.path] }] };
    return [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
      },
      serviceAccount(NS, SA.name),
      // Helper pods are created, watched and deleted in the provisioner's namespace.
      role(NS, ROLE, [
        {
          apiGroups: [''],
          resources: ['pods'],
          verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
        },
      ]),
      clusterRole(ROLE, [
        {
          apiGroups: [''],
          resources: ['nodes', 'persistentvolumeclaims', 'configmaps', 'pods', 'pods/log'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: [''],
          resources: ['persistentvolumes'],
          verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
        },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      ]),
      roleBinding(NS, BINDING, { kind: 'Role', name: ROLE }, SA),
      clusterRoleBinding(BINDING, ROLE, SA),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: CONFIG, namespace: NS },
        // The provisioner reads config.json again every 30 s: a new path needs no restart.
        data: {
          'config.json': JSON.stringify(config, null, 2),
          setup: SETUP,
          teardown: TEARDOWN,
          'helperPod.yaml': HELPER_POD,
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'local-path-provisioner', namespace: NS },
        spec: {
          replicas: 1,
          selector: { matchLabels: APP },
          template: {
            metadata: { labels: APP },
            spec: {
              serviceAccountName: SA.name,
              containers: [
                {
                  name: 'local-path-provisioner',
                  image: LOCAL_PATH_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['local-path-provisioner', '--debug', 'start', '--config', `${CONFIG_DIR}config.json`],
                  ports: [{ name: 'health', containerPort: 8080, protocol: 'TCP' }],
                  startupProbe: { ...probe('/health', 5, 5), failureThreshold: 12 },
                  livenessProbe: probe('/health', 10, 10),
                  readinessProbe: probe('/ready', 5, 5),
                  volumeMounts: [{ name: 'config-volume', mountPath: CONFIG_DIR }],
                  env: [
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'CONFIG_MOUNT_PATH', value: CONFIG_DIR },
                    { name: 'HEALTH_PORT', value: '8080' },
                  ],
                },
              ],
              volumes: [{ name: 'config-volume', configMap: { name: CONFIG } }],
            },
          },
        },
      },
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: {
          name: LOCAL_PATH_CLASS,
          annotations: { 'storageclass.kubernetes.io/is-default-class': String(settings.default) },
        },
        provisioner: LOCAL_PATH_PROVISIONER,
        reclaimPolicy: settings.reclaimPolicy,
        volumeBindingMode: 'WaitForFirstConsumer',
      },
    ];
  },
};
