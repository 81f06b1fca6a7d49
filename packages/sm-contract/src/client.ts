/**
 * The client of sm's internal API that wfm and sddc share. Problem answers become cx errors again
 * (by code); an sm that cannot be reached becomes a retryable CX_DEPENDENCY_UNAVAILABLE naming the
 * setting to check. JSON answers are parsed in `json` only, into the contract's types.
 */
import { Agent, interceptors, request as httpRequest, type Dispatcher } from 'undici';
import type {
  AccessObject,
  AccessRequirement,
  Cluster,
  ClusterAddon,
  ClusterEvent,
  ClusterCreateRequest,
  ClusterHealthStatus,
  Credential,
  EtcdSnapshotInfo,
  HaConfig,
  HaConfigCreateRequest,
  HaConfigStatus,
  HealthPolicy,
  LoginRequest,
  LoginResponse,
  Node,
  NodePoolRequest,
  NodeScheduling,
  Page,
  PairStatusView,
  Principal,
  ResourceGroup,
  Role,
  Workflow,
} from '@cx/api-schemas';
import { DependencyUnavailableError, fromProblem, type Problem } from '@cx/errors';
import type { ClusterBootstrap, MachineSpec, ProviderCredential } from '@cx/sddc-contract';
import type { AddonInstall, CreateAddon, InstallAddonBody, RevealedAddon } from './addons.js';
import type { AuditRequest } from './audit.js';
import type {
  AddPoolBody,
  CreateClusterBody,
  Kubeconfig,
  ClusterEventQuery,
  KubeconfigBody,
  NodePageQuery,
  PoolSchedulingBody,
  ScalePoolBody,
  TenantAdminCredentials,
} from './clusters.js';
import { SNAPSHOT_SHA256_HEADER, type SnapshotUpload } from './etcd.js';
import type { HealthTarget } from './health.js';
import type { NamedKind, ResolvedName } from './names.js';
import type { ClaimHostBody, HostClaim, RevealedHost } from './hosts.js';
import type { PairTarget, PairWitnessBody } from './pairs.js';
import type {
  Accepted,
  AcceptedBody,
  ActiveRun,
  Run,
  RunListQuery,
  StartBody,
  StartRequest,
  StepAdvanced,
  StepCompleted,
  StepEffect,
  StepError,
  StepStart,
  StepTransitionResponse,
  StepTransitionsInProcess,
} from './runs.js';
import { TransitionBatcher } from './transition-batcher.js';
import type { TemplateUse } from './templates.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Headers = Record<string, string | string[] | undefined>;

/** One call of sm's internal API as it crosses the wire: what a transport sends and answers. */
export interface SmCall {
  method: Method;
  /** The path under sm's base URL, `/internal/v1/…` with its query. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}
export interface SmAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

/**
 * The calls every public request makes of sm (its access check, the name in its path, its audit
 * record), the create of a cluster or the start of its workflow, and the health monitor's reports,
 * as sm's modules answer them: in the all-in-one they skip fastify's inject, which costs about
 * 90 µs of CPU a call, several per request. sm validates their input with the schemas of its
 * routes, and throws the errors its routes answer.
 */
export interface SmDirectCalls {
  checkAccess(userId: string, requirement: AccessRequirement): Promise<void>;
  resolveName(kind: NamedKind, ref: string): Promise<string | null>;
  audit(entry: AuditRequest): Promise<void>;
  createCluster(body: CreateClusterBody): Promise<Accepted>;
  startClusterWorkflow(clusterId: string, start: StartRequest): Promise<Accepted>;
  /** sddc's health monitor reports every cluster it watches, and again every few minutes. */
  setHealthStatus(clusterId: string, status: ClusterHealthStatus): Promise<void>;
}

/**
 * sm in the same process (the all-in-one): `transitions` is its module's own handling of a batch
 * of step transitions, which the engine calls directly, and `calls` those of SmDirectCalls;
 * `dispatch` hands every other call to sm's HTTP app without a socket (fastify's inject), through
 * the same routes, validation and answers as over loopback.
 */
export interface SmInProcess {
  transitions?: StepTransitionsInProcess;
  calls?: SmDirectCalls;
  dispatch?: (call: SmCall) => Promise<SmAnswer>;
}

/** JSON calls answer in well under this; a slower sm is treated as failing. */
const CALL_TIMEOUT_MS = 15_000;
/** An etcd snapshot of up to etcd.maxSnapshotBytes crosses loopback or a LAN in seconds; this is for a loaded sm. */
const TRANSFER_TIMEOUT_MS = 120_000;

/** A body already serialised as JSON, sent as it is. */
class JsonText {
  constructor(readonly text: string) {}
}

const segment = encodeURIComponent;
const clusterPath = (clusterId: string): string => `/clusters/${segment(clusterId)}`;
const etcdSnapshotPath = (clusterId: string, snapshotId: string): string =>
  `${clusterPath(clusterId)}/etcd-snapshots/${segment(snapshotId)}`;
const claimPath = (clusterId: string, machineId: string): string =>
  `/host-claims/${segment(clusterId)}/${segment(machineId)}`;

export class SmClient {
  private readonly pool: Agent;
  private readonly agent: Dispatcher;
  private readonly authorization: string;
  private readonly clusterChangeListeners: Array<() => Promise<void>> = [];

