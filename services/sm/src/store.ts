/**
 * All SQL of cx. Every state change of a workflow run is one transaction, guarded by the run's
 * status, current step and generation, so that a duplicated or late job cannot move a run twice;
 * clusters are locked for a workflow through `active_run_id` (one mutating workflow per cluster).
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import {
  isControlPlaneCount,
  type AuditQuery,
  type Cluster,
  type ClusterCreateRequest,
  type ClusterHealthStatus,
  type ClusterStatus,
  type ControlPlaneCount,
  type Node,
  type NodePoolRequest,
  type NodeScheduling,
  type Page,
} from '@cx/api-schemas';
import { ConflictError, CxError, InputError, NotFoundError } from '@cx/errors';
import type { ScaleLimits } from '@cx/config';
import { nowIso } from '@cx/service-kit';
import type {
  Accepted as WireAccepted,
  Machine,
  Run,
  StartRequest,
  StepEffect,
  StepError,
  StepStart,
} from '@cx/sm-contract';
import { deleteAddon, markAddonInstalled } from './addons.js';
import { isUniqueViolation, withDatabase } from './db.js';
import { Pairs } from './pairs.js';
import type { Resources } from './resources.js';
import type { TenantCredentials } from './tenant-credentials.js';
import {
  afterCursor,
  encodeCursor,
  keysetPage,
  toCluster,
  toMachine,
  toNode,
  toWorkflow,
  type ClusterRow,
  type MachineRow,
  type RunRow,
  type StepRow,
} from './rows.js';

/** sm's answer to a start, with the HTTP status it is sent with. */
export interface Accepted extends WireAccepted {
  status: number;
}

/** One audit record: who did what to which target, from where, with what outcome. */
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  targetKind: string | null;
  targetId: string | null;
  outcome: string;
  sourceIp: string | null;
  requestId: string | null;
  details: unknown;
}

export type Visibility = { all: true } | { all: false; clusterIds: string[]; resourceGroupIds: string[] };

export class StateStore {
  constructor(
    private readonly db: Knex,
    private readonly resources: Resources,
    private readonly tenants: TenantCredentials,
    private readonly limits: ScaleLimits = { maxClusters: 256, maxMachinesPerCluster: 1024 },
  ) {}

  // ---- clusters -------------------------------------------------------------------------------

  /** One page of the clusters `visible` lets the caller see (all, or those under their grants). */
  async listClusters(
    limit: number,
    cursor: string | undefined,
    visible: Visibility = { all: true },
  ): Promise<Page<Cluster>> {
    const query = this.db('clusters');
    if (!visible.all)
      void query.where((q) => {
        void q.whereIn('id', visible.clusterIds).orWhereIn('resource_group_id', visible.resourceGroupIds);
      });
    const { rows, nextCursor } = await keysetPage<ClusterRow>(query, limit, cursor);
    return { items: rows.map(toCluster), nextCursor };
  }

  async getCluster(id: string): Promise<Cluster> {
    return toCluster(await this.clusterRow(this.db, id));
  }

  private async clusterRow(db: Knex | Knex.Transaction, id: string): Promise<ClusterRow> {
    const row = await withDatabase(() => db<ClusterRow>('clusters').where({ id }).first());
    if (!row) throw new NotFoundError(`cluster ${id} does not exist`);
    return row as ClusterRow;
  }

  /**
   * One page of what the node health monitor watches: clusters that are not being created or
   * deleted, each with its machines; those whose Kubernetes API is up, and those of the providers
   * `withoutApi` (sim), which run none and report their nodes themselves. Other providers' nodes
   * are read through the API, so a cluster of theirs without one cannot be watched.
   */
  async listHealthTargets(
    limit: number,
    cursor: string | undefined,
    withoutApi: readonly string[] = [],
  ): Promise<Page<{ cluster: Cluster; machines: Machine[] }>> {
    const query = this.db('clusters')
      .where((q) => {
        void q.whereNotNull('api_endpoint');
        if (withoutApi.length > 0) void q.orWhereIn('provider', [...withoutApi]);
      })
      .whereIn('status', ['Ready', 'Updating']);
    const { rows, nextCursor } = await keysetPage<ClusterRow>(query, limit, cursor);
    const ids = rows.map((r) => r.id);
    const machineRows =
      ids.length > 0
        ? ((await withDatabase(() =>
            this.db<MachineRow>('machines').whereIn('cluster_id', ids).orderBy('name'),
          )) as MachineRow[])
        : [];
    // Grouped once: a page of 200 clusters has 2,000 machines for the 10-machine clusters of bench/health-monitor.mjs.
    const machines = new Map<string, Machine[]>();
    for (const m of machineRows) {
      const of = machines.get(m.cluster_id);
      if (of) of.push(toMachine(m));
      else machines.set(m.cluster_id, [toMachine(m)]);
    }
    return {
      items: rows.map((row) => ({ cluster: toCluster(row), machines: machines.get(row.id) ?? [] })),
      nextCursor,
    };
  }

  /** Records what the health monitor saw; an observation, so it changes no version. */
  async setHealthStatus(clusterId: string, status: ClusterHealthStatus): Promise<void> {
    const changed = await withDatabase(() =>
      this.db('clusters')
        .where({ id: clusterId })
        .update({ health_status: JSON.stringify(status) }),
    );
    if (changed === 0) throw new NotFoundError(`cluster ${clusterId} does not exist`);
  }

