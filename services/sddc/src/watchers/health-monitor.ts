/**
 * Node health monitor (seeds 000 and 004): watches the nodes of tenant clusters, reports what it
 * sees to sm (the cluster's `healthStatus`) and hands every node that stayed unhealthy beyond its
 * policy's timeout to wfm, which fences it and remediates it in a workflow. The same look at the
 * nodes keeps the cluster's ha-configs right (ha-sync.ts).
 *
 * A cluster with a Kubernetes API is seen through it (nodes and kubelet leases); one without (the sim
 * provider's) through its provider's NodeReader, which says Ready or NotReady per machine.
 *
 * Clusters are split into shards; each shard is watched by one sddc replica at a time, under a
 * Redis lease that replica renews (shard-leases.ts). Replicas share the shards evenly (each
 * takes ⌈shards / live replicas⌉), and a dead replica's shards are taken over once its leases
 * expire. Nothing is a full mesh: a replica talks only to the API servers of its own shards'
 * clusters.
 */
import { CoordinationV1Api, CoreV1Api, type V1Lease, type V1Node } from '@kubernetes/client-node';
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  healthPolicyOf,
  maxUnhealthyCount,
  type Cluster,
  type ClusterHealthStatus,
  type UnhealthyNode,
} from '@cx/api-schemas';
import { FINISHED_JOB_RETENTION, remediationJobId, type RemediationRequest } from '@cx/queue-contracts';
import type { NodeReader, NodeStatus, ProviderCapabilities } from '@cx/sddc-contract';
import type { Logger } from '@cx/service-kit';
import type { HaConfigSync } from './ha-sync.js';
import type { HealthTarget, SmClient, TenantAdminCredentials, WatchedMachine } from '@cx/sm-contract';
import { OUT_OF_SERVICE_TAINT } from '../operations/nodes.js';
import { client, tenantCall } from '../tenant-api.js';
import { shardOf, type ShardLeases } from './shard-leases.js';

/** A node as the assessment needs it. */
export interface ObservedNode {
  name: string;
  /** Status of the Ready condition: 'True', 'False' or 'Unknown' (absent: 'Unknown'). */
  ready: string;
  /** When the Ready condition last changed (ISO time). */
  since: string;
  message: string;
  outOfService: boolean;
  /** The kubelet's heartbeat: last renewal of its Lease in kube-node-lease, and the lease's duration. */
  lease?: { renewedAt: string; durationSeconds: number };
}

/**
 * How long a lease may go unrenewed before its node counts as unhealthy: the policy's timeout, but
 * never under half the lease's duration (a kubelet renews every quarter of it), so that a short
 * timeout cannot take a live kubelet for a dead one.
 */
export function leaseSilenceLimitMs(unhealthyTimeoutSeconds: number, leaseDurationSeconds: number): number {
  return Math.max(unhealthyTimeoutSeconds, leaseDurationSeconds / 2) * 1000;
}

export interface Assessment {
  status: ClusterHealthStatus;
  /** Nodes due for remediation now (empty during a storm, or when the policy says none). */
  remediate: RemediationRequest[];
}

/**
 * Decides, from one look at a cluster's nodes, what is unhealthy and what must be remediated. Pure.
 * A machine is unhealthy when its node's Ready condition is not True, when its node carries the
 * out-of-service taint (it is being remediated), or when it has no node long after it was created.
 * Every unhealthy node counts toward the storm guard at once, before its own timeout runs out, so a
 * partition that takes several nodes is never mistaken for several node failures.
 */
