// A trivial five-step workflow run through cx's own engine, so that its steps per second can be put
// beside what other durable-execution engines publish for the same shape (five steps that do
// nothing). Every step still goes through what makes cx durable: a BullMQ job's turn, sm's guarded
// transition (one SQL transaction per step, on SQLite here) and the run's row.
// The engine (wfm's WorkflowEngine) and sm (buildSmApp) run in this process, as in the all-in-one,
// twice: with the engine's calls bound to sm's module (what the all-in-one does) and over sm's
// internal HTTP API on loopback (what separate wfm and sm processes do, both sides' CPU counted).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadConfig } from '@cx/config';
import { createLogger } from '@cx/service-kit';
import { buildSmApp, smInProcess } from '@cx/sm';
import { SmClient, WorkflowEngine } from '@cx/wfm';
import { pool } from './lib.mjs';

const STEPS = ['one', 'two', 'three', 'four', 'five'];
const WORKFLOW = {
  name: 'bench.five-steps',
  version: 1,
  steps: STEPS.map((name) => ({ name, run: async () => ({ kind: 'done' }) })),
};

/** Runs `runs` workflows through each transport; answers steps/s and CPU per step of each. */
export async function fiveStepBenchmark({ redisUrl, runs }) {
  const dir = mkdtempSync(join(tmpdir(), 'cx-bench-five-'));
  const serviceToken = randomBytes(32).toString('base64url');
  const config = loadConfig({
    env: {
      CX_DATA_DIR: dir,
      CX_DATABASE_URL: `sqlite:${join(dir, 'cx.db')}`,
      CX_SECRET_KEY: randomBytes(32).toString('base64url'),
      CX_SERVICE_TOKEN: serviceToken,
      CX_LIMITS_MAX_CLUSTERS: String(2 * runs + 10),
    },
  });
  const sm = await buildSmApp(config, createLogger({ level: 'warn', service: 'sm' }));
  const smUrl = await sm.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const direct = await measure({
      redisUrl,
      runs,
      config,
      db: sm.db,
      // Bound as in the all-in-one: step transitions to sm's module, other calls to its app without a socket.
      client: new SmClient(smUrl, serviceToken, smInProcess(sm)),
    });
    const http = await measure({ redisUrl, runs, config, db: sm.db, client: new SmClient(smUrl, serviceToken) });
    return { runs, direct, http };
  } finally {
    await sm.app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure({ redisUrl, runs, config, db, client }) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const engine = new WorkflowEngine({
    connection,
    producer,
    prefix: `bench5${randomBytes(3).toString('hex')}`,
    sm: client,
    logger: createLogger({ level: 'warn', service: 'wfm' }),
    metrics: new Registry(),
    concurrency: config.workflows.concurrency,
    stepAttempts: config.workflows.stepAttempts,
    lockDurationMs: config.workflows.lockDurationMs,
    reconcileIntervalMs: config.workflows.reconcileIntervalMs,
    deadlines: { nodesReadyMs: 60_000 },
  });
  engine.register(WORKFLOW);
  try {
    // Each run is the first workflow of a cluster of its own (one run per cluster at a time is
    // cx's rule); the clusters and their runs are written before the clock starts.
    const runIds = await pool(
      Array.from({ length: runs }, (_, i) => i),
      16,
      async () => {
        const accepted = await client.createCluster(
          {
            name: `five-${randomBytes(5).toString('hex')}`,
            provider: 'sim',
            kubernetesVersion: '1.31.4',
            controlPlane: { count: 1 },
            nodePools: [],
          },
          {
            actor: 'bench',
            workflow: {
              workflow: WORKFLOW.name,
              version: WORKFLOW.version,
              steps: STEPS,
              input: {},
              clusterStatus: 'Provisioning',
            },
          },
        );
        return accepted.body.workflow.id;
      },
    );
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    engine.start();
    await pool(runIds, 16, (runId) => engine.enqueue({ runId, stepIndex: 0, generation: 0 }));
    await waitFinished(db);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    let steps = 0;
    let failed = 0;
    await pool(runIds, 16, async (id) => {
      const run = await client.getRun(id);
      if (run.status !== 'Succeeded') failed++;
      steps += run.steps.filter((s) => s.status === 'Succeeded').length;
    });
    if (failed > 0) throw new Error(`${failed} five-step runs did not succeed`);
    return { steps, seconds, cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps };
  } finally {
    await engine.close();
    await client.close();
    connection.disconnect();
    producer.disconnect();
  }
}

/**
 * Waits (at most 10 min) until no run is Pending or Running, with one count in SQL every 100 ms:
 * asking sm about each run would cost more than the workflows do.
 */
async function waitFinished(db) {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const [{ open }] = await db('workflow_runs').whereIn('status', ['Pending', 'Running']).count({ open: '*' });
    if (Number(open) === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} five-step runs did not finish in 10 min`);
    await sleep(100);
  }
}
