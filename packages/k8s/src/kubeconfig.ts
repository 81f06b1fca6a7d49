/** kubeconfig files (clientcmd v1) for a tenant cluster and one user. */
import { stringify } from 'yaml';

export interface KubeconfigInput {
  clusterName: string;
  /** https://host:port of the tenant API. */
  server: string;
  caPem: string;
  user: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/**
 * One cluster, one user, one context. The user entry is named like the context (`user@cluster`),
 * so that kubeconfigs of several clusters merged into one file keep each its own credentials.
 */
export function renderKubeconfig(input: KubeconfigInput): string {
  const context = `${input.user}@${input.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': context,
    clusters: [
      { name: input.clusterName, cluster: { server: input.server, 'certificate-authority-data': base64(input.caPem) } },
    ],
    users: [
      {
        name: context,
        user: { 'client-certificate-data': base64(input.clientCertPem), 'client-key-data': base64(input.clientKeyPem) },
      },
    ],
    contexts: [{ name: context, context: { cluster: input.clusterName, user: context } }],
  });
}

const base64 = (text: string): string => Buffer.from(text).toString('base64');
