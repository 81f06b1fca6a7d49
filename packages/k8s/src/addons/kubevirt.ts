/**
 * KubeVirt v1.4.1: virtual machines beside containers. This addon installs what upstream's
 * kubevirt-operator.yaml installs (namespace, the `kubevirts.kubevirt.io` CRD, the priority class,
 * the operator's RBAC and its Deployment `virt-operator`) and the `KubeVirt` resource of
 * kubevirt-cr.yaml; the operator then deploys virt-api, virt-controller and virt-handler itself
 * (and removes them when the KubeVirt resource is deleted), so those are not objects of the addon.
 * Removal therefore deletes the KubeVirt resource first and the operator only once it is gone.
 *
 * Not as upstream: the CRD's schema. Upstream's carries the whole KubeVirt OpenAPI schema (several
 * thousand lines); this one has the same group, names, versions, scope, printer columns and status
 * subresource, with `x-kubernetes-preserve-unknown-fields` under spec and status, so the API server
 * does not validate a KubeVirt resource's fields (the operator still reads them).
 *
 * Readiness is the operator Deployment. In kwok clusters no container runs, so the operator never
 * creates the rest there: tests see the CRD, the resource and the Deployment only.
 */
import { KUBEVIRT_OPERATOR_CLUSTER_RULES, KUBEVIRT_OPERATOR_ROLE_RULES } from './kubevirt-rbac.js';
import { clusterRole, clusterRoleBinding, role, roleBinding, serviceAccount } from './objects.js';
import type { AddonDefinition, KubernetesObject } from './types.js';

export const KUBEVIRT_OPERATOR_IMAGE = 'quay.io/kubevirt/virt-operator:v1.4.1';
export const KUBEVIRT_NAMESPACE = 'kubevirt';
const SA = { namespace: KUBEVIRT_NAMESPACE, name: 'kubevirt-operator' };
const OPERATOR = { 'kubevirt.io': 'virt-operator' };
const PRESERVE = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** The CRD of the KubeVirt resource (see the file header for how its schema differs from upstream's). */
function kubevirtCrd(): KubernetesObject {
  const version = (name: string, storage: boolean): Record<string, unknown> => ({
    name,
    served: true,
    storage,
    ...(storage
      ? {}
      : {
          deprecated: true,
          deprecationWarning: 'kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release.',
        }),
    schema: {
      openAPIV3Schema: {
        type: 'object',
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { type: 'object' },
          spec: PRESERVE,
          status: PRESERVE,
        },
        required: ['spec'],
      },
    },
    subresources: { status: {} },
    additionalPrinterColumns: [
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    ],
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'kubevirts.kubevirt.io', labels: { 'operator.kubevirt.io': '' } },
    spec: {
      group: 'kubevirt.io',
      scope: 'Namespaced',
      names: {
        plural: 'kubevirts',
        singular: 'kubevirt',
        kind: 'KubeVirt',
        shortNames: ['kv', 'kvs'],
        categories: ['all'],
      },
      versions: [version('v1', true), version('v1alpha3', false)],
    },
  };
}

