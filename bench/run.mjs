// Benchmarks of cx (not tests). Each figure is a ratio against a baseline measured in the same run
// on the same machine, and the table is written to docs/benchmarks.md.
//   1. Workflow engine: create + delete of `sim` clusters with zero provider latency, workflow steps
//      per second, against raw BullMQ jobs per second on the same Redis.
//   2. A trivial five-step workflow through cx's engine (bench/five-step-workflow.mjs), against the
//      same raw BullMQ figure and beside other durable-execution engines' figures.
//   3. API: GET /api/v1/clusters (authenticated page of 50 out of 1,000) against a bare fastify
//      route serving the same bytes, same load generator (autocannon, 64 connections).
// The engine's phases run after a warm-up (--warmup clusters created and deleted, not counted).
// Usage: npm run bench [-- --clusters 1000 --seconds 10 --warmup 200]
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import knex from 'knex';
import { build, ensureDependencies, root } from '../scripts/lib.mjs';
import { fiveStepBenchmark } from './five-step-workflow.mjs';
import { PASSWORD, freePort, listAll, pool, startCx, startSeparateCx } from './lib.mjs';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'raw-jobs': { type: 'string', default: '20000' },
    'five-step-runs': { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '200' },
  },
});
const CLUSTERS = Number(values.clusters);
const SECONDS = Number(values.seconds);
const RAW_JOBS = Number(values['raw-jobs']);
const WARMUP = Number(values.warmup);
// Extra CX_* settings for the cx under test, e.g. BENCH_CX_ENV='{"CX_WORKFLOWS_CONCURRENCY":"200"}'.
const benchEnv = JSON.parse(process.env.BENCH_CX_ENV ?? '{}');

ensureDependencies();
build();
const redisUrl = execFileSync('bash', ['test/peers/redis.sh', 'start'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();

async function rawBullmq() {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const queue = new Queue('raw', { connection, prefix });
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const worker = new Worker('raw', async () => null, {
    connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
    prefix,
    concurrency: 50,
    autorun: false,
  });
  worker.on('completed', () => {
    if (++done === RAW_JOBS) finish();
  });
  for (let i = 0; i < RAW_JOBS; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, RAW_JOBS - i) }, (_, j) => ({
        name: 'noop',
        data: { i: i + j },
        opts: { jobId: `job.${i + j}`, removeOnComplete: true },
      })),
    );
  }
  const started = performance.now();
  void worker.run();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return RAW_JOBS / seconds;
}

