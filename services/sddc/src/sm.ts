/**
 * What sddc asks of sm: the bootstrap material of a cluster (its PKI) when a provider brings up a
 * control plane, and short-lived admin credentials for work in the tenant API, so that secrets
 * never travel in job payloads.
 */
import type { ClusterBootstrap } from '@cx/sddc-contract';
import { DependencyUnavailableError, fromProblem, type Problem } from '@cx/errors';

/** A short-lived cluster-admin certificate for the tenant API (signed by sm with the cluster CA). */
export interface TenantAdminCredentials { apiEndpoint: string; caPem: string; certPem: string; keyPem: string }

export class SmBootstrapClient {
  constructor(private readonly baseUrl: string, private readonly serviceToken: string) {}

  bootstrap(clusterId: string): Promise<ClusterBootstrap> {
    return this.call('GET', `/clusters/${encodeURIComponent(clusterId)}/bootstrap`);
  }

  adminCredentials(clusterId: string): Promise<TenantAdminCredentials> {
    return this.call('POST', `/clusters/${encodeURIComponent(clusterId)}/admin-credentials`);
  }

  private async call<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/internal/v1${path}`, {
        method, headers: { authorization: `Bearer ${this.serviceToken}` }, signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new DependencyUnavailableError(`sm is unreachable at ${this.baseUrl} (${(error as Error).message}); check sm.url (CX_SM_URL)`, { cause: error });
    }
    const body = await response.json().catch(() => ({})) as unknown;
    if (!response.ok) throw fromProblem(body as Partial<Problem>, response.status);
    return body as T;
  }
}
