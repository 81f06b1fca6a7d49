/**
 * Work sddc does inside tenant clusters through their Kubernetes API, with a short-lived admin
 * certificate sm signs for it. For now: the RBAC that gives each cx role its Kubernetes role.
 */
import { KubeConfig, RbacAuthorizationV1Api, type V1ClusterRoleBinding } from '@kubernetes/client-node';
import { ProviderError, ProviderUnavailableError } from '@cx/errors';
import type { TenantAdminCredentials } from './sm.js';

/** cx role → the Kubernetes ClusterRole its group is bound to (the default user-facing roles). */
export const ROLE_BINDINGS: ReadonlyArray<{ group: string; clusterRole: string }> = [
  { group: 'cx:viewer', clusterRole: 'view' },
  { group: 'cx:operator', clusterRole: 'edit' },
  { group: 'cx:admin', clusterRole: 'cluster-admin' },
];

/** Creates or corrects the ClusterRoleBindings `cx-viewer`, `cx-operator`, `cx-admin`; idempotent. */
export async function configureAccess(credentials: TenantAdminCredentials): Promise<{ bindings: string[] }> {
  const api = client(credentials).makeApiClient(RbacAuthorizationV1Api);
  const names: string[] = [];
  for (const { group, clusterRole } of ROLE_BINDINGS) {
    const name = group.replace(':', '-');
    const body: V1ClusterRoleBinding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
      metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'cx' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
    };
    await tenantCall(async () => {
      try {
        await api.createClusterRoleBinding({ body });
      } catch (error) {
        if ((error as { code?: number }).code !== 409) throw error;
        await api.replaceClusterRoleBinding({ name, body }); // roleRef is immutable: ours never changes
      }
    });
    names.push(name);
  }
  return { bindings: names };
}

function client(credentials: TenantAdminCredentials): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'tenant', server: credentials.apiEndpoint, caData: Buffer.from(credentials.caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'cx-admin', certData: Buffer.from(credentials.certPem).toString('base64'), keyData: Buffer.from(credentials.keyPem).toString('base64') }],
    contexts: [{ name: 'tenant', cluster: 'tenant', user: 'cx-admin' }],
    currentContext: 'tenant',
  });
  return config;
}

async function tenantCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const status = (error as { code?: unknown }).code;
    if (typeof status !== 'number' || status >= 500 || status === 429) {
      throw new ProviderUnavailableError(`the tenant Kubernetes API failed: ${(error as Error).message.split('\n')[0]}`);
    }
    throw new ProviderError(`the tenant Kubernetes API refused: HTTP ${status}`);
  }
}