  private readonly dispatch: SmInProcess['dispatch'];
  private readonly direct: SmDirectCalls | undefined;
  /** Step transitions, those made at one time in one batch: a request, or a call of sm's module in this process. */
  private readonly transitions: TransitionBatcher;

  /** `inProcess`: sm's module and app when sm runs in this process (the all-in-one); loopback HTTP is then skipped. */
  constructor(
    private readonly baseUrl: string,
    serviceToken: string,
    inProcess: SmInProcess = {},
  ) {
    this.dispatch = inProcess.dispatch;
    this.direct = inProcess.calls;
    this.transitions = inProcess.transitions
      ? TransitionBatcher.inProcess(inProcess.transitions)
      : TransitionBatcher.overHttp(
          async (body) =>
            (await this.json<StepTransitionResponse>('POST', '/workflow-runs/transitions', new JsonText(body))).answers,
        );
    this.pool = new Agent({
      connections: 128,
      keepAliveTimeout: 30_000,
      headersTimeout: CALL_TIMEOUT_MS,
      bodyTimeout: CALL_TIMEOUT_MS,
    });
    // A replica of sm dying (or a balancer closing a kept-alive connection) fails the calls on its
    // connections: an idempotent call (GET, PUT, DELETE) is sent again on a new connection, which
    // reaches a live replica. POSTs are not resent here; the engine retries its own steps.
    this.agent = this.pool.compose(
      interceptors.retry({ maxRetries: 3, minTimeout: 100, maxTimeout: 1_000, statusCodes: [] }),
    );
    this.authorization = `Bearer ${serviceToken}`;
  }

