/**
 * The RBAC that gives each cx role its Kubernetes role in a tenant cluster, applied through the
 * tenant API with the admin certificate sm signs for sddc.
 */
import { RbacAuthorizationV1Api, type V1ClusterRoleBinding } from '@kubernetes/client-node';
import type { TenantAdminCredentials } from '@cx/sm-contract';
import { client, tenantCall } from '../tenant-api.js';

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
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
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
