#!/usr/bin/env node
// The chaos harness (issue 18, docs/reliability.md): two replicas each of sm, sddc and wfm as
// separate processes on a private MariaDB and a private Redis, provider `sim` with latency. It
// drives N mixed workflows (create, scale up, scale down, upgrade, delete) through the public API
// while it kill -9s random replicas at random instants and restarts them, kill -9s Redis once and
// MariaDB once, and once kills every process at the same time and starts them all again. Then it
// counts what was lost, orphaned, duplicated, done twice or left inconsistent, and prints one JSON
// line. Every choice comes from a PRNG seeded by --seed; the timing of a shared machine does not.
//
//   node bench/chaos.mjs --seed S --workflows N [--kills K] [--deadline-s D] [--latency-ms L]
//
// Exit status: 0 when every count is 0, 1 when one is not, 2 when the harness itself failed.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mysql2/promise';
import { root } from '../scripts/lib.mjs';
import { freePort } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    workflows: { type: 'string', default: '100' },
    kills: { type: 'string' },
    'deadline-s': { type: 'string' },
    'latency-ms': { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
    // Plants one fault of each kind the audit counts (bar lost) before it runs: proof that it can fail.
    'inject-faults': { type: 'boolean', default: false },
  },
});
const seed = args.seed;
const workflows = Number(args.workflows);
const kills = Number(args.kills ?? Math.max(5, Math.round(workflows / 5)));
const latencyMs = Number(args['latency-ms']);
// A hard deadline for the whole run: generous, since the machine may be shared and slow.
const deadlineMs = Number(args['deadline-s'] ?? 300 + workflows * 12) * 1000;
if (![workflows, kills, latencyMs, deadlineMs].every((n) => Number.isInteger(n) && n >= 0) || workflows < 1)
  throw new Error('--workflows must be a positive integer; --kills, --latency-ms and --deadline-s non-negative ones');

const started = Date.now();
const server = join(root, 'apps/server/dist/main.js');
if (!existsSync(server)) throw new Error(`${server} is missing: build first (npx tsc -b)`);
const { SimProvider } = await import(join(root, 'packages/providers-sim/dist/index.js'));
const PASSWORD = 'chaos-Admin-pw-1';
const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);
const VERSIONS = ['1.30.8', '1.31.4', '1.32.2']; // the sim's, oldest first: one minor per upgrade

/** mulberry32 over a hash of the seed: every choice of the run comes from here. */
const random = (() => {
  let a = 0;
  for (const c of String(seed)) a = (Math.imul(a ^ c.charCodeAt(0), 2654435761) + 1) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
})();
const between = (low, high) => low + Math.floor(random() * (high - low + 1));
const pick = (items) => items[Math.floor(random() * items.length)];

// A short path: MariaDB's socket path must stay under 107 bytes.
const work = mkdtempSync('/tmp/cx-chaos-');
const simDir = join(work, 'sim');
const journal = join(work, 'sim-journal.jsonl');
mkdirSync(join(work, 'logs'));
const log = (message) => process.stderr.write(`[chaos ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

/** Every child process this harness started, killed when it exits for any reason. */
const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (!args.keep) rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(2));

function launch(name, command, argv, options = {}) {
  const out = openSync(join(work, 'logs', `${name}.log`), 'a');
  const child = spawn(command, argv, { stdio: ['ignore', out, out], ...options });
  closeSync(out);
  children.add(child);
  const exited = new Promise((done) => child.once('exit', done));
  exited.then(() => children.delete(child));
  return { child, exited };
}

async function until(what, check, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what} within ${ms / 1000} s`);
    await sleep(200);
  }
}

// ---- Private MariaDB and Redis: the shared test peers must never be restarted. ----

const db = { dir: join(work, 'mariadb'), port: await freePort(), proc: null };
db.socket = join(db.dir, 'd.sock');
const dbName = 'chaos';
const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();