async function startBenchCx() {
  const cx = await startCx({
    env: {
      CX_SIM_LATENCY_MS: '0',
      // The default limit (256 clusters) is below what the benchmark creates.
      CX_LIMITS_MAX_CLUSTERS: String(Math.max(CLUSTERS, 256)),
      ...benchEnv,
      CX_REDIS_URL: redisUrl,
      CX_REDIS_PREFIX: `cxbench${randomBytes(3).toString('hex')}`,
    },
  });
  const { token } = await (
    await fetch(`${cx.base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    })
  ).json();
  return { ...cx, token };
}

/**
 * Starts a phase's workflows (`start` returns the 202 answers), waits until the clusters settle,
 * and counts the steps that ran (succeeded or failed) in the runs it started, read back after the
 * clock stopped: the rate is of the engine's real work, not of a step count assumed per workflow.
 */
async function workflowPhase(cx, label, start, settled) {
  const cpuBefore = cpuSeconds(cx);
  const started = performance.now();
  const accepted = await start();
  for (;;) {
    const clusters = await listAll(cx);
    if (settled(clusters)) break;
    if (performance.now() - started > 30 * 60_000) throw new Error(`${label} did not finish`);
    await sleep(250);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(cx) - cpuBefore;
  let steps = 0;
  await pool(accepted, 16, async ({ workflow }) => {
    const r = await fetch(`${cx.base}/api/v1/workflows/${workflow.id}`, {
      headers: { authorization: `Bearer ${cx.token}` },
    });
    if (r.status !== 200) throw new Error(`GET workflow ${workflow.id} answered ${r.status}: ${await r.text()}`);
    const run = await r.json();
    steps += run.steps.filter((s) => s.status === 'Succeeded' || s.status === 'Failed').length;
  });
  return { seconds, steps, cpu };
}

/** The resident memory of cx's processes (`pids`, or the all-in-one's `pid`) in MiB, from /proc. */
function rssMiB(cx) {
  let kib = 0;
  for (const pid of cx.pids ?? [cx.pid]) {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    kib += Number(line.split(/\s+/)[1]);
  }
  return kib / 1024;
}

/**
 * CPU time (user + system) cx's processes (`pids`, or the all-in-one's `pid`) have used, from
 * /proc: cx's own cost per step, which other load on the machine changes far less than it changes
 * wall-clock rates.
 */
function cpuSeconds(cx) {
  let ticks = 0;
  for (const pid of cx.pids ?? [cx.pid]) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/** Creates `count` clusters named `<prefix>-<i>` and waits until every one is Ready or Failed. */
async function createPhase(cx, prefix, count) {
  const auth = { authorization: `Bearer ${cx.token}`, 'content-type': 'application/json' };
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const create = await workflowPhase(
    cx,
    'create',
    async () =>
      pool(names, 16, async (name) => {
        const r = await fetch(`${cx.base}/api/v1/clusters`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({
            name,
            provider: 'sim',
            kubernetesVersion: '1.31.4',
            controlPlane: { count: 1 },
            nodePools: [{ name: 'w', count: 2 }],
          }),
        });
        if (r.status !== 202) throw new Error(`create answered ${r.status}: ${await r.text()}`);
        return r.json();
      }),
    (clusters) => clusters.length === count && clusters.every((c) => c.status === 'Ready' || c.status === 'Failed'),
  );
  const failed = (await listAll(cx)).filter((c) => c.status === 'Failed').length;
  return { ...create, failed };
}

/** Deletes every cluster and waits until none is left. */
async function deletePhase(cx) {
  const auth = { authorization: `Bearer ${cx.token}` };
  const clusters = await listAll(cx);
  return workflowPhase(
    cx,
    'delete',
    async () =>
      pool(clusters, 16, async (c) => {
        const r = await fetch(`${cx.base}/api/v1/clusters/${c.id}`, { method: 'DELETE', headers: auth });
        if (r.status !== 202) throw new Error(`delete answered ${r.status}: ${await r.text()}`);
        return r.json();
      }),
    (left) => left.length === 0,
  );
}

/**
 * WARMUP clusters created and deleted before the measured phases, as a benchmark of a JIT-compiled
 * runtime warms it up: in a fresh process V8 is still compiling cx's hot paths (measured on a quiet
 * machine: the first 1,000 creates of a process cost 7.3 ms of CPU each, the next 1,000 5.1–5.5
 * ms). A control plane runs for days; its steady state is what the engine's figures are about. The
 * warm-up's own rate is reported beside them.
 */
async function warmUp(cx) {
  if (WARMUP === 0) return null;
  const create = await createPhase(cx, 'warmup', WARMUP);
  const deletion = await deletePhase(cx);
  return { steps: create.steps + deletion.steps, seconds: create.seconds + deletion.seconds };
}

async function engineBenchmark(cx) {
  const create = await createPhase(cx, 'bench', CLUSTERS);
  // Resident memory once the clusters are created and cx has settled (its health watchers keep running).
  await sleep(5_000);
  return {
    createSeconds: create.seconds,
    failed: create.failed,
    createSteps: create.steps,
    createCpu: create.cpu,
    rssWithClusters: rssMiB(cx),
  };
}

async function deleteBenchmark(cx) {
  const deletion = await deletePhase(cx);
  return { deleteSeconds: deletion.seconds, deleteSteps: deletion.steps, deleteCpu: deletion.cpu };
}

function load(url, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: 64, duration: SECONDS, headers }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

async function apiBenchmark(cx) {
  const headers = { authorization: `Bearer ${cx.token}` };
  const first = await (await fetch(`${cx.base}/api/v1/clusters?limit=500`, { headers })).json();
  const cursor =
    first.items.length >= 500
      ? Buffer.from(JSON.stringify({ after: first.items[499].id })).toString('base64url')
      : null;
  const path = `/api/v1/clusters?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
  const body = await (await fetch(`${cx.base}${path}`, { headers })).text();
  await load(`${cx.base}${path}`, headers); // warm-up, discarded
  const measured = await load(`${cx.base}${path}`, headers);
  const port = await freePort();
  const bare = spawn(process.execPath, [join(root, 'bench/bare-server.mjs'), String(port)], {
    env: { ...process.env, BENCH_BODY: body },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => bare.stdout.once('data', resolve));
  await load(`http://127.0.0.1:${port}/api/v1/clusters`, {});
  const baseline = await load(`http://127.0.0.1:${port}/api/v1/clusters`, {});
  bare.kill();
  return { bytes: body.length, cx: measured, bare: baseline, errors: measured.errors + measured.non2xx };
}

/**
 * The same create + delete on MariaDB (the shared peer, a database of its own) with sm, sddc and
 * wfm as separate processes, one replica each: the shape of compose and helm.
 */
async function separateProcessesOnMariadb() {
  const mysqlUrl = execFileSync('bash', ['test/peers/mariadb.sh', 'start'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const database = `cxbench_${randomBytes(3).toString('hex')}`;
  const admin = knex({ client: 'mysql2', connection: mysqlUrl });
  await admin.raw(`create database ${database}`);
  try {
    const cx = await startSeparateCx({
      env: {
        CX_DATABASE_URL: mysqlUrl.replace(/\/[^/]*$/, `/${database}`),
        CX_REDIS_URL: redisUrl,
        CX_REDIS_PREFIX: `cxbench${randomBytes(3).toString('hex')}`,
        CX_SDDC_PROVIDERS: 'sim',
        CX_SIM_LATENCY_MS: '0',
        CX_LIMITS_MAX_CLUSTERS: String(Math.max(CLUSTERS, 256)),
      },
    });
    try {
      const { token } = await (
        await fetch(`${cx.base}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: PASSWORD }),
        })
      ).json();
      const logged = { ...cx, token };
      const warm = await warmUp(logged);
      return { warm, ...(await engineBenchmark(logged)), ...(await deleteBenchmark(logged)) };
    } finally {
      await cx.stop();
    }
  } finally {
    await admin.raw(`drop database ${database}`);
    await admin.destroy();
  }
}

const raw = await rawBullmq();
const five = await fiveStepBenchmark({ redisUrl, runs: Number(values['five-step-runs']) });
const cx = await startBenchCx();
await sleep(2_000);
const rssEmpty = rssMiB(cx);
let warm, engine, deletion, api;
try {
  warm = await warmUp(cx);
  engine = await engineBenchmark(cx);
  api = await apiBenchmark(cx);
  deletion = await deleteBenchmark(cx);
} finally {
  await cx.stop();
}

const maria = await separateProcessesOnMariadb();

const createRate = engine.createSteps / engine.createSeconds;
const deleteRate = deletion.deleteSteps / deletion.deleteSeconds;
const overall = (engine.createSteps + deletion.deleteSteps) / (engine.createSeconds + deletion.deleteSeconds);
const mariaRate = (maria.createSteps + maria.deleteSteps) / (maria.createSeconds + maria.deleteSeconds);
const rate = ({ steps, seconds }) => steps / seconds;
const perStepMs = (cpu, steps) => ((1000 * cpu) / steps).toFixed(2);
const pct = (a, b) => `${((100 * a) / b).toFixed(1)} %`;
const warmedUp = (w, baseline) =>
  w
    ? `${WARMUP} clusters created and deleted, ${rate(w).toFixed(0)} steps/s (${pct(rate(w), baseline)} of raw BullMQ) in a process that had just started`
    : 'none (--warmup 0)';
const rows = [
  [
    'Workflow engine: create + delete steps/s',
    `${overall.toFixed(0)} steps/s (create ${createRate.toFixed(0)}, delete ${deleteRate.toFixed(0)})`,
    `raw BullMQ ${raw.toFixed(0)} jobs/s`,
    pct(overall, raw),
    '≥ 20 %',
  ],
  [
    'Workflow engine: same, MariaDB, sm / sddc / wfm as separate processes',
    `${mariaRate.toFixed(0)} steps/s (create ${(maria.createSteps / maria.createSeconds).toFixed(0)}, delete ${(maria.deleteSteps / maria.deleteSeconds).toFixed(0)})`,
    `raw BullMQ ${raw.toFixed(0)} jobs/s`,
    pct(mariaRate, raw),
    '—',
  ],
  [
    'Workflow engine: trivial five-step workflow',
    `${rate(five.direct).toFixed(0)} steps/s in one process; ${rate(five.http).toFixed(0)} steps/s over sm's HTTP API`,
    `raw BullMQ ${raw.toFixed(0)} jobs/s`,
    `${pct(rate(five.direct), raw)}; ${pct(rate(five.http), raw)}`,
    'ahead of Restate ≈ 1,000 steps/s',
  ],
  [
    'API: GET /clusters, page of 50 of ' + CLUSTERS + ', 64 conn.',
    `${api.cx.requests.average.toFixed(0)} req/s, p99 ${api.cx.latency.p99} ms`,
    `bare fastify ${api.bare.requests.average.toFixed(0)} req/s, p99 ${api.bare.latency.p99} ms`,
    pct(api.cx.requests.average, api.bare.requests.average),
    '≥ 25 %, p99 ≤ 25 ms',
  ],
];
const table = [
  '| benchmark | cx | baseline (same run) | ratio | target |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const details = [
  `- Clusters: ${CLUSTERS} (1 control-plane + 2 workers each, sim latency 0), ${engine.failed} failed; create ${engine.createSeconds.toFixed(1)} s (${engine.createSteps} steps), delete ${deletion.deleteSeconds.toFixed(1)} s (${deletion.deleteSteps} steps); cx's CPU per step (user + system, all its threads) ${perStepMs(engine.createCpu, engine.createSteps)} ms creating, ${perStepMs(deletion.deleteCpu, deletion.deleteSteps)} ms deleting; ${(engine.createCpu / CLUSTERS).toFixed(3)} CPU-s per cluster created. cx's resident memory: ${rssEmpty.toFixed(0)} MiB empty, ${engine.rssWithClusters.toFixed(0)} MiB with the ${CLUSTERS} clusters (idle). Raw BullMQ: ${RAW_JOBS} no-op jobs, concurrency 50.`,
  `- Warm-up, before the measured phases and not counted in them: ${warmedUp(warm, raw)}; MariaDB: ${warmedUp(maria.warm, raw)}.`,
  `- MariaDB (the test peer, Debian's), sm, sddc and wfm as three processes over HTTP, same ${CLUSTERS} clusters: ${maria.failed} failed; create ${maria.createSeconds.toFixed(1)} s (${maria.createSteps} steps), delete ${maria.deleteSeconds.toFixed(1)} s (${maria.deleteSteps} steps); CPU per step of the three processes ${perStepMs(maria.createCpu, maria.createSteps)} ms creating, ${perStepMs(maria.deleteCpu, maria.deleteSteps)} ms deleting (MariaDB's own CPU not counted).`,
  `- Five-step workflow: ${five.runs} runs of a workflow whose five steps do nothing (each step still a BullMQ job's turn and one guarded SQL transaction in sm, SQLite), wfm's engine and sm in one process as in the all-in-one: ${five.direct.steps} steps in ${five.direct.seconds.toFixed(1)} s with the engine bound to sm's module, CPU ${five.direct.cpuMsPerStep.toFixed(2)} ms per step; ${five.http.steps} steps in ${five.http.seconds.toFixed(1)} s over sm's internal HTTP API on loopback (the calls of separate processes), CPU ${five.http.cpuMsPerStep.toFixed(2)} ms per step, both sides. Figures of other engines measured on this kind of machine for the same shape (issue 18): Restate 1.7 ≈ 1,000 steps/s, DBOS Transact 5.3 on Postgres ≈ 600–930, Temporal 1.29 dev server 10–56 (activities) and 58–197 (local activities).`,
  `- API: ${SECONDS} s per side after a ${SECONDS} s warm-up, autocannon 64 connections, ${api.bytes} bytes per answer, ${api.errors} errors or non-2xx.`,
  `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; cx-server all-in-one on SQLite, Redis from Debian on loopback; load generator in a separate process from each server.`,
].join('\n');
console.log(`\n${table}\n\n${details}\n`);
const doc = join(root, 'docs', 'benchmarks.md');
const header = readFileSync(doc, 'utf8').split('<!-- results -->')[0];
writeFileSync(
  doc,
  `${header}<!-- results -->\n\nLatest run: ${new Date().toISOString().slice(0, 10)}\n\n${table}\n\n${details}\n`,
);
process.exit(0);