  async listMachines(clusterId: string): Promise<Machine[]> {
    await this.clusterRow(this.db, clusterId);
    return this.machinesOf(clusterId);
  }

  private async machinesOf(clusterId: string): Promise<Machine[]> {
    const rows = await withDatabase(() =>
      this.db<MachineRow>('machines').where({ cluster_id: clusterId }).orderBy('name'),
    );
    return (rows as MachineRow[]).map(toMachine);
  }

  async listNodes(clusterId: string): Promise<Node[]> {
    await this.clusterRow(this.db, clusterId);
    // Machines the provider made, and those it failed to make (their condition says why).
    const rows = await withDatabase(() =>
      this.db<MachineRow>('machines')
        .where({ cluster_id: clusterId })
        .where((q) => {
          void q.whereNotNull('provider_id').orWhereNotNull('condition');
        })
        .orderBy('name'),
    );
    return (rows as MachineRow[]).map(toNode);
  }

  /**
   * Creates the cluster, its pools and its create workflow in one transaction; `allocateVip`
   * (given when the request names controlPlane.vipPool) allocates its control-plane VIP in it, and
   * `within` records more with them (the template the cluster comes from, and its addons).
   */
  async createCluster(
    request: ClusterCreateRequest,
    start: StartRequest,
    allocateVip?: (trx: Knex.Transaction, clusterId: string) => Promise<string>,
    within?: (trx: Knex.Transaction, clusterId: string) => Promise<void>,
  ): Promise<Accepted> {
    const pki = await this.tenants.generate(request.name);
    return this.idempotent(start, async (trx) => {
      const now = nowIso();
      const clusterId = uuidv7();
      const runId = uuidv7();
      const machines = request.controlPlane.count + request.nodePools.reduce((n, p) => n + p.count, 0);
      this.checkMachineLimit(machines);
      const clusters = (await trx('clusters').count({ n: '*' }).first()) as { n: number | string };
      if (Number(clusters.n) >= this.limits.maxClusters) {
        throw new CxError(
          'CX_LIMIT_EXCEEDED',
          `cx manages at most ${this.limits.maxClusters} clusters (limits.maxClusters) and has ${clusters.n}; delete one or raise the limit`,
          { details: { limit: 'maxClusters', value: this.limits.maxClusters } },
        );
      }
      const resourceGroupId =
        request.resourceGroup === undefined
          ? null
          : await this.resources.admitCluster(trx, request.resourceGroup, request);
      try {
        await trx('clusters').insert({
          id: clusterId,
          name: request.name,
          provider: request.provider,
          kubernetes_version: request.kubernetesVersion,
          resource_group_id: resourceGroupId,
          status: start.workflow.clusterStatus,
          status_message: null,
          spec: JSON.stringify(request),
          active_run_id: runId,
          created_by: start.actor,
          created_at: now,
          updated_at: now,
          version: 1,
        });
      } catch (error) {
        if (isUniqueViolation(error))
          throw new ConflictError(
            `a cluster named ${request.name} already exists; choose another name`,
            'CX_NAME_TAKEN',
            { details: { fields: [{ field: 'body.name', message: 'is already in use' }] } },
          );
        throw error;
      }
      const pools = [
        { name: 'control-plane', role: 'control-plane', ...request.controlPlane },
        ...request.nodePools.map((p) => ({ ...p, role: 'worker' })),
      ];
      await trx('node_pools').insert(
        pools.map((p) => ({
          id: uuidv7(),
          cluster_id: clusterId,
          name: p.name,
          role: p.role,
          count: p.count,
          vcpus: p.vcpus ?? 2,
          memory_mib: p.memoryMiB ?? 4096,
          created_at: now,
          updated_at: now,
          version: 1,
        })),
      );
      if (allocateVip)
        await trx('clusters')
          .where({ id: clusterId })
          .update({ api_vip: await allocateVip(trx, clusterId) });
      await this.tenants.store(trx, clusterId, pki);
      await this.insertRun(trx, runId, clusterId, start, now);
      if (within) await within(trx, clusterId);
      return { cluster: toCluster(await this.clusterRow(trx, clusterId)), workflow: { id: runId, status: 'Pending' } };
    });
  }

  /** Starts a workflow on an existing cluster, refusing while another one holds the cluster. */
  /**
   * Starts a workflow on the cluster; `within` changes the state in the same transaction (creating
   * the ha-config the workflow applies, say) and what it answers joins the response.
   */
  async startClusterWorkflow(
    clusterId: string,
    start: StartRequest,
    within?: (trx: Knex.Transaction) => Promise<Record<string, unknown>>,
  ): Promise<Accepted> {
    return this.idempotent(start, async (trx) => {
      const cluster = await this.clusterRow(trx, clusterId);
      if (start.workflow.clusterStatus === 'Deleting') await Pairs.assertNotPaired(trx, cluster.id, 'deleting it');
      const now = nowIso();
      const runId = uuidv7();
      await this.lockCluster(trx, cluster, runId, start.workflow.clusterStatus, now);
      const created = within ? await within(trx) : {};
      await this.insertRun(trx, runId, clusterId, start, now);
      return {
        ...created,
        cluster: toCluster(await this.clusterRow(trx, clusterId)),
        workflow: { id: runId, status: 'Pending' },
      };
    });
  }

