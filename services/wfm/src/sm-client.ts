/**
 * Client of sm's internal API. Problem answers become cx errors again (by code); an sm that cannot
 * be reached becomes a retryable CX_DEPENDENCY_UNAVAILABLE naming the setting to check.
 */
import { Agent, request as httpRequest } from 'undici';
import type { AccessObject, AccessRequirement, Cluster, ClusterCreateRequest, Credential, HaConfig, HaConfigCreateRequest, LoginRequest, LoginResponse, NodePoolRequest, NodeScheduling, Principal, ResourceGroup, Role } from '@cx/api-schemas';
import { DependencyUnavailableError, fromProblem, type Problem } from '@cx/errors';

export type ClusterStatus = Cluster['status'];

/** A cluster template used by a cluster create: which version, and its addons as the create workflow installs them. */
export interface TemplateUse { id: string; version: number; addons: Array<{ name: string; version: string; settings: Record<string, unknown>; secrets: Record<string, unknown> }> }

export interface WorkflowStart {
  workflow: string;
  version: number;
  steps: string[];
  input: Record<string, unknown>;
  clusterStatus: ClusterStatus;
}
export interface StartRequest { actor: string; idempotencyKey?: string | undefined; requestHash?: string | undefined; workflow: WorkflowStart }
/** The cluster, the workflow started, and what was created with it (an ha-config…). */
export interface AcceptedBody { cluster: Cluster; workflow: { id: string; status: string }; [created: string]: unknown }
export interface Accepted { body: AcceptedBody; replayed: boolean }

export interface Machine {
  id: string; clusterId: string; pool: string; name: string; role: 'control-plane' | 'worker'; kubernetesVersion: string;
  phase: string; providerId: string | null; addresses: string[]; nodeStatus: 'Ready' | 'NotReady'; version: number;
}

export interface RunStep {
  name: string; status: string; attempts: number; message: string | null; output: unknown;
  error: { code: string; message: string; retryable?: boolean } | null; startedAt: string | null; finishedAt: string | null;
}
export interface Run {
  id: string; workflow: string; workflowVersion: number; clusterId: string; status: string; currentStep: number; generation: number;
  input: Record<string, unknown>; error: { code: string; message: string } | null; steps: RunStep[];
  createdBy: string; createdAt: string; startedAt: string | null; finishedAt: string | null; updatedAt: string;
}

export type StepEffect =
  | { kind: 'upsertMachines'; machines: Array<{ name: string; pool: string; role: 'control-plane' | 'worker'; kubernetesVersion: string }> }
  | { kind: 'updateMachines'; machines: Array<{ id: string; phase?: string; providerId?: string | null; addresses?: string[]; nodeStatus?: 'Ready' | 'NotReady'; kubernetesVersion?: string }> }
  | { kind: 'deleteMachines'; ids: string[] }
  | { kind: 'removePool'; pool: string }
  | { kind: 'setClusterStatus'; status: ClusterStatus; message?: string | null }
  | { kind: 'setClusterEndpoint'; apiEndpoint: string }
  | { kind: 'setClusterVersion'; kubernetesVersion: string }
  /** The OS image the cluster's new machines boot from (an OS upgrade records it before replacing the workers). */
  | { kind: 'setClusterImage'; osImage: string | null }
  | { kind: 'beginCaRotation' }
  | { kind: 'finishCaRotation' }
  | { kind: 'rotateCertificates' }
  | { kind: 'deleteHaConfig'; id: string }
  | { kind: 'setHaConfigApplied'; id: string; nodes: Array<{ name: string; address: string }>; workflowId: string }
  | { kind: 'setAddonInstalled'; name: string }
  | { kind: 'deleteAddon'; name: string }
  | { kind: 'deleteCluster' };

export class SmClient {
  private readonly agent: Agent;
  private readonly authorization: string;
  private readonly clusterChangeListeners: Array<() => Promise<void>> = [];