export function assessHealth(
  cluster: Cluster,
  machines: WatchedMachine[],
  nodes: ReadonlyMap<string, ObservedNode>,
  now: number,
): Assessment {
  const unhealthy: Array<UnhealthyNode & { due: boolean; remediation: string }> = [];
  // When the last workflow let go of the cluster (its last change). While one holds it, nothing is
  // remediated anyway (below), and what is seen is reported as it is.
  const releasedAt = cluster.activeWorkflowId ? 0 : Date.parse(cluster.updatedAt) || 0;
  for (const machine of machines) {
    const policy = healthPolicyOf({ health: cluster.health, nodePools: cluster.nodePools }, machine.pool);
    const node = nodes.get(machine.name);
    if (!node) {
      const age = now - Date.parse(machine.createdAt);
      if (age > policy.startupTimeoutSeconds * 1000) {
        unhealthy.push({
          machineId: machine.id,
          name: machine.name,
          reason: `no node registered ${Math.round(age / 1000)} s after the machine was created (startupTimeoutSeconds ${policy.startupTimeoutSeconds})`,
          since: machine.createdAt,
          due: true,
          remediation: policy.remediation,
        });
      }
      continue;
    }
    // Two signals: the Ready condition (the node lifecycle controller sets Unknown only after its
    // grace period, 50 s by default) and, sooner, a lease the kubelet stopped renewing.
    const renewedAt = node.lease ? Date.parse(node.lease.renewedAt) : Number.NaN;
    // Silence while a workflow held the cluster does not count: some take its API down on purpose
    // (an etcd restore, a CA rotation), and a kubelet renews its lease only once the API is back.
    const quietSince = Math.max(renewedAt, releasedAt);
    const leaseStale =
      node.lease !== undefined &&
      now - quietSince > leaseSilenceLimitMs(policy.unhealthyTimeoutSeconds, node.lease.durationSeconds);
    const notReady = node.ready !== 'True';
    if (!notReady && !leaseStale && !node.outOfService) continue;
    // The episode starts at the earliest sign, which stays put while it lasts (remediations are keyed by it).
    const since = Math.min(notReady ? Date.parse(node.since) || now : now, leaseStale ? renewedAt : now);
    const signs = [
      ...(leaseStale ? [`kubelet lease not renewed for ${Math.round((now - renewedAt) / 1000)} s`] : []),
      ...(notReady
        ? [
            `node Ready=${node.ready} for ${Math.max(0, Math.round((now - (Date.parse(node.since) || now)) / 1000))} s${node.message ? ` (${node.message})` : ''}`,
          ]
        : []),
    ];
    const reason = node.outOfService ? 'fenced and out of service, being remediated' : signs.join('; ');
    const due =
      !node.outOfService && (leaseStale || now - Math.max(since, releasedAt) > policy.unhealthyTimeoutSeconds * 1000);
    unhealthy.push({
      machineId: machine.id,
      name: machine.name,
      reason,
      since: new Date(since).toISOString(),
      due,
      remediation: policy.remediation,
    });
  }
  const checkedAt = new Date(now).toISOString();
  const report = unhealthy.map(({ machineId, name, reason, since }) => ({ machineId, name, reason, since }));
  if (unhealthy.length === 0)
    return {
      status: { state: 'Healthy', message: `all ${machines.length} nodes are Ready`, unhealthy: [], checkedAt },
      remediate: [],
    };

  const limit = maxUnhealthyCount(cluster.health.maxUnhealthy, machines.length);
  if (unhealthy.length > limit) {
    return {
      status: {
        state: 'Storm',
        unhealthy: report,
        checkedAt,
        message: `${unhealthy.length} of ${machines.length} nodes are unhealthy, more than maxUnhealthy (${cluster.health.maxUnhealthy} = ${limit}): nothing is fenced or remediated, as this looks like a partition or a shared failure rather than failed nodes. Remediation resumes once at most ${limit} are unhealthy; check the network and power of the cluster.`,
      },
      remediate: [],
    };
  }
  // One workflow at a time holds a cluster: remediation waits for a create, scale, upgrade or an
  // earlier remediation to finish (a machine being replaced has no node for a while).
  const due = cluster.activeWorkflowId ? [] : unhealthy.filter((u) => u.due && u.remediation !== 'none');
  const remediate = due.map((u) => ({
    clusterId: cluster.id,
    machineId: u.machineId,
    machineName: u.name,
    reason: u.reason,
    since: u.since,
  }));
  const remediating = unhealthy.some((u) => u.reason.startsWith('fenced')) || remediate.length > 0;
  const names = unhealthy.map((u) => `${u.name}: ${u.reason}`).join('; ');
  const waiting =
    cluster.activeWorkflowId && unhealthy.some((u) => u.due && u.remediation !== 'none')
      ? ` (remediation waits for workflow ${cluster.activeWorkflowId} to finish)`
      : '';
  return {
    status: {
      state: remediating ? 'Remediating' : 'Unhealthy',
      message: `${remediating ? 'remediating' : 'unhealthy'}: ${names}${waiting}`,
      unhealthy: report,
      checkedAt,
    },
    remediate,
  };
}

