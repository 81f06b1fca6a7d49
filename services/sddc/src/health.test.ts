/** Node health: the assessment (pure) and the shard leases (against real Redis). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { HEALTH_POLICY_DEFAULTS, type Cluster, type HealthPolicy } from '@cx/api-schemas';
import { assessHealth, leaseSilenceLimitMs, shardOf, ShardLeases, type ObservedNode } from './health.js';
import type { WatchedMachine } from './sm.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();

function cluster(health: HealthPolicy = {}, extra: Partial<Cluster> = {}): Cluster {
  return {
    id: 'c1', name: 'c', provider: 'kwok', kubernetesVersion: '1.37.2', status: 'Ready', statusMessage: null,
    controlPlane: { count: 1 }, nodePools: [{ name: 'w', count: 5, health: { remediation: 'reboot' } }], activeWorkflowId: null, resourceGroupId: null, apiEndpoint: 'https://127.0.0.1:1', apiVip: null,
    health: { ...HEALTH_POLICY_DEFAULTS, ...health }, healthStatus: null, createdBy: 'u', createdAt: ago(3600), updatedAt: ago(3600), ...extra,
  };
}

const machines: WatchedMachine[] = [
  { id: 'm0', name: 'c-cp-0', pool: 'control-plane', role: 'control-plane', phase: 'Running', createdAt: ago(3600) },
  ...[0, 1, 2, 3, 4].map((i) => ({ id: `m${i + 1}`, name: `c-w-${i}`, pool: 'w', role: 'worker' as const, phase: 'Running', createdAt: ago(3600) })),
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

  it('reports a NotReady node before its timeout and remediates it after, with the pool\'s policy', () => {
    const early = assessHealth(cluster(), machines, nodes({ 'c-w-1': { ready: 'Unknown', since: ago(10), message: 'Kubelet stopped posting node status.' } }), NOW);
    assert.equal(early.status.state, 'Unhealthy');
    assert.match(early.status.message, /c-w-1: node Ready=Unknown for 10 s \(Kubelet stopped posting node status\.\)/);
    assert.deepEqual(early.remediate, []);

    const late = assessHealth(cluster(), machines, nodes({ 'c-w-1': { ready: 'Unknown', since: ago(31) } }), NOW);
    assert.equal(late.status.state, 'Remediating');
    assert.deepEqual(late.remediate.map((r) => [r.machineId, r.since]), [['m2', ago(31)]]);
  });

  it('takes a kubelet lease no longer renewed as unhealthy before the Ready condition changes, never sooner than half the lease', () => {
    const stale = nodes({ 'c-w-2': { lease: { renewedAt: ago(35), durationSeconds: 40 } } });
    const late = assessHealth(cluster(), machines, stale, NOW);
    assert.deepEqual(late.remediate.map((r) => [r.machineName, r.since]), [['c-w-2', ago(35)]]);
    assert.match(late.status.message, /c-w-2: kubelet lease not renewed for 35 s/);
    // A live kubelet renews every 10 s: 12 s of silence is no sign, even with a 5 s timeout.
    const quick = cluster({}, { nodePools: [{ name: 'w', count: 5, health: { unhealthyTimeoutSeconds: 5 } }] });
    assert.equal(assessHealth(quick, machines, nodes({ 'c-w-2': { lease: { renewedAt: ago(12), durationSeconds: 40 } } }), NOW).status.state, 'Healthy');
    assert.deepEqual(assessHealth(quick, machines, nodes({ 'c-w-2': { lease: { renewedAt: ago(21), durationSeconds: 40 } } }), NOW).remediate.map((r) => r.machineName), ['c-w-2']);
    // When the Ready condition turns later, the episode still starts at the lease's last renewal.
    const both = nodes({ 'c-w-2': { ready: 'Unknown', since: ago(5), lease: { renewedAt: ago(55), durationSeconds: 40 } } });
    assert.equal(assessHealth(cluster(), machines, both, NOW).remediate[0]!.since, ago(55));
    assert.equal(leaseSilenceLimitMs(30, 40), 30_000);
    assert.equal(leaseSilenceLimitMs(5, 40), 20_000);
  });

  it('takes the unhealthy timeout of the pool over the cluster\'s', () => {
    const c = cluster({ unhealthyTimeoutSeconds: 300 }, { nodePools: [{ name: 'w', count: 5, health: { unhealthyTimeoutSeconds: 5 } }] });
    const notReady = nodes({ 'c-cp-0': { ready: 'False', since: ago(60) }, 'c-w-0': { ready: 'False', since: ago(6) } });
    assert.deepEqual(assessHealth(c, machines, notReady, NOW).remediate.map((r) => r.machineName), ['c-w-0']);
  });

  it('remediates nothing in a storm, and says so', () => {
    // 40 % of 6 machines = 2: three unhealthy nodes are a storm, even before their timeouts.
    const three = nodes({ 'c-w-0': { ready: 'Unknown', since: ago(100) }, 'c-w-1': { ready: 'Unknown', since: ago(100) }, 'c-w-2': { ready: 'Unknown', since: ago(1) } });
    const storm = assessHealth(cluster(), machines, three, NOW);
    assert.equal(storm.status.state, 'Storm');
    assert.match(storm.status.message, /3 of 6 nodes are unhealthy, more than maxUnhealthy \(40% = 2\): nothing is fenced/);
    assert.deepEqual(storm.remediate, []);
    assert.equal(storm.status.unhealthy.length, 3);
    // The same with a higher limit is a remediation of the two that are due.
    assert.deepEqual(assessHealth(cluster({ maxUnhealthy: 3 }), machines, three, NOW).remediate.map((r) => r.machineName), ['c-w-0', 'c-w-1']);
  });

  it('counts a machine without a node only after its startup timeout', () => {
    const young: WatchedMachine[] = machines.map((m) => (m.name === 'c-w-4' ? { ...m, createdAt: ago(100) } : m));
    assert.equal(assessHealth(cluster(), young, nodes({ 'c-w-4': null }), NOW).status.state, 'Healthy');
    const old = assessHealth(cluster({ startupTimeoutSeconds: 60 }), young, nodes({ 'c-w-4': null }), NOW);
    assert.deepEqual(old.remediate.map((r) => r.machineName), ['c-w-4']);
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
    const fenced = assessHealth(cluster(), machines, nodes({ 'c-w-0': { ready: 'Unknown', since: ago(100), outOfService: true } }), NOW);
    assert.equal(fenced.status.state, 'Remediating');
    assert.deepEqual(fenced.remediate, []);
  });
});

describe('shard leases against real Redis', () => {
  const redisUrl = process.env['CX_TEST_REDIS_URL'];
  const prefix = `healthtest${randomBytes(3).toString('hex')}`;
  let redis: Redis;
  before(() => {
    assert.ok(redisUrl, 'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)');
    redis = new Redis(redisUrl);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('spreads clusters over shards', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 800; i++) counts[shardOf(`cluster-${i}`, 8)]! += 1;
    assert.ok(Math.min(...counts) > 60, `uneven shards: ${counts.join(',')}`);
  });

  it('shares the shards between live replicas, never twice, and takes over a dead replica\'s', async () => {
    const leaseMs = 600;
    const a = new ShardLeases(redis, prefix, 16, leaseMs);
    const b = new ShardLeases(redis, prefix, 16, leaseMs);
    assert.equal((await a.refresh()).size, 16, 'a lone replica holds every shard');
    await b.refresh(); // b is seen: a gives up half on its next refresh, b takes them on its own
    await a.refresh();
    await b.refresh();
    const heldA = new Set(await a.refresh());
    const heldB = new Set(await b.refresh());
    assert.equal(heldA.size, 8);
    assert.equal(heldB.size, 8);
    assert.deepEqual([...heldA].filter((s) => heldB.has(s)), [], 'a shard is held by both replicas');

    // a stops renewing (dead): once its leases expire, b holds every shard.
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 200));
    assert.equal((await b.refresh()).size, 16);
    await b.releaseAll();
    assert.equal(await redis.exists(`${prefix}:health:shard:0`), 0);
  });
});