  /**
   * Sets a pool's desired size and starts the workflow that gets there, in one transaction: the
   * pool must exist, a control plane keeps its quorum, and growth fits the resource group's quotas.
   */
  async scalePool(clusterId: string, poolName: string, count: number, start: StartRequest): Promise<Accepted> {
    return this.idempotent(start, async (trx) => {
      const cluster = await this.clusterRow(trx, clusterId);
      await Pairs.assertNotPaired(trx, cluster.id, 'resizing it');
      const pool = (await trx('node_pools').where({ cluster_id: clusterId, name: poolName }).first()) as
        { id: string; role: string; count: number; vcpus: number; memory_mib: number; version: number } | undefined;
      if (!pool) throw new NotFoundError(`cluster ${cluster.name} has no node pool ${poolName}`);
      let controlPlaneCount: ControlPlaneCount | undefined;
      if (pool.role === 'control-plane') {
        if (!isControlPlaneCount(count))
          throw new InputError('a control plane has 1, 3, 5 or 7 members, so that etcd keeps a majority', [
            { field: 'body.count', message: 'must be 1, 3, 5 or 7 for the control plane' },
          ]);
        controlPlaneCount = count;
        const quorum = Math.floor(pool.count / 2) + 1;
        if (count < quorum)
          throw new InputError(
            `scaling the control plane from ${pool.count} to ${count} would lose etcd quorum (${quorum} of ${pool.count}); scale down in steps that keep a majority`,
            [{ field: 'body.count', message: `must be at least ${quorum}` }],
          );
      }
      const delta = count - pool.count;
      const total = (await trx('node_pools').where({ cluster_id: clusterId }).sum({ n: 'count' }).first()) as {
        n: number | string | null;
      };
      this.checkMachineLimit(Number(total.n ?? 0) + delta);
      const remove = (start.workflow.input as { remove?: string[] }).remove;
      if (remove !== undefined) {
        const members = (await trx('machines')
          .where({ cluster_id: clusterId, pool: poolName })
          .pluck('name')) as string[];
        const unknown = remove.filter((name) => !members.includes(name));
        if (unknown.length > 0)
          throw new InputError(`${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in pool ${poolName}`, [
            { field: 'body.remove', message: 'names machines of another pool or none' },
          ]);
        if (remove.length !== -delta)
          throw new InputError(
            `scaling ${poolName} from ${pool.count} to ${count} removes ${Math.max(0, -delta)} machines; remove names ${remove.length}`,
            [{ field: 'body.remove', message: `must name exactly ${Math.max(0, -delta)} machines` }],
          );
      }
      if (delta > 0 && cluster.resource_group_id) {
        await this.resources.admit(trx, cluster.resource_group_id, {
          clusters: 0,
          nodes: delta,
          vcpus: delta * pool.vcpus,
          memoryMiB: delta * pool.memory_mib,
        });
      }
      const now = nowIso();
      const runId = uuidv7();
      await this.lockCluster(trx, cluster, runId, start.workflow.clusterStatus, now);
      await trx('node_pools')
        .where({ id: pool.id })
        .update({ count, updated_at: now, version: pool.version + 1 });
      const spec = JSON.parse(cluster.spec) as ClusterCreateRequest;
      if (controlPlaneCount !== undefined) spec.controlPlane.count = controlPlaneCount;
      else spec.nodePools = spec.nodePools.map((p) => (p.name === poolName ? { ...p, count } : p));
      await trx('clusters')
        .where({ id: clusterId })
        .update({ spec: JSON.stringify(spec) });
      await this.insertRun(
        trx,
        runId,
        clusterId,
        {
          ...start,
          workflow: {
            ...start.workflow,
            input: { ...start.workflow.input, pool: poolName, from: pool.count, to: count },
          },
        },
        now,
      );
      return { cluster: toCluster(await this.clusterRow(trx, clusterId)), workflow: { id: runId, status: 'Pending' } };
    });
  }

