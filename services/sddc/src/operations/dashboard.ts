/**
 * Tokens for the Kubernetes Dashboard addon: a TokenRequest for the service account of the
 * caller's cx role (bound to view, edit or cluster-admin), valid one hour like a kubeconfig's
 * certificate. Nothing is stored: the token expires on its own, and deleting the addon's
 * accounts (removing the addon) revokes every token at once.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { DASHBOARD_ACCOUNTS, DASHBOARD_NAMESPACE } from '@cx/k8s';
import type { TenantAdminCredentials } from '@cx/sm-contract';
import { client, tenantCall } from '../tenant-api.js';

/** The Kubernetes minimum is 10 minutes; one hour matches the kubeconfigs. */
const TOKEN_SECONDS = 3600;

export async function dashboardToken(
  credentials: TenantAdminCredentials,
  role: keyof typeof DASHBOARD_ACCOUNTS,
): Promise<{ token: string; expiresAt: string; serviceAccount: string }> {
  const { serviceAccount } = DASHBOARD_ACCOUNTS[role];
  const answer = await tenantCall(() =>
    client(credentials)
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace: DASHBOARD_NAMESPACE,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { audiences: [], expirationSeconds: TOKEN_SECONDS },
        },
      }),
  );
  return {
    token: answer.status!.token,
    expiresAt: new Date(answer.status!.expirationTimestamp).toISOString(),
    serviceAccount,
  };
}
