/**
 * The README's promise, end to end through the public API only: log in, create a three-node-control-
 * plane `sim` cluster, follow its workflow to Ready over server-sent events, read its nodes, delete
 * it, and find it gone — on SQLite with the private Redis of the embedded default, and on MariaDB
 * with a shared Redis.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, Api, DEMO_CLUSTER, simMachines, startCx, type CxProcess } from '../support/cx.js';
import { createMysqlDatabase } from '../support/peers.js';

const variants: Array<{
  name: string;
  env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>;
}> = [
  {
    name: 'SQLite and private Redis (embedded default)',
    env: async () => ({ env: {}, cleanup: async () => undefined }),
  },
  {
    name: 'MariaDB and shared Redis',
    env: async () => {
      const database = await createMysqlDatabase();
      const redis = process.env['CX_TEST_REDIS_URL'];
      assert.ok(redis, 'CX_TEST_REDIS_URL is not set: run the tests with `npm test`');
      return {
        env: {
          CX_DATABASE_URL: database.url,
          CX_REDIS_URL: redis,
          CX_REDIS_PREFIX: `cxe2e${randomBytes(3).toString('hex')}`,
        },
        cleanup: database.drop,
      };
    },
  },
];

for (const variant of variants) {
  describe(`cluster lifecycle on ${variant.name}`, () => {
    let cx: CxProcess;
    let api: Api;
    let cleanup: () => Promise<void> = async () => undefined;

    before(async () => {
      const prepared = await variant.env();
      cleanup = prepared.cleanup;
      cx = await startCx({ env: prepared.env });
      api = await Api.login(cx.base);
    });
    after(async () => {
      await cx?.stop();
      await cleanup();
    });

    it('creates a cluster, reaches Ready, lists its nodes, deletes it', async () => {
      const providers = await api.call('GET', '/api/v1/providers');
      assert.equal(providers.status, 200);
      assert.ok(
        providers.body.items.some(
          (p: { name: string; kubernetesVersions: string[] }) =>
            p.name === 'sim' && p.kubernetesVersions.includes('1.31.4'),
        ),
      );

      const created = await api.call('POST', '/api/v1/clusters', { name: 'demo', ...DEMO_CLUSTER });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const clusterId: string = created.body.cluster.id;
      const workflowId: string = created.body.workflow.id;
      assert.equal(created.body.cluster.status, 'Provisioning');
      assert.equal(created.headers.get('location'), `/api/v1/workflows/${workflowId}`);

      const events = await api.follow(workflowId);
      const last = events.at(-1);
      assert.equal(last.status, 'Succeeded', JSON.stringify(last));
      assert.ok(events.length >= 2, 'the stream shows progress, not only the end');
      assert.deepEqual(
        last.steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`),
        [
          'plan-machines Succeeded',
          'provision-machines Succeeded',
          'wait-nodes-ready Succeeded',
          'configure-access Succeeded',
          'mark-ready Succeeded',
        ],
      );

      const cluster = await api.call('GET', `/api/v1/clusters/${clusterId}`);
      assert.equal(cluster.body.status, 'Ready');
      const nodes = await api.call('GET', `/api/v1/clusters/${clusterId}/nodes`);
      assert.equal(nodes.status, 200);
      assert.equal(nodes.body.items.length, 5);
      assert.deepEqual(nodes.body.items.map((n: { role: string }) => n.role).sort(), [
        'control-plane',
        'control-plane',
        'control-plane',
        'worker',
        'worker',
      ]);
      for (const node of nodes.body.items) {
        assert.equal(node.status, 'Ready');
        assert.equal(node.kubernetesVersion, '1.31.4');
      }
      assert.equal(simMachines(cx.dataDir, clusterId).length, 5, 'the provider holds exactly five machines');

      // Scale: bad requests change nothing; then up, and down with a named machine.
      const scale = (pool: string, body: unknown) =>
        api.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/${pool}`, body);
      assert.equal(
        (await scale('control-plane', { count: 1 })).body.code,
        'CX_INPUT_INVALID',
        'the control plane keeps etcd quorum',
      );
      assert.equal((await scale('nope', { count: 1 })).status, 404);
      assert.equal((await scale('workers', { count: 1, remove: ['not-a-machine'] })).body.code, 'CX_INPUT_INVALID');
      assert.equal(
        (await api.call('GET', `/api/v1/clusters/${clusterId}`)).body.nodePools[0].count,
        2,
        'refused requests changed nothing',
      );
      const up = await scale('workers', { count: 3 });
      assert.equal(up.status, 202, JSON.stringify(up.body));
      assert.equal((await api.follow(up.body.workflow.id)).at(-1).status, 'Succeeded');
      assert.equal(simMachines(cx.dataDir, clusterId).length, 6);
      const down = await scale('workers', { count: 1, remove: ['demo-workers-0', 'demo-workers-2'] });
      assert.equal(down.status, 202, JSON.stringify(down.body));
      assert.equal((await api.follow(down.body.workflow.id)).at(-1).status, 'Succeeded');
      const workers = (await api.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items
        .filter((n: { role: string }) => n.role === 'worker')
        .map((n: { name: string }) => n.name);
      assert.deepEqual(workers, ['demo-workers-1']);
      assert.equal(simMachines(cx.dataDir, clusterId).length, 4);

      // Upgrade: the skew policy refuses a downgrade and a skip of two minors; then one minor up.
      const upgrade = (body: unknown) => api.call('POST', `/api/v1/clusters/${clusterId}/upgrade`, body);
      assert.equal((await upgrade({ kubernetesVersion: '1.30.8' })).body.code, 'CX_INPUT_INVALID');
      assert.equal((await upgrade({ kubernetesVersion: '1.31.4' })).body.code, 'CX_INPUT_INVALID');
      assert.equal((await upgrade({ kubernetesVersion: '1.99.0' })).body.code, 'CX_INPUT_INVALID');
      const upgraded = await upgrade({ kubernetesVersion: '1.32.2', maxUnavailable: 1 });
      assert.equal(upgraded.status, 202, JSON.stringify(upgraded.body));
      assert.equal(
        (await upgrade({ kubernetesVersion: '1.32.2' })).body.code,
        'CX_CLUSTER_BUSY',
        'one mutating workflow at a time',
      );
      assert.equal((await api.follow(upgraded.body.workflow.id)).at(-1).status, 'Succeeded');
      const after = (await api.call('GET', `/api/v1/clusters/${clusterId}`)).body;
      assert.equal(after.kubernetesVersion, '1.32.2');
      assert.ok(
        (await api.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items.every(
          (n: { kubernetesVersion: string }) => n.kubernetesVersion === '1.32.2',
        ),
      );

      const deleted = await api.call('DELETE', `/api/v1/clusters/${clusterId}`);
      assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
      assert.equal(deleted.body.cluster.status, 'Deleting');
      const deletion = (await api.follow(deleted.body.workflow.id)).at(-1);
      assert.equal(deletion.status, 'Succeeded', JSON.stringify(deletion));
      assert.equal((await api.call('GET', `/api/v1/clusters/${clusterId}`)).status, 404);
      assert.equal((await api.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).status, 404);
      assert.equal(simMachines(cx.dataDir, clusterId).length, 0, 'every machine was deleted at the provider');
      assert.equal(
        (await api.call('GET', `/api/v1/workflows/${workflowId}`)).status,
        200,
        'workflow history outlives the cluster',
      );
    });
  });
}

describe('public API behaviour (embedded default)', () => {
  let cx: CxProcess;
  let api: Api;

  before(async () => {
    cx = await startCx({ env: { CX_SIM_LATENCY_MS: '400' } });
    api = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
  });

  it('refuses bad input with a problem naming the field, writing nothing', async () => {
    const before = (await api.call('GET', '/api/v1/clusters?limit=500')).body.items.length;
    const cases: Array<[unknown, string]> = [
      [{ name: 'Not_DNS', ...DEMO_CLUSTER }, 'body.name'],
      [{ name: 'ok', ...DEMO_CLUSTER, controlPlane: { count: 2 } }, 'body.controlPlane.count'],
      [{ name: 'ok', ...DEMO_CLUSTER, nodePools: [{ name: 'w', count: 100000 }] }, 'body.nodePools.0.count'],
      [{ name: 'ok', ...DEMO_CLUSTER, surprise: true }, 'body.surprise'],
      [{ name: 'ok', ...DEMO_CLUSTER, provider: 'nowhere' }, 'body.provider'],
      [{ name: 'ok', ...DEMO_CLUSTER, kubernetesVersion: '1.2.3' }, 'body.kubernetesVersion'],
      [
        {
          name: 'ok',
          ...DEMO_CLUSTER,
          nodePools: [
            { name: 'a', count: 1 },
            { name: 'a', count: 1 },
          ],
        },
        'body.nodePools.1.name',
      ],
    ];
    for (const [body, field] of cases) {
      const answer = await api.call('POST', '/api/v1/clusters', body);
      assert.equal(answer.status, 400, `${field}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(answer.body.code, 'CX_INPUT_INVALID');
      assert.ok(
        answer.body.fields.some((f: { field: string }) => f.field === field),
        `${field} named in ${JSON.stringify(answer.body.fields)}`,
      );
      assert.ok(answer.body.requestId, 'problems carry the request id');
    }
    const malformed = await api.call('POST', '/api/v1/clusters', '{"name": "x",');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'CX_INPUT_INVALID');
    assert.equal(
      (await api.call('GET', '/api/v1/clusters?limit=500')).body.items.length,
      before,
      'nothing was written',
    );
  });

  it('answers 401 without a valid token and 401 on a wrong password', async () => {
    const anonymous = new Api(cx.base);
    assert.equal((await anonymous.call('GET', '/api/v1/clusters')).status, 401);
    anonymous.token = 'forged';
    assert.equal((await anonymous.call('GET', '/api/v1/clusters')).body.code, 'CX_UNAUTHENTICATED');
    const wrong = await new Api(cx.base).call('POST', '/api/v1/auth/login', { username: 'admin', password: 'nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'CX_LOGIN_FAILED');
  });

  it('replays an Idempotency-Key, refuses it for another body, and refuses a second workflow on a busy cluster', async () => {
    const key = { 'idempotency-key': `key-${randomBytes(4).toString('hex')}` };
    const first = await api.call('POST', '/api/v1/clusters', { name: 'idem', ...DEMO_CLUSTER }, key);
    assert.equal(first.status, 202);
    const again = await api.call('POST', '/api/v1/clusters', { name: 'idem', ...DEMO_CLUSTER }, key);
    assert.equal(again.status, 202);
    assert.equal(again.body.workflow.id, first.body.workflow.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const other = await api.call('POST', '/api/v1/clusters', { name: 'idem2', ...DEMO_CLUSTER }, key);
    assert.equal(other.status, 422);
    assert.equal(other.body.code, 'CX_IDEMPOTENCY_MISMATCH');
    const sameName = await api.call('POST', '/api/v1/clusters', { name: 'idem', ...DEMO_CLUSTER });
    assert.equal(sameName.status, 409);
    assert.equal(sameName.body.code, 'CX_NAME_TAKEN');

    const busy = await api.call('DELETE', `/api/v1/clusters/${first.body.cluster.id}`);
    assert.equal(busy.status, 409, JSON.stringify(busy.body));
    assert.equal(busy.body.code, 'CX_CLUSTER_BUSY');
    assert.equal((await api.waitForWorkflow(first.body.workflow.id, ['Succeeded', 'Failed'])).status, 'Succeeded');
  });

  it('cancels a running workflow and resumes it with retry', async () => {
    const created = await api.call('POST', '/api/v1/clusters', { name: 'cancelme', ...DEMO_CLUSTER });
    assert.equal(created.status, 202);
    const workflowId = created.body.workflow.id;
    const cancelled = await api.call('POST', `/api/v1/workflows/${workflowId}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.status, 'Cancelled');
    const cluster = await api.call('GET', `/api/v1/clusters/${created.body.cluster.id}`);
    assert.equal(cluster.body.status, 'Failed');
    assert.match(cluster.body.statusMessage, /cancelled/);
    assert.equal((await api.call('POST', `/api/v1/workflows/${workflowId}/cancel`)).body.code, 'CX_WORKFLOW_STATE');

    const retried = await api.call('POST', `/api/v1/workflows/${workflowId}/retry`);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.generation, 1);
    const finished = await api.waitForWorkflow(workflowId, ['Succeeded', 'Failed']);
    assert.equal(finished.status, 'Succeeded', JSON.stringify(finished));
    assert.equal((await api.call('GET', `/api/v1/clusters/${created.body.cluster.id}`)).body.status, 'Ready');
    const nodes = await api.call('GET', `/api/v1/clusters/${created.body.cluster.id}/nodes`);
    assert.equal(nodes.body.items.length, 5, 'retry neither lost nor duplicated a machine');
    assert.equal(simMachines(cx.dataDir, created.body.cluster.id).length, 5);
  });

  it('pages cluster lists with nextCursor', async () => {
    const all = (await api.call('GET', '/api/v1/clusters?limit=500')).body.items.map((c: { id: string }) => c.id);
    assert.ok(all.length >= 2);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Array<{ id: string }>; nextCursor: string | null } } =
        await api.call('GET', `/api/v1/clusters?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200);
      assert.equal(page.body.items.length, 1);
      seen.push(page.body.items[0]!.id);
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, all);
    assert.equal((await api.call('GET', '/api/v1/clusters?limit=0')).status, 400);
  });

  it('audits logins and mutating calls, for admins only', async () => {
    const audit = await api.call('GET', '/api/v1/audit?limit=1000');
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const actions = audit.body.items.map(
      (e: { action: string; outcome: string; actor: string }) => `${e.actor} ${e.action} ${e.outcome}`,
    );
    assert.ok(actions.includes('admin auth.login success'), actions.join('\n'));
    assert.ok(actions.includes('admin auth.login failure'), 'a failed login is audited');
    assert.ok(actions.includes('admin POST /api/v1/clusters success'));
    assert.ok(actions.includes('admin POST /api/v1/clusters failure'), 'a refused request is audited');
    assert.ok(actions.includes('admin POST /api/v1/workflows/:id/cancel success'));
    const entry = audit.body.items.find((e: { action: string }) => e.action === 'POST /api/v1/clusters');
    assert.ok(entry.requestId && entry.sourceIp && entry.at, JSON.stringify(entry));
    assert.doesNotMatch(JSON.stringify(audit.body), new RegExp(ADMIN_PASSWORD), 'no password in the audit log');
  });

  it('serves the OpenAPI 3.1 document, the docs page, health, readiness and metrics', async () => {
    const openapi = (await fetch(`${cx.base}/api/v1/openapi.json`).then((r) => r.json())) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(openapi.openapi, '3.1.0');
    for (const path of [
      '/api/v1/clusters',
      '/api/v1/clusters/{id}',
      '/api/v1/workflows/{id}',
      '/api/v1/workflows/{id}/events',
      '/api/v1/auth/login',
    ])
      assert.ok(openapi.paths[path], path);
    assert.ok(!openapi.paths['/healthz'], 'probes are not part of the public API document');
    const docs = await fetch(`${cx.base}/api/v1/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
    assert.equal((await fetch(`${cx.base}/healthz`)).status, 200);
    assert.equal((await fetch(`${cx.base}/readyz`)).status, 200);
    const metrics = await (await fetch(`${cx.base}/metrics`)).text();
    assert.match(metrics, /cx_http_request_duration_seconds_bucket/);
    assert.match(metrics, /cx_workflow_steps_total\{[^}]*outcome="done"/);
  });
});
