/**
 * What the CLI and the web UI need of the API (issue 16), through the public API only, on SQLite
 * and on MariaDB: objects addressed by name as well as id (ids first, answers carry ids, an
 * unknown name the same 404 as an unknown id, nothing learnt of a cluster one may not see), the
 * workflow list with its filters and only what the caller may see, the upgrades a cluster may take
 * now, and the node list by pool, page by page.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Api, startCx, until, type CxProcess } from '../support/cx.js';
import { createMysqlDatabase } from '../support/peers.js';

const variants: Array<{
  name: string;
  env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>;
}> = [
  { name: 'SQLite', env: async () => ({ env: {}, cleanup: async () => undefined }) },
  {
    name: 'MariaDB',
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
  describe(`API additions on ${variant.name}`, () => {
    let cx: CxProcess;
    let admin: Api;
    let viewer: Api;
    let outsider: Api;
    let cleanup: () => Promise<void> = async () => undefined;
    /** Clusters by name: `demo` (viewer holds a grant on it) and `other` (nobody but admin). */
    const ids: Record<string, string> = {};
    /** The create workflow of each. */
    const creates: Record<string, string> = {};

    const createCluster = async (name: string, pools: Array<{ name: string; count: number }>): Promise<void> => {
      const created = await admin.call('POST', '/api/v1/clusters', {
        name,
        provider: 'sim',
        kubernetesVersion: '1.30.8',
        controlPlane: { count: 1 },
        nodePools: pools,
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      ids[name] = created.body.cluster.id;
      creates[name] = created.body.workflow.id;
      const done = await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
      assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
    };
    const user = async (username: string): Promise<Api> => {
      const password = `${username}-password-1`;
      assert.equal((await admin.call('POST', '/api/v1/users', { username, password })).status, 201);
      return Api.login(cx.base, username, password);
    };

    before(async () => {
      const prepared = await variant.env();
      cleanup = prepared.cleanup;
      cx = await startCx({ env: prepared.env });
      admin = await Api.login(cx.base);
      await createCluster('demo', [
        { name: 'workers', count: 3 },
        { name: 'gpu', count: 1 },
      ]);
      await createCluster('other', []);
      viewer = await user('vera');
      outsider = await user('otto');
      const grant = await admin.call('POST', '/api/v1/grants', {
        subject: { kind: 'user', name: 'vera' },
        object: { kind: 'cluster', id: ids['demo'] },
        role: 'viewer',
      });
      assert.equal(grant.status, 201, JSON.stringify(grant.body));
    });
    after(async () => {
      await cx?.stop();
      await cleanup();
    });

    it('addresses a cluster and its sub-resources by name as by id, answering ids', async () => {
      const byName = await admin.call('GET', '/api/v1/clusters/demo');
      assert.equal(byName.status, 200, JSON.stringify(byName.body));
      assert.equal(byName.body.id, ids['demo']);
      assert.deepEqual(byName.body, (await admin.call('GET', `/api/v1/clusters/${ids['demo']}`)).body);

      const nodes = await viewer.call('GET', '/api/v1/clusters/demo/nodes');
      assert.equal(nodes.status, 200, JSON.stringify(nodes.body));
      assert.equal(nodes.body.items.length, 5);
      // sim clusters have no Kubernetes API: the same refusal by name as by id.
      const kubeconfig = await viewer.call('GET', '/api/v1/clusters/demo/kubeconfig');
      const kubeconfigById = await viewer.call('GET', `/api/v1/clusters/${ids['demo']}/kubeconfig`);
      assert.equal(kubeconfig.status, kubeconfigById.status);
      assert.equal(kubeconfig.body.code, kubeconfigById.body.code);

      // A change by name starts its workflow on the cluster, named by id.
      const scaled = await admin.call('PATCH', '/api/v1/clusters/demo/nodepools/gpu', { count: 2 });
      assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
      assert.equal(scaled.body.cluster.id, ids['demo']);
      const run = await admin.waitForWorkflow(scaled.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.steps));
      assert.equal(run.clusterId, ids['demo']);
    });

    it('answers an unknown name as an unknown id, and tells nobody the id of a cluster they may not see', async () => {
      const unknownName = await admin.call('GET', '/api/v1/clusters/nosuch');
      const unknownId = await admin.call('GET', '/api/v1/clusters/0190f0f0-0000-7000-8000-000000000000');
      assert.equal(unknownName.status, 404);
      assert.equal(unknownId.status, 404);
      assert.equal(unknownName.body.code, unknownId.body.code);
      assert.equal(unknownName.headers.get('content-type'), 'application/problem+json; charset=utf-8');

      for (const who of [outsider, viewer]) {
        const hidden = await who.call('GET', '/api/v1/clusters/other');
        assert.equal(hidden.status, 404, JSON.stringify(hidden.body));
        assert.equal(hidden.body.code, 'CX_NOT_FOUND');
        assert.ok(!JSON.stringify(hidden.body).includes(ids['other']!), JSON.stringify(hidden.body));
        const unknown = (await who.call('GET', '/api/v1/clusters/nosuch')).body;
        assert.deepEqual(
          { ...hidden.body, requestId: undefined },
          { ...unknown, requestId: undefined, detail: unknown.detail.replace('nosuch', 'other') },
        );
      }
      // A viewer may read but not change it, by name as by id.
      assert.equal((await viewer.call('DELETE', '/api/v1/clusters/demo')).status, 403);
    });

    it("takes an id before a name: a cluster named like another cluster's id does not hide it", async () => {
      const lookalike = ids['other']!;
      await createCluster(lookalike, []);
      const answer = await admin.call('GET', `/api/v1/clusters/${lookalike}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.id, ids['other']);
      assert.equal(answer.body.name, 'other');
      // The look-alike itself is still reachable by its own id.
      assert.equal((await admin.call('GET', `/api/v1/clusters/${ids[lookalike]}`)).body.name, lookalike);
    });

    it('addresses users, groups, resource groups, IP pools and cluster templates by name', async () => {
      const vera = await admin.call('GET', '/api/v1/users/vera');
      assert.equal(vera.status, 200, JSON.stringify(vera.body));
      assert.equal(vera.body.username, 'vera');
      assert.match(vera.body.id, /^[0-9a-f-]{36}$/);

      const group = await admin.call('POST', '/api/v1/groups', { name: 'ops' });
      assert.equal(group.status, 201, JSON.stringify(group.body));
      const member = await admin.call('POST', '/api/v1/groups/ops/members', { username: 'vera' });
      assert.ok(member.status < 300, JSON.stringify(member.body));
      assert.equal((await admin.call('GET', '/api/v1/groups/ops')).body.id, group.body.id);

      const rg = await admin.call('POST', '/api/v1/resource-groups', { name: 'team-a' });
      assert.equal(rg.status, 201, JSON.stringify(rg.body));
      assert.equal((await admin.call('GET', '/api/v1/resource-groups/team-a')).body.id, rg.body.id);

      const pool = await admin.call('POST', '/api/v1/ip-pools', { name: 'vips', ranges: '10.9.0.0/30' });
      assert.equal(pool.status, 201, JSON.stringify(pool.body));
      assert.equal((await admin.call('GET', '/api/v1/ip-pools/vips')).body.id, pool.body.id);
      assert.equal((await admin.call('DELETE', '/api/v1/ip-pools/vips')).status, 204);
      assert.equal((await admin.call('GET', `/api/v1/ip-pools/${pool.body.id}`)).status, 404);

      const template = await admin.call('POST', '/api/v1/cluster-templates', {
        name: 'small',
        provider: 'sim',
        controlPlane: { count: 1 },
      });
      assert.equal(template.status, 201, JSON.stringify(template.body));
      assert.equal((await admin.call('GET', '/api/v1/cluster-templates/small')).body.id, template.body.id);

      const openapi = (await admin.call('GET', '/api/v1/openapi.json')).body;
      const param = openapi.paths['/api/v1/clusters/{id}'].get.parameters.find(
        (p: { name: string }) => p.name === 'id',
      );
      assert.match(param.description, /id, or its name/);
    });

    it('lists workflow runs newest first, filtered, page by page, showing each caller only what they may see', async () => {
      const all = await admin.call('GET', '/api/v1/workflows?limit=500');
      assert.equal(all.status, 200, JSON.stringify(all.body));
      const runIds: string[] = all.body.items.map((r: { id: string }) => r.id);
      assert.deepEqual(runIds, [...runIds].sort().reverse(), 'newest first');
      for (const name of ['demo', 'other']) assert.ok(runIds.includes(creates[name]!), name);
      assert.equal(all.body.nextCursor, null);
      // Finished steps say what they did, never a progress message that is no longer true.
      const created = all.body.items.find((r: { id: string }) => r.id === creates['demo']);
      const messages = Object.fromEntries(
        created.steps.map((step: { name: string; message: string | null }) => [step.name, step.message]),
      );
      assert.equal(messages['provision-machines'], '5/5 machines provisioned', JSON.stringify(created.steps));
      assert.equal(messages['wait-nodes-ready'], '5/5 nodes Ready', JSON.stringify(created.steps));
      // The public shape: no input, no step outputs.
      assert.equal(all.body.items[0].input, undefined);
      assert.ok(all.body.items.every((r: { steps: object[] }) => r.steps.every((step) => !('output' in step))));

      const demo = await admin.call('GET', '/api/v1/workflows?cluster=demo');
      assert.deepEqual(
        demo.body.items.map((r: { workflow: string; clusterId: string }) => `${r.workflow} ${r.clusterId}`),
        [`cluster.scale ${ids['demo']}`, `cluster.create ${ids['demo']}`],
      );
      assert.deepEqual((await admin.call('GET', `/api/v1/workflows?cluster=${ids['demo']}`)).body, demo.body);
      const creations = await admin.call('GET', '/api/v1/workflows?workflow=cluster.create&status=Succeeded');
      assert.ok(creations.body.items.length >= 2);
      assert.ok(
        creations.body.items.every(
          (r: { workflow: string; status: string }) => r.workflow === 'cluster.create' && r.status === 'Succeeded',
        ),
      );
      assert.deepEqual((await admin.call('GET', '/api/v1/workflows?status=Failed')).body, {
        items: [],
        nextCursor: null,
      });

      // One at a time, the same runs in the same order.
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await admin.call(
          'GET',
          `/api/v1/workflows?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body.items.length <= 1);
        paged.push(...page.body.items.map((r: { id: string }) => r.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(paged, runIds);

      // vera views demo only; otto holds no grant.
      const vera = await viewer.call('GET', '/api/v1/workflows');
      assert.deepEqual(
        vera.body.items.map((r: { id: string }) => r.id),
        demo.body.items.map((r: { id: string }) => r.id),
      );
      assert.deepEqual((await viewer.call('GET', '/api/v1/workflows?cluster=other')).body.items, []);
      assert.deepEqual((await outsider.call('GET', '/api/v1/workflows')).body, { items: [], nextCursor: null });

      const refused = await admin.call('GET', '/api/v1/workflows?status=Done');
      assert.equal(refused.status, 400);
      assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal((await admin.call('GET', '/api/v1/workflows?cursor=nonsense')).status, 400);
    });

    it('lists the upgrades a cluster may take now, each allowed or why not, as the upgrade itself decides', async () => {
      const upgrades = await viewer.call('GET', '/api/v1/clusters/other/upgrades');
      assert.equal(upgrades.status, 404, 'vera may not see other');
      const answer = await admin.call('GET', '/api/v1/clusters/other/upgrades');
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.kubernetesVersion, '1.30.8');
      assert.deepEqual(
        answer.body.items.map((u: { kubernetesVersion: string; allowed: boolean; reason: string | null }) => [
          u.kubernetesVersion,
          u.allowed,
          u.reason,
        ]),
        [
          ['1.31.4', true, null],
          ['1.32.2', false, 'SkipsMinor'],
        ],
      );
      const refused = await admin.call('POST', '/api/v1/clusters/other/upgrade', { kubernetesVersion: '1.32.2' });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.detail, answer.body.items[1].message);

      const accepted = await admin.call('POST', '/api/v1/clusters/other/upgrade', { kubernetesVersion: '1.31.4' });
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      // While it runs, or once it is done: never an allowed version the cluster could not take.
      const during = (await admin.call('GET', '/api/v1/clusters/other/upgrades')).body;
      const cluster = (await admin.call('GET', '/api/v1/clusters/other')).body;
      if (cluster.activeWorkflowId)
        assert.ok(
          during.items.every((u: { allowed: boolean; reason: string }) => !u.allowed),
          JSON.stringify(during),
        );
      const run = await admin.waitForWorkflow(accepted.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.steps));
      const afterwards = (await admin.call('GET', '/api/v1/clusters/other/upgrades')).body;
      assert.equal(afterwards.kubernetesVersion, '1.31.4');
      assert.deepEqual(afterwards.items, [{ kubernetesVersion: '1.32.2', allowed: true, reason: null, message: null }]);
    });

    it("replaces a cluster's health policy without a workflow, checking it as a create does, for operators only", async () => {
      const before = (await admin.call('GET', '/api/v1/clusters/other')).body;
      const changed = await admin.call('PUT', '/api/v1/clusters/other/health-policy', {
        unhealthyTimeoutSeconds: 120,
        remediation: 'none',
      });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.equal(changed.body.health.unhealthyTimeoutSeconds, 120);
      assert.equal(changed.body.health.remediation, 'none');
      assert.equal(changed.body.activeWorkflowId, null, 'no workflow runs for it');
      assert.equal((await admin.call('GET', '/api/v1/clusters/other')).body.health.remediation, 'none');
      // Checked as at create: a BMC fencing on a provider without hosts, a field that is no policy's.
      const fencing = await admin.call('PUT', '/api/v1/clusters/other/health-policy', { fencing: 'redfish' });
      assert.equal(fencing.status, 400, JSON.stringify(fencing.body));
      assert.equal(fencing.body.fields[0].field, 'body.fencing');
      const unknown = await admin.call('PUT', '/api/v1/clusters/other/health-policy', { remediate: 'none' });
      assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
      // A viewer of demo may not change it.
      assert.equal((await viewer.call('PUT', '/api/v1/clusters/demo/health-policy', {})).status, 403);
      // Back to the defaults: what the cluster had before (nothing overridden).
      const reset = await admin.call('PUT', '/api/v1/clusters/other/health-policy', {});
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      assert.deepEqual(reset.body.health, before.health);
    });

    it("lists a pool's nodes a page at a time, as recorded where the cluster has no Kubernetes API", async () => {
      const all = await viewer.call('GET', '/api/v1/clusters/demo/nodes');
      const names: string[] = all.body.items.map((n: { name: string }) => n.name);
      assert.deepEqual(names, [...names].sort());
      assert.ok(all.body.items.every((n: { source: string }) => n.source === 'recorded'));
      assert.equal(all.body.nextCursor, null);

      const workers: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await viewer.call(
          'GET',
          `/api/v1/clusters/demo/nodes?pool=workers&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body.items.length <= 2);
        workers.push(...page.body.items.map((n: { name: string; pool: string }) => `${n.name} ${n.pool}`));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(workers, ['demo-workers-0 workers', 'demo-workers-1 workers', 'demo-workers-2 workers']);
      const cp = await viewer.call('GET', '/api/v1/clusters/demo/nodes?pool=control-plane');
      assert.deepEqual(
        cp.body.items.map((n: { role: string }) => n.role),
        ['control-plane'],
      );

      const noPool = await viewer.call('GET', '/api/v1/clusters/demo/nodes?pool=nosuch');
      assert.equal(noPool.status, 404);
      assert.match(noPool.body.detail, /has no pool nosuch/);
      assert.equal((await viewer.call('GET', '/api/v1/clusters/demo/nodes?cursor=junk')).status, 400);
    });

    it("tells a cluster's story newest first, page by page: its workflows, their steps, refused calls", async () => {
      const refused = await viewer.call('DELETE', '/api/v1/clusters/demo');
      assert.equal(refused.status, 403);
      // The audit record of a call is written once it is answered: wait for it to show.
      const page = await until('the refusal to show in the feed', async () => {
        const answer = await viewer.call('GET', '/api/v1/clusters/demo/events?limit=500');
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        return answer.body.items.some((e: { type: string }) => e.type === 'Audit') ? answer : undefined;
      });
      const events: Array<{ id: string; at: string; type: string; message: string; workflowId: string | null }> =
        page.body.items;
      const keys = events.map((e) => `${e.at}|${e.id}`);
      assert.deepEqual(keys, [...keys].sort().reverse(), 'newest first');
      assert.equal(new Set(events.map((e) => e.id)).size, events.length);

      const ofCreate = events.filter((e) => e.workflowId === creates['demo']).reverse();
      assert.deepEqual(
        ofCreate.map((e) => e.type),
        ['WorkflowStarted', ...ofCreate.slice(1, -1).map(() => 'StepSucceeded'), 'WorkflowSucceeded'],
      );
      assert.equal(ofCreate[0]!.message, 'workflow cluster.create started by admin');
      assert.ok(
        ofCreate.some((e) => e.message === 'step provision-machines of cluster.create done: 5/5 machines provisioned'),
        JSON.stringify(ofCreate),
      );
      const denial = events.find((e) => e.type === 'Audit');
      assert.ok(denial, JSON.stringify(events.slice(0, 3)));
      assert.match(denial.message, /^DELETE \/api\/v1\/clusters\/:id by vera: failure \(403\)$/);
      assert.equal(events[0]!.id, denial.id, 'the refusal is the newest event');

      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const next: any = await viewer.call(
          'GET',
          `/api/v1/clusters/demo/events?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        assert.equal(next.status, 200, JSON.stringify(next.body));
        paged.push(...next.body.items.map((e: { id: string }) => e.id));
        cursor = next.body.nextCursor;
      } while (cursor);
      assert.deepEqual(
        paged,
        events.map((e) => e.id),
      );
      assert.equal((await outsider.call('GET', '/api/v1/clusters/demo/events')).status, 404);
      assert.equal((await viewer.call('GET', '/api/v1/clusters/demo/events?cursor=junk')).status, 400);
    });

    it('streams what happens to a cluster from now on as server-sent events, and resumes after Last-Event-ID', async () => {
      type Seen = { id: string; type: string; workflowId: string | null; sseId: string };
      /** Opens the stream and reads it until `last` says stop; `opened` runs once the stream answered. */
      const stream = async (
        headers: Record<string, string>,
        last: (event: Seen) => boolean,
        opened: () => Promise<void> = async () => undefined,
      ): Promise<Seen[]> => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 120_000);
        const seen: Seen[] = [];
        try {
          const response = await fetch(`${cx.base}/api/v1/clusters/demo/events`, {
            headers: { authorization: `Bearer ${viewer.token}`, accept: 'text/event-stream', ...headers },
            signal: controller.signal,
          });
          assert.equal(response.status, 200);
          assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
          await opened();
          const decoder = new TextDecoder();
          let buffer = '';
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            buffer += decoder.decode(chunk, { stream: true });
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = /^data: (.*)$/m.exec(frame)?.[1];
              if (!/^event: cluster-event$/m.test(frame) || !data) continue;
              const event: Seen = { ...JSON.parse(data), sseId: /^id: (.*)$/m.exec(frame)?.[1] };
              seen.push(event);
              if (last(event)) return seen;
            }
          }
          return seen;
        } finally {
          clearTimeout(timer);
          controller.abort();
        }
      };
      let workflowId = '';
      const ends = (e: Seen): boolean =>
        e.workflowId === workflowId && ['WorkflowSucceeded', 'WorkflowFailed', 'WorkflowCancelled'].includes(e.type);
      const seen = await stream({}, ends, async () => {
        const scaled = await admin.call('PATCH', '/api/v1/clusters/demo/nodepools/gpu', { count: 1 });
        assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
        workflowId = scaled.body.workflow.id;
      });
      // Only what happened after the stream opened, each once, in order.
      assert.ok(
        seen.every((e) => e.workflowId === workflowId),
        JSON.stringify(seen),
      );
      assert.equal(new Set(seen.map((e) => e.sseId)).size, seen.length);
      assert.equal(seen[0]?.type, 'WorkflowStarted', JSON.stringify(seen));
      assert.equal(seen.at(-1)?.type, 'WorkflowSucceeded', JSON.stringify(seen));
      assert.ok(seen.slice(1, -1).every((e) => e.type === 'StepSucceeded'));

      // A client that lost the stream after the first event gets the rest on reconnecting.
      const resumed = await stream({ 'last-event-id': seen[0]!.sseId }, ends);
      assert.deepEqual(
        resumed.map((e) => e.id),
        seen.slice(1).map((e) => e.id),
      );
    });
  });
}
