/**
 * The workflow engine against real Redis and a real sm (on a SQLite file): what a user sees of a
 * run when its steps answer done, wait or fail, when a job is stale or lost, on cancel and retry.
 * Each test declares a small workflow of its own and counts how often each of its steps runs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadConfig } from '@cx/config';
import { DependencyUnavailableError, ProviderError } from '@cx/errors';
import { WORKFLOW_STEP_QUEUE, workflowStepJobId, type WorkflowStepJob } from '@cx/queue-contracts';
import { createLogger } from '@cx/service-kit';
import { buildSmApp, type SmApp } from '@cx/sm';
import { done, wait, WorkflowEngine, type StepContext, type StepResult, type WorkflowDefinition } from './engine.js';
import { SmClient, type Run } from '@cx/sm-contract';

const redisUrl = process.env['CX_TEST_REDIS_URL'];
const SERVICE_TOKEN = 't'.repeat(32);
/** workflows.stepAttempts of the engine under test. */
const STEP_ATTEMPTS = 3;
/** Short, so that a run whose job is lost is repaired within a second. */
const RECONCILE_INTERVAL_MS = 300;

/** Polls `probe` until it answers something other than undefined; fails after `timeoutMs`, naming what it waited for. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `gave up waiting for ${what} after ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await sleep(25);
  }
}

/** A promise a step waits on until the test opens it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('WorkflowEngine on real Redis and sm', () => {
  const prefix = `wfmtest${randomBytes(3).toString('hex')}`;
  let sm: SmApp;
  let client: SmClient;
  let engine: WorkflowEngine;
  let worker: Redis;
  let producer: Redis;
  let steps: Queue;
  /** Executions of each step, by `<run>/<step>`. */
  const executions = new Map<string, number>();
  const ran = (runId: string, step: string): number => executions.get(`${runId}/${step}`) ?? 0;

  /** A step that counts its executions and answers what `behaviour` does on its `n`th (from 1). */
  const step = (
    name: string,
    behaviour: (ctx: StepContext, n: number) => Promise<StepResult>,
  ): WorkflowDefinition['steps'][number] => ({
    name,
    run: async (ctx) => {
      const key = `${ctx.run.id}/${name}`;
      const n = (executions.get(key) ?? 0) + 1;
      executions.set(key, n);
      return behaviour(ctx, n);
    },
  });

  const define = (name: string, definedSteps: WorkflowDefinition['steps']): WorkflowDefinition => {
    const definition = { name, version: 1, steps: definedSteps };
    engine.register(definition);
    return definition;
  };

  /** Creates a cluster whose create run is `definition`; enqueues its first step as wfm's routes do, unless told not to. */
  const startRun = async (
    definition: WorkflowDefinition,
    options: { enqueue?: boolean } = {},
  ): Promise<{ runId: string; clusterId: string }> => {
    const accepted = await client.createCluster(
      {
        name: `t${randomBytes(4).toString('hex')}`,
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: 1 },
        nodePools: [],
      },
      {
        actor: 'engine-test',
        workflow: {
          workflow: definition.name,
          version: definition.version,
          steps: definition.steps.map((s) => s.name),
          input: {},
          clusterStatus: 'Provisioning',
        },
      },
    );
    const runId = accepted.body.workflow.id;
    if (options.enqueue !== false) await engine.enqueue({ runId, stepIndex: 0, generation: 0 });
    return { runId, clusterId: accepted.body.cluster.id };
  };

  const runReaches = (runId: string, statuses: string[], timeoutMs?: number): Promise<Run> =>
    until(
      `workflow ${runId} to be ${statuses.join(' or ')}`,
      async () => {
        const run = await client.getRun(runId);
        return statuses.includes(run.status) ? run : undefined;
      },
      timeoutMs,
    );

  /** The step job's return value once it has finished (`{ stale: true }` for a job that found its step gone). */
  const jobFinished = (job: WorkflowStepJob): Promise<unknown> =>
    until(`job ${workflowStepJobId(job)} to finish`, async () => {
      const found = await steps.getJob(workflowStepJobId(job));
      if (!found || (await found.getState()) !== 'completed') return undefined;
      // Read again: `found` may have been fetched while the job was still active, before it had a return value.
      return (await steps.getJob(workflowStepJobId(job)))?.returnvalue as unknown;
    });

  /** The key of the lease that lets one wfm replica at a time reconcile (see WorkflowEngine.reconcile). */
  const reconcilerLease = (): string => `${prefix}:reconciler-lease`;

  const clusterStatus = async (clusterId: string): Promise<string> => (await client.getCluster(clusterId)).status;

  before(async () => {
    assert.ok(
      redisUrl,
      'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
    );
    const dir = mkdtempSync(join(tmpdir(), 'cx-wfm-engine-'));
    const config = loadConfig({
      env: {
        CX_DATA_DIR: dir,
        CX_DATABASE_URL: `sqlite:${join(dir, 'cx.db')}`,
        CX_SECRET_KEY: 's'.repeat(32),
        CX_SERVICE_TOKEN: SERVICE_TOKEN,
      },
    });
    sm = await buildSmApp(config, createLogger({ level: 'silent', service: 'sm' }));
    const smUrl = await sm.app.listen({ port: 0, host: '127.0.0.1' });
    client = new SmClient(smUrl, SERVICE_TOKEN);
    worker = new Redis(redisUrl, { maxRetriesPerRequest: null });
    producer = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    steps = new Queue(WORKFLOW_STEP_QUEUE, { connection: producer, prefix });
    engine = new WorkflowEngine({
      connection: worker,
      producer,
      prefix,
      sm: client,
      logger: createLogger({ level: 'silent', service: 'wfm' }),
      metrics: new Registry(),
      concurrency: 4,
      stepAttempts: STEP_ATTEMPTS,
      lockDurationMs: 5_000,
      reconcileIntervalMs: RECONCILE_INTERVAL_MS,
      deadlines: { nodesReadyMs: 60_000 },
    });
    engine.start();
  });

  after(async () => {
    await engine?.close();
    await steps?.obliterate({ force: true });
    await steps?.close();
    await producer?.del(reconcilerLease());
    await client?.close();
    await sm?.app.close();
    // BullMQ leaves the connections it was given open.
    worker?.disconnect();
    producer?.disconnect();
  });

  describe('with the reconciler held off (another replica holds its lease): the engine alone moves runs', () => {
    beforeEach(async () => {
      await producer.set(reconcilerLease(), 'another-replica', 'PX', 60_000);
    });
    afterEach(async () => {
      await producer.del(reconcilerLease());
    });

    it("commits a done step's output and effects before the next step runs, and that step reads them", async () => {
      const definition = define('test.done', [
        step('first', async () => done({ machines: 2 }, [{ kind: 'setClusterStatus', status: 'Ready' }])),
        step('second', async (ctx) => done({ read: ctx.run.steps[0]?.output, clusterStatus: ctx.cluster.status })),
      ]);
      const { runId, clusterId } = await startRun(definition);
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(
        run.steps.map((s) => [s.name, s.status, s.attempts]),
        [
          ['first', 'Succeeded', 1],
          ['second', 'Succeeded', 1],
        ],
      );
      assert.deepEqual(run.steps[0]!.output, { machines: 2 });
      assert.deepEqual(
        run.steps[1]!.output,
        { read: { machines: 2 }, clusterStatus: 'Ready' },
        "the second step saw the first one's output and effect",
      );
      assert.equal(await clusterStatus(clusterId), 'Ready');
      assert.deepEqual([ran(runId, 'first'), ran(runId, 'second')], [1, 1]);
    });

    it('runs the steps that are done at once in one job, and gives the step after a failed attempt a job of its own', async () => {
      const definition = define('test.chain', [
        step('one', async () => done()),
        step('two', async (_ctx, n) => {
          if (n === 1) throw new DependencyUnavailableError('a moment of trouble');
          return done();
        }),
        step('three', async () => done()),
      ]);
      const { runId } = await startRun(definition);
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(
        run.steps.map((s) => [s.name, s.attempts]),
        [
          ['one', 1],
          ['two', 2],
          ['three', 1],
        ],
      );
      assert.deepEqual([ran(runId, 'one'), ran(runId, 'two'), ran(runId, 'three')], [1, 2, 1]);
      const jobOf = async (stepIndex: number): Promise<string> => {
        const found = await steps.getJob(workflowStepJobId({ runId, stepIndex, generation: 0 }));
        return found ? await found.getState() : 'none';
      };
      // Job 0 ran one, went on to two, failed there and was retried (at two); three got its own job.
      assert.deepEqual([await jobOf(0), await jobOf(1), await jobOf(2)], ['completed', 'none', 'completed']);
    });

    it('runs a waiting step again after its delay, shows its message, never counts a wait as a failed attempt, and keeps only a final message once done', async () => {
      const checked = gate();
      const waits = STEP_ATTEMPTS + 2; // more waits than a step has attempts
      const definition = define('test.wait', [
        step('poll', async (_ctx, n) => {
          if (n === 2) await checked.opened; // holds the step while the test reads the run
          return n <= waits ? wait(60_000, `not ready yet (${n})`) : done({ polls: n }, [], `ready after ${n} polls`);
        }),
        // Done without a final message: its progress message is not true any more, and goes.
        step('settle', async (_ctx, n) => (n === 1 ? wait(10, 'settling') : done({ settled: true }))),
      ]);
      const { runId } = await startRun(definition);
      const waiting = await until('the first wait to show', async () => {
        const run = await client.getRun(runId);
        return run.steps[0]?.message === 'not ready yet (1)' && ran(runId, 'poll') === 2 ? run : undefined;
      });
      assert.equal(waiting.status, 'Running');
      assert.equal(waiting.steps[0]!.attempts, 1);
      checked.open();
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps[0]!.output, { polls: waits + 1 });
      assert.equal(run.steps[0]!.attempts, 1, 'waits are not attempts');
      assert.deepEqual(
        run.steps.map((s) => s.message),
        [`ready after ${waits + 1} polls`, null],
        'a finished step keeps its final message, or none; never its last progress',
      );
      assert.equal(ran(runId, 'poll'), waits + 1);
      assert.equal(ran(runId, 'settle'), 2);
    });

    it('retries a retryable failure, and the run goes on when the step then succeeds', async () => {
      const definition = define('test.flaky', [
        step('flaky', async (_ctx, n) => {
          if (n === 1) throw new DependencyUnavailableError('the tenant API did not answer');
          return done({ on: n });
        }),
      ]);
      const { runId } = await startRun(definition);
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps[0]!.output, { on: 2 });
      assert.equal(run.steps[0]!.attempts, 2);
      assert.equal(ran(runId, 'flaky'), 2);
    });

    it('retries a retryable failure up to workflows.stepAttempts, then fails the run with its code', async () => {
      const definition = define('test.unreachable', [
        step('reach', async () => {
          throw new DependencyUnavailableError('the tenant API did not answer');
        }),
        step('never', async () => done()),
      ]);
      const { runId, clusterId } = await startRun(definition);
      const retrying = await until('a failed attempt to show', async () => {
        const run = await client.getRun(runId);
        return run.steps[0]?.message?.startsWith('attempt 1 failed') ? run : undefined;
      });
      assert.match(
        retrying.steps[0]!.message!,
        /CX_DEPENDENCY_UNAVAILABLE: the tenant API did not answer\); retrying$/,
      );
      const run = await runReaches(runId, ['Succeeded', 'Failed'], 20_000);
      assert.equal(run.status, 'Failed');
      assert.equal(run.error?.code, 'CX_DEPENDENCY_UNAVAILABLE');
      assert.deepEqual(
        run.steps.map((s) => [s.name, s.status, s.attempts]),
        [
          ['reach', 'Failed', STEP_ATTEMPTS],
          ['never', 'Pending', 0],
        ],
      );
      assert.equal(run.steps[0]!.message, null, 'no "retrying" on a step that failed: its error says why');
      assert.equal(run.steps[0]!.error?.code, 'CX_DEPENDENCY_UNAVAILABLE');
      assert.equal(run.steps[0]!.error?.code, 'CX_DEPENDENCY_UNAVAILABLE');
      assert.deepEqual([ran(runId, 'reach'), ran(runId, 'never')], [STEP_ATTEMPTS, 0]);
      assert.equal(await clusterStatus(clusterId), 'Failed');
    });

    it('fails the run at once on a non-retryable failure; a retry resumes from the failed step', async () => {
      const definition = define('test.fatal', [
        step('prepare', async () => done({ prepared: true })),
        step('apply', async (ctx) => {
          if (ctx.run.generation === 0) throw new ProviderError('image ubuntu-99 does not exist');
          return done({ generation: ctx.run.generation });
        }),
      ]);
      const { runId, clusterId } = await startRun(definition);
      const failed = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(failed.status, 'Failed');
      assert.equal(failed.error?.code, 'CX_PROVIDER_ERROR');
      assert.equal(failed.error?.message, 'image ubuntu-99 does not exist');
      assert.deepEqual(
        failed.steps.map((s) => [s.name, s.status, s.attempts]),
        [
          ['prepare', 'Succeeded', 1],
          ['apply', 'Failed', 1],
        ],
      );
      assert.equal(ran(runId, 'apply'), 1, 'not retried');
      assert.equal(await clusterStatus(clusterId), 'Failed');

      // As POST /workflows/{id}/retry does.
      const retried = await client.retryRun(runId);
      assert.deepEqual([retried.status, retried.currentStep, retried.generation], ['Pending', 1, 1]);
      await engine.enqueue({ runId, stepIndex: retried.currentStep, generation: retried.generation });
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps[1]!.output, { generation: 1 });
      assert.deepEqual(
        [ran(runId, 'prepare'), ran(runId, 'apply')],
        [1, 2],
        'the step that had succeeded is not run again',
      );
    });

    it('commits nothing from a step whose run was cancelled meanwhile; a retry runs it again under a new generation', async () => {
      const released = gate();
      const definition = define('test.cancel-in-flight', [
        step('hold', async (ctx, n) => {
          if (n === 1) await released.opened;
          return done({ generation: ctx.run.generation });
        }),
        step('next', async () => done()),
      ]);
      const { runId } = await startRun(definition);
      await until('the step to start', async () => (ran(runId, 'hold') === 1 ? true : undefined));
      const cancelled = await client.cancelRun(runId);
      assert.equal(cancelled.status, 'Cancelled');
      released.open();
      // The job of generation 0 finds its step gone (a 409 from sm, then a stale start) and does nothing.
      assert.deepEqual(await jobFinished({ runId, stepIndex: 0, generation: 0 }), { stale: true });
      const stale = await client.getRun(runId);
      assert.equal(stale.status, 'Cancelled');
      assert.deepEqual(
        stale.steps.map((s) => [s.name, s.status, s.output]),
        [
          ['hold', 'Cancelled', null],
          ['next', 'Cancelled', null],
        ],
      );
      assert.deepEqual([ran(runId, 'hold'), ran(runId, 'next')], [1, 0]);

      const retried = await client.retryRun(runId);
      await engine.enqueue({ runId, stepIndex: retried.currentStep, generation: retried.generation });
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps[0]!.output, { generation: 1 });
      assert.deepEqual([ran(runId, 'hold'), ran(runId, 'next')], [2, 1]);

      // A late or duplicated job of an earlier generation changes nothing either.
      await engine.enqueue({ runId, stepIndex: 1, generation: 0 });
      assert.deepEqual(await jobFinished({ runId, stepIndex: 1, generation: 0 }), { stale: true });
      assert.deepEqual(await client.getRun(runId), run);
      assert.deepEqual([ran(runId, 'hold'), ran(runId, 'next')], [2, 1]);
    });

    it('stops a waiting run on cancel; a retry resumes from the waiting step', async () => {
      const definition = define('test.cancel-waiting', [
        step('prepare', async () => done()),
        step('poll', async (ctx) =>
          ctx.run.generation === 0 ? wait(50, 'waiting for nodes') : done({ generation: ctx.run.generation }),
        ),
      ]);
      const { runId } = await startRun(definition);
      await until('the step to wait', async () => (ran(runId, 'poll') >= 2 ? true : undefined));
      await client.cancelRun(runId);
      assert.deepEqual(
        // The first step's job went on to the waiting step.
        await jobFinished({ runId, stepIndex: 0, generation: 0 }),
        { stale: true },
        'the waiting job ends at its next run',
      );
      const polls = ran(runId, 'poll');
      assert.equal((await client.getRun(runId)).status, 'Cancelled');

      const retried = await client.retryRun(runId);
      assert.equal(retried.currentStep, 1);
      await engine.enqueue({ runId, stepIndex: retried.currentStep, generation: retried.generation });
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps[1]!.output, { generation: 1 });
      assert.deepEqual([ran(runId, 'prepare'), ran(runId, 'poll')], [1, polls + 1]);
    });
  });

  describe('with the reconciler', () => {
    it('re-enqueues a run whose next step was never enqueued (a crash between commit and enqueue); no step runs twice', async () => {
      const definition = define('test.lost-enqueue', [
        step('one', async () => done()),
        step('two', async () => done()),
        step('three', async () => done()),
      ]);
      // Pending, its first job lost: wfm died after sm had recorded the start.
      const pending = await startRun(definition, { enqueue: false });
      // Running at step two: the first step was committed by a process that died before it enqueued the next.
      const running = await startRun(definition, { enqueue: false });
      await client.startStep(running.runId, 0, 0, 1);
      assert.deepEqual(await client.completeStep(running.runId, 0, 0, { by: 'the crashed process' }, []), { next: 1 });

      for (const { runId } of [pending, running]) {
        const run = await runReaches(runId, ['Succeeded', 'Failed']);
        assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      }
      assert.deepEqual(
        ['one', 'two', 'three'].map((name) => ran(pending.runId, name)),
        [1, 1, 1],
      );
      assert.deepEqual(
        ['one', 'two', 'three'].map((name) => ran(running.runId, name)),
        [0, 1, 1],
        'the committed step is not run again',
      );
      assert.deepEqual((await client.getRun(running.runId)).steps[0]!.output, { by: 'the crashed process' });
    });

    it('re-enqueues a running run whose step job was removed from Redis, and the steps before it do not run again', async () => {
      let removed = false;
      const definition = define('test.lost-job', [
        step('before', async () => done()),
        step('slow', async () => (removed ? done({ afterRemoval: true }) : wait(60_000))),
        step('after', async () => done()),
      ]);
      const { runId } = await startRun(definition);
      // The first step's job went on to the slow step (and holds the run): that is the one lost.
      const job = { runId, stepIndex: 0, generation: 0 };
      await until('the slow step to wait', async () => (ran(runId, 'slow') >= 1 ? true : undefined));
      const owner = (await client.activeRuns(100, new Date(Date.now() + 60_000).toISOString())).find(
        (r) => r.id === runId,
      )?.ownerJob;
      assert.equal(owner, workflowStepJobId(job), 'sm names the job that holds the run');
      // The job is delayed between runs of the step; while it runs it is locked and cannot be removed.
      await until('the waiting job to be removed', async () => {
        const found = await steps.getJob(workflowStepJobId(job));
        if (!found || (await found.getState()) !== 'delayed') return undefined;
        assert.equal((found.data as WorkflowStepJob).stepIndex, 1, "the delayed job's data names the step it waits in");
        await found.remove();
        return true;
      });
      removed = true;
      assert.equal(await steps.getJob(workflowStepJobId(job)), undefined);
      const run = await runReaches(runId, ['Succeeded', 'Failed']);
      assert.equal(run.status, 'Succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps[1]!.output, { afterRemoval: true });
      assert.deepEqual([ran(runId, 'before'), ran(runId, 'after')], [1, 1]);
    });
  });
});