async function startMariadb() {
  const mariadbd = ['mariadbd', 'mysqld'].find((c) => {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!mariadbd) throw new Error('mariadbd is not installed (test/peers/mariadb.sh installs it)');
  if (!existsSync(join(db.dir, 'data', 'mysql'))) {
    mkdirSync(join(db.dir, 'data'), { recursive: true });
    execFileSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--user=${user}`,
        `--datadir=${join(db.dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { stdio: 'ignore' },
    );
  }
  db.proc = launch('mariadb', mariadbd, [
    '--no-defaults',
    `--user=${user}`,
    `--datadir=${join(db.dir, 'data')}`,
    `--socket=${db.socket}`,
    `--port=${db.port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    `--pid-file=${join(db.dir, 'd.pid')}`,
  ]);
  await until(
    'MariaDB did not answer',
    async () => {
      if (db.proc.child.exitCode !== null) throw new Error('mariadbd exited during start-up');
      const c = await createConnection({ socketPath: db.socket, user: 'root' });
      await c.end();
      return true;
    },
    120_000,
  );
}

async function sql(query, params = []) {
  const c = await createConnection({ host: '127.0.0.1', port: db.port, user: 'cx', password: 'cx', database: dbName });
  try {
    return (await c.query(query, params))[0];
  } finally {
    await c.end();
  }
}

const redis = { dir: join(work, 'redis'), port: await freePort(), proc: null };
async function startRedis() {
  mkdirSync(redis.dir, { recursive: true });
  // As the all-in-one runs it: an append-only file, so a restart keeps what was synced.
  redis.proc = launch('redis', 'redis-server', [
    '--port', String(redis.port), '--bind', '127.0.0.1', '--dir', redis.dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction',
  ]); // prettier-ignore
  await until('Redis did not answer', () => ping(redis.port), 30_000);
}
function ping(port) {
  return new Promise((done) => {
    const s = connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      done(String(d).startsWith('+PONG'));
    });
    s.once('error', () => done(false));
  });
}

// ---- The six service processes, sm behind a balancer standing in for a Kubernetes Service. ----

/** Round-robin TCP balancer that tries the next backend when one refuses (as replicas.test.ts). */
async function balancer(ports) {
  let next = 0;
  const lb = createServer((client) => {
    client.pause();
    const attempt = (tries) => {
      const upstream = connect(ports[next++ % ports.length], '127.0.0.1');
      upstream.once('connect', () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      upstream.once('error', () => {
        upstream.destroy();
        if (tries + 1 < ports.length) attempt(tries + 1);
        else client.destroy();
      });
      client.once('error', () => upstream.destroy());
      client.once('close', () => upstream.destroy());
    };
    attempt(0);
  });
  const port = await freePort();
  await new Promise((done) => lb.listen(port, '127.0.0.1', done));
  return { port, lb };
}

const services = [];
for (const service of ['sm', 'sddc', 'wfm'])
  for (const index of [0, 1])
    services.push({ name: `${service}-${index}`, service, port: await freePort(), proc: null });
const sm = await balancer(services.filter((s) => s.service === 'sm').map((s) => s.port));
let serviceEnv;

function startService(s) {
  const portVariable = { wfm: 'CX_HTTP_PORT', sm: 'CX_SM_PORT', sddc: 'CX_SDDC_PORT' }[s.service];
  s.proc = launch(s.name, process.execPath, [server, s.service], {
    cwd: work,
    env: { ...process.env, ...serviceEnv, [portVariable]: String(s.port) },
  });
}
async function ready(s) {
  await until(
    `${s.name} was not ready`,
    async () =>
      (await fetch(`http://127.0.0.1:${s.port}/readyz`, { signal: AbortSignal.timeout(5000) })).status === 200,
    120_000,
  );
}
async function kill(proc) {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}
/** Starts `list` (sm first: it migrates the schema) and waits until each is ready. */
async function startServices(list) {
  for (const group of ['sm', 'sddc', 'wfm']) {
    const members = list.filter((s) => s.service === group);
    for (const s of members) startService(s);
    await Promise.all(members.map(ready));
  }
}

// ---- A client of the replicated public API: the other wfm on a failure, retried (bounded). ----

const wfms = services.filter((s) => s.service === 'wfm');
let token = '';
let apiRetries = 0;
async function api(method, path, body, idempotencyKey) {
  const end = Math.min(Date.now() + 180_000, started + deadlineMs);
  for (let attempt = 0; ; attempt++) {
    const s = wfms[attempt % wfms.length];
    try {
      const response = await fetch(`http://127.0.0.1:${s.port}/api/v1${path}`, {
        method,
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(20_000),
      });
      const answer = { status: response.status, body: await response.json().catch(() => null) };
      if (answer.status === 401 && path !== '/auth/login') await login();
      // A replica or peer down or restarting: retry; anything else is the answer.
      else if (!(answer.status >= 500 || answer.status === 401)) return answer;
    } catch {
      /* connection refused or reset, or timed out: try the other replica */
    }
    apiRetries += 1;
    if (Date.now() > end) throw new Error(`no wfm answered ${method} ${path} in time`);
    await sleep(attempt % wfms.length === 0 ? 50 : 1000);
  }
}
async function login() {
  token = '';
  const answer = await api('POST', '/auth/login', { username: 'admin', password: PASSWORD });
  if (answer.status !== 200) throw new Error(`login failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  token = answer.body.token;
}

// ---- The workload: clusters, each a sequence of workflows, all clusters at once. ----

/** The plan: `workflows` workflows over about workflows/5 clusters, each a create then random changes. */
function plan() {
  const clusters = Math.max(1, Math.round(workflows / 5));
  const counts = Array.from({ length: clusters }, () => 1);
  for (let left = workflows - clusters; left > 0; left--) counts[between(0, clusters - 1)] += 1;
  return counts.map((count, i) => {
    let size = between(1, 2);
    let version = 0;
    const steps = [{ kind: 'create', size, version: VERSIONS[version] }];
    const endsDeleted = count > 1 && random() < 0.5;
    while (steps.length < count - (endsDeleted ? 1 : 0)) {
      const kinds = [
        'scale-up',
        ...(size > 0 ? ['scale-down'] : []),
        ...(version < VERSIONS.length - 1 ? ['upgrade'] : []),
      ];
      const kind = size >= 4 ? pick(kinds.filter((k) => k !== 'scale-up')) : pick(kinds);
      if (kind === 'scale-up') size += 1;
      if (kind === 'scale-down') size -= 1;
      if (kind === 'upgrade') version += 1;
      steps.push({ kind, size, version: VERSIONS[version] });
    }
    if (endsDeleted) steps.push({ kind: 'delete' });
    return {
      name: `chaos-${seed}-${i}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 63),
      steps,
    };
  });
}

