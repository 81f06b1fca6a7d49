/**
 * What sddc asks of sm: the bootstrap material of a cluster (its PKI) when a provider brings up a
 * control plane, and short-lived admin credentials for work in the tenant API, so that secrets
 * never travel in job payloads.
 */
import type { Cluster, ClusterHealthStatus, Page } from '@cx/api-schemas';
import type { BareMetalHost, HostClaim, HostInventory } from '@cx/providers-baremetal';
import type { ClusterBootstrap, MachineSpec, ProviderCredential } from '@cx/sddc-contract';
import { DependencyUnavailableError, fromProblem, type Problem } from '@cx/errors';

/** A machine as the health monitor needs it. */
export interface WatchedMachine { id: string; name: string; pool: string; role: 'control-plane' | 'worker'; phase: string; createdAt: string }
/** A cluster the health monitor watches: its policy (in `cluster.health` and the pools) and machines. */
export interface HealthTarget { cluster: Cluster; machines: WatchedMachine[] }

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

  /** The credential of the cluster's resource group, with its password (for credentialed providers). */
  infrastructureCredential(clusterId: string): Promise<ProviderCredential> {
    return this.call('GET', `/clusters/${encodeURIComponent(clusterId)}/infrastructure-credential`);
  }

  /** One page of the clusters the node health monitor watches, with their machines. */
  healthTargets(limit: number, cursor?: string): Promise<Page<HealthTarget>> {
    return this.call('GET', `/health-targets?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
  }

  async setHealthStatus(clusterId: string, status: ClusterHealthStatus): Promise<void> {
    await this.call('PUT', `/clusters/${encodeURIComponent(clusterId)}/health-status`, status);
  }

  /** The bare-metal host inventory sm keeps, as the baremetal provider sees it. */
  hostInventory(): HostInventory {
    const claimPath = (clusterId: string, machineId: string): string => `/host-claims/${encodeURIComponent(clusterId)}/${encodeURIComponent(machineId)}`;
    return {
      claim: (spec: MachineSpec) => this.call<BareMetalHost>('POST', '/host-claims', { spec }),
      claimOf: async (clusterId, machineId) => (await this.call<{ host: BareMetalHost | null }>('GET', claimPath(clusterId, machineId))).host,
      claims: async (clusterId) => (await this.call<{ items: HostClaim[] }>('GET', `/host-claims/${encodeURIComponent(clusterId)}`)).items,
      release: async (clusterId, machineId, cleaning = false) => { await this.call('DELETE', `${claimPath(clusterId, machineId)}${cleaning ? '?cleaning=true' : ''}`); },
      cleaning: async () => (await this.call<{ items: BareMetalHost[] }>('GET', '/host-cleaning')).items,
      cleaned: async (hostId) => { await this.call('POST', `/host-cleaning/${encodeURIComponent(hostId)}/done`); },
    };
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/internal/v1${path}`, {
        method, headers: { authorization: `Bearer ${this.serviceToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new DependencyUnavailableError(`sm is unreachable at ${this.baseUrl} (${(error as Error).message}); check sm.url (CX_SM_URL)`, { cause: error });
    }
    const answer = await response.json().catch(() => ({})) as unknown;
    if (!response.ok) throw fromProblem(answer as Partial<Problem>, response.status);
    return answer as T;
  }
}
