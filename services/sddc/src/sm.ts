/**
 * What sddc asks of sm: the bootstrap material of a cluster (its PKI) when a provider brings up a
 * control plane, and short-lived admin credentials for work in the tenant API, so that secrets
 * never travel in job payloads.
 */
import type { Cluster, ClusterHealthStatus, EtcdSnapshotInfo, HaConfig, HaConfigStatus, Page, PairStatusView } from '@cx/api-schemas';
import type { BareMetalHost, HostClaim, HostInventory } from '@cx/providers-baremetal';
import type { ClusterBootstrap, MachineSpec, ProviderCredential } from '@cx/sddc-contract';
import { DependencyUnavailableError, fromProblem, type Problem } from '@cx/errors';

/** A machine as the health monitor needs it. */
export interface WatchedMachine { id: string; name: string; pool: string; role: 'control-plane' | 'worker'; phase: string; createdAt: string }
/** A cluster the health monitor watches: its policy (in `cluster.health` and the pools), machines and ha-configs. */
export interface HealthTarget { cluster: Cluster; machines: WatchedMachine[]; haConfigs?: HaConfig[] }

/** A side of a pair as the witness needs it: its agent, and its machine to fence. */
export interface PairSideTarget { clusterId: string; clusterName: string; provider: string; machineId: string | null; agentUrl: string }
/** A pair as sm hands it to the witness; `spec` is a `@cx/pair` PairSpec (checked before use). */
export interface PairTarget { id: string; spec: unknown; sides: Record<'a' | 'b', PairSideTarget>; token: string; witness: unknown }

/** A short-lived cluster-admin certificate for the tenant API (signed by sm with the cluster CA). */
export interface TenantAdminCredentials { apiEndpoint: string; caPem: string; certPem: string; keyPem: string }

/** An etcd snapshot of up to etcd.maxSnapshotBytes crosses loopback or a LAN in seconds; this is for a loaded sm. */
const TRANSFER_TIMEOUT_MS = 120_000;

const etcdSnapshotPath = (clusterId: string, snapshotId: string): string => `/clusters/${encodeURIComponent(clusterId)}/etcd-snapshots/${encodeURIComponent(snapshotId)}`;

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

  /** Records how an ha-config's matching nodes compare with those it was last applied to. */
  async setHaConfigSync(haConfigId: string, sync: NonNullable<HaConfigStatus['sync']>): Promise<void> {
    await this.call('PUT', `/ha-configs/${encodeURIComponent(haConfigId)}/sync`, sync);
  }

  /** Every two-node pair, with what its witness needs (sides, token, durable snapshot). */
  async pairTargets(): Promise<PairTarget[]> {
    return (await this.call<{ items: PairTarget[] }>('GET', '/pair-targets')).items;
  }

  /** The witness's durable state: written before it acts on a decision. */
  async savePairWitness(pairId: string, snapshot: unknown): Promise<void> {
    await this.call('PUT', `/pairs/${encodeURIComponent(pairId)}/witness`, { snapshot });
  }

  async savePairStatus(pairId: string, status: PairStatusView): Promise<void> {
    await this.call('PUT', `/pairs/${encodeURIComponent(pairId)}/status`, status);
  }

  /** Writes an entry in cx's audit log (what sddc did on its own, as a system actor). */
  async audit(entry: { actor: string; action: string; targetKind: string; targetId: string; outcome: string; details?: unknown }): Promise<void> {
    await this.call('POST', '/audit', entry);
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

  /** Stores an etcd snapshot's bytes in sm (which seals them) as snapshot `snapshotId` of the workflow `upload.workflowId`. */
  async uploadEtcdSnapshot(clusterId: string, snapshotId: string, upload: { workflowId: string; revision: number; sha256: string; etcdVersion: string }, data: Buffer): Promise<EtcdSnapshotInfo> {
    const query = new URLSearchParams({ workflowId: upload.workflowId, revision: String(upload.revision), sha256: upload.sha256, etcdVersion: upload.etcdVersion });
    const response = await this.transfer('PUT', `${etcdSnapshotPath(clusterId, snapshotId)}/data?${query}`, data);
    return await response.json() as EtcdSnapshotInfo;
  }

  /** An etcd snapshot's bytes (opened by sm) and the SHA-256 sm recorded for them. */
  async etcdSnapshotData(clusterId: string, snapshotId: string): Promise<{ data: Buffer; sha256: string }> {
    const response = await this.transfer('GET', `${etcdSnapshotPath(clusterId, snapshotId)}/data`);
    return { data: Buffer.from(await response.arrayBuffer()), sha256: response.headers.get('x-cx-sha256') ?? '' };
  }

  /** Raw bytes to or from sm, with time for tens of MiB (the JSON calls below keep 15 s). */
  private async transfer(method: 'GET' | 'PUT', path: string, body?: Buffer): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/internal/v1${path}`, {
        method, headers: { authorization: `Bearer ${this.serviceToken}`, ...(body ? { 'content-type': 'application/octet-stream' } : {}) },
        ...(body ? { body } : {}), signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS),
      });
    } catch (error) {
      throw new DependencyUnavailableError(`sm is unreachable at ${this.baseUrl} (${(error as Error).message}); check sm.url (CX_SM_URL)`, { cause: error });
    }
    if (!response.ok) throw fromProblem(await response.json().catch(() => ({})) as Partial<Problem>, response.status);
    return response;
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