  async close(): Promise<void> {
    await this.pool.close();
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

  /** A direct call of sm in this process (SmDirectCalls), held to the time limit of a call; sm's own errors pass as they are. */
  private directly<T>(call: string, answer: Promise<T>): Promise<T> {
    return answeredWithin(answer, CALL_TIMEOUT_MS, (why) => notAnsweredInProcess(call, why));
  }

  // ---- identity and access (wfm) ----

  login(body: LoginRequest & { sourceIp?: string; requestId?: string }): Promise<LoginResponse> {
    return this.json('POST', '/auth/login', body);
  }
  async introspect(token: string): Promise<Principal> {
    return (await this.json<{ user: Principal }>('POST', '/auth/introspect', { token })).user;
  }
  /** Allows, or throws the 403 / 404 sm decided. */
  async checkAccess(userId: string, requirement: AccessRequirement): Promise<void> {
    if (this.direct) return this.directly('access check', this.direct.checkAccess(userId, requirement));
    await this.send('POST', '/access/check', { userId, requirement });
  }
  /** The user's role on an object, or null. */
  async roleOn(userId: string, object: AccessObject): Promise<Role | null> {
    return (await this.json<{ role: Role | null }>('POST', '/access/role', { userId, object })).role;
  }
  /**
   * Forwards a call to sm and answers its status and JSON as they are: for the identity and access
   * resources, sm's internal answer is the public shape. Errors are thrown as cx errors.
   */
  async relay(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const { status, body: answer } = await this.send(method, path, body);
    return { status, text: answer.toString('utf8') };
  }
  /**
   * The id of the `kind` object `ref` names: `ref` itself when it is an object's id (ids come
   * first), else the id of the object named `ref`; null when neither exists. A name that several
   * objects share (ha-configs are unique per cluster only) is a 409 asking for the id.
   */
  async resolveName(kind: NamedKind, ref: string): Promise<string | null> {
    if (this.direct) return this.directly('name lookup', this.direct.resolveName(kind, ref));
    return (await this.json<ResolvedName>('GET', `/names/${segment(kind)}/${segment(ref)}`)).id;
  }
  /** A resource group, or null when it does not exist. */
  async resourceGroup(idOrName: string): Promise<ResourceGroup | null> {
    try {
      return await this.json<ResourceGroup>('GET', `/resource-groups/${segment(idOrName)}`);
    } catch (error) {
      if ((error as { code?: string }).code === 'CX_NOT_FOUND') return null;
      throw error;
    }
  }
  credential(idOrName: string): Promise<Credential> {
    return this.json('GET', `/credentials/${segment(idOrName)}`);
  }

  // ---- clusters and the workflows that change them (wfm) ----

  /** The clusters `userId` may see, as sm wrote them: its JSON is the public shape, so wfm forwards the bytes. */
  listClustersJson(limit: number, cursor: string | undefined, userId: string): Promise<string> {
    const query = new URLSearchParams({ limit: String(limit), userId });
    if (cursor !== undefined) query.set('cursor', cursor);
    return this.text('GET', `/clusters?${query}`);
  }
  getClusterJson(id: string): Promise<string> {
    return this.text('GET', clusterPath(id));
  }
  /** Replaces the cluster's node health policy (no workflow); answers the cluster. */
  setHealthPolicy(id: string, policy: HealthPolicy): Promise<Cluster> {
    return this.changing(this.json('PUT', `${clusterPath(id)}/health-policy`, policy));
  }
  /** The cluster, for wfm's own decisions (getClusterJson when the bytes go to the caller). */
  getCluster(id: string): Promise<Cluster> {
    return this.json('GET', clusterPath(id));
  }
  /** `template`: the cluster template the request was completed with, at that version; `addons`: what the create workflow installs (checked, secrets split off). */
  async createCluster(
    request: ClusterCreateRequest,
    start: StartRequest,
    template?: TemplateUse,
    addons: CreateAddon[] = [],
  ): Promise<Accepted> {
    const body: CreateClusterBody = {
      request,
      start,
      ...(template ? { template } : {}),
      ...(addons.length > 0 ? { addons } : {}),
    };
    if (this.direct) return this.changing(this.directly('cluster create', this.direct.createCluster(body)));
    return this.changing(this.accepted('/clusters', body));
  }
  async scalePool(clusterId: string, pool: string, count: number, start: StartRequest): Promise<Accepted> {
    const body: ScalePoolBody = { count, start };
    return this.changing(this.accepted(`${clusterPath(clusterId)}/pools/${segment(pool)}/scale`, body));
  }
  async updatePoolScheduling(
    clusterId: string,
    pool: string,
    scheduling: Required<NodeScheduling>,
    start: StartRequest,
  ): Promise<Accepted> {
    const body: PoolSchedulingBody = { scheduling, start };
    return this.changing(this.accepted(`${clusterPath(clusterId)}/pools/${segment(pool)}/scheduling`, body));
  }
  async addPool(clusterId: string, pool: NodePoolRequest, start: StartRequest): Promise<Accepted> {
    const body: AddPoolBody = { pool, start };
    return this.changing(this.accepted(`${clusterPath(clusterId)}/pools`, body));
  }
  async startClusterWorkflow(clusterId: string, start: StartRequest): Promise<Accepted> {
    if (this.direct)
      return this.changing(this.directly('workflow start', this.direct.startClusterWorkflow(clusterId, start)));
    return this.changing(this.accepted(`${clusterPath(clusterId)}/workflows`, start));
  }
  /** The caller's kubeconfig for the cluster (sm signs a short-lived client certificate). */
  kubeconfig(clusterId: string, userId: string): Promise<Kubeconfig> {
    const body: KubeconfigBody = { userId };
    return this.json('POST', `${clusterPath(clusterId)}/kubeconfig`, body);
  }
  /** A page of the cluster's feed (newest first), or with `since` the events from then on (oldest first). */
  clusterEvents(clusterId: string, query: ClusterEventQuery): Promise<Page<ClusterEvent>> {
    return this.json('GET', `${clusterPath(clusterId)}/events?${queryString(query)}`);
  }
  /** One page of the cluster's nodes as cx recorded them (one pool's, or all). */
  nodesPage(clusterId: string, query: NodePageQuery): Promise<Page<Node>> {
    return this.json('GET', `${clusterPath(clusterId)}/nodes?${queryString(query)}`);
  }
  async listNodes(clusterId: string): Promise<Node[]> {
    return (await this.json<Page<Node>>('GET', `${clusterPath(clusterId)}/nodes`)).items;
  }

  haConfig(id: string): Promise<HaConfig> {
    return this.json('GET', `/ha-configs/${segment(id)}`);
  }
  /** Creates an ha-config and starts the workflow that applies it, in one transaction. */
  async createHaConfig(config: HaConfigCreateRequest, start: StartRequest): Promise<Accepted> {
    return this.changing(this.accepted('/ha-configs', { config, start }));
  }

  /** The cluster's addons, as sm wrote them (the public shape). */
  clusterAddonsJson(clusterId: string): Promise<string> {
    return this.text('GET', `${clusterPath(clusterId)}/addons`);
  }
  async clusterAddons(clusterId: string): Promise<ClusterAddon[]> {
    return (await this.json<Page<ClusterAddon>>('GET', `${clusterPath(clusterId)}/addons`)).items;
  }
  /** An addon with its secret settings, for the workflow that applies it only. */
  revealAddon(clusterId: string, name: string): Promise<RevealedAddon> {
    return this.json('GET', `${clusterPath(clusterId)}/addons/${segment(name)}/reveal`);
  }
  /** Records the addon and starts the workflow that installs it, in one transaction. */
  async installAddon(clusterId: string, name: string, addon: AddonInstall, start: StartRequest): Promise<Accepted> {
    const body: InstallAddonBody = { addon, start };
    return this.changing(this.accepted(`${clusterPath(clusterId)}/addons/${segment(name)}/install`, body));
  }
  /** Marks the addon for removal and starts the workflow that removes it, in one transaction (404 when not installed). */
  async removeAddon(clusterId: string, name: string, start: StartRequest): Promise<Accepted> {
    const body: StartBody = { start };
    return this.changing(this.accepted(`${clusterPath(clusterId)}/addons/${segment(name)}/remove`, body));
  }
  /** Starts the workflow that takes an etcd snapshot of the cluster; sm answers the snapshot's id with it. */
  async startEtcdSnapshot(clusterId: string, start: StartRequest): Promise<Accepted> {
    const body: StartBody = { start };
    return this.changing(this.accepted(`${clusterPath(clusterId)}/etcd-snapshots`, body));
  }
  /** Starts the restore of one of the cluster's etcd snapshots (404 for any other), in one transaction. */
  async startEtcdRestore(clusterId: string, snapshotId: string, start: StartRequest): Promise<Accepted> {
    const body: StartBody = { start };
    return this.changing(this.accepted(`${etcdSnapshotPath(clusterId, snapshotId)}/restore`, body));
  }

  // ---- workflow runs (wfm's engine) ----

  /** One page of the runs `query.userId` may see, newest first (the public workflow shape). */
  listRuns(query: RunListQuery): Promise<Page<Workflow>> {
    return this.json('GET', `/workflow-runs?${queryString(query)}`);
  }
  getRun(id: string): Promise<Run> {
    return this.json('GET', `/workflow-runs/${segment(id)}`);
  }
  /** Pending and Running runs unchanged since `idleSince`, oldest first, one page after the run id `after`. */
  async activeRuns(limit: number, idleSince: string, after?: string): Promise<ActiveRun[]> {
    const query = new URLSearchParams({ limit: String(limit), idleSince, ...(after ? { after } : {}) });
    return (await this.json<{ items: ActiveRun[] }>('GET', `/workflow-runs/active?${query}`)).items;
  }
  startStep(runId: string, idx: number, generation: number, attempt: number, jobId?: string): Promise<StepStart> {
    return this.transitions.call({
      call: 'start',
      runId,
      idx,
      generation,
      attempt,
      ...(jobId === undefined ? {} : { jobId }),
    });
  }
  async stepProgress(runId: string, idx: number, generation: number, message: string): Promise<void> {
    await this.transitions.call({ call: 'progress', runId, idx, generation, message });
  }
  completeStep(
    runId: string,
    idx: number,
    generation: number,
    output: unknown,
    effects: StepEffect[],
    message?: string,
  ): Promise<StepCompleted> {
    return this.changing(
      this.transitions.call({
        call: 'complete',
        runId,
        idx,
        generation,
        output,
        effects,
        ...(message ? { message } : {}),
      }),
    );
  }
  /** Completes step `idx` and starts the next one for `jobId`, in one call and one transaction. */
  advanceStep(
    runId: string,
    idx: number,
    generation: number,
    output: unknown,
    effects: StepEffect[],
    jobId: string,
    message?: string,
  ): Promise<StepAdvanced> {
    return this.changing(
      this.transitions.call({
        call: 'advance',
        runId,
        idx,
        generation,
        output,
        effects,
        jobId,
        ...(message ? { message } : {}),
      }),
    );
  }
  async failStep(
    runId: string,
    idx: number,
    generation: number,
    error: StepError & { retryable: boolean },
  ): Promise<void> {
    await this.changing(this.transitions.call({ call: 'fail', runId, idx, generation, error }));
  }
  cancelRun(id: string): Promise<Run> {
    return this.changing(this.json('POST', `/workflow-runs/${segment(id)}/cancel`, {}));
  }
  retryRun(id: string): Promise<Run> {
    return this.changing(this.json('POST', `/workflow-runs/${segment(id)}/retry`, {}));
  }

  /** Writes an entry in cx's audit log (sddc writes what it did on its own, as a system actor). */
  async audit(entry: AuditRequest): Promise<void> {
    if (this.direct) return this.directly('audit record', this.direct.audit(entry));
    await this.send('POST', '/audit', entry);
  }

  // ---- what sddc asks: bootstrap material, tenant credentials, health and pair targets, hosts, etcd snapshots ----

  /** The bootstrap material of a cluster (its PKI), when a provider brings up a control plane. */
  bootstrap(clusterId: string): Promise<ClusterBootstrap> {
    return this.json('GET', `${clusterPath(clusterId)}/bootstrap`);
  }
  /** Short-lived admin credentials for work in the tenant API, so that secrets never travel in job payloads. */
  adminCredentials(clusterId: string): Promise<TenantAdminCredentials> {
    return this.json('POST', `${clusterPath(clusterId)}/admin-credentials`);
  }
  /** The credential of the cluster's resource group, with its password (for credentialed providers). */
  infrastructureCredential(clusterId: string): Promise<ProviderCredential> {
    return this.json('GET', `${clusterPath(clusterId)}/infrastructure-credential`);
  }
  /**
   * One page of the clusters the node health monitor watches, with their machines: those with a
   * Kubernetes API endpoint, and those of `withoutApi`, providers that report their nodes themselves.
   */
  healthTargets(limit: number, cursor?: string, withoutApi: readonly string[] = []): Promise<Page<HealthTarget>> {
    const query = new URLSearchParams({
      limit: String(limit),
      ...(cursor ? { cursor } : {}),
      ...(withoutApi.length > 0 ? { withoutApi: withoutApi.join(',') } : {}),
    });
    return this.json('GET', `/health-targets?${query}`);
  }
  async setHealthStatus(clusterId: string, status: ClusterHealthStatus): Promise<void> {
    if (this.direct) return this.directly('health status', this.direct.setHealthStatus(clusterId, status));
    await this.send('PUT', `${clusterPath(clusterId)}/health-status`, status);
  }
  /** Records how an ha-config's matching nodes compare with those it was last applied to. */
  async setHaConfigSync(haConfigId: string, sync: NonNullable<HaConfigStatus['sync']>): Promise<void> {
    await this.send('PUT', `/ha-configs/${segment(haConfigId)}/sync`, sync);
  }
  /** Every two-node pair, with what its witness needs (sides, token, durable snapshot). */
  async pairTargets(): Promise<PairTarget[]> {
    return (await this.json<{ items: PairTarget[] }>('GET', '/pair-targets')).items;
  }
  /** The witness's durable state: written before it acts on a decision. */
  async savePairWitness(pairId: string, snapshot: unknown): Promise<void> {
    const body: PairWitnessBody = { snapshot };
    await this.send('PUT', `/pairs/${segment(pairId)}/witness`, body);
  }
  async savePairStatus(pairId: string, status: PairStatusView): Promise<void> {
    await this.send('PUT', `/pairs/${segment(pairId)}/status`, status);
  }

  /**
   * The bare-metal host inventory sm keeps, as the baremetal provider sees it (its `HostInventory`,
   * which sddc checks this against where it hands it over). Claims are idempotent by machine id.
   */
  hostInventory() {
    return {
      claim: (spec: MachineSpec): Promise<RevealedHost> =>
        this.json('POST', '/host-claims', { spec } satisfies ClaimHostBody),
      claimOf: async (clusterId: string, machineId: string): Promise<RevealedHost | null> =>
        (await this.json<{ host: RevealedHost | null }>('GET', claimPath(clusterId, machineId))).host,
      claims: async (clusterId: string): Promise<HostClaim[]> =>
        (await this.json<{ items: HostClaim[] }>('GET', `/host-claims/${segment(clusterId)}`)).items,
      release: async (clusterId: string, machineId: string, cleaning = false): Promise<void> => {
        await this.send('DELETE', `${claimPath(clusterId, machineId)}${cleaning ? '?cleaning=true' : ''}`);
      },
      cleaning: async (): Promise<RevealedHost[]> =>
        (await this.json<{ items: RevealedHost[] }>('GET', '/host-cleaning')).items,
      cleaned: async (hostId: string): Promise<void> => {
        await this.send('POST', `/host-cleaning/${segment(hostId)}/done`);
      },
    };
  }

  /** Stores an etcd snapshot's bytes in sm (which seals them) as snapshot `snapshotId` of the workflow `upload.workflowId`. */
  async uploadEtcdSnapshot(
    clusterId: string,
    snapshotId: string,
    upload: SnapshotUpload,
    data: Buffer,
  ): Promise<EtcdSnapshotInfo> {
    const query = new URLSearchParams({
      workflowId: upload.workflowId,
      revision: String(upload.revision),
      sha256: upload.sha256,
      etcdVersion: upload.etcdVersion,
    });
    const { body } = await this.send(
      'PUT',
      `${etcdSnapshotPath(clusterId, snapshotId)}/data?${query}`,
      data,
      TRANSFER_TIMEOUT_MS,
    );
    return parse(body);
  }
  /** An etcd snapshot's bytes (opened by sm) and the SHA-256 sm recorded for them. */
  async etcdSnapshotData(clusterId: string, snapshotId: string): Promise<{ data: Buffer; sha256: string }> {
    const { body, headers } = await this.send(
      'GET',
      `${etcdSnapshotPath(clusterId, snapshotId)}/data`,
      undefined,
      TRANSFER_TIMEOUT_MS,
    );
    const sha256 = headers[SNAPSHOT_SHA256_HEADER];
    return { data: body, sha256: typeof sha256 === 'string' ? sha256 : '' };
  }

  async ready(): Promise<boolean> {
    const response = await httpRequest(`${this.baseUrl}/readyz`, { dispatcher: this.agent });
    await response.body.dump();
    return response.statusCode === 200;
  }

  private async accepted(path: string, body: unknown): Promise<Accepted> {
    const { body: answer, headers } = await this.send('POST', path, body);
    return { body: parse<AcceptedBody>(answer), replayed: headers['idempotent-replayed'] === 'true' };
  }

  /** A JSON answer, typed as the contract declares it (an empty answer is undefined). */
  private async json<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return parse<T>((await this.send(method, path, body)).body);
  }