  /**
   * Adds a worker pool to a cluster and starts the scale workflow that creates its machines, in one
   * transaction: the name is free, the machines fit the cluster's limit and the resource group's quotas.
   */
  async addPool(clusterId: string, pool: NodePoolRequest, start: StartRequest): Promise<Accepted> {
    return this.idempotent(start, async (trx) => {
      const cluster = await this.clusterRow(trx, clusterId);
      await Pairs.assertNotPaired(trx, cluster.id, 'adding a pool to it');
      const taken = await trx('node_pools').where({ cluster_id: clusterId, name: pool.name }).first('id');
      if (taken || pool.name === 'control-plane') {
        throw new ConflictError(
          `cluster ${cluster.name} has a node pool named ${pool.name} already${pool.name === 'control-plane' ? ' (its control plane)' : ''}; choose another name`,
          'CX_NAME_TAKEN',
          { details: { fields: [{ field: 'body.name', message: 'is already in use' }] } },
        );
      }
      const total = (await trx('node_pools').where({ cluster_id: clusterId }).sum({ n: 'count' }).first()) as {
        n: number | string | null;
      };
      this.checkMachineLimit(Number(total.n ?? 0) + pool.count);
      const vcpus = pool.vcpus ?? 2;
      const memoryMiB = pool.memoryMiB ?? 4096;
      if (cluster.resource_group_id && pool.count > 0) {
        await this.resources.admit(trx, cluster.resource_group_id, {
          clusters: 0,
          nodes: pool.count,
          vcpus: pool.count * vcpus,
          memoryMiB: pool.count * memoryMiB,
        });
      }
      const now = nowIso();
      const runId = uuidv7();
      await this.lockCluster(trx, cluster, runId, start.workflow.clusterStatus, now);
      await trx('node_pools').insert({
        id: uuidv7(),
        cluster_id: clusterId,
        name: pool.name,
        role: 'worker',
        count: pool.count,
        vcpus,
        memory_mib: memoryMiB,
        created_at: now,
        updated_at: now,
        version: 1,
      });
      const spec = JSON.parse(cluster.spec) as ClusterCreateRequest;
      spec.nodePools = [...spec.nodePools, pool];
      await trx('clusters')
        .where({ id: clusterId })
        .update({ spec: JSON.stringify(spec) });
      await this.insertRun(
        trx,
        runId,
        clusterId,
        {
          ...start,
          workflow: { ...start.workflow, input: { ...start.workflow.input, pool: pool.name, from: 0, to: pool.count } },
        },
        now,
      );
      return { cluster: toCluster(await this.clusterRow(trx, clusterId)), workflow: { id: runId, status: 'Pending' } };
    });
  }

  /**
   * Records a worker pool's new labels and taints and starts the workflow that puts them on its
   * nodes, in one transaction; the run's input keeps what the pool had (`previous`), which its nodes lose.
   */
  async updatePoolScheduling(
    clusterId: string,
    poolName: string,
    scheduling: Required<NodeScheduling>,
    start: StartRequest,
  ): Promise<Accepted> {
    return this.idempotent(start, async (trx) => {
      const cluster = await this.clusterRow(trx, clusterId);
      const spec = JSON.parse(cluster.spec) as ClusterCreateRequest;
      const pool = spec.nodePools.find((p) => p.name === poolName);
      if (!pool)
        throw new NotFoundError(
          `cluster ${cluster.name} has no worker pool ${poolName}${poolName === 'control-plane' ? " (the control plane's labels and taints are not a pool's)" : ''}`,
        );
      const now = nowIso();
      const runId = uuidv7();
      await this.lockCluster(trx, cluster, runId, start.workflow.clusterStatus, now);
      const previous = { labels: pool.labels ?? {}, taints: pool.taints ?? [] };
      spec.nodePools = spec.nodePools.map((p) => (p.name === poolName ? { ...p, ...scheduling } : p));
      await trx('clusters')
        .where({ id: clusterId })
        .update({ spec: JSON.stringify(spec) });
      await this.insertRun(
        trx,
        runId,
        clusterId,
        {
          ...start,
          workflow: { ...start.workflow, input: { ...start.workflow.input, pool: poolName, scheduling, previous } },
        },
        now,
      );
      return { cluster: toCluster(await this.clusterRow(trx, clusterId)), workflow: { id: runId, status: 'Pending' } };
    });
  }

  private checkMachineLimit(machines: number): void {
    if (machines > this.limits.maxMachinesPerCluster) {
      throw new CxError(
        'CX_LIMIT_EXCEEDED',
        `a cluster has at most ${this.limits.maxMachinesPerCluster} machines (limits.maxMachinesPerCluster); this asks for ${machines}`,
        { details: { limit: 'maxMachinesPerCluster', value: this.limits.maxMachinesPerCluster, requested: machines } },
      );
    }
  }

  private async lockCluster(
    trx: Knex.Transaction,
    cluster: ClusterRow,
    runId: string,
    status: ClusterStatus,
    now: string,
  ): Promise<void> {
    if (cluster.active_run_id && cluster.active_run_id !== runId) {
      throw new ConflictError(
        `cluster ${cluster.name} has workflow ${cluster.active_run_id} in progress; wait for it to finish or cancel it`,
        'CX_CLUSTER_BUSY',
        { details: { workflowId: cluster.active_run_id } },
      );
    }
    const updated = await trx('clusters')
      .where({ id: cluster.id, version: cluster.version })
      .update({
        active_run_id: runId,
        status,
        status_message: null,
        updated_at: now,
        version: cluster.version + 1,
      });
    if (updated !== 1)
      throw new ConflictError(`cluster ${cluster.name} changed concurrently; retry`, 'CX_VERSION_CONFLICT', {
        retryable: true,
      });
  }

  private async insertRun(
    trx: Knex.Transaction,
    runId: string,
    clusterId: string,
    start: StartRequest,
    now: string,
  ): Promise<void> {
    await trx('workflow_runs').insert({
      id: runId,
      workflow: start.workflow.workflow,
      workflow_version: start.workflow.version,
      cluster_id: clusterId,
      status: 'Pending',
      current_step: 0,
      generation: 0,
      input: JSON.stringify({ ...start.workflow.input, clusterStatus: start.workflow.clusterStatus }),
      output: null,
      error: null,
      created_by: start.actor,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
      version: 1,
    });
    await trx('workflow_steps').insert(
      start.workflow.steps.map((name, idx) => ({ run_id: runId, idx, name, status: 'Pending', attempts: 0 })),
    );
  }

