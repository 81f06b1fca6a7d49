/** ha-configs kept right: which nodes match (pure), the comparison with the last apply (pure), and the re-apply jobs on real Redis. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HEALTH_POLICY_DEFAULTS, type Cluster, type HaConfig, type HaConfigStatus } from '@cx/api-schemas';
import {
  HA_CONFIG_SYNC_QUEUE,
  haConfigSyncBackoffMs,
  haConfigSyncJobId,
  type HaConfigSyncRequest,
} from '@cx/queue-contracts';
import { createLogger } from '@cx/service-kit';
import { selectNodes } from '../operations/ha-config.js';
import { compareHaConfig, compareHaConfigs, describeChange, HaConfigSync, syncChanged } from './ha-sync.js';
import type { SmClient } from '@cx/sm-contract';

const NOW = Date.parse('2026-11-23T12:00:00Z');

function node(name: string, labels: Record<string, string>, address: string | null = '10.0.0.99'): V1Node {
  return {
    metadata: { name, labels },
    status: {
      addresses: [...(address === null ? [] : [{ type: 'InternalIP', address }]), { type: 'Hostname', address: name }],
    },
  };
}

const edge = (i: number, labels: Record<string, string> = { role: 'edge' }): V1Node =>
  node(`edge-${i}`, labels, `10.0.0.${10 + i}`);
const applied = (...indexes: number[]): Array<{ name: string; address: string }> =>
  indexes.map((i) => ({ name: `edge-${i}`, address: `10.0.0.${10 + i}` }));

function haConfig(status: Partial<HaConfigStatus> = {}, selector: Record<string, string> = { role: 'edge' }): HaConfig {
  return {
    id: 'h1',
    clusterId: 'c1',
    name: 'web',
    virtualIps: '192.0.2.10-15',
    selector,
    watchPort: 443,
    interface: 'eth0',
    unicast: true,
    vrrpIdOffset: 50,
    preempt: true,
    profile: 'default',
    createdBy: 'u',
    createdAt: 'x',
    updatedAt: 'x',
    version: 1,
    status: { applied: { nodes: applied(0, 1, 2), at: 'x', workflowId: 'w1' }, sync: null, ...status },
  };
}

function cluster(extra: Partial<Cluster> = {}): Cluster {
  return {
    id: 'c1',
    name: 'c',
    provider: 'kwok',
    kubernetesVersion: '1.37.2',
    status: 'Ready',
    statusMessage: null,
    controlPlane: { count: 1 },
    nodePools: [{ name: 'edge', count: 3 }],
    activeWorkflowId: null,
    resourceGroupId: null,
    apiEndpoint: 'https://127.0.0.1:1',
    apiVip: null,
    health: { ...HEALTH_POLICY_DEFAULTS },
    healthStatus: null,
    createdBy: 'u',
    createdAt: 'x',
    updatedAt: 'x',
    ...extra,
  };
}

describe('selectNodes', () => {
  it('keeps the nodes carrying every pair of the selector, sorted by name, with their InternalIP', () => {
    const nodes = [
      edge(2),
      node('cp-0', { role: 'edge', tier: 'a' }, '10.0.0.1'),
      edge(0, { role: 'edge', tier: 'b' }),
      node('w-0', {}),
      edge(1, { role: 'backend' }),
    ];
    assert.deepEqual(selectNodes(nodes, { role: 'edge' }), [
      { name: 'cp-0', address: '10.0.0.1' },
      { name: 'edge-0', address: '10.0.0.10' },
      { name: 'edge-2', address: '10.0.0.12' },
    ]);
    assert.deepEqual(
      selectNodes(nodes, { role: 'edge', tier: 'b' }).map((n) => n.name),
      ['edge-0'],
    );
    assert.equal(selectNodes(nodes, {}).length, 5, 'an empty selector picks every node');
    assert.deepEqual(
      selectNodes([node('bare', { role: 'edge' }, null)], { role: 'edge' }),
      [{ name: 'bare', address: '' }],
      'no InternalIP: an empty address',
    );
  });
});

describe('compareHaConfig', () => {
  it('is InSync when the nodes that match are those applied, whatever their order', () => {
    const config = haConfig({ applied: { nodes: applied(2, 0, 1), at: 'x', workflowId: 'w1' } });
    const result = compareHaConfig(config, selectNodes([edge(1), edge(0), edge(2)], config.selector), NOW);
    assert.equal(result.sync.state, 'InSync');
    assert.equal(result.request, undefined);
    assert.match(result.sync.message, /3 node\(s\).*edge-0, edge-1, edge-2/);
  });

  it('asks for an apply when a matching node joins, with the nodes that match now and the apply it compared with', () => {
    const result = compareHaConfig(
      haConfig(),
      selectNodes([edge(0), edge(1), edge(2), edge(3)], { role: 'edge' }),
      NOW,
    );
    assert.equal(result.sync.state, 'Reapplying');
    assert.deepEqual(result.request, {
      clusterId: 'c1',
      haConfigId: 'h1',
      haConfigName: 'web',
      appliedBy: 'w1',
      nodes: applied(0, 1, 2, 3),
      reason: 'edge-3 joined',
    });
    assert.equal(result.sync.since, new Date(NOW).toISOString());
  });

  it('asks for an apply when a node stops matching (its label changed) or its address changed', () => {
    const left = compareHaConfig(
      haConfig(),
      selectNodes([edge(0), edge(1, { role: 'backend' }), edge(2)], { role: 'edge' }),
      NOW,
    );
    assert.equal(left.request?.reason, 'edge-1 left');
    assert.deepEqual(
      left.request?.nodes.map((n) => n.name),
      ['edge-0', 'edge-2'],
    );
    const moved = compareHaConfig(haConfig(), [...applied(0, 1), { name: 'edge-2', address: '10.0.9.9' }], NOW);
    assert.equal(moved.request?.reason, 'edge-2 changed address 10.0.0.12 → 10.0.9.9');
    assert.equal(describeChange(applied(0, 1), applied(1, 2, 3)), 'edge-2, edge-3 joined; edge-0 left');
  });

  it('applies nothing when no node matches any more, and says that keepalived stays as applied', () => {
    const result = compareHaConfig(
      haConfig(),
      selectNodes([edge(0, {}), edge(1, { role: 'backend' })], { role: 'edge' }),
      NOW,
    );
    assert.equal(result.sync.state, 'NoMatchingNode');
    assert.equal(result.request, undefined);
    assert.match(
      result.sync.message,
      /no node matches the selector \{"role":"edge"\}.*stays as applied to edge-0, edge-1, edge-2 \(workflow w1\)/,
    );
  });

  it('waits for a joining node to report its InternalIP before a unicast ha-config is applied again', () => {
    const joining = [...applied(0, 1, 2), { name: 'edge-3', address: '' }];
    const waiting = compareHaConfig(haConfig(), joining, NOW);
    assert.equal(waiting.sync.state, 'Reapplying');
    assert.equal(waiting.request, undefined);
    assert.match(waiting.sync.message, /waiting for edge-3 to report an InternalIP/);
    assert.deepEqual(
      compareHaConfig({ ...haConfig(), unicast: false }, joining, NOW).request?.nodes.at(-1),
      { name: 'edge-3', address: '' },
      'multicast needs no address',
    );
  });

  it('applies an ha-config with no recorded apply once', () => {
    const result = compareHaConfig(haConfig({ applied: null }), applied(0, 1), NOW);
    assert.equal(result.sync.state, 'Reapplying');
    assert.equal(result.request?.appliedBy, null);
  });

  it('compares nothing while the cluster is not Ready or a workflow holds it', () => {
    const nodes = [edge(0), edge(1), edge(2), edge(3)];
    assert.equal(compareHaConfigs(cluster(), [haConfig()], nodes, NOW)[0]?.request?.reason, 'edge-3 joined');
    assert.deepEqual(compareHaConfigs(cluster({ activeWorkflowId: 'w9' }), [haConfig()], nodes, NOW), []);
    assert.deepEqual(compareHaConfigs(cluster({ status: 'Failed' }), [haConfig()], nodes, NOW), []);
  });

  it('tells a changed status from the recorded one, since aside', () => {
    const { sync } = compareHaConfig(haConfig(), applied(0, 1, 2), NOW);
    assert.equal(syncChanged(null, sync), true);
    assert.equal(syncChanged({ ...sync, since: 'earlier' }, sync), false);
    assert.equal(syncChanged({ ...sync, state: 'Reapplying' }, sync), true);
  });
});

describe('re-apply job ids and retries', () => {
  const request = (extra: Partial<HaConfigSyncRequest> = {}): HaConfigSyncRequest => ({
    clusterId: 'c1',
    haConfigId: 'h1',
    haConfigName: 'web',
    appliedBy: 'w1',
    nodes: applied(0, 1, 2, 3),
    reason: 'edge-3 joined',
    ...extra,
  });

  it('gives the same id to the same ha-config, last apply and nodes, and another to any other', () => {
    assert.equal(haConfigSyncJobId(request()), haConfigSyncJobId(request({ reason: 'worded differently' })));
    assert.notEqual(haConfigSyncJobId(request()), haConfigSyncJobId(request({ nodes: applied(0, 1, 2) })));
    assert.notEqual(
      haConfigSyncJobId(request()),
      haConfigSyncJobId(request({ nodes: [...applied(0, 1, 2), { name: 'edge-3', address: '10.9.9.9' }] })),
    );
    assert.notEqual(
      haConfigSyncJobId(request()),
      haConfigSyncJobId(request({ appliedBy: 'w2' })),
      'the same change after another apply is new work',
    );
    assert.notEqual(haConfigSyncJobId(request()), haConfigSyncJobId(request({ haConfigId: 'h2' })));
    assert.doesNotMatch(haConfigSyncJobId(request({ appliedBy: null })), /:/, 'BullMQ refuses ids with a colon');
  });

  it('backs off 1 s, 2 s, 4 s … up to 30 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 40].map(haConfigSyncBackoffMs),
      [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
    );
  });
});

describe('HaConfigSync against real Redis', () => {
  const redisUrl = process.env['CX_TEST_REDIS_URL'];
  const prefix = `hasynctest${randomBytes(3).toString('hex')}`;
  let redis: Redis;
  let queue: Queue<HaConfigSyncRequest>;
  before(() => {
    assert.ok(
      redisUrl,
      'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
    );
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue<HaConfigSyncRequest>(HA_CONFIG_SYNC_QUEUE, { connection: redis, prefix });
  });
  after(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });

  it('queues one re-apply however often the same change is seen, records the status once, and none for a cluster a workflow holds', async () => {
    const written: Array<{ id: string; state: string }> = [];
    const sm = {
      setHaConfigSync: async (id: string, sync: { state: string }) => {
        written.push({ id, state: sync.state });
      },
    } as unknown as SmClient;
    const sync = new HaConfigSync({ sm, requests: queue, logger: createLogger({ level: 'silent', service: 'test' }) });
    const nodes = [edge(0), edge(1), edge(2), edge(3), node('other', { role: 'backend' })];
    const gone = { ...haConfig({}, { role: 'nowhere' }), id: 'h2', name: 'gone' };
    let configs = [haConfig(), gone];
    await sync.check({ cluster: cluster({ activeWorkflowId: 'w9' }), machines: [], haConfigs: configs }, nodes, NOW);
    assert.equal(await queue.count(), 0, 'nothing while a workflow holds the cluster');
    assert.deepEqual(written, []);

    await sync.check({ cluster: cluster(), machines: [], haConfigs: configs }, nodes, NOW);
    assert.deepEqual(written, [
      { id: 'h1', state: 'Reapplying' },
      { id: 'h2', state: 'NoMatchingNode' },
    ]);
    // sm now holds those statuses: the next looks see the same and write nothing.
    configs = configs.map((c) => ({
      ...c,
      status: { ...c.status, sync: compareHaConfig(c, selectNodes(nodes, c.selector), NOW).sync },
    }));
    for (let i = 1; i <= 3; i++)
      await sync.check({ cluster: cluster(), machines: [], haConfigs: configs }, nodes, NOW + i * 1000);
    assert.equal(written.length, 2, 'an unchanged status is not written again');

    const jobs = await queue.getJobs(['waiting', 'delayed', 'active']);
    assert.equal(jobs.length, 1, 'one job for h1, none for the ha-config no node matches');
    assert.equal(jobs[0]!.id, haConfigSyncJobId(jobs[0]!.data));
    assert.deepEqual(
      jobs[0]!.data.nodes.map((n) => n.name),
      ['edge-0', 'edge-1', 'edge-2', 'edge-3'],
    );
    assert.equal(jobs[0]!.opts.attempts, 45);
  });
});
