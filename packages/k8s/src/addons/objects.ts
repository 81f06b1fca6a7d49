/** Small builders for the objects addons are made of, so that each addon file reads as its manifest. */
import { createHash } from 'node:crypto';
import type { KubernetesObject } from './types.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

const RBAC = 'rbac.authorization.k8s.io/v1';

export function namespace(name: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function serviceAccount(ns: string, name: string): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: ns },
    automountServiceAccountToken: true,
  };
}

export function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}): KubernetesObject {
  return { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name, labels }, rules };
}

export function role(ns: string, name: string, rules: PolicyRule[]): KubernetesObject {
  return { apiVersion: RBAC, kind: 'Role', metadata: { name, namespace: ns }, rules };
}

/** Binds a ClusterRole cluster-wide to a service account. */
export function clusterRoleBinding(
  name: string,
  clusterRoleName: string,
  subject: { namespace: string; name: string },
): KubernetesObject {
  return {
    apiVersion: RBAC,
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName },
    subjects: [{ kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }],
  };
}

/** Binds a Role (or a ClusterRole, inside one namespace) to a service account. */
export function roleBinding(
  ns: string,
  name: string,
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string },
  subject: { namespace: string; name: string },
): KubernetesObject {
  return {
    apiVersion: RBAC,
    kind: 'RoleBinding',
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects: [{ kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }],
  };
}

/** Security context of an unprivileged container, as the upstream manifests set it. */
export const RESTRICTED = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

/** Fingerprint of a configuration, as a pod template annotation: a changed configuration rolls the pods. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
