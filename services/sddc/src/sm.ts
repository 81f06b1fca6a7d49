/**
 * sddc's one use of sm: the bootstrap material of a cluster (its PKI), fetched when a provider
 * brings up a control plane, so that secrets never travel in job payloads.
 */
import type { ClusterBootstrap } from '@cx/sddc-contract';
import { DependencyUnavailableError, fromProblem, type Problem } from '@cx/errors';

export class SmBootstrapClient {
  constructor(private readonly baseUrl: string, private readonly serviceToken: string) {}

  async bootstrap(clusterId: string): Promise<ClusterBootstrap> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/internal/v1/clusters/${encodeURIComponent(clusterId)}/bootstrap`, {
        headers: { authorization: `Bearer ${this.serviceToken}` }, signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new DependencyUnavailableError(`sm is unreachable at ${this.baseUrl} (${(error as Error).message}); check sm.url (CX_SM_URL)`, { cause: error });
    }
    const body = await response.json().catch(() => ({})) as unknown;
    if (!response.ok) throw fromProblem(body as Partial<Problem>, response.status);
    return body as ClusterBootstrap;
  }
}