/** What the assessment needs of a Kubernetes Node. */
export function observeNode(node: V1Node, lease?: V1Lease): ObservedNode {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const since = ready?.lastTransitionTime ?? node.metadata?.creationTimestamp;
  return {
    name: node.metadata?.name ?? '',
    ready: ready?.status ?? 'Unknown',
    since: since ? new Date(since).toISOString() : new Date(0).toISOString(),
    message: ready?.message ?? '',
    outOfService: (node.spec?.taints ?? []).some((t) => t.key === OUT_OF_SERVICE_TAINT.key),
    ...(lease?.spec?.renewTime
      ? {
          lease: {
            renewedAt: new Date(lease.spec.renewTime).toISOString(),
            durationSeconds: lease.spec.leaseDurationSeconds ?? 40,
          },
        }
      : {}),
  };
}

/**
 * What the assessment needs of the nodes a provider reports (clusters without a Kubernetes API):
 * Ready or NotReady, with no transition time and no lease. A NotReady node's episode starts when it
 * was first seen NotReady: `firstSeen` holds those times from the previous look, and the answer the
 * ones to keep for the next (a node Ready again is forgotten). Pure.
 */
export function observeProviderNodes(
  provider: string,
  reported: readonly NodeStatus[],
  firstSeen: ReadonlyMap<string, number>,
  now: number,
): { nodes: ObservedNode[]; notReadySince: Map<string, number> } {
  const notReadySince = new Map<string, number>();
  const nodes = reported.map((node): ObservedNode => {
    if (node.status === 'Ready')
      return { name: node.name, ready: 'True', since: new Date(now).toISOString(), message: '', outOfService: false };
    const since = firstSeen.get(node.name) ?? now;
    notReadySince.set(node.name, since);
    return {
      name: node.name,
      ready: 'False',
      since: new Date(since).toISOString(),
      message: `the ${provider} provider reports it NotReady: machine powered off or not booted`,
      outOfService: false,
    };
  });
  return { nodes, notReadySince };
}

export interface HealthMonitorOptions {
  sm: SmClient;
  leases: ShardLeases;
  remediations: Queue<RemediationRequest>;
  intervalMs: number;
  logger: Logger;
  /** Called after a cluster's health status was written (wfm's cached reads must see it). */
  statusWritten?: () => Promise<unknown>;
  /** Compares each ha-config of a cluster with the nodes seen, and has it applied again when they differ. */
  haSync?: HaConfigSync;
  /**
   * The providers whose own NodeReader watches a cluster without a Kubernetes API (sim; see
   * ProviderDirectory.machineNodes), and their capabilities (which ones run no Kubernetes API).
   */
  providers?: {
    machineNodes(name: string): NodeReader | undefined;
    list(): Array<{ name: string; capabilities: ProviderCapabilities }>;
  };
  /** Where the pass metrics go (sddc's /metrics): whether the passes keep up with the interval. */
  metrics?: Registry;
}