  /**
   * Runs `work` in a transaction that also records the answer under the caller's Idempotency-Key,
   * so that a retry with the same key gets the first answer and starts nothing new.
   */
  private async idempotent(
    start: StartRequest,
    work: (trx: Knex.Transaction) => Promise<Accepted['body']>,
  ): Promise<Accepted> {
    const key = start.idempotencyKey;
    const requestHash = start.requestHash ?? '';
    const replay = async (): Promise<Accepted | null> => {
      if (!key) return null;
      const row = (await this.db('idempotency_keys').where({ scope: start.actor, idem_key: key }).first()) as
        { request_hash: string; response_status: number; response_body: string } | undefined;
      if (!row) return null;
      if (row.request_hash !== requestHash)
        throw new ConflictError(
          'this Idempotency-Key was used for a different request; use a new key',
          'CX_IDEMPOTENCY_MISMATCH',
        );
      return {
        status: row.response_status,
        body: JSON.parse(row.response_body) as WireAccepted['body'],
        replayed: true,
      };
    };
    return withDatabase(async () => {
      const earlier = await replay();
      if (earlier) return earlier;
      try {
        const body = await this.db.transaction(async (trx) => {
          const result = await work(trx);
          if (key)
            await trx('idempotency_keys').insert({
              scope: start.actor,
              idem_key: key,
              request_hash: requestHash,
              response_status: 202,
              response_body: JSON.stringify(result),
              created_at: nowIso(),
            });
          return result;
        });
        return { status: 202, body, replayed: false };
      } catch (error) {
        // Two concurrent requests with one key: the loser answers what the winner committed.
        if (key && isUniqueViolation(error)) {
          const winner = await replay();
          if (winner) return winner;
        }
        throw error;
      }
    });
  }

  // ---- workflow runs --------------------------------------------------------------------------

  async getRun(id: string): Promise<Run> {
    return withDatabase(async () => {
      const run = await this.db<RunRow>('workflow_runs').where({ id }).first();
      if (!run) throw new NotFoundError(`workflow ${id} does not exist`);
      const steps = await this.db<StepRow>('workflow_steps').where({ run_id: id });
      return toWorkflow(run as RunRow, steps as StepRow[]);
    });
  }

  /** Runs that should have a live step job: the reconciler's work list. */
  /** Pending and Running runs by id, optionally only those unchanged since `idleSince` (ISO time). */
  async activeRuns(
    limit: number,
    after?: string,
    idleSince?: string,
  ): Promise<Array<{ id: string; currentStep: number; generation: number; status: string }>> {
    return withDatabase(async () => {
      const query = this.db<RunRow>('workflow_runs')
        .whereIn('status', ['Pending', 'Running'])
        .orderBy('id')
        .limit(limit)
        .select('id', 'current_step', 'generation', 'status');
      if (after) void query.where('id', '>', after);
      if (idleSince) void query.where('updated_at', '<', idleSince);
      const rows = await query;
      return (rows as RunRow[]).map((r) => ({
        id: r.id,
        currentStep: r.current_step,
        generation: r.generation,
        status: r.status,
      }));
    });
  }

