/**
 * Clusters and their node pools: what they are, and the transactions that change them and start the
 * workflow doing the work (create, scale, add a pool, relabel, any other cluster workflow), each
 * under the caller's Idempotency-Key and the cluster's lock.
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import {
  isControlPlaneCount,
  type Cluster,
  type ClusterCreateRequest,
  type ClusterHealthStatus,
  type ControlPlaneCount,
  type HealthPolicy,
  type Node,
  type NodePoolRequest,
  type NodeScheduling,
  type Page,
} from '@cx/api-schemas';
import type { ScaleLimits } from '@cx/config';
import { ConflictError, CxError, InputError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import type { Machine, NodePageQuery, StartRequest } from '@cx/sm-contract';
import type { Visibility } from '../access/access-control.js';
import { isUniqueViolation, withDatabase } from '../db/database.js';
import { afterCursor, encodeCursor, keysetPage } from '../db/pagination.js';
import { withPrepared, type PreparedSql } from '../db/prepared.js';
import { Pairs } from '../pairs/pairs.js';
import type { Resources } from '../resources/resources.js';
import type { Accepted, WorkflowRuns } from '../runs/workflow-runs.js';
import { lockCluster } from './lock.js';
import { clusterRow, machinesOf, toCluster, toMachine, toNode, type ClusterRow, type MachineRow } from './rows.js';
import type { TenantCredentials } from './tenant-credentials.js';

export class Clusters {
  constructor(
    private readonly db: Knex,
    private readonly runs: WorkflowRuns,
    private readonly resources: Resources,
    private readonly tenants: TenantCredentials,
    private readonly limits: ScaleLimits = { maxClusters: 256, maxMachinesPerCluster: 1024 },
  ) {}

  /** One page of the clusters `visible` lets the caller see (all, or those under their grants). */
  async list(limit: number, cursor: string | undefined, visible: Visibility = { all: true }): Promise<Page<Cluster>> {
    const query = this.db('clusters');
    if (!visible.all)
      void query.where((q) => {
        void q.whereIn('id', visible.clusterIds).orWhereIn('resource_group_id', visible.resourceGroupIds);
      });
    const { rows, nextCursor } = await keysetPage<ClusterRow>(query, limit, cursor);
    return { items: rows.map(toCluster), nextCursor };
  }

  async get(id: string): Promise<Cluster> {
    return toCluster(await clusterRow(this.db, id));
  }

  /**
   * One page of what the node health monitor watches: clusters that are not being created or
   * deleted, each with its machines; those whose Kubernetes API is up, and those of the providers
   * `withoutApi` (sim), which run none and report their nodes themselves. Other providers' nodes
   * are read through the API, so a cluster of theirs without one cannot be watched.
   */
  async healthTargets(
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
    // The health monitor reports every cluster it watches, again every few minutes: a prepared statement.
    const changed = await withDatabase(() =>
      withPrepared(this.db, (sql) =>
        sql.run('UPDATE `clusters` SET `health_status` = ? WHERE `id` = ?', [JSON.stringify(status), clusterId]),
      ),
    );
    if (changed === 0) throw new NotFoundError(`cluster ${clusterId} does not exist`);
  }

  /**
   * Replaces the cluster's node health policy (its pools' own overrides stay). No workflow: the
   * health monitor reads the policy at each look. Refused while the cluster is being deleted.
   */
  async setHealthPolicy(clusterId: string, policy: HealthPolicy): Promise<Cluster> {
    return withDatabase(() =>
      this.db.transaction(async (trx) => {
        const row = await clusterRow(trx, clusterId);
        if (row.status === 'Deleting')
          throw new ConflictError(
            `cluster ${row.name} is being deleted; its health policy no longer matters`,
            'CX_CLUSTER_BUSY',
          );
        const spec = JSON.parse(row.spec) as ClusterCreateRequest;
        const now = nowIso();
        const changed = await trx('clusters')
          .where({ id: clusterId, version: row.version })
          .update({ spec: JSON.stringify({ ...spec, health: policy }), updated_at: now, version: row.version + 1 });
        if (changed !== 1)
          throw new ConflictError(`cluster ${row.name} changed concurrently; retry`, 'CX_VERSION_CONFLICT', {
            retryable: true,
          });
        return toCluster(await clusterRow(trx, clusterId));
      }),
    );
  }

  async machines(clusterId: string): Promise<Machine[]> {
    await clusterRow(this.db, clusterId);
    return machinesOf(this.db, clusterId);
  }

  /**
   * The cluster's nodes by name, as cx recorded them: all, or one page (`limit`, after the name in
   * `cursor`) of one pool's or all. Machines the provider made, and those it failed to make (their
   * condition says why).
   */
  async nodes(clusterId: string, page: NodePageQuery = {}): Promise<Page<Node>> {
    await clusterRow(this.db, clusterId);
    const after = afterCursor(page.cursor);
    const query = this.db<MachineRow>('machines')
      .where({ cluster_id: clusterId })
      .where((q) => {
        void q.whereNotNull('provider_id').orWhereNotNull('condition');
      })
      .orderBy('name');
    if (page.pool !== undefined) void query.where('pool', page.pool);
    if (after !== null) void query.where('name', '>', after);
    if (page.limit !== undefined) void query.limit(page.limit + 1);
    const rows = (await withDatabase(() => query)) as MachineRow[];
    const items = rows.slice(0, page.limit ?? rows.length).map(toNode);
    const more = page.limit !== undefined && rows.length > page.limit;
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.name) : null };
  }

  /**
   * Creates the cluster, its pools and its create workflow in one transaction; `allocateVip`
   * (given when the request names controlPlane.vipPool) allocates its control-plane VIP in it, and
   * `within` records more with them (the template the cluster comes from, and its addons).
   */
  async create(
    request: ClusterCreateRequest,
    start: StartRequest,
    allocateVip?: (trx: Knex.Transaction, clusterId: string) => Promise<string>,
    within?: (trx: Knex.Transaction, clusterId: string) => Promise<void>,
  ): Promise<Accepted> {
    const pki = await this.tenants.generate(request.name);
    // One create per request: its statements are prepared (db/prepared.ts); the rare parts (a
    // resource group's quota, a VIP, a template) still write through knex in the same transaction,
    // and only a create with one of them opens a knex transaction.
    const withKnex = request.resourceGroup !== undefined || allocateVip !== undefined || within !== undefined;
    const create = async (sql: PreparedSql, trx: Knex.Transaction | undefined): Promise<Accepted['body']> => {
      const now = nowIso();
      const clusterId = uuidv7();
      const runId = uuidv7();
      const machines = request.controlPlane.count + request.nodePools.reduce((n, p) => n + p.count, 0);
      this.checkMachineLimit(machines);
      const clusters = (await sql.first<{ n: number | string }>('SELECT COUNT(*) AS `n` FROM `clusters`', []))!;
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
          : await this.resources.admitCluster(trx!, request.resourceGroup, request);
      try {
        await sql.run(
          'INSERT INTO `clusters` (`id`, `name`, `provider`, `kubernetes_version`, `resource_group_id`, `status`, `status_message`, `spec`, `active_run_id`, `created_by`, `created_at`, `updated_at`, `version`) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, 1)',
          [
            clusterId,
            request.name,
            request.provider,
            request.kubernetesVersion,
            resourceGroupId,
            start.workflow.clusterStatus,
            JSON.stringify(request),
            runId,
            start.actor,
            now,
            now,
          ],
        );
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
      for (const p of pools)
        await sql.run(
          'INSERT INTO `node_pools` (`id`, `cluster_id`, `name`, `role`, `count`, `vcpus`, `memory_mib`, `created_at`, `updated_at`, `version`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)',
          [uuidv7(), clusterId, p.name, p.role, p.count, p.vcpus ?? 2, p.memoryMiB ?? 4096, now, now],
        );
      if (allocateVip)
        await trx!('clusters')
          .where({ id: clusterId })
          .update({ api_vip: await allocateVip(trx!, clusterId) });
      await this.tenants.store(sql, clusterId, pki);
      await this.runs.insert(sql, runId, clusterId, start, now);
      if (within) await within(trx!, clusterId);
      return { cluster: toCluster(await clusterRow(sql, clusterId)), workflow: { id: runId, status: 'Pending' } };
    };
    return this.runs.idempotentWith(start, { knex: withKnex }, create);
  }

  /**
   * Starts a workflow on the cluster; `within` changes the state in the same transaction (creating
   * the ha-config the workflow applies, say) and what it answers joins the response.
   */
  async startWorkflow(
    clusterId: string,
    start: StartRequest,
    within?: (trx: Knex.Transaction) => Promise<Record<string, unknown>>,
  ): Promise<Accepted> {
    // Only a start that changes more (`within`) opens a knex transaction; the rest is prepared statements.
    const begin = async (sql: PreparedSql, trx: Knex.Transaction | undefined): Promise<Accepted['body']> => {
      const cluster = await clusterRow(sql, clusterId);
      if (start.workflow.clusterStatus === 'Deleting') await Pairs.assertNotPaired(sql, cluster.id, 'deleting it');
      const now = nowIso();
      const runId = uuidv7();
      await lockCluster(sql, cluster, runId, start.workflow.clusterStatus, now);
      const created = within ? await within(trx!) : {};
      await this.runs.insert(sql, runId, clusterId, start, now);
      return {
        ...created,
        cluster: toCluster(await clusterRow(sql, clusterId)),
        workflow: { id: runId, status: 'Pending' },
      };
    };
    return this.runs.idempotentWith(start, { knex: within !== undefined }, begin);
  }

  /**
   * Sets a pool's desired size and starts the workflow that gets there, in one transaction: the
   * pool must exist, a control plane keeps its quorum, and growth fits the resource group's quotas.
   */
  async scalePool(clusterId: string, poolName: string, count: number, start: StartRequest): Promise<Accepted> {
    return this.runs.idempotent(start, async (trx, sql) => {
      const cluster = await clusterRow(trx, clusterId);
      await Pairs.assertNotPaired(sql, cluster.id, 'resizing it');
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
      await lockCluster(sql, cluster, runId, start.workflow.clusterStatus, now);
      await trx('node_pools')
        .where({ id: pool.id })
        .update({ count, updated_at: now, version: pool.version + 1 });
      const spec = JSON.parse(cluster.spec) as ClusterCreateRequest;
      if (controlPlaneCount !== undefined) spec.controlPlane.count = controlPlaneCount;
      else spec.nodePools = spec.nodePools.map((p) => (p.name === poolName ? { ...p, count } : p));
      await trx('clusters')
        .where({ id: clusterId })
        .update({ spec: JSON.stringify(spec) });
      await this.runs.insert(
        sql,
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
      return { cluster: toCluster(await clusterRow(trx, clusterId)), workflow: { id: runId, status: 'Pending' } };
    });
  }

  /**
   * Adds a worker pool to a cluster and starts the scale workflow that creates its machines, in one
   * transaction: the name is free, the machines fit the cluster's limit and the resource group's quotas.
   */
  async addPool(clusterId: string, pool: NodePoolRequest, start: StartRequest): Promise<Accepted> {
    return this.runs.idempotent(start, async (trx, sql) => {
      const cluster = await clusterRow(trx, clusterId);
      await Pairs.assertNotPaired(sql, cluster.id, 'adding a pool to it');
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
      await lockCluster(sql, cluster, runId, start.workflow.clusterStatus, now);
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
      await this.runs.insert(
        sql,
        runId,
        clusterId,
        {
          ...start,
          workflow: { ...start.workflow, input: { ...start.workflow.input, pool: pool.name, from: 0, to: pool.count } },
        },
        now,
      );
      return { cluster: toCluster(await clusterRow(trx, clusterId)), workflow: { id: runId, status: 'Pending' } };
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
    return this.runs.idempotent(start, async (trx, sql) => {
      const cluster = await clusterRow(trx, clusterId);
      const spec = JSON.parse(cluster.spec) as ClusterCreateRequest;
      const pool = spec.nodePools.find((p) => p.name === poolName);
      if (!pool)
        throw new NotFoundError(
          `cluster ${cluster.name} has no worker pool ${poolName}${poolName === 'control-plane' ? " (the control plane's labels and taints are not a pool's)" : ''}`,
        );
      const now = nowIso();
      const runId = uuidv7();
      await lockCluster(sql, cluster, runId, start.workflow.clusterStatus, now);
      const previous = { labels: pool.labels ?? {}, taints: pool.taints ?? [] };
      spec.nodePools = spec.nodePools.map((p) => (p.name === poolName ? { ...p, ...scheduling } : p));
      await trx('clusters')
        .where({ id: clusterId })
        .update({ spec: JSON.stringify(spec) });
      await this.runs.insert(
        sql,
        runId,
        clusterId,
        {
          ...start,
          workflow: { ...start.workflow, input: { ...start.workflow.input, pool: poolName, scheduling, previous } },
        },
        now,
      );
      return { cluster: toCluster(await clusterRow(trx, clusterId)), workflow: { id: runId, status: 'Pending' } };
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
}
