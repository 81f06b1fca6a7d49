/**
 * Node health: the assessment (pure) and the monitor watching a sim cluster through its provider
 * (real SimProvider, real Redis). The shard leases are tested in shard-leases.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HEALTH_POLICY_DEFAULTS, type Cluster, type ClusterHealthStatus, type HealthPolicy } from '@cx/api-schemas';
import { SimProvider } from '@cx/providers-sim';
import { REMEDIATION_QUEUE, remediationJobId, type RemediationRequest } from '@cx/queue-contracts';
import { ProviderRegistry, type NodeStatus } from '@cx/sddc-contract';
import { createLogger } from '@cx/service-kit';
import {
  assessHealth,
  HealthMonitor,
  leaseSilenceLimitMs,
  observeProviderNodes,
  type ObservedNode,
} from './health-monitor.js';
import { ShardLeases } from './shard-leases.js';
import { ProviderDirectory } from '../providers/provider-directory.js';
import { tenantNodeReader } from '../providers/tenant-node-reader.js';
import type { HealthTarget, SmClient, WatchedMachine } from '@cx/sm-contract';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();

function cluster(health: HealthPolicy = {}, extra: Partial<Cluster> = {}): Cluster {
  return {
    id: 'c1',
    name: 'c',
    provider: 'kwok',
    kubernetesVersion: '1.37.2',
    status: 'Ready',
    statusMessage: null,
    controlPlane: { count: 1 },
    nodePools: [{ name: 'w', count: 5, health: { remediation: 'reboot' } }],
    activeWorkflowId: null,
    resourceGroupId: null,
    apiEndpoint: 'https://127.0.0.1:1',
    apiVip: null,
    health: { ...HEALTH_POLICY_DEFAULTS, ...health },
    healthStatus: null,
    createdBy: 'u',
    createdAt: ago(3600),
    updatedAt: ago(3600),
    ...extra,
  };
}

const machines: WatchedMachine[] = [
  { id: 'm0', name: 'c-cp-0', pool: 'control-plane', role: 'control-plane', phase: 'Running', createdAt: ago(3600) },
  ...[0, 1, 2, 3, 4].map((i) => ({
    id: `m${i + 1}`,
    name: `c-w-${i}`,
    pool: 'w',
    role: 'worker' as const,
    phase: 'Running',
    createdAt: ago(3600),
  })),
];

function nodes(overrides: Record<string, Partial<ObservedNode> | null> = {}): Map<string, ObservedNode> {
  const out = new Map<string, ObservedNode>();
  for (const m of machines) {
    const override = overrides[m.name];
    if (override === null) continue;
    out.set(m.name, { name: m.name, ready: 'True', since: ago(3000), message: '', outOfService: false, ...override });
  }
  return out;
}

describe('assessHealth', () => {
  it('is Healthy when every node is Ready', () => {
    const { status, remediate } = assessHealth(cluster(), machines, nodes(), NOW);
    assert.equal(status.state, 'Healthy');
    assert.deepEqual(remediate, []);
  });

  it("reports a NotReady node before its timeout and remediates it after, with the pool's policy", () => {
    const early = assessHealth(
      cluster(),
      machines,
      nodes({ 'c-w-1': { ready: 'Unknown', since: ago(10), message: 'Kubelet stopped posting node status.' } }),
      NOW,
    );
    assert.equal(early.status.state, 'Unhealthy');
    assert.match(early.status.message, /c-w-1: node Ready=Unknown for 10 s \(Kubelet stopped posting node status\.\)/);
    assert.deepEqual(early.remediate, []);

    const late = assessHealth(cluster(), machines, nodes({ 'c-w-1': { ready: 'Unknown', since: ago(31) } }), NOW);
    assert.equal(late.status.state, 'Remediating');
    assert.deepEqual(
      late.remediate.map((r) => [r.machineId, r.since]),
      [['m2', ago(31)]],
    );
  });

  it('does not count silence while a workflow held the cluster: its API may have been down on purpose', () => {
    // The lease went quiet 200 s ago, during an etcd restore that released the cluster 10 s ago.
    const quiet = nodes({ 'c-w-2': { lease: { renewedAt: ago(200), durationSeconds: 40 } } });
    const justReleased = assessHealth(cluster({}, { updatedAt: ago(10) }), machines, quiet, NOW);
    assert.equal(justReleased.status.state, 'Healthy', JSON.stringify(justReleased.status));
    assert.deepEqual(justReleased.remediate, []);
    // Still silent 35 s after the release: a dead kubelet after all.
    const later = assessHealth(cluster({}, { updatedAt: ago(35) }), machines, quiet, NOW);
    assert.deepEqual(
      later.remediate.map((r) => r.machineId),
      ['m3'],
    );
    // A node NotReady since the workflow's start is due only a timeout after its end.
    const notReady = nodes({ 'c-w-1': { ready: 'Unknown', since: ago(300) } });
    assert.deepEqual(assessHealth(cluster({}, { updatedAt: ago(10) }), machines, notReady, NOW).remediate, []);
    assert.deepEqual(
      assessHealth(cluster({}, { updatedAt: ago(31) }), machines, notReady, NOW).remediate.map((r) => r.machineId),
      ['m2'],
    );
  });

  it('takes a kubelet lease no longer renewed as unhealthy before the Ready condition changes, never sooner than half the lease', () => {
    const stale = nodes({ 'c-w-2': { lease: { renewedAt: ago(35), durationSeconds: 40 } } });
    const late = assessHealth(cluster(), machines, stale, NOW);
    assert.deepEqual(
      late.remediate.map((r) => [r.machineName, r.since]),
      [['c-w-2', ago(35)]],
    );
    assert.match(late.status.message, /c-w-2: kubelet lease not renewed for 35 s/);
    // A live kubelet renews every 10 s: 12 s of silence is no sign, even with a 5 s timeout.
    const quick = cluster({}, { nodePools: [{ name: 'w', count: 5, health: { unhealthyTimeoutSeconds: 5 } }] });
    assert.equal(
      assessHealth(quick, machines, nodes({ 'c-w-2': { lease: { renewedAt: ago(12), durationSeconds: 40 } } }), NOW)
        .status.state,
      'Healthy',
    );
    assert.deepEqual(
      assessHealth(
        quick,
        machines,
        nodes({ 'c-w-2': { lease: { renewedAt: ago(21), durationSeconds: 40 } } }),
        NOW,
      ).remediate.map((r) => r.machineName),
      ['c-w-2'],
    );
    // When the Ready condition turns later, the episode still starts at the lease's last renewal.
    const both = nodes({
      'c-w-2': { ready: 'Unknown', since: ago(5), lease: { renewedAt: ago(55), durationSeconds: 40 } },
    });
    assert.equal(assessHealth(cluster(), machines, both, NOW).remediate[0]!.since, ago(55));
    assert.equal(leaseSilenceLimitMs(30, 40), 30_000);
    assert.equal(leaseSilenceLimitMs(5, 40), 20_000);
  });

  it("takes the unhealthy timeout of the pool over the cluster's", () => {
    const c = cluster(
      { unhealthyTimeoutSeconds: 300 },
      { nodePools: [{ name: 'w', count: 5, health: { unhealthyTimeoutSeconds: 5 } }] },
    );
    const notReady = nodes({
      'c-cp-0': { ready: 'False', since: ago(60) },
      'c-w-0': { ready: 'False', since: ago(6) },
    });
    assert.deepEqual(
      assessHealth(c, machines, notReady, NOW).remediate.map((r) => r.machineName),
      ['c-w-0'],
    );
  });

  it('remediates nothing in a storm, and says so', () => {
    // 40 % of 6 machines = 2: three unhealthy nodes are a storm, even before their timeouts.
    const three = nodes({
      'c-w-0': { ready: 'Unknown', since: ago(100) },
      'c-w-1': { ready: 'Unknown', since: ago(100) },
      'c-w-2': { ready: 'Unknown', since: ago(1) },
    });
    const storm = assessHealth(cluster(), machines, three, NOW);
    assert.equal(storm.status.state, 'Storm');
    assert.match(
      storm.status.message,
      /3 of 6 nodes are unhealthy, more than maxUnhealthy \(40% = 2\): nothing is fenced/,
    );
    assert.deepEqual(storm.remediate, []);
    assert.equal(storm.status.unhealthy.length, 3);
    // The same with a higher limit is a remediation of the two that are due.
    assert.deepEqual(
      assessHealth(cluster({ maxUnhealthy: 3 }), machines, three, NOW).remediate.map((r) => r.machineName),
      ['c-w-0', 'c-w-1'],
    );
  });

  it('counts a machine without a node only after its startup timeout', () => {
    const young: WatchedMachine[] = machines.map((m) => (m.name === 'c-w-4' ? { ...m, createdAt: ago(100) } : m));
    assert.equal(assessHealth(cluster(), young, nodes({ 'c-w-4': null }), NOW).status.state, 'Healthy');
    const old = assessHealth(cluster({ startupTimeoutSeconds: 60 }), young, nodes({ 'c-w-4': null }), NOW);
    assert.deepEqual(
      old.remediate.map((r) => r.machineName),
      ['c-w-4'],
    );
    assert.match(old.status.unhealthy[0]!.reason, /no node registered 100 s after the machine was created/);
  });

  it('waits while another workflow holds the cluster, and never remediates with policy none', () => {
    const down = nodes({ 'c-w-0': { ready: 'False', since: ago(100) } });
    const busy = assessHealth(cluster({}, { activeWorkflowId: 'wf1' }), machines, down, NOW);
    assert.deepEqual(busy.remediate, []);
    assert.match(busy.status.message, /remediation waits for workflow wf1 to finish/);
    const none = cluster({ remediation: 'none' }, { nodePools: [{ name: 'w', count: 5 }] });
    assert.deepEqual(assessHealth(none, machines, down, NOW).remediate, []);
    assert.equal(assessHealth(none, machines, down, NOW).status.state, 'Unhealthy');
  });

  it('shows a fenced node as being remediated, not due again', () => {
    const fenced = assessHealth(
      cluster(),
      machines,
      nodes({ 'c-w-0': { ready: 'Unknown', since: ago(100), outOfService: true } }),
      NOW,
    );
    assert.equal(fenced.status.state, 'Remediating');
    assert.deepEqual(fenced.remediate, []);
  });
});

describe('observeProviderNodes', () => {
  const reported = (down: string[]): NodeStatus[] =>
    machines.map((m) => ({
      name: m.name,
      machineId: m.id,
      role: m.role,
      status: down.includes(m.name) ? 'NotReady' : 'Ready',
      kubernetesVersion: '1.31.4',
    }));

  it('dates a NotReady node from the look that first saw it, keeps that date while it lasts, and forgets it once Ready', () => {
    const first = observeProviderNodes('sim', reported(['c-w-1']), new Map(), NOW - 20_000);
    assert.deepEqual([...first.notReadySince], [['c-w-1', NOW - 20_000]]);
    const down = first.nodes.find((n) => n.name === 'c-w-1')!;
    assert.equal(down.ready, 'False');
    assert.equal(down.lease, undefined, 'a provider reports no kubelet lease');
    assert.ok(first.nodes.filter((n) => n.name !== 'c-w-1').every((n) => n.ready === 'True'));

    const later = observeProviderNodes('sim', reported(['c-w-1']), first.notReadySince, NOW);
    const seen = new Map(later.nodes.map((n) => [n.name, n]));
    assert.equal(seen.get('c-w-1')?.since, ago(20), 'the episode starts at the first look');
    // The assessment sees what it sees of a Kubernetes node: unhealthy at once, due after the timeout.
    const early = assessHealth(
      cluster({}, { provider: 'sim' }),
      machines,
      new Map(first.nodes.map((n) => [n.name, n])),
      NOW - 20_000,
    );
    assert.equal(early.status.state, 'Unhealthy');
    assert.match(
      early.status.message,
      /c-w-1: node Ready=False for 0 s \(the sim provider reports it NotReady: machine powered off or not booted\)/,
    );
    const due = assessHealth(
      cluster({ unhealthyTimeoutSeconds: 15 }, { provider: 'sim', nodePools: [{ name: 'w', count: 5 }] }),
      machines,
      seen,
      NOW,
    );
    assert.deepEqual(
      due.remediate.map((r) => [r.machineName, r.since]),
      [['c-w-1', ago(20)]],
    );

    const back = observeProviderNodes('sim', reported([]), later.notReadySince, NOW + 5_000);
    assert.equal(back.notReadySince.size, 0);
    assert.equal(
      assessHealth(cluster(), machines, new Map(back.nodes.map((n) => [n.name, n])), NOW + 5_000).status.state,
      'Healthy',
    );
  });
});

describe('the monitor watches a sim cluster through its provider (real SimProvider, real Redis)', () => {
  const redisUrl = process.env['CX_TEST_REDIS_URL'];
  const prefix = `healthsimtest${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'cx-health-sim-'));
  const logger = createLogger({ level: 'silent', service: 'test' });
  let redis: Redis;
  let remediations: Queue<RemediationRequest>;
  before(() => {
    assert.ok(
      redisUrl,
      'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
    );
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    remediations = new Queue<RemediationRequest>(REMEDIATION_QUEUE, { connection: redis, prefix });
  });
  after(async () => {
    await remediations.obliterate({ force: true });
    await remediations.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** A monitor of one sim cluster, as sm would hand it, recording the statuses it writes. */
  async function watch(
    clusterId: string,
    health: HealthPolicy,
    directory: ProviderDirectory | undefined,
  ): Promise<{ monitor: HealthMonitor; statuses: ClusterHealthStatus[]; machines: WatchedMachine[] }> {
    const sim = new SimProvider({ dataDir });
    const machines: WatchedMachine[] = [0, 1, 2, 3].map((i) => ({
      id: `${clusterId}-m${i}`,
      name: `${clusterId}-w-${i}`,
      pool: 'w',
      role: 'worker',
      phase: 'Running',
      createdAt: ago(3600),
    }));
    for (const m of machines)
      await sim.ensureMachine({
        machineId: m.id,
        clusterId,
        name: m.name,
        role: 'worker',
        pool: 'w',
        kubernetesVersion: '1.31.4',
      });
    const target: HealthTarget = {
      cluster: cluster(health, {
        id: clusterId,
        provider: 'sim',
        apiEndpoint: null,
        nodePools: [{ name: 'w', count: 4 }],
      }),
      machines,
    };
    const statuses: ClusterHealthStatus[] = [];
    const sm = {
      healthTargets: async () => ({ items: [target], nextCursor: null }),
      setHealthStatus: async (_id: string, status: ClusterHealthStatus) => {
        statuses.push(status);
      },
    } as unknown as SmClient;
    const monitor = new HealthMonitor({
      sm,
      remediations,
      intervalMs: 60_000,
      logger,
      leases: new ShardLeases(redis, `${prefix}${clusterId}`, 1, 10_000),
      ...(directory ? { providers: directory } : {}),
    });
    return { monitor, statuses, machines };
  }

  it('reports a machine powered off out-of-band as unhealthy at once, and hands it to remediation once after the timeout', async () => {
    const registry = new ProviderRegistry();
    const sim = new SimProvider({ dataDir });
    registry.register(sim, sim);
    const { monitor, statuses, machines } = await watch(
      'simc1',
      { unhealthyTimeoutSeconds: 1 },
      new ProviderDirectory(registry, new Map(), {} as SmClient),
    );
    await monitor.pass();
    assert.equal(statuses.at(-1)?.state, 'Healthy', JSON.stringify(statuses.at(-1)));

    // Someone else powers the machine off (another client of the same infrastructure).
    await new SimProvider({ dataDir }).setPower('simc1', 'simc1-m2', 'off');
    const offAt = Date.now();
    await monitor.pass();
    const unhealthy = statuses.at(-1)!;
    assert.equal(unhealthy.state, 'Unhealthy');
    assert.deepEqual(
      unhealthy.unhealthy.map((u) => u.name),
      ['simc1-w-2'],
    );
    assert.match(
      unhealthy.message,
      /simc1-w-2: node Ready=False for 0 s \(the sim provider reports it NotReady: machine powered off or not booted\)/,
    );
    assert.equal(await remediations.count(), 0, 'nothing is remediated before the timeout');
    const since = Date.parse(unhealthy.unhealthy[0]!.since);
    assert.ok(since >= offAt && since <= Date.now(), 'the episode starts at the look that saw it');

    await sleep(1_200);
    await monitor.pass();
    await monitor.pass();
    assert.equal(statuses.at(-1)?.state, 'Remediating');
    const jobs = await remediations.getJobs(['waiting', 'delayed', 'active']);
    const request = {
      clusterId: 'simc1',
      machineId: machines[2]!.id,
      machineName: 'simc1-w-2',
      since: new Date(since).toISOString(),
    };
    assert.deepEqual(
      jobs.map((j) => [j.id, j.data.machineName, j.data.since]),
      [[remediationJobId({ ...request, reason: '' }), 'simc1-w-2', request.since]],
      'one remediation per episode, however many looks',
    );

    // Powered on again (as a reboot would), the node is Ready and the cluster Healthy.
    await sim.setPower('simc1', 'simc1-m2', 'on');
    await monitor.pass();
    assert.equal(statuses.at(-1)?.state, 'Healthy', JSON.stringify(statuses.at(-1)));
    await monitor.stop();
  });

  it('says Unknown, and remediates nothing, when the provider cannot be read or reads through a tenant API', async () => {
    const { monitor, statuses } = await watch('simc2', { unhealthyTimeoutSeconds: 1 }, undefined);
    await monitor.pass();
    assert.equal(statuses.at(-1)?.state, 'Unknown');
    assert.match(
      statuses.at(-1)!.message,
      /the sim provider did not answer: the cluster has no Kubernetes API, and this sddc reads no node status of provider sim itself/,
    );
    await monitor.stop();

    // A provider whose nodes come from the tenant API would answer "no nodes" for a cluster without one.
    const registry = new ProviderRegistry();
    const sim = new SimProvider({ dataDir });
    registry.register(sim, tenantNodeReader(sim, {} as SmClient));
    const directory = new ProviderDirectory(registry, new Map(), {} as SmClient);
    assert.equal(directory.machineNodes('sim'), undefined);
    assert.equal(directory.machineNodes('vsphere'), undefined);
    await new SimProvider({ dataDir }).setPower('simc2', 'simc2-m0', 'off');
    const through = await watch('simc2', { unhealthyTimeoutSeconds: 1 }, directory);
    await through.monitor.pass();
    assert.equal(through.statuses.at(-1)?.state, 'Unknown');
    assert.equal(await remediations.count(), 1, "no remediation beyond the first test's");
    await through.monitor.stop();
  });
});