const runs = []; // every workflow the API accepted: { id, kind, cluster, status }
let refused = 0; // workflows the API never accepted (an answer other than 202)
async function drive(cluster) {
  let id = null;
  for (const [n, step] of cluster.steps.entries()) {
    const key = `${cluster.name}-${n}`;
    // Paced by the chaos, so that the workload spans every event (see chaos()).
    while (
      eventsDone < Math.floor((runs.length * events.length) / workflows) - 2 &&
      Date.now() < started + deadlineMs / 2
    )
      await sleep(200);
    let answer;
    if (step.kind === 'create')
      answer = await api('POST', '/clusters', {
        name: cluster.name,
        provider: 'sim',
        kubernetesVersion: step.version,
        controlPlane: { count: 1 },
        nodePools: [{ name: 'workers', count: step.size }],
      }, key); // prettier-ignore
    else if (step.kind === 'delete') answer = await api('DELETE', `/clusters/${id}`, undefined, key);
    else if (step.kind === 'upgrade')
      answer = await api('POST', `/clusters/${id}/upgrade`, { kubernetesVersion: step.version }, key);
    else answer = await api('PATCH', `/clusters/${id}/nodepools/workers`, { count: step.size }, key);
    if (answer.status !== 202) {
      refused += 1;
      log(`${cluster.name} ${step.kind}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return;
    }
    id = answer.body.cluster.id;
    const run = { id: answer.body.workflow.id, kind: step.kind, cluster: id, status: answer.body.workflow.status };
    runs.push(run);
    while (!TERMINAL.has(run.status) && Date.now() < started + deadlineMs - 60_000) {
      await sleep(1000);
      const current = await api('GET', `/workflows/${run.id}`).catch(() => null);
      if (current?.status === 200) run.status = current.body.status;
    }
    if (run.status !== 'Succeeded') {
      log(`${cluster.name} ${step.kind} ended ${run.status}; its later steps are not run`);
      return;
    }
  }
}

// ---- The chaos: K replica kills, Redis once, MariaDB once, everything at once; in a seeded order. ----

const events = [...Array.from({ length: kills }, () => 'kill'), 'redis', 'mariadb', 'all'];
for (let i = events.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [events[i], events[j]] = [events[j], events[i]];
}
const done = { kills: 0, redisRestarts: 0, mariadbRestarts: 0, fullRestarts: 0, duringWork: 0 };
let eventsDone = 0;
/**
 * The events in order, spread over the workload: the i-th waits until its share of the workflows
 * has been accepted (and the drivers wait for the events before their share, so a fast workload
 * does not end before the chaos), then for a workflow running (bounded), then a random moment
 * more. Any left when every workflow has ended still happen (the audit then shows recovery from
 * them too); `duringWork` counts those that struck with a workflow running.
 */
async function chaos(driving) {
  for (const [i, event] of events.entries()) {
    const due = Math.floor((i * workflows) / events.length);
    while (runs.length < due && !driving.settled) await sleep(100);
    for (let t = 0; t < 100 && !driving.settled && runs.every((r) => TERMINAL.has(r.status)); t++) await sleep(100);
    await sleep(between(100, 800));
    if (runs.some((r) => !TERMINAL.has(r.status))) done.duringWork += 1;
    if (event === 'kill') {
      const victim = pick(services);
      log(`kill -9 ${victim.name}`);
      await kill(victim.proc);
      await sleep(between(0, 3000));
      startService(victim);
      await ready(victim);
      done.kills += 1;
    } else if (event === 'redis') {
      log('kill -9 redis-server');
      await kill(redis.proc);
      await sleep(between(0, 2000));
      await startRedis();
      done.redisRestarts += 1;
    } else if (event === 'mariadb') {
      log('kill -9 mariadbd');
      await kill(db.proc);
      await sleep(between(0, 2000));
      await startMariadb();
      done.mariadbRestarts += 1;
    } else {
      log('kill -9 every service process at once');
      await Promise.all(services.map((s) => kill(s.proc)));
      await sleep(between(0, 2000));
      await startServices(services);
      done.fullRestarts += 1;
    }
    eventsDone += 1;
  }
}

// ---- The audit. ----

/** The sim's machines, read from its store as the sddc processes left it. */
function simMachines() {
  return new SimProvider({ dataDir: simDir }).allMachines();
}

/** An orphan that duplicates a machine, an effect recorded twice, and a Ready cluster whose pool disagrees. */
async function injectFaults() {
  const [machine] = simMachines();
  if (!machine) throw new Error('no machine left at the provider to plant faults beside');
  await new SimProvider({ dataDir: simDir }).ensureMachine({
    ...machine.spec,
    machineId: `${machine.spec.machineId}x`,
  });
  const first = readFileSync(journal, 'utf8').split('\n')[0];
  appendFileSync(journal, `${first}\n`);
  await sql(`update node_pools set count = count + 1 where cluster_id = ? limit 1`, [machine.spec.clusterId]);
  log('faults planted: one orphan machine (also a duplicate of its namesake), one effect twice, one pool count off');
}

async function audit() {
  // Workflows: every accepted one must be known to the API and have ended; none left running in SQL.
  for (const run of runs) {
    const current = await api('GET', `/workflows/${run.id}`).catch(() => null);
    run.status = current?.status === 200 ? current.body.status : 'Missing';
  }
  const lostRuns = runs.filter((r) => !TERMINAL.has(r.status));
  const stuck = await sql(
    `select id, workflow, status from workflow_runs where status not in ('Succeeded','Failed','Cancelled')`,
  );
  const lost = new Set([...lostRuns.map((r) => r.id), ...stuck.map((r) => r.id)]);

  const rows = await sql('select id, cluster_id, pool, name, kubernetes_version, provider_id from machines');
  const byId = new Map(rows.map((r) => [r.id, r]));
  const provider = simMachines();

  // Orphaned: at the provider, no row claims it.
  const orphans = provider.filter((m) => !byId.has(m.spec.machineId));
  // Duplicated: two provider machines for one machine (same cluster and node name), or a row whose
  // provider id is not the one the provider has (the machine was made again under it).
  const names = new Map();
  for (const m of provider)
    names.set(`${m.spec.clusterId}/${m.spec.name}`, (names.get(`${m.spec.clusterId}/${m.spec.name}`) ?? 0) + 1);
  const duplicated =
    [...names.values()].reduce((sum, n) => sum + n - 1, 0) +
    provider.filter(
      (m) => byId.get(m.spec.machineId)?.provider_id && byId.get(m.spec.machineId).provider_id !== m.providerId,
    ).length;

  // Effects done twice, from the sim's own journal of every effect by every sddc process: a machine
  // id created twice (or deleted twice, which needs it made again), or upgraded twice to one version.
  const effects = new Map();
  for (const line of existsSync(journal) ? readFileSync(journal, 'utf8').split('\n') : []) {
    if (!line) continue;
    const e = JSON.parse(line);
    const key = `${e.op} ${e.machineId} ${e.op === 'upgrade' ? e.kubernetesVersion : ''}`;
    effects.set(key, (effects.get(key) ?? 0) + 1);
  }
  const twice = [...effects].filter(([, n]) => n > 1);
  const doubleEffects = twice.reduce((sum, [, n]) => sum + n - 1, 0);

  // Mismatched: a Ready cluster must have exactly its rows at the provider, at its version, as many
  // per pool as the pool says; a cluster whose delete succeeded must be gone; no cluster may stay
  // in a transitional status without a running workflow.
  const clusters = await sql('select id, name, status, kubernetes_version, active_run_id from clusters');
  const pools = await sql('select cluster_id, name, count from node_pools');
  const mismatches = [];
  for (const c of clusters) {
    const mine = rows.filter((r) => r.cluster_id === c.id);
    const there = provider.filter((m) => m.spec.clusterId === c.id);
    if (c.status === 'Ready') {
      const ids = new Set(there.map((m) => m.spec.machineId));
      if (mine.length !== there.length || mine.some((r) => !ids.has(r.id)))
        mismatches.push(`${c.name}: rows ≠ provider machines`);
      if (there.some((m) => m.spec.kubernetesVersion !== c.kubernetes_version))
        mismatches.push(`${c.name}: a machine not at ${c.kubernetes_version}`);
      for (const p of pools.filter((p) => p.cluster_id === c.id))
        if (mine.filter((r) => r.pool === p.name).length !== p.count)
          mismatches.push(`${c.name}: pool ${p.name} is not ${p.count}`);
    } else if (c.status !== 'Failed' && !c.active_run_id)
      mismatches.push(`${c.name}: ${c.status} with no workflow running`);
  }
  for (const r of runs.filter((r) => r.kind === 'delete' && r.status === 'Succeeded'))
    if (clusters.some((c) => c.id === r.cluster)) mismatches.push(`${r.cluster}: deleted, yet still there`);

  return {
    lost: lost.size,
    orphaned: orphans.length,
    duplicated,
    doubleEffects,
    mismatched: mismatches.length,
    detail: { stuck, lostRuns, orphans: orphans.map((m) => m.spec), twice, mismatches },
  };
}

// ---- The run. ----

let exitCode = 2;
const timer = setTimeout(() => {
  console.log(
    JSON.stringify({
      error: `the run passed its deadline of ${deadlineMs / 1000} s`,
      seed,
      workflows,
      kills: done.kills,
    }),
  );
  process.exit(2);
}, deadlineMs);
try {
  log(`seed ${seed}, ${workflows} workflows, ${kills} kills, sim latency ${latencyMs} ms, in ${work}`);
  await startMariadb();
  const rootConnection = await createConnection({ socketPath: db.socket, user: 'root' });
  await rootConnection.query(`create user 'cx'@'127.0.0.1' identified by 'cx'`);
  await rootConnection.query(`grant all privileges on *.* to 'cx'@'127.0.0.1'`);
  await rootConnection.query(`create database ${dbName}`);
  await rootConnection.end();
  await startRedis();
  serviceEnv = {
    CX_DATABASE_URL: `mysql://cx:cx@127.0.0.1:${db.port}/${dbName}`,
    CX_REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    CX_REDIS_PREFIX: 'chaos',
    CX_SECRET_KEY: randomBytes(24).toString('hex'),
    CX_SERVICE_TOKEN: randomBytes(24).toString('hex'),
    CX_ADMIN_PASSWORD: PASSWORD,
    CX_SM_URL: `http://127.0.0.1:${sm.port}`,
    CX_DATA_DIR: work,
    CX_SIM_DATA_DIR: simDir,
    CX_SIM_LATENCY_MS: String(latencyMs),
    CX_SIM_JOURNAL: journal,
    CX_SDDC_PROVIDERS: 'sim',
    CX_WORKFLOWS_RECONCILE_INTERVAL_MS: '1000',
    CX_WORKFLOWS_LOCK_DURATION_MS: '3000',
    CX_LOG_LEVEL: 'info',
  };
  await startServices(services);
  await login();
  log('all six services ready; driving the workload');

  const driving = { settled: false };
  const load = Promise.all(plan().map(drive)).finally(() => (driving.settled = true));
  await Promise.all([load, chaos(driving)]);
  // Every workflow the API accepted has had its chance to end; give the reconcilers a last pass.
  if (args['inject-faults']) await injectFaults();
  const result = await audit();
  const figures = {
    seed,
    workflows,
    accepted: runs.length,
    succeeded: runs.filter((r) => r.status === 'Succeeded').length,
    failed: runs.filter((r) => r.status === 'Failed').length,
    refused,
    lost: result.lost,
    orphaned: result.orphaned,
    duplicated: result.duplicated,
    doubleEffects: result.doubleEffects,
    mismatched: result.mismatched,
    kills: done.kills,
    redisRestarts: done.redisRestarts,
    mariadbRestarts: done.mariadbRestarts,
    fullRestarts: done.fullRestarts,
    eventsDuringWork: done.duringWork,
    apiRetries,
    latencyMs,
    durationS: Math.round((Date.now() - started) / 1000),
  };
  const clean = ['lost', 'orphaned', 'duplicated', 'doubleEffects', 'mismatched'].every((k) => figures[k] === 0);
  if (!clean) {
    log(`details: ${JSON.stringify(result.detail, null, 1)}`);
    log(`logs kept in ${work}/logs`);
    args.keep = true;
  }
  console.log(JSON.stringify(figures));
  exitCode = clean ? 0 : 1;
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error), seed, workflows, kills: done.kills }));
  log(`logs kept in ${work}/logs`);
  args.keep = true;
} finally {
  clearTimeout(timer);
  sm.lb.close();
}
process.exit(exitCode);