  private async text(method: 'GET', path: string): Promise<string> {
    return (await this.send(method, path)).body.toString('utf8');
  }

  /** One call; `body` is sent as JSON, or as bytes when it is a Buffer (with `timeoutMs` for its size). */
  private async send(method: Method, path: string, body?: unknown, timeoutMs = CALL_TIMEOUT_MS): Promise<SmAnswer> {
    const binary = Buffer.isBuffer(body);
    const text = body instanceof JsonText ? body.text : binary ? (body as Buffer) : JSON.stringify(body);
    const call: SmCall = {
      method,
      path: `/internal/v1${path}`,
      headers: {
        authorization: this.authorization,
        ...(body === undefined ? {} : { 'content-type': binary ? 'application/octet-stream' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: text }),
    };
    let response: SmAnswer;
    try {
      response = this.dispatch
        ? await answeredWithin(this.dispatch(call), timeoutMs)
        : await this.overHttp(call, timeoutMs);
    } catch (error) {
      const why = (error as Error).message;
      throw this.dispatch
        ? notAnsweredInProcess(`${method} ${path}`, why, error)
        : new DependencyUnavailableError(
            `sm is unreachable at ${this.baseUrl} (${why}); check sm.url (CX_SM_URL) and that sm runs`,
            { cause: error },
          );
    }
    const bytes = response.body;
    if (response.status >= 400) {
      const answer = bytes.toString('utf8');
      let problem: Partial<Problem> = {};
      try {
        problem = JSON.parse(answer) as Partial<Problem>;
      } catch {
        problem = { detail: answer.slice(0, 200) };
      }
      const error = fromProblem(problem, response.status);
      if (response.status === 503 && error.code === 'CX_INTERNAL')
        throw new DependencyUnavailableError(`sm is not ready: ${problem.detail ?? ''}`);
      throw error;
    }
    return response;
  }

  private async overHttp(call: SmCall, timeoutMs: number): Promise<SmAnswer> {
    const response = await httpRequest(`${this.baseUrl}${call.path}`, {
      method: call.method,
      dispatcher: this.agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: call.headers,
      ...(call.body === undefined ? {} : { body: call.body }),
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: Buffer.from(await response.body.arrayBuffer()),
    };
  }
}

/** `answer`, or a failure once `timeoutMs` have passed without it: an sm in this process is held to the time limit of one over HTTP. */
async function answeredWithin<T>(
  answer: Promise<T>,
  timeoutMs: number,
  lateError: (why: string) => Error = (why) => new Error(why),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(lateError(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** sm in this process did not answer a call (a database that does not answer, most often). */
function notAnsweredInProcess(call: string, why: string, cause?: unknown): DependencyUnavailableError {
  return new DependencyUnavailableError(
    `sm, in this process, did not answer ${call} (${why}); its log says why, often a database that does not answer`,
    { cause },
  );
}

/** A query's defined members as a query string. */
function queryString(query: Record<string, string | number | undefined>): string {
  return new URLSearchParams(
    Object.entries(query)
      .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
      .map(([key, value]): [string, string] => [key, String(value)]),
  ).toString();
}

/** The one place an answer of sm becomes a value of the contract's types. */
function parse<T>(answer: Buffer): T {
  return (answer.length > 0 ? JSON.parse(answer.toString('utf8')) : undefined) as T;
}