  /**
   * Marks a step as started (attempt counted); refuses a job that is not the run's current step.
   * Answers the run with what a step reads, its cluster and machines, in one call.
   */
  async startStep(runId: string, idx: number, generation: number, attempt: number): Promise<StepStart> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = await this.currentRun(trx, runId, idx, generation);
        const now = nowIso();
        await this.updateRun(trx, run, { status: 'Running', started_at: run.started_at ?? now, updated_at: now });
        await trx('workflow_steps')
          .where({ run_id: runId, idx })
          .update({ status: 'Running', attempts: attempt, started_at: trx.raw('coalesce(started_at, ?)', [now]) });
      }),
    );
    const run = await this.getRun(runId);
    const [cluster, machines] = await Promise.all([this.getCluster(run.clusterId), this.machinesOf(run.clusterId)]);
    return { run, cluster, machines };
  }

  async stepProgress(runId: string, idx: number, generation: number, message: string): Promise<void> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = await this.currentRun(trx, runId, idx, generation);
        await trx('workflow_steps')
          .where({ run_id: runId, idx })
          .update({ message: message.slice(0, 1024) });
        await this.updateRun(trx, run, { updated_at: nowIso() });
      }),
    );
  }

  /**
   * Commits a step's result and effects and moves the run to its next step (or finishes it).
   * Answers the index of the next step to enqueue, or null when the run is over.
   */
  async completeStep(
    runId: string,
    idx: number,
    generation: number,
    output: unknown,
    effects: StepEffect[],
  ): Promise<{ next: number | null }> {
    return withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = await this.currentRun(trx, runId, idx, generation);
        const now = nowIso();
        const stepCount = Number(
          (
            (await trx('workflow_steps').where({ run_id: runId }).count({ n: '*' })) as Array<{ n: number | string }>
          )[0]!.n,
        );
        await trx('workflow_steps')
          .where({ run_id: runId, idx })
          .update({ status: 'Succeeded', output: JSON.stringify(output ?? null), finished_at: now, error: null });
        for (const effect of effects) await this.applyEffect(trx, run.cluster_id, effect, now);
        const last = idx + 1 >= stepCount;
        await this.updateRun(
          trx,
          run,
          last
            ? { status: 'Succeeded', current_step: idx + 1, finished_at: now, updated_at: now, error: null }
            : { current_step: idx + 1, updated_at: now },
        );
        if (last)
          await trx('clusters')
            .where({ id: run.cluster_id, active_run_id: runId })
            .update({ active_run_id: null, updated_at: now, version: trx.raw('version + 1') });
        return { next: last ? null : idx + 1 };
      }),
    );
  }

  /** Fails the step and the run; the cluster is released and marked Failed with the reason. */
  async failStep(runId: string, idx: number, generation: number, error: StepError): Promise<void> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = await this.currentRun(trx, runId, idx, generation);
        const now = nowIso();
        await trx('workflow_steps')
          .where({ run_id: runId, idx })
          .update({ status: 'Failed', error: JSON.stringify(error), finished_at: now });
        if (error.machineId) {
          const condition = {
            reason: error.reason ?? 'Failed',
            code: error.code,
            message: error.message,
            workflowId: runId,
            at: now,
          };
          await trx('machines')
            .where({ id: error.machineId, cluster_id: run.cluster_id })
            .update({ condition: JSON.stringify(condition) });
        }
        await this.updateRun(trx, run, {
          status: 'Failed',
          error: JSON.stringify(error),
          finished_at: now,
          updated_at: now,
        });
        await this.releaseCluster(
          trx,
          run,
          'Failed',
          `workflow ${run.workflow} failed at step ${idx}: ${error.message}`,
          now,
        );
      }),
    );
  }

  async cancelRun(runId: string): Promise<Run> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = (await trx<RunRow>('workflow_runs').where({ id: runId }).first()) as RunRow | undefined;
        if (!run) throw new NotFoundError(`workflow ${runId} does not exist`);
        if (run.status !== 'Pending' && run.status !== 'Running')
          throw new ConflictError(
            `workflow ${runId} is ${run.status}; only Pending or Running workflows can be cancelled`,
            'CX_WORKFLOW_STATE',
          );
        const now = nowIso();
        await trx('workflow_steps')
          .where({ run_id: runId })
          .whereIn('status', ['Pending', 'Running'])
          .where('idx', '>=', run.current_step)
          .update({ status: 'Cancelled' });
        await this.updateRun(trx, run, {
          status: 'Cancelled',
          finished_at: now,
          updated_at: now,
          error: JSON.stringify({ code: 'CX_CANCELLED', message: 'cancelled by a user' }),
        });
        await this.releaseCluster(
          trx,
          run,
          'Failed',
          `workflow ${run.workflow} was cancelled; retry it or delete the cluster`,
          now,
        );
      }),
    );
    return this.getRun(runId);
  }

  /** Resumes a Failed or Cancelled run from the step where it stopped, under a new generation. */
  async retryRun(runId: string): Promise<Run> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = (await trx<RunRow>('workflow_runs').where({ id: runId }).first()) as RunRow | undefined;
        if (!run) throw new NotFoundError(`workflow ${runId} does not exist`);
        if (run.status !== 'Failed' && run.status !== 'Cancelled')
          throw new ConflictError(
            `workflow ${runId} is ${run.status}; only Failed or Cancelled workflows can be retried`,
            'CX_WORKFLOW_STATE',
          );
        const cluster = (await trx<ClusterRow>('clusters').where({ id: run.cluster_id }).first()) as
          ClusterRow | undefined;
        if (!cluster) throw new ConflictError(`the cluster of workflow ${runId} no longer exists`, 'CX_WORKFLOW_STATE');
        const now = nowIso();
        const input = JSON.parse(run.input) as { clusterStatus?: ClusterStatus };
        await this.lockCluster(trx, cluster, runId, input.clusterStatus ?? 'Updating', now);
        await trx('workflow_steps')
          .where({ run_id: runId })
          .where('idx', '>=', run.current_step)
          .update({ status: 'Pending', error: null, started_at: null, finished_at: null });
        await this.updateRun(trx, run, {
          status: 'Pending',
          generation: run.generation + 1,
          error: null,
          finished_at: null,
          updated_at: now,
        });
      }),
    );
    return this.getRun(runId);
  }

  private async releaseCluster(
    trx: Knex.Transaction,
    run: RunRow,
    status: ClusterStatus,
    message: string,
    now: string,
  ): Promise<void> {
    await trx('clusters')
      .where({ id: run.cluster_id, active_run_id: run.id })
      .update({
        active_run_id: null,
        status,
        status_message: message.slice(0, 1024),
        updated_at: now,
        version: trx.raw('version + 1'),
      });
  }

  private async currentRun(trx: Knex.Transaction, runId: string, idx: number, generation: number): Promise<RunRow> {
    const run = (await trx<RunRow>('workflow_runs').where({ id: runId }).first()) as RunRow | undefined;
    if (!run) throw new NotFoundError(`workflow ${runId} does not exist`);
    if (
      (run.status !== 'Running' && run.status !== 'Pending') ||
      run.current_step !== idx ||
      run.generation !== generation
    ) {
      throw staleStep(run, idx, generation);
    }
    return run;
  }

  /** Optimistic update of a run row: fails if anyone changed it since it was read. */
  private async updateRun(trx: Knex.Transaction, run: RunRow, changes: Partial<RunRow>): Promise<void> {
    const updated = await trx('workflow_runs')
      .where({ id: run.id, version: run.version })
      .update({ ...changes, version: run.version + 1 });
    if (updated !== 1)
      throw new ConflictError(`workflow ${run.id} changed concurrently`, 'CX_VERSION_CONFLICT', { retryable: true });
  }

  private async applyEffect(trx: Knex.Transaction, clusterId: string, effect: StepEffect, now: string): Promise<void> {
    switch (effect.kind) {
      case 'upsertMachines': {
        const existing = new Set(
          ((await trx('machines').where({ cluster_id: clusterId }).select('name')) as Array<{ name: string }>).map(
            (m) => m.name,
          ),
        );
        const fresh = effect.machines.filter((m) => !existing.has(m.name));
        if (fresh.length > 0) {
          await trx('machines').insert(
            fresh.map((m) => ({
              id: uuidv7(),
              cluster_id: clusterId,
              pool: m.pool,
              name: m.name,
              role: m.role,
              kubernetes_version: m.kubernetesVersion,
              phase: 'Pending',
              provider_id: null,
              addresses: null,
              node_status: 'NotReady',
              created_at: now,
              updated_at: now,
              version: 1,
            })),
          );
        }
        return;
      }
      case 'updateMachines':
        for (const m of effect.machines) {
          const changes: Record<string, unknown> = { updated_at: now, version: trx.raw('version + 1') };
          // A machine the provider answered for again has no failure to show.
          if (m.phase !== undefined) Object.assign(changes, { phase: m.phase, condition: null });
          if (m.providerId !== undefined) changes['provider_id'] = m.providerId;
          if (m.addresses !== undefined) changes['addresses'] = JSON.stringify(m.addresses);
          if (m.nodeStatus !== undefined) changes['node_status'] = m.nodeStatus;
          if (m.kubernetesVersion !== undefined) changes['kubernetes_version'] = m.kubernetesVersion;
          await trx('machines').where({ id: m.id, cluster_id: clusterId }).update(changes);
        }
        return;
      case 'deleteMachines':
        if (effect.ids.length > 0)
          await trx('machines').where({ cluster_id: clusterId }).whereIn('id', effect.ids).delete();
        return;
      case 'removePool': {
        const left = (await trx('machines')
          .where({ cluster_id: clusterId, pool: effect.pool })
          .count({ n: '*' })
          .first()) as { n: number | string };
        if (Number(left.n) > 0)
          throw new ConflictError(
            `pool ${effect.pool} still has ${left.n} machine(s); it leaves the cluster once they are gone`,
            'CX_CONFLICT',
          );
        await trx('node_pools').where({ cluster_id: clusterId, name: effect.pool, role: 'worker' }).delete();
        const row = (await trx('clusters').where({ id: clusterId }).first('spec')) as { spec: string };
        const spec = JSON.parse(row.spec) as ClusterCreateRequest;
        spec.nodePools = spec.nodePools.filter((p) => p.name !== effect.pool);
        await trx('clusters')
          .where({ id: clusterId })
          .update({ spec: JSON.stringify(spec), updated_at: now, version: trx.raw('version + 1') });
        return;
      }
      case 'setClusterStatus':
        await trx('clusters')
          .where({ id: clusterId })
          .update({
            status: effect.status,
            status_message: effect.message ?? null,
            updated_at: now,
            version: trx.raw('version + 1'),
          });
        return;
      case 'setClusterVersion': {
        const row = (await trx('clusters').where({ id: clusterId }).first('spec')) as { spec: string };
        const spec = { ...(JSON.parse(row.spec) as ClusterCreateRequest), kubernetesVersion: effect.kubernetesVersion };
        await trx('clusters')
          .where({ id: clusterId })
          .update({
            kubernetes_version: effect.kubernetesVersion,
            spec: JSON.stringify(spec),
            updated_at: now,
            version: trx.raw('version + 1'),
          });
        return;
      }
      case 'setClusterImage': {
        const row = (await trx('clusters').where({ id: clusterId }).first('spec')) as { spec: string };
        // null: back to the provider's default image (the credential's settings).
        const { osImage: _previous, ...rest } = JSON.parse(row.spec) as ClusterCreateRequest & { osImage?: string };
        const spec = effect.osImage === null ? rest : { ...rest, osImage: effect.osImage };
        await trx('clusters')
          .where({ id: clusterId })
          .update({ spec: JSON.stringify(spec), updated_at: now, version: trx.raw('version + 1') });
        return;
      }
      case 'beginCaRotation': {
        const row = (await trx('clusters').where({ id: clusterId }).first('name')) as { name: string };
        await this.tenants.beginCaRotation(trx, clusterId, row.name);
        return;
      }
      case 'finishCaRotation':
        await this.tenants.finishCaRotation(trx, clusterId);
        return;
      case 'rotateCertificates':
        await this.tenants.rotateLeafCertificates(trx, clusterId);
        return;
      case 'setClusterEndpoint':
        await trx('clusters')
          .where({ id: clusterId })
          .update({ api_endpoint: effect.apiEndpoint, updated_at: now, version: trx.raw('version + 1') });
        return;
      case 'deleteHaConfig':
        await trx('ha_configs').where({ id: effect.id, cluster_id: clusterId }).delete();
        return;
      case 'setHaConfigApplied':
        await trx('ha_configs')
          .where({ id: effect.id, cluster_id: clusterId })
          .update({ applied_status: JSON.stringify({ nodes: effect.nodes, at: now, workflowId: effect.workflowId }) });
        return;
      case 'setAddonInstalled':
        await markAddonInstalled(trx, clusterId, effect.name, now);
        return;
      case 'deleteAddon':
        await deleteAddon(trx, clusterId, effect.name);
        return;
      case 'deleteCluster':
        await trx('cluster_addons').where({ cluster_id: clusterId }).delete();
        await trx('etcd_snapshot_chunks')
          .whereIn('snapshot_id', trx('etcd_snapshots').where({ cluster_id: clusterId }).select('id'))
          .delete();
        await trx('etcd_snapshots').where({ cluster_id: clusterId }).delete();
        await trx('grants').where({ object_kind: 'cluster', object_id: clusterId }).delete();
        await trx('ha_configs').where({ cluster_id: clusterId }).delete();
        await trx('ip_allocations').where({ cluster_id: clusterId }).delete(); // its control-plane VIP
        await trx('clusters').where({ id: clusterId }).delete();
        return;
    }
  }

  // ---- audit ----------------------------------------------------------------------------------

  async audit(entry: {
    actor: string;
    action: string;
    targetKind?: string | null;
    targetId?: string | null;
    outcome: string;
    sourceIp?: string | null;
    requestId?: string | null;
    details?: unknown;
  }): Promise<void> {
    await withDatabase(() =>
      this.db('audit_log').insert({
        at: nowIso(),
        actor: entry.actor.slice(0, 128),
        action: entry.action.slice(0, 64),
        target_kind: entry.targetKind ?? null,
        target_id: entry.targetId ?? null,
        outcome: entry.outcome,
        source_ip: entry.sourceIp ?? null,
        request_id: entry.requestId ?? null,
        details: entry.details === undefined ? null : JSON.stringify(entry.details),
      }),
    );
  }

  /** Audit records matching every given filter, newest first, one keyset page at a time. */
  async listAudit(query: AuditQuery): Promise<Page<AuditEntry>> {
    const before = query.cursor === undefined ? null : Number(afterCursor(query.cursor));
    if (before !== null && !Number.isSafeInteger(before))
      throw new InputError('cursor is not one this API returned', [
        { field: 'querystring.cursor', message: 'is invalid' },
      ]);
    const select = this.db('audit_log')
      .orderBy('id', 'desc')
      .limit(query.limit + 1);
    if (before !== null) void select.where('id', '<', before);
    for (const [filter, column] of [
      ['actor', 'actor'],
      ['targetKind', 'target_kind'],
      ['targetId', 'target_id'],
      ['outcome', 'outcome'],
      ['sourceIp', 'source_ip'],
    ] as const) {
      const value = query[filter];
      if (value !== undefined) void select.where(column, value);
    }
    // A prefix as a range, which needs no LIKE escaping and works alike on MySQL and SQLite.
    if (query.action?.endsWith('*'))
      void select
        .where('action', '>=', query.action.slice(0, -1))
        .where('action', '<', `${query.action.slice(0, -1)}\uffff`);
    else if (query.action !== undefined) void select.where('action', query.action);
    if (query.since) void select.where('at', '>=', new Date(query.since).toISOString());
    if (query.until) void select.where('at', '<', new Date(query.until).toISOString());
    const rows = (await withDatabase(() => select)) as Array<Record<string, string | number | null>>;
    const page = rows.slice(0, query.limit).map((r) => ({
      id: Number(r['id']),
      at: String(r['at']),
      actor: String(r['actor']),
      action: String(r['action']),
      targetKind: r['target_kind'] as string | null,
      targetId: r['target_id'] as string | null,
      outcome: String(r['outcome']),
      sourceIp: r['source_ip'] as string | null,
      requestId: r['request_id'] as string | null,
      details: r['details'] ? (JSON.parse(String(r['details'])) as unknown) : null,
    }));
    return {
      items: page,
      nextCursor: rows.length > query.limit ? encodeCursor(String(page[page.length - 1]!.id)) : null,
    };
  }
}

function staleStep(run: RunRow, idx: number, generation: number): CxError {
  return new ConflictError(
    `workflow ${run.id} is ${run.status} at step ${run.current_step} (generation ${run.generation}); step ${idx} of generation ${generation} is stale`,
    'CX_WORKFLOW_STATE',
    { details: { workflowStatus: run.status, currentStep: run.current_step, generation: run.generation } },
  );
}