/** How a replica's passes keep up: each cluster is looked at once per pass, so a pass longer than the interval delays detection. */
class PassMetrics {
  readonly seconds: Histogram;
  readonly last: Gauge;
  readonly clusters: Gauge;
  readonly nodes: Gauge;
  readonly skipped: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.seconds = new Histogram({
      name: 'cx_sddc_health_pass_seconds',
      help: 'Duration of one node health pass over the clusters of the shards this replica holds',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.last = new Gauge({
      name: 'cx_sddc_health_last_pass_seconds',
      help: 'Duration of the last node health pass',
      registers,
    });
    this.clusters = new Gauge({
      name: 'cx_sddc_health_watched_clusters',
      help: 'Clusters looked at in the last node health pass',
      registers,
    });
    this.nodes = new Gauge({
      name: 'cx_sddc_health_watched_machines',
      help: 'Machines of the clusters looked at in the last node health pass',
      registers,
    });
    this.skipped = new Counter({
      name: 'cx_sddc_health_skipped_passes_total',
      help: 'Passes not started because the previous one was still running (the interval is too short for the clusters held)',
      registers,
    });
  }
}

/** How long admin credentials for a tenant API are reused (sm signs them for an hour). */
const CREDENTIALS_TTL_MS = 5 * 60_000;
/** Clusters checked at once by one replica. */
const CONCURRENCY = 16;
/**
 * A status that did not change is written again after half to all of this, at random, so that
 * `checkedAt` stays meaningful: clusters first seen in one pass (all of them, after a start) would
 * otherwise all be written again in one pass, which then takes several times as long (1,000
 * writes; 0.9 s → 5 s a pass for 1,000 clusters in bench/health-monitor.mjs).
 */
const STATUS_REFRESH_MS = 60_000;
const TARGET_PAGE = 200;

export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly credentials = new Map<string, { value: Promise<TenantAdminCredentials>; at: number }>();
  private readonly reported = new Map<string, { key: string; refreshAt: number }>();
  /** Clusters seen through their provider: when each NotReady node was first seen so (the provider gives no time). */
  private readonly notReadySince = new Map<string, ReadonlyMap<string, number>>();
  private readonly metrics: PassMetrics | undefined;