  constructor(private readonly baseUrl: string, serviceToken: string) {
    this.agent = new Agent({ connections: 128, keepAliveTimeout: 30_000, headersTimeout: 15_000, bodyTimeout: 15_000 });
    this.authorization = `Bearer ${serviceToken}`;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Registers a listener called after every call that may have changed a cluster, failed ones included. */
  onClusterChange(listener: () => Promise<void>): void {
    this.clusterChangeListeners.push(listener);
  }

  private async changing<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } finally {
      await Promise.all(this.clusterChangeListeners.map((listener) => listener()));
    }
  }

  login(body: LoginRequest & { sourceIp?: string; requestId?: string }): Promise<LoginResponse> {
    return this.call('POST', '/auth/login', body);
  }
  async introspect(token: string): Promise<Principal> {
    return (await this.call<{ user: Principal }>('POST', '/auth/introspect', { token })).user;
  }
  /** Allows, or throws the 403 / 404 sm decided. */
  async checkAccess(userId: string, requirement: AccessRequirement): Promise<void> {
    await this.call('POST', '/access/check', { userId, requirement });
  }
  /** The user's role on an object, or null. */
  async roleOn(userId: string, object: AccessObject): Promise<Role | null> {
    return (await this.call<{ role: Role | null }>('POST', '/access/role', { userId, object })).role;
  }
  /**
   * Forwards a call to sm and answers its status and JSON as they are: for the identity and access
   * resources, sm's internal answer is the public shape. Errors are thrown as cx errors.
   */
  async relay(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const { status, text } = await this.send(method, path, body);
    return { status, text };
  }
  /** A resource group, or null when it does not exist. */
  async resourceGroup(idOrName: string): Promise<ResourceGroup | null> {
    try {
      return await this.call<ResourceGroup>('GET', `/resource-groups/${encodeURIComponent(idOrName)}`);
    } catch (error) {
      if ((error as { code?: string }).code === 'CX_NOT_FOUND') return null;
      throw error;
    }
  }
  haConfig(id: string): Promise<HaConfig> {
    return this.call('GET', `/ha-configs/${encodeURIComponent(id)}`);
  }
  /** Creates an ha-config and starts the workflow that applies it, in one transaction. */
  async createHaConfig(config: HaConfigCreateRequest, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', '/ha-configs', { config, start }));
  }
  /** The cluster's addons, as sm wrote them (the public shape). */
  clusterAddonsJson(clusterId: string): Promise<string> {
    return this.text('GET', `/clusters/${encodeURIComponent(clusterId)}/addons`);
  }
  /** An addon with its secret settings, for the workflow that applies it only. */
  revealAddon(clusterId: string, name: string): Promise<{ name: string; version: string; settings: Record<string, unknown> }> {
    return this.call('GET', `/clusters/${encodeURIComponent(clusterId)}/addons/${encodeURIComponent(name)}/reveal`);
  }
  /** Records the addon and starts the workflow that installs it, in one transaction. */
  async installAddon(clusterId: string, name: string, addon: { version: string; settings: Record<string, unknown>; secrets: Record<string, unknown> }, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/addons/${encodeURIComponent(name)}/install`, { addon, start }));
  }
  /** Marks the addon for removal and starts the workflow that removes it, in one transaction (404 when not installed). */
  async removeAddon(clusterId: string, name: string, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/addons/${encodeURIComponent(name)}/remove`, { start }));
  }
  /** Starts the workflow that takes an etcd snapshot of the cluster; sm answers the snapshot's id with it. */
  async startEtcdSnapshot(clusterId: string, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/etcd-snapshots`, { start }));
  }
  /** Starts the restore of one of the cluster's etcd snapshots (404 for any other), in one transaction. */
  async startEtcdRestore(clusterId: string, snapshotId: string, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/etcd-snapshots/${encodeURIComponent(snapshotId)}/restore`, { start }));
  }
  credential(idOrName: string): Promise<Credential> {
    return this.call('GET', `/credentials/${encodeURIComponent(idOrName)}`);
  }
  /** The clusters `userId` may see, as sm wrote them: its JSON is the public shape, so wfm forwards the bytes. */
  listClustersJson(limit: number, cursor: string | undefined, userId: string): Promise<string> {
    return this.text('GET', clustersPath(limit, cursor, userId));
  }
  getClusterJson(id: string): Promise<string> {
    return this.text('GET', `/clusters/${encodeURIComponent(id)}`);
  }
  /** `template`: the cluster template the request was completed with, at that version, and its addons (checked, secrets split off) for the create workflow to install. */
  async createCluster(request: ClusterCreateRequest, start: StartRequest, template?: TemplateUse): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', '/clusters', { request, start, ...(template ? { template } : {}) }));
  }
  async scalePool(clusterId: string, pool: string, count: number, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/pools/${encodeURIComponent(pool)}/scale`, { count, start }));
  }
  async updatePoolScheduling(clusterId: string, pool: string, scheduling: Required<NodeScheduling>, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/pools/${encodeURIComponent(pool)}/scheduling`, { scheduling, start }));
  }
  async addPool(clusterId: string, pool: NodePoolRequest, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/pools`, { pool, start }));
  }
  async startClusterWorkflow(clusterId: string, start: StartRequest): Promise<Accepted> {
    return this.changing(this.callAccepted('POST', `/clusters/${encodeURIComponent(clusterId)}/workflows`, start));
  }
  /** The caller's kubeconfig for the cluster (sm signs a short-lived client certificate). */
  kubeconfig(clusterId: string, userId: string): Promise<{ kubeconfig: string; expiresAt: string }> {
    return this.call('POST', `/clusters/${encodeURIComponent(clusterId)}/kubeconfig`, { userId });
  }
  listNodesJson(clusterId: string): Promise<string> {
    return this.text('GET', `/clusters/${encodeURIComponent(clusterId)}/nodes`);
  }
  getRun(id: string): Promise<Run> {
    return this.call('GET', `/workflow-runs/${encodeURIComponent(id)}`);
  }
  /** Pending and Running runs unchanged since `idleSince`, oldest first, one page after the run id `after`. */
  async activeRuns(limit: number, idleSince: string, after?: string): Promise<Array<{ id: string; currentStep: number; generation: number; status: string }>> {
    const query = new URLSearchParams({ limit: String(limit), idleSince, ...(after ? { after } : {}) });
    return (await this.call<{ items: Array<{ id: string; currentStep: number; generation: number; status: string }> }>('GET', `/workflow-runs/active?${query}`)).items;
  }
  startStep(runId: string, idx: number, generation: number, attempt: number): Promise<{ run: Run; cluster: Cluster; machines: Machine[] }> {
    return this.call('POST', `/workflow-runs/${runId}/steps/${idx}/start`, { generation, attempt });
  }
  async stepProgress(runId: string, idx: number, generation: number, message: string): Promise<void> {
    await this.call('POST', `/workflow-runs/${runId}/steps/${idx}/progress`, { generation, message });
  }
  completeStep(runId: string, idx: number, generation: number, output: unknown, effects: StepEffect[]): Promise<{ next: number | null }> {
    return this.changing(this.call('POST', `/workflow-runs/${runId}/steps/${idx}/complete`, { generation, output, effects }));
  }
  async failStep(runId: string, idx: number, generation: number, error: { code: string; message: string; retryable: boolean; reason?: string; machineId?: string }): Promise<void> {
    await this.changing(this.call('POST', `/workflow-runs/${runId}/steps/${idx}/fail`, { generation, error }));
  }
  cancelRun(id: string): Promise<Run> {
    return this.changing(this.call('POST', `/workflow-runs/${encodeURIComponent(id)}/cancel`, {}));
  }
  retryRun(id: string): Promise<Run> {
    return this.changing(this.call('POST', `/workflow-runs/${encodeURIComponent(id)}/retry`, {}));
  }
  async audit(entry: { actor: string; action: string; targetKind?: string; targetId?: string; outcome: string; sourceIp?: string; requestId?: string; details?: unknown }): Promise<void> {
    await this.call('POST', '/audit', entry);
  }
  async ready(): Promise<boolean> {
    const response = await httpRequest(`${this.baseUrl}/readyz`, { dispatcher: this.agent });
    await response.body.dump();
    return response.statusCode === 200;
  }

  private async callAccepted(method: 'POST', path: string, body: unknown): Promise<Accepted> {
    const { text, headers } = await this.send(method, path, body);
    return { body: JSON.parse(text) as AcceptedBody, replayed: headers['idempotent-replayed'] === 'true' };
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const { text } = await this.send(method, path, body);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async text(method: 'GET', path: string): Promise<string> {
    return (await this.send(method, path)).text;
  }

  private async send(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
    let response;
    try {
      response = await httpRequest(`${this.baseUrl}/internal/v1${path}`, {
        method, dispatcher: this.agent,
        headers: { authorization: this.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new DependencyUnavailableError(`sm is unreachable at ${this.baseUrl} (${(error as Error).message}); check sm.url (CX_SM_URL) and that sm runs`, { cause: error });
    }
    const text = await response.body.text();
    if (response.statusCode >= 400) {
      let problem: Partial<Problem> = {};
      try { problem = JSON.parse(text) as Partial<Problem>; } catch { problem = { detail: text.slice(0, 200) }; }
      const error = fromProblem(problem, response.statusCode);
      if (response.statusCode === 503 && error.code === 'CX_INTERNAL') throw new DependencyUnavailableError(`sm is not ready: ${problem.detail ?? ''}`);
      throw error;
    }
    return { status: response.statusCode, text, headers: response.headers };
  }
}

function clustersPath(limit: number, cursor: string | undefined, userId: string): string {
  const query = new URLSearchParams({ limit: String(limit), userId });
  if (cursor !== undefined) query.set('cursor', cursor);
  return `/clusters?${query}`;
}
