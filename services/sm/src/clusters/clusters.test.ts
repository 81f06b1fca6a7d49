/** Clusters and their workflow runs against real SQL: SQLite (better-sqlite3) and MariaDB (mysql2, started by npm test). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { ClusterCreateRequest } from '@cx/api-schemas';
import { migrateLatest, migrationSource } from '@cx/migrations';
import { IpPools } from '../ip-pools/ip-pools.js';
import { Resources } from '../resources/resources.js';
import { SecretBox } from '../secrets/secret-box.js';
import type { StartRequest, StepAdvanced } from '@cx/sm-contract';
import { Clusters } from './clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { TenantCredentials } from './tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';

const request = (name: string): ClusterCreateRequest => ({
  name,
  provider: 'sim',
  kubernetesVersion: '1.31.4',
  controlPlane: { count: 1 },
  nodePools: [{ name: 'workers', count: 2 }],
});
const start = (overrides: Partial<StartRequest> = {}): StartRequest => ({
  actor: 'user-1',
  workflow: { workflow: 'cluster.create', version: 1, steps: ['a', 'b'], input: {}, clusterStatus: 'Provisioning' },
  ...overrides,
});

for (const target of testDatabases) {
  describe(`clusters and runs on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusters: Clusters;
    let runs: WorkflowRuns;

    before(async () => {
      ({ db, drop } = await target.open());
      // Every migration, in order, on an empty database.
      const applied = await migrateLatest(db);
      assert.deepEqual(applied, await migrationSource.getMigrations([]));
      assert.deepEqual(applied.slice(0, 3), ['0001_core', '0002_identity', '0003_cluster_pki']);
      assert.deepEqual(await migrateLatest(db), [], 'migrations run once');
      const tenants = new TenantCredentials(db, new SecretBox('x'.repeat(32)));
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, new Resources(db, new SecretBox('x'.repeat(32))), tenants);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('creates a cluster with its pools and a pending workflow, atomically', async () => {
      const accepted = await clusters.create(request('alpha'), start());
      assert.equal(accepted.body.cluster.status, 'Provisioning');
      assert.equal(accepted.body.cluster.activeWorkflowId, accepted.body.workflow.id);
      const run = await runs.get(accepted.body.workflow.id);
      assert.equal(run.status, 'Pending');
      assert.deepEqual(
        run.steps.map((s) => s.name),
        ['a', 'b'],
      );
      assert.equal(
        Number(
          (
            (await db('node_pools').where({ cluster_id: accepted.body.cluster.id }).count({ n: '*' })) as Array<{
              n: number;
            }>
          )[0]!.n,
        ),
        2,
      );
    });

    it('refuses a second cluster with the same name and writes nothing', async () => {
      const before = (await clusters.list(500, undefined)).items.length;
      await assert.rejects(clusters.create(request('alpha'), start()), { code: 'CX_NAME_TAKEN' });
      assert.equal((await clusters.list(500, undefined)).items.length, before);
      assert.equal(Number(((await db('workflow_runs').count({ n: '*' })) as Array<{ n: number }>)[0]!.n), before);
    });

    it('replays an Idempotency-Key and refuses it for a different request', async () => {
      const first = await clusters.create(request('beta'), start({ idempotencyKey: 'k1', requestHash: 'h1' }));
      const again = await clusters.create(request('beta'), start({ idempotencyKey: 'k1', requestHash: 'h1' }));
      assert.equal(again.replayed, true);
      assert.equal(again.body.workflow.id, first.body.workflow.id);
      await assert.rejects(clusters.create(request('gamma'), start({ idempotencyKey: 'k1', requestHash: 'h2' })), {
        code: 'CX_IDEMPOTENCY_MISMATCH',
      });
      const concurrent = await Promise.allSettled(
        [1, 2, 3].map(() => clusters.create(request('delta'), start({ idempotencyKey: 'k2', requestHash: 'h3' }))),
      );
      const ids = new Set(
        concurrent
          .filter((r) => r.status === 'fulfilled')
          .map((r) => (r as PromiseFulfilledResult<{ body: { workflow: { id: string } } }>).value.body.workflow.id),
      );
      assert.equal(ids.size, 1, 'concurrent retries with one key start one workflow');
    });

    it('lists the clusters the health monitor watches, with their machines, and keeps what it saw', async () => {
      const accepted = await clusters.create(
        { ...request('watched'), health: { unhealthyTimeoutSeconds: 20, maxUnhealthy: 1 } },
        start(),
      );
      const id = accepted.body.cluster.id;
      assert.deepEqual(accepted.body.cluster.health, {
        unhealthyTimeoutSeconds: 20,
        startupTimeoutSeconds: 1200,
        remediation: 'replace',
        fencing: 'provider',
        maxUnhealthy: 1,
      });
      const watched = async (): Promise<string[]> =>
        (await clusters.healthTargets(500, undefined, ['sim'])).items.map((t) => t.cluster.id);
      assert.ok(!(await watched()).includes(id), 'a cluster being created is not watched');
      const apiLess = (await clusters.create({ ...request('api-less'), provider: 'vsphere' }, start())).body.cluster.id;
      await db('clusters').whereIn('id', [id, apiLess]).update({ status: 'Ready' });
      assert.ok(
        (await watched()).includes(id),
        'a sim cluster is watched through its provider, without an API endpoint',
      );
      assert.ok(
        !(await clusters.healthTargets(500, undefined)).items.some((t) => t.cluster.id === id),
        'only the providers named as API-less are watched without an endpoint',
      );
      assert.ok(!(await watched()).includes(apiLess), 'a cluster of another provider is watched only through its API');
      await db('clusters').where({ id: apiLess }).update({ api_endpoint: 'https://127.0.0.1:6444' });
      assert.ok((await watched()).includes(apiLess));
      await db('clusters').where({ id }).update({ api_endpoint: 'https://127.0.0.1:6443' });
      await db('machines').insert({
        id: `${id.slice(0, 30)}-m0`,
        cluster_id: id,
        pool: 'workers',
        name: 'watched-workers-0',
        role: 'worker',
        kubernetes_version: '1.31.4',
        phase: 'Running',
        node_status: 'Ready',
        created_at: '2026-11-23T00:00:00.000Z',
        updated_at: '2026-11-23T00:00:00.000Z',
        version: 1,
      });
      const target = (await clusters.healthTargets(500, undefined)).items.find((t) => t.cluster.id === id);
      assert.deepEqual(
        target?.machines.map((m) => [m.name, m.createdAt]),
        [['watched-workers-0', '2026-11-23T00:00:00.000Z']],
      );
      const status = {
        state: 'Storm' as const,
        message: 'm',
        unhealthy: [{ machineId: 'x', name: 'n', reason: 'r', since: '2026-11-23T00:00:00.000Z' }],
        checkedAt: '2026-11-23T00:00:01.000Z',
      };
      const version = ((await db('clusters').where({ id }).first('version')) as { version: number }).version;
      await clusters.setHealthStatus(id, status);
      assert.deepEqual((await clusters.get(id)).healthStatus, status);
      assert.equal(
        ((await db('clusters').where({ id }).first('version')) as { version: number }).version,
        version,
        'an observation changes no version',
      );
      await assert.rejects(clusters.setHealthStatus('no-such-cluster', status), { code: 'CX_NOT_FOUND' });
    });

    it('allocates a control-plane VIP with the cluster, refuses when the pool is exhausted, and releases it with the cluster', async () => {
      const pools = new IpPools(db);
      await pools.create({ name: 'api-vips', ranges: '192.0.2.50' }, 'root');
      const vip =
        (name: string) =>
        async (trx: Knex.Transaction, clusterId: string): Promise<string> =>
          (await pools.allocate('api-vips', { owner: `control-plane VIP of cluster ${name}`, clusterId }, 'u', trx))
            .address;
      const oneStep = start({
        workflow: { workflow: 'w', version: 1, steps: ['only'], input: {}, clusterStatus: 'Provisioning' },
      });
      const accepted = await clusters.create(request('vip-a'), oneStep, vip('vip-a'));
      assert.equal(accepted.body.cluster.apiVip, '192.0.2.50');
      const before = (await clusters.list(500, undefined)).items.length;
      await assert.rejects(clusters.create(request('vip-b'), start(), vip('vip-b')), { code: 'CX_POOL_EXHAUSTED' });
      assert.equal((await clusters.list(500, undefined)).items.length, before, 'nothing was created');
      const runId = accepted.body.workflow.id;
      await runs.startStep(runId, 0, 0, 1);
      await runs.completeStep(runId, 0, 0, null, [{ kind: 'deleteCluster' }]);
      assert.equal((await pools.get('api-vips')).allocated, 0, 'the VIP went with the cluster');
      await pools.delete('api-vips');
    });

    it('runs one mutating workflow per cluster', async () => {
      const accepted = await clusters.create(request('epsilon'), start());
      const clusterId = accepted.body.cluster.id;
      await assert.rejects(clusters.startWorkflow(clusterId, start()), { code: 'CX_CLUSTER_BUSY' });
      const racing = await Promise.allSettled(
        [1, 2, 3, 4].map(async () => {
          await runs.cancel(accepted.body.workflow.id).catch(() => undefined);
          return clusters.startWorkflow(
            clusterId,
            start({
              workflow: { workflow: 'cluster.delete', version: 1, steps: ['x'], input: {}, clusterStatus: 'Deleting' },
            }),
          );
        }),
      );
      assert.equal(
        racing.filter((r) => r.status === 'fulfilled').length,
        1,
        'exactly one of four concurrent starts wins',
      );
    });

    it('records a step start once per job and attempt: the same job back at its step reads, another attempt or job is recorded', async () => {
      const accepted = await clusters.create(request('eta-restart'), start());
      const runId = accepted.body.workflow.id;
      const versionOf = async (): Promise<number> =>
        ((await db('workflow_runs').where({ id: runId }).first('version')) as { version: number }).version;
      await runs.startStep(runId, 0, 0, 1, 'job-a');
      const recorded = await versionOf();
      const again = await runs.startStep(runId, 0, 0, 1, 'job-a');
      assert.equal(await versionOf(), recorded, 'the same job and attempt back at its step writes nothing');
      assert.equal(again.run.steps[0]!.status, 'Running');
      assert.equal(again.run.steps[0]!.attempts, 1);
      assert.equal(again.cluster.id, accepted.body.cluster.id, 'and still answers what the step reads');
      const retried = await runs.startStep(runId, 0, 0, 2, 'job-a');
      assert.equal(retried.run.steps[0]!.attempts, 2, 'a new attempt is recorded');
      assert.equal(await versionOf(), recorded + 1);
      await runs.startStep(runId, 0, 0, 2, 'job-b');
      assert.equal(
        ((await db('workflow_runs').where({ id: runId }).first('owner_job')) as { owner_job: string }).owner_job,
        'job-b',
        'another job taking the step over is recorded',
      );
      await runs.cancel(runId);
    });

    it('commits a request of step transitions together; a refused one changes nothing and stops none of the others', async () => {
      const [one, two, three] = await Promise.all(
        ['theta-1', 'theta-2', 'theta-3'].map(async (name) => (await clusters.create(request(name), start())).body),
      );
      const log = { warnings: 0, warn: () => (log.warnings += 1) };
      const machine = (name: string) => ({
        name,
        pool: 'control-plane',
        role: 'control-plane' as const,
        kubernetesVersion: '1.31.4',
      });
      const outcomes = await runs.transitions(
        [
          { call: 'start', runId: one!.workflow.id, idx: 0, generation: 0, attempt: 1, jobId: 'job-1' },
          { call: 'start', runId: two!.workflow.id, idx: 0, generation: 0, attempt: 1, jobId: 'job-2' },
          {
            call: 'advance',
            runId: one!.workflow.id,
            idx: 0,
            generation: 0,
            output: { planned: 1 },
            effects: [{ kind: 'upsertMachines', machines: [machine('theta-1-cp-0')] }],
            jobId: 'job-1',
          },
          // Stale: step 1 of a run at step 0.
          { call: 'complete', runId: two!.workflow.id, idx: 1, generation: 0, output: null, effects: [] },
          { call: 'progress', runId: two!.workflow.id, idx: 0, generation: 0, message: '1/1 machines' },
          { call: 'start', runId: 'no-such-run', idx: 0, generation: 0, attempt: 1, jobId: 'job-x' },
          {
            call: 'fail',
            runId: three!.workflow.id,
            idx: 0,
            generation: 0,
            error: { code: 'CX_PROVIDER', message: 'no' },
          },
        ],
        log,
      );
      assert.equal(log.warnings, 0, 'nothing needed a second try');
      const results = outcomes.map((outcome) =>
        'result' in outcome ? 'ok' : (outcome.error as { code: string }).code,
      );
      assert.deepEqual(results, ['ok', 'ok', 'ok', 'CX_WORKFLOW_STATE', 'ok', 'CX_NOT_FOUND', 'ok']);
      const advanced = (outcomes[2] as { result: StepAdvanced }).result;
      assert.equal(advanced.next, 1);
      assert.deepEqual(
        advanced.start!.machines.map((m) => m.name),
        ['theta-1-cp-0'],
        'the next step reads what the step before it wrote in the same transaction',
      );
      const runOne = await runs.get(one!.workflow.id);
      const runTwo = await runs.get(two!.workflow.id);
      const runThree = await runs.get(three!.workflow.id);
      assert.deepEqual(
        [runOne.currentStep, runOne.steps[1]!.status],
        [1, 'Running'],
        'the advance committed and started the next step',
      );
      assert.deepEqual(
        advanced.start!.run.steps,
        runOne.steps,
        'the steps the advance answers (read once, updated as written) are those committed',
      );
      assert.deepEqual([runTwo.currentStep, runTwo.steps[0]!.status], [0, 'Running']);
      assert.equal(runTwo.steps[0]!.message, '1/1 machines', 'the call after the refused one committed');
      assert.equal(runTwo.steps[1]!.status, 'Pending', 'the refused completion changed nothing');
      assert.equal(runThree.status, 'Failed', 'a failure commits in a transaction of its own');

      // A database error undoes the shared transaction; every call then runs again on its own.
      const outcomesAfterError = await runs.transitions(
        [
          { call: 'progress', runId: two!.workflow.id, idx: 0, generation: 0, message: 'retried alone' },
          {
            call: 'complete',
            runId: two!.workflow.id,
            idx: 0,
            generation: 0,
            output: null,
            // A machine without a role breaks a NOT NULL column: an error of the database, not a refusal.
            effects: [{ kind: 'upsertMachines', machines: [{ ...machine('theta-2-cp-0'), role: null as never }] }],
          },
        ],
        log,
      );
      assert.equal(log.warnings, 1, 'the rollback of the whole request is logged');
      assert.ok('result' in outcomesAfterError[0]!, 'the call beside the failing one is committed alone');
      assert.ok('error' in outcomesAfterError[1]!, 'the failing call is answered its error');
      const runTwoAfter = await runs.get(two!.workflow.id);
      assert.equal(runTwoAfter.steps[0]!.message, 'retried alone');
      assert.deepEqual([runTwoAfter.currentStep, runTwoAfter.steps[0]!.status], [0, 'Running']);
      assert.deepEqual(await clusters.machines(two!.cluster.id), [], 'nothing of the failing call was written');
      await Promise.all([one, two].map((body) => runs.cancel(body!.workflow.id)));
    });

    it('records the machines a step plans and the updates it makes, a machine named twice in order', async () => {
      const accepted = await clusters.create(request('omega'), start());
      const runId = accepted.body.workflow.id;
      await runs.startStep(runId, 0, 0, 1);
      const names = ['omega-cp-0', 'omega-workers-0', 'omega-workers-1'];
      await runs.completeStep(runId, 0, 0, null, [
        {
          kind: 'upsertMachines',
          machines: names.map((name, i) => ({
            name,
            pool: i === 0 ? 'control-plane' : 'workers',
            role: i === 0 ? ('control-plane' as const) : ('worker' as const),
            kubernetesVersion: '1.31.4',
          })),
        },
      ]);
      const { machines } = await runs.startStep(runId, 1, 0, 1);
      assert.deepEqual(
        machines.map((m) => [m.name, m.phase, m.nodeStatus]),
        names.map((name) => [name, 'Pending', 'NotReady']),
      );
      const [cp, w0, w1] = machines.map((m) => m.id) as [string, string, string];
      await runs.completeStep(runId, 1, 0, null, [
        {
          kind: 'updateMachines',
          machines: [
            { id: cp, nodeStatus: 'Ready' },
            { id: w0, phase: 'Running', providerId: 'sim://w0', addresses: ['192.0.2.10'] },
            { id: w1, nodeStatus: 'Ready' },
          ],
        },
        // Named twice: the second update of the same machine is the last word.
        {
          kind: 'updateMachines',
          machines: [
            { id: cp, phase: 'Running' },
            { id: w1, phase: 'Stopped' },
            { id: w1, phase: 'Running' },
          ],
        },
      ]);
      const rows = (await db('machines')
        .where({ cluster_id: accepted.body.cluster.id })
        .orderBy('name')
        .select('name', 'phase', 'node_status', 'provider_id', 'addresses', 'version')) as Array<
        Record<string, unknown>
      >;
      assert.deepEqual(
        rows.map((r) => [
          r['name'],
          r['phase'],
          r['node_status'],
          r['provider_id'],
          r['addresses'],
          Number(r['version']),
        ]),
        [
          ['omega-cp-0', 'Running', 'Ready', null, null, 3],
          ['omega-workers-0', 'Running', 'NotReady', 'sim://w0', '["192.0.2.10"]', 2],
          ['omega-workers-1', 'Running', 'Ready', null, null, 4],
        ],
      );
    });

    it('advances a run step by step and ignores stale or duplicate step results', async () => {
      const accepted = await clusters.create(request('zeta'), start());
      const runId = accepted.body.workflow.id;
      const { run, cluster: started, machines } = await runs.startStep(runId, 0, 0, 1);
      assert.equal(run.status, 'Running');
      assert.equal(started.id, accepted.body.cluster.id);
      assert.deepEqual(machines, []);
      assert.deepEqual(
        await runs.completeStep(runId, 0, 0, { planned: 3 }, [
          {
            kind: 'upsertMachines',
            machines: [
              { name: 'zeta-cp-0', pool: 'control-plane', role: 'control-plane', kubernetesVersion: '1.31.4' },
            ],
          },
        ]),
        { next: 1 },
      );
      await assert.rejects(
        runs.completeStep(runId, 0, 0, {}, []),
        { code: 'CX_WORKFLOW_STATE' },
        'a duplicate completion is refused',
      );
      await assert.rejects(
        runs.startStep(runId, 1, 7, 1),
        { code: 'CX_WORKFLOW_STATE' },
        'a job of another generation is refused',
      );
      assert.equal((await clusters.machines(accepted.body.cluster.id)).length, 1);
      assert.deepEqual(await runs.completeStep(runId, 1, 0, null, [{ kind: 'setClusterStatus', status: 'Ready' }]), {
        next: null,
      });
      const done = await runs.get(runId);
      assert.equal(done.status, 'Succeeded');
      assert.deepEqual(done.steps[0]!.output, { planned: 3 });
      const cluster = await clusters.get(accepted.body.cluster.id);
      assert.equal(cluster.status, 'Ready');
      assert.equal(cluster.activeWorkflowId, null, 'the cluster is released');
    });

    it('adds a worker pool with its workflow in one transaction, and removes an empty pool when the workflow says', async () => {
      const accepted = await clusters.create(request('kappa'), start());
      await assert.rejects(
        clusters.addPool(accepted.body.cluster.id, { name: 'gpu', count: 1 }, start()),
        { code: 'CX_CLUSTER_BUSY' },
        'the create workflow holds the cluster',
      );
      await runs.completeStep(accepted.body.workflow.id, 0, 0, null, [{ kind: 'setClusterStatus', status: 'Ready' }]);
      await runs.completeStep(accepted.body.workflow.id, 1, 0, null, []);
      const clusterId = accepted.body.cluster.id;
      await assert.rejects(clusters.addPool(clusterId, { name: 'workers', count: 1 }, start()), {
        code: 'CX_NAME_TAKEN',
      });
      await assert.rejects(clusters.addPool(clusterId, { name: 'huge', count: 5000 }, start()), {
        code: 'CX_LIMIT_EXCEEDED',
      });
      const added = await clusters.addPool(
        clusterId,
        { name: 'gpu', count: 2, labels: { accelerator: 'gpu' } },
        start(),
      );
      assert.deepEqual(
        added.body.cluster.nodePools.map((p) => [p.name, p.count]),
        [
          ['workers', 2],
          ['gpu', 2],
        ],
      );
      assert.deepEqual((await runs.get(added.body.workflow.id)).input, {
        pool: 'gpu',
        from: 0,
        to: 2,
        clusterStatus: 'Provisioning',
      });
      const runId = added.body.workflow.id;
      await runs.startStep(runId, 0, 0, 1);
      await runs.completeStep(runId, 0, 0, null, [
        {
          kind: 'upsertMachines',
          machines: [{ name: 'kappa-gpu-0', pool: 'gpu', role: 'worker', kubernetesVersion: '1.31.4' }],
        },
      ]);
      await runs.startStep(runId, 1, 0, 1);
      await assert.rejects(
        runs.completeStep(runId, 1, 0, null, [{ kind: 'removePool', pool: 'gpu' }]),
        { code: 'CX_CONFLICT' },
        'a pool with machines stays',
      );
      const machine = (await clusters.machines(clusterId)).find((m) => m.name === 'kappa-gpu-0')!;
      assert.deepEqual(
        await runs.completeStep(runId, 1, 0, null, [
          { kind: 'deleteMachines', ids: [machine.id] },
          { kind: 'removePool', pool: 'gpu' },
        ]),
        { next: null },
      );
      const cluster = await clusters.get(clusterId);
      assert.deepEqual(
        cluster.nodePools.map((p) => p.name),
        ['workers'],
      );
      assert.deepEqual(await db('node_pools').where({ cluster_id: clusterId }).orderBy('name').pluck('name'), [
        'control-plane',
        'workers',
      ]);
    });

    it('fails, then retries a run from the failed step under a new generation', async () => {
      const accepted = await clusters.create(request('eta'), start());
      const runId = accepted.body.workflow.id;
      await runs.startStep(runId, 0, 0, 1);
      await runs.completeStep(runId, 0, 0, null, []);
      await runs.startStep(runId, 1, 0, 1);
      await runs.failStep(runId, 1, 0, { code: 'CX_PROVIDER_ERROR', message: 'boom' });
      const failed = await clusters.get(accepted.body.cluster.id);
      assert.equal(failed.status, 'Failed');
      assert.equal(failed.statusMessage, 'workflow cluster.create failed at step b: boom');
      await assert.rejects(runs.cancel(runId), { code: 'CX_WORKFLOW_STATE' });
      const retried = await runs.retry(runId);
      assert.equal(retried.status, 'Pending');
      assert.equal(retried.currentStep, 1);
      assert.equal(retried.generation, 1);
      assert.equal(retried.steps[0]!.status, 'Succeeded', 'steps before the failure are kept');
      assert.equal((await clusters.get(accepted.body.cluster.id)).status, 'Provisioning');
    });

    it('detects concurrent changes of a run (optimistic concurrency)', async () => {
      const accepted = await clusters.create(request('theta'), start());
      const runId = accepted.body.workflow.id;
      await runs.startStep(runId, 0, 0, 1);
      const results = await Promise.allSettled([1, 2, 3].map(() => runs.completeStep(runId, 0, 0, null, [])));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one completion of a step wins');
    });

    it('pages through clusters with a cursor', async () => {
      const all = (await clusters.list(500, undefined)).items;
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await clusters.list(2, cursor);
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(
        seen,
        all.map((c) => c.id),
      );
      await assert.rejects(clusters.list(2, 'not-a-cursor'), { code: 'CX_INPUT_INVALID' });
    });

    it('deletes a cluster with its machines but keeps its workflow history', async () => {
      const accepted = await clusters.create(
        request('iota'),
        start({ workflow: { workflow: 'w', version: 1, steps: ['only'], input: {}, clusterStatus: 'Provisioning' } }),
      );
      const runId = accepted.body.workflow.id;
      await runs.startStep(runId, 0, 0, 1);
      await runs.completeStep(runId, 0, 0, null, [
        {
          kind: 'upsertMachines',
          machines: [{ name: 'iota-cp-0', pool: 'control-plane', role: 'control-plane', kubernetesVersion: '1.31.4' }],
        },
        { kind: 'deleteCluster' },
      ]);
      await assert.rejects(clusters.get(accepted.body.cluster.id), { code: 'CX_NOT_FOUND' });
      assert.equal((await db('machines').where({ cluster_id: accepted.body.cluster.id })).length, 0);
      assert.equal((await runs.get(runId)).status, 'Succeeded');
    });
  });
}