  constructor(private readonly options: HealthMonitorOptions) {
    this.metrics = options.metrics ? new PassMetrics(options.metrics) : undefined;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) {
        // a slow pass is not stacked on
        this.metrics?.skipped.inc();
        return;
      }
      this.running = this.pass()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'node health pass failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.options.leases.releaseAll().catch(() => undefined);
  }

  /** One look at every cluster of the shards this replica holds. */
  async pass(now = Date.now()): Promise<void> {
    const { leases, sm } = this.options;
    const held = await leases.refresh(now);
    if (held.size === 0) return;
    const started = performance.now();
    let cursor: string | undefined;
    const watched = new Set<string>();
    let machines = 0;
    // Clusters of these have no API endpoint; their provider reports their nodes itself.
    const withoutApi =
      this.options.providers
        ?.list()
        .filter((p) => !p.capabilities.kubernetesApi)
        .map((p) => p.name) ?? [];
    for (let page = 0; page < 10_000; page++) {
      const { items, nextCursor } = await sm.healthTargets(TARGET_PAGE, cursor, withoutApi);
      const mine = items.filter((t) => held.has(shardOf(t.cluster.id, leases.shards)));
      for (const target of mine) {
        watched.add(target.cluster.id);
        machines += target.machines.length;
      }
      for (let i = 0; i < mine.length; i += CONCURRENCY) {
        await Promise.all(
          mine.slice(i, i + CONCURRENCY).map((target) =>
            this.check(target).catch((error: unknown) => {
              this.options.logger.warn({ err: error, clusterId: target.cluster.id }, 'node health check failed');
            }),
          ),
        );
      }
      if (!nextCursor) break;
      cursor = nextCursor;
    }
    // Clusters deleted, or now in another replica's shards, start afresh if they come back.
    for (const id of this.notReadySince.keys()) if (!watched.has(id)) this.notReadySince.delete(id);
    for (const id of this.reported.keys()) if (!watched.has(id)) this.reported.delete(id);
    const seconds = (performance.now() - started) / 1000;
    this.metrics?.seconds.observe(seconds);
    this.metrics?.last.set(seconds);
    this.metrics?.clusters.set(watched.size);
    this.metrics?.nodes.set(machines);
  }

  private async check(target: HealthTarget): Promise<void> {
    const { cluster, machines } = target;
    const now = Date.now();
    let assessment: Assessment;
    let seen: V1Node[] | undefined;
    try {
      let nodes: ObservedNode[];
      if (cluster.apiEndpoint) ({ nodes, seen } = await this.observeThroughApi(cluster.id));
      else nodes = await this.observeThroughProvider(cluster, now);
      assessment = assessHealth(cluster, machines, new Map(nodes.map((n) => [n.name, n])), now);
    } catch (error) {
      this.credentials.delete(cluster.id); // perhaps the CA was rotated
      // Nothing is remediated on what cannot be seen: a cluster whose API (or provider) does not answer is Unknown.
      const silent = cluster.apiEndpoint ? 'the Kubernetes API of the cluster' : `the ${cluster.provider} provider`;
      assessment = {
        status: {
          state: 'Unknown',
          message: `${silent} did not answer: ${(error as Error).message}`,
          unhealthy: [],
          checkedAt: new Date(now).toISOString(),
        },
        remediate: [],
      };
    }
    for (const request of assessment.remediate) {
      await this.options.remediations.add('remediate', request, {
        jobId: remediationJobId(request),
        removeOnComplete: FINISHED_JOB_RETENTION,
        removeOnFail: FINISHED_JOB_RETENTION,
        attempts: 120,
        backoff: { type: 'fixed', delay: 5_000 },
      });
    }
    // The same list of nodes serves the ha-configs; what fails there leaves the health report alone.
    if (seen && this.options.haSync) {
      await this.options.haSync
        .check(target, seen, now)
        .catch((error: unknown) =>
          this.options.logger.warn({ err: error, clusterId: cluster.id }, 'ha-config comparison failed'),
        );
    }
    const { status } = assessment;
    const key = JSON.stringify([status.state, status.unhealthy.map((u) => [u.name, u.reason.replace(/\d+ s\b/g, '')])]);
    const last = this.reported.get(cluster.id);
    if (last && last.key === key && now < last.refreshAt) return;
    await this.options.sm.setHealthStatus(cluster.id, status);
    // Only a change invalidates wfm's cached reads; a refresh of checkedAt alone may show late.
    if (last?.key !== key) await this.options.statusWritten?.();
    this.reported.set(cluster.id, { key, refreshAt: now + STATUS_REFRESH_MS * (0.5 + Math.random() / 2) });
  }

  /** The nodes and kubelet leases, through the cluster's Kubernetes API. */
  private async observeThroughApi(clusterId: string): Promise<{ nodes: ObservedNode[]; seen: V1Node[] }> {
    const tenant = client(await this.adminCredentials(clusterId));
    const [nodeList, leaseList] = await Promise.all([
      tenantCall(() => tenant.makeApiClient(CoreV1Api).listNode({ timeoutSeconds: 10 })),
      tenantCall(() =>
        tenant
          .makeApiClient(CoordinationV1Api)
          .listNamespacedLease({ namespace: 'kube-node-lease', timeoutSeconds: 10 }),
      ),
    ]);
    const leases = new Map(leaseList.items.map((l) => [l.metadata?.name ?? '', l]));
    return {
      nodes: nodeList.items.map((n) => observeNode(n, leases.get(n.metadata?.name ?? ''))),
      seen: nodeList.items,
    };
  }

  /** The nodes as the cluster's provider reports them, for a cluster without a Kubernetes API. */
  private async observeThroughProvider(cluster: Cluster, now: number): Promise<ObservedNode[]> {
    const reader = this.options.providers?.machineNodes(cluster.provider);
    if (!reader)
      throw new Error(
        `the cluster has no Kubernetes API, and this sddc reads no node status of provider ${cluster.provider} itself`,
      );
    const observed = observeProviderNodes(
      cluster.provider,
      await reader.listNodes(cluster.id),
      this.notReadySince.get(cluster.id) ?? new Map(),
      now,
    );
    this.notReadySince.set(cluster.id, observed.notReadySince);
    return observed.nodes;
  }

  private adminCredentials(clusterId: string): Promise<TenantAdminCredentials> {
    const cached = this.credentials.get(clusterId);
    if (cached && Date.now() - cached.at < CREDENTIALS_TTL_MS) return cached.value;
    const value = this.options.sm.adminCredentials(clusterId);
    value.catch(() => this.credentials.delete(clusterId));
    this.credentials.set(clusterId, { value, at: Date.now() });
    return value;
  }
}
