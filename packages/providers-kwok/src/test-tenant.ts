/** For this package's tests of a real tenant control plane: an admin's client and a poller. */
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { issueCertificate, type ClusterPki } from '@cx/k8s';

/** A client of the tenant API as an administrator, with a certificate of the cluster's CA (as cx hands out). */
export async function adminKubeConfig(pki: ClusterPki, clusterId: string, server: string): Promise<KubeConfig> {
  const admin = await issueCertificate(pki.ca, {
    commonName: 'test-admin',
    organizations: ['system:masters'],
    usage: 'client',
    validitySeconds: 3600,
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      { name: clusterId, server, caData: Buffer.from(pki.ca.certPem).toString('base64'), skipTLSVerify: false },
    ],
    users: [
      {
        name: 'admin',
        certData: Buffer.from(admin.certPem).toString('base64'),
        keyData: Buffer.from(admin.keyPem).toString('base64'),
      },
    ],
    contexts: [{ name: clusterId, cluster: clusterId, user: 'admin' }],
    currentContext: clusterId,
  });
  return config;
}

/** Polls `probe` every 250 ms until it answers something other than undefined; fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await sleep(250);
  }
}