export const kubevirt: AddonDefinition = {
  name: 'kubevirt',
  version: 'v1.4.1',
  description:
    'KubeVirt: virtual machines as Kubernetes workloads beside containers (operator and its KubeVirt resource).',
  // The operator's finalizer (kubevirt.io/virtOperatorFinalize) holds the resource until the
  // operator has removed virt-api, virt-controller and virt-handler: it must outlive the resource.
  removeFirst: ['KubeVirt'],
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      useEmulation: {
        type: 'boolean',
        default: false,
        description: 'Run VMs in software emulation (slow): for nodes without /dev/kvm (nested virtualisation off)',
      },
      featureGates: {
        type: 'array',
        items: { type: 'string', pattern: '^[A-Za-z0-9]+$' },
        uniqueItems: true,
        maxItems: 50,
        default: [],
        description: 'KubeVirt feature gates to enable (e.g. LiveMigration, Snapshot)',
      },
    },
  },
  render(raw) {
    const settings = raw as { useEmulation: boolean; featureGates: string[] };
    return [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: KUBEVIRT_NAMESPACE,
          labels: { 'kubevirt.io': '', 'pod-security.kubernetes.io/enforce': 'privileged' },
        },
      },
      kubevirtCrd(),
      {
        apiVersion: 'scheduling.k8s.io/v1',
        kind: 'PriorityClass',
        metadata: { name: 'kubevirt-cluster-critical' },
        value: 1000000000,
        globalDefault: false,
        description: 'This priority class should be used for core kubevirt components only.',
      },
      clusterRole(
        'kubevirt.io:operator',
        [
          {
            apiGroups: ['kubevirt.io'],
            resources: ['kubevirts'],
            verbs: ['get', 'delete', 'create', 'update', 'patch', 'list', 'watch', 'deletecollection'],
          },
        ],
        { 'operator.kubevirt.io': '', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' },
      ),
      serviceAccount(KUBEVIRT_NAMESPACE, SA.name),
      role(KUBEVIRT_NAMESPACE, 'kubevirt-operator', KUBEVIRT_OPERATOR_ROLE_RULES),
      roleBinding(KUBEVIRT_NAMESPACE, 'kubevirt-operator-rolebinding', { kind: 'Role', name: 'kubevirt-operator' }, SA),
      clusterRole('kubevirt-operator', KUBEVIRT_OPERATOR_CLUSTER_RULES),
      clusterRoleBinding('kubevirt-operator', 'kubevirt-operator', SA),
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'virt-operator', namespace: KUBEVIRT_NAMESPACE, labels: { ...OPERATOR } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { ...OPERATOR } },
          strategy: { type: 'RollingUpdate' },
          template: {
            metadata: {
              labels: { ...OPERATOR, 'app.kubernetes.io/name': 'virt-operator', 'prometheus.kubevirt.io': 'true' },
              annotations: { 'openshift.io/required-scc': 'restricted-v2' },
            },
            spec: {
              priorityClassName: 'kubevirt-cluster-critical',
              tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
              affinity: {
                podAntiAffinity: {
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                      weight: 1,
                      podAffinityTerm: {
                        labelSelector: {
                          matchExpressions: [{ key: 'kubevirt.io', operator: 'In', values: ['virt-operator'] }],
                        },
                        topologyKey: 'kubernetes.io/hostname',
                      },
                    },
                  ],
                },
              },
              serviceAccountName: SA.name,
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'virt-operator',
                  image: KUBEVIRT_OPERATOR_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['virt-operator'],
                  args: ['--port', '8443', '-v', '2'],
                  ports: [
                    { name: 'metrics', protocol: 'TCP', containerPort: 8443 },
                    { name: 'webhooks', protocol: 'TCP', containerPort: 8444 },
                  ],
                  readinessProbe: {
                    httpGet: { scheme: 'HTTPS', port: 8443, path: '/metrics' },
                    initialDelaySeconds: 5,
                    timeoutSeconds: 10,
                  },
                  env: [
                    { name: 'VIRT_OPERATOR_IMAGE', value: KUBEVIRT_OPERATOR_IMAGE },
                    {
                      name: 'WATCH_NAMESPACE',
                      valueFrom: { fieldRef: { fieldPath: "metadata.annotations['olm.targetNamespaces']" } },
                    },
                    { name: 'KUBEVIRT_VERSION', value: 'v1.4.1' },
                  ],
                  resources: { requests: { cpu: '10m', memory: '450Mi' } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ['ALL'] },
                    seccompProfile: { type: 'RuntimeDefault' },
                  },
                  volumeMounts: [
                    { name: 'kubevirt-operator-certs', readOnly: true, mountPath: '/etc/virt-operator/certificates' },
                    { name: 'profile-data', mountPath: '/profile-data' },
                  ],
                },
              ],
              volumes: [
                { name: 'kubevirt-operator-certs', secret: { secretName: 'kubevirt-operator-certs', optional: true } },
                { name: 'profile-data', emptyDir: {} },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'KubeVirt',
        metadata: { name: 'kubevirt', namespace: KUBEVIRT_NAMESPACE },
        spec: {
          certificateRotateStrategy: {},
          configuration: {
            developerConfiguration: {
              featureGates: settings.featureGates,
              ...(settings.useEmulation ? { useEmulation: true } : {}),
            },
          },
          customizeComponents: {},
          imagePullPolicy: 'IfNotPresent',
          workloadUpdateStrategy: {},
        },
      },
    ];
  },
};
