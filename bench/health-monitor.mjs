// Benchmark (not a test): one sddc watching 10,000 nodes across 1,000 `sim` clusters (issue 6).
// cx-server all-in-one on the embedded default (SQLite, private redis-server), sim latency 0. Clusters of
// 1 control plane + (nodes − 1) workers are created through the public API; then cx is restarted
// on the same data twice and watched for --seconds after a --warmup each:
//   baseline: node health monitor off (CX_HA_HEALTH_MONITOR=false), the same cx otherwise;
//   monitor:  the default (on, every 5 s, 16 shards, all held by the one sddc).
// Measured: CPU (user + system from /proc/<pid>/stat, per second of wall time) and RSS of the cx
// process and of its redis-server, and cx's V8 heap in use (its /metrics); the monitor's share is
// the difference, and the ratio is monitor ÷ baseline. The duration of each pass over all
// clusters, from sddc's /metrics, and whether passes keep up with the interval (passes skipped
// because the last one still ran).
// Then detection: --deaths machines, one in each of that many random clusters (the storm guard
// allows 40 % of a cluster), are powered off out-of-band, one every 0.3–1.2 s, by another client
// of the same simulated infrastructure (SimProvider on cx's data directory). Measured from each
// power-off: the look at which the monitor saw it (the `checkedAt` of the first healthStatus naming
// it), when the API showed it (polled every 0.25 s), and when wfm started its `node.remediate`
// workflow (the audit entry), with the default policy (unhealthyTimeoutSeconds 30, replace); then
// until the cluster is Healthy again.
// Needs redis-server (it builds first). Takes about 12 minutes, 8 with --data-dir on clusters made
// by an earlier run (kept there). Usage: npm run bench:health [-- --clusters 1000 --nodes 10
// --seconds 120 --warmup 30 --deaths 20 --data-dir DIR --cpu-prof DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { build, ensureDependencies, root } from '../scripts/lib.mjs';
import { PASSWORD, freePort, listAll, pool, startCx } from './lib.mjs';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '120' },
    warmup: { type: 'string', default: '30' },
    deaths: { type: 'string', default: '20' },
    'cpu-prof': { type: 'string' },
    'data-dir': { type: 'string' },
  },
});
const CLUSTERS = Number(values.clusters);
const NODES = Number(values.nodes);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const DEATHS = Math.min(Number(values.deaths), CLUSTERS);
const INTERVAL_S = 5;

ensureDependencies();
build();
const { SimProvider } = await import(join(root, 'packages/providers-sim/dist/index.js'));
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

async function call(cx, method, path, body) {
  const response = await fetch(`${cx.base}${path}`, {
    method,
    headers: {
      ...(cx.token ? { authorization: `Bearer ${cx.token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** cx-server all-in-one on `dataDir`, logged in, with its sddc metrics port and its redis-server's pid. */
async function start(dataDir, monitor, nodeArgs = []) {
  const sddcPort = await freePort();
  const cx = await startCx({
    dataDir,
    nodeArgs,
    env: {
      CX_SIM_LATENCY_MS: '0',
      CX_LIMITS_MAX_CLUSTERS: String(Math.max(256, CLUSTERS)),
      CX_SDDC_PORT: String(sddcPort),
      CX_HA_HEALTH_MONITOR: String(monitor),
      CX_HA_HEALTH_INTERVAL_SECONDS: String(INTERVAL_S),
    },
  });
  cx.token = (await call(cx, 'POST', '/api/v1/auth/login', { username: 'admin', password: PASSWORD })).body.token;
  cx.metricsUrl = `http://127.0.0.1:${sddcPort}/metrics`;
  const children = readdirSync(`/proc/${cx.pid}/task`).flatMap((t) =>
    readFileSync(`/proc/${cx.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
  cx.redisPid = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('redis-server'));
  return cx;
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}

function rssMiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

async function sddcMetrics(cx) {
  const text = await (await fetch(cx.metricsUrl)).text();
  const value = (name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    passes: value('cx_sddc_health_pass_seconds_count'),
    last: value('cx_sddc_health_last_pass_seconds'),
    skipped: value('cx_sddc_health_skipped_passes_total'),
    clusters: value('cx_sddc_health_watched_clusters'),
    machines: value('cx_sddc_health_watched_machines'),
    heapUsed: value('nodejs_heap_size_used_bytes'),
  };
}

/** CPU and RSS of cx and its redis-server over `seconds`, and each pass seen meanwhile (sampled every second). */
async function watch(cx, seconds) {
  const passes = [];
  const rss = { cx: [], redis: [], heap: [] };
  let metrics = await sddcMetrics(cx);
  const first = metrics;
  const begin = { at: performance.now(), cx: cpuSeconds(cx.pid), redis: cpuSeconds(cx.redisPid) };
  while (performance.now() - begin.at < seconds * 1000) {
    await sleep(1000);
    rss.cx.push(rssMiB(cx.pid));
    rss.redis.push(rssMiB(cx.redisPid));
    const now = await sddcMetrics(cx);
    rss.heap.push(now.heapUsed / 2 ** 20);
    if (now.passes !== undefined && now.passes === (metrics.passes ?? 0) + 1) passes.push(now.last);
    else if (now.passes !== undefined && now.passes > (metrics.passes ?? 0) + 1)
      passes.push(...Array(now.passes - (metrics.passes ?? 0) - 1).fill(null), now.last);
    metrics = now;
  }
  const wall = (performance.now() - begin.at) / 1000;
  return {
    wall,
    cpu: { cx: (cpuSeconds(cx.pid) - begin.cx) / wall, redis: (cpuSeconds(cx.redisPid) - begin.redis) / wall },
    rss: {
      cx: { mean: mean(rss.cx), max: Math.max(...rss.cx) },
      redis: { mean: mean(rss.redis), max: Math.max(...rss.redis) },
      heap: { mean: mean(rss.heap), max: Math.max(...rss.heap) },
    },
    passes: passes.filter((p) => p !== null),
    passCount: (metrics.passes ?? 0) - (first.passes ?? 0),
    skipped: (metrics.skipped ?? 0) - (first.skipped ?? 0),
    watched: { clusters: metrics.clusters, machines: metrics.machines },
  };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
function pct(xs, p) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// ---- 1. the clusters, created through the public API (monitor off: it is not what is measured
// here), unless --data-dir names a cx data directory that already holds them (kept afterwards).
// The directory outlives each cx: the later phases restart cx on it.
const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'cx-bench-health-'));
let cx = await start(dataDir, false);
let created;
try {
  const existing = await listAll(cx);
  if (existing.length >= CLUSTERS) {
    created = { reused: existing.length, failed: existing.filter((c) => c.status === 'Failed').length };
  } else {
    const started = performance.now();
    const names = Array.from({ length: CLUSTERS - existing.length }, (_, i) => `watch-${existing.length + i}`);
    await pool(names, 16, async (name) => {
      const r = await call(cx, 'POST', '/api/v1/clusters', {
        name,
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: 1 },
        nodePools: [{ name: 'w', count: NODES - 1 }],
      });
      if (r.status !== 202) throw new Error(`create answered ${r.status}: ${JSON.stringify(r.body)}`);
    });
    let clusters;
    for (;;) {
      clusters = await listAll(cx);
      if (clusters.length === CLUSTERS && clusters.every((c) => c.status === 'Ready' || c.status === 'Failed')) break;
      if (performance.now() - started > 60 * 60_000) throw new Error('the clusters were not created within an hour');
      await sleep(2000);
    }
    created = {
      seconds: (performance.now() - started) / 1000,
      failed: clusters.filter((c) => c.status === 'Failed').length,
    };
  }
  console.log(
    created.reused
      ? `reusing the ${created.reused} clusters of ${dataDir}`
      : `created ${CLUSTERS} clusters × ${NODES} machines in ${created.seconds.toFixed(0)} s (${created.failed} failed)`,
  );
} finally {
  await cx.stop();
}

// ---- 2. baseline: the same cx, monitor off
cx = await start(dataDir, false);
let baseline;
try {
  await sleep(WARMUP * 1000);
  baseline = await watch(cx, SECONDS);
  console.log(
    `baseline (monitor off): cx ${(100 * baseline.cpu.cx).toFixed(1)} % of a core, RSS ${baseline.rss.cx.mean.toFixed(0)} MiB`,
  );
} finally {
  await cx.stop();
}

// ---- 3. monitor on: steady watching, then deaths
const profileDir = values['cpu-prof'];
if (profileDir) mkdirSync(profileDir, { recursive: true });
cx = await start(dataDir, true, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
let steady;
const deaths = [];
const polls = [];
try {
  await sleep(WARMUP * 1000);
  steady = await watch(cx, SECONDS);
  console.log(
    `monitor on: cx ${(100 * steady.cpu.cx).toFixed(1)} % of a core, RSS ${steady.rss.cx.mean.toFixed(0)} MiB, ${steady.passCount} passes of ${steady.watched.clusters} clusters / ${steady.watched.machines} machines, p50 ${pct(steady.passes, 50)?.toFixed(2)} s, ${steady.skipped} skipped`,
  );

  const clusters = (await listAll(cx)).filter((c) => c.status === 'Ready');
  const victims = clusters.sort(() => Math.random() - 0.5).slice(0, DEATHS);
  const infrastructure = new SimProvider({ dataDir: join(dataDir, 'sim') });
  const deathsFrom = new Date().toISOString();
  const deadline = Date.now() + 300_000;
  let injecting = true;
  const pending = () => (injecting || deaths.some((d) => d.healthyAt === undefined)) && Date.now() < deadline;
  // The power-offs, and meanwhile two pollers: each victim's cluster (what a user sees), and the
  // audit log (when remediation started).
  await Promise.all([
    (async () => {
      for (const cluster of victims) {
        await sleep(300 + Math.random() * 900);
        const machines = await infrastructure.listMachines(cluster.id);
        const machine = machines[Math.floor(Math.random() * machines.length)];
        await infrastructure.setPower(cluster.id, machine.machineId, 'off');
        deaths.push({ cluster, machine: machine.name, offAt: Date.now() });
      }
      injecting = false;
      console.log(`${deaths.length} machines powered off`);
    })(),
    (async () => {
      while (pending()) {
        const round = performance.now();
        await pool(
          deaths.filter((d) => d.healthyAt === undefined),
          8,
          async (d) => {
            const c = (await call(cx, 'GET', `/api/v1/clusters/${d.cluster.id}`)).body;
            const named = c.healthStatus?.unhealthy?.some((u) => u.name === d.machine);
            if (named && d.seenAt === undefined) {
              d.seenAt = Date.now();
              d.lookAt = Date.parse(c.healthStatus.checkedAt);
              d.state = c.healthStatus.state;
            }
            if (
              d.remediatedAt !== undefined &&
              c.status === 'Ready' &&
              c.activeWorkflowId === null &&
              c.healthStatus?.state === 'Healthy'
            )
              d.healthyAt = Date.now();
          },
        );
        polls.push(performance.now() - round);
        await sleep(250);
      }
    })(),
    (async () => {
      while (pending()) {
        const audit = (
          await call(
            cx,
            'GET',
            `/api/v1/audit?actor=cx:node-health&action=node.remediate&since=${deathsFrom}&limit=1000`,
          )
        ).body.items;
        for (const d of deaths) {
          const entry = audit.find((e) => e.targetId === d.cluster.id && e.details?.machine === d.machine);
          if (entry && d.remediatedAt === undefined) d.remediatedAt = Date.parse(entry.at);
        }
        await sleep(1000);
      }
    })(),
  ]);
} finally {
  await cx.stop();
}

// ---- results
const s = (x) => (x === undefined ? '—' : `${x.toFixed(1)} s`);
const ms = (xs) => xs.map((x) => x / 1000);
const seen = deaths.filter((d) => d.lookAt !== undefined);
const look = ms(seen.map((d) => d.lookAt - d.offAt));
const shown = ms(seen.map((d) => d.seenAt - d.offAt));
const remediated = ms(deaths.filter((d) => d.remediatedAt !== undefined).map((d) => d.remediatedAt - d.offAt));
const healthy = ms(deaths.filter((d) => d.healthyAt !== undefined).map((d) => d.healthyAt - d.offAt));
const row = (label, xs) =>
  `| ${label} | ${xs.length} of ${deaths.length} | ${s(pct(xs, 50))} | ${s(pct(xs, 95))} | ${s(xs.length ? Math.max(...xs) : undefined)} |`;
const share = steady.cpu.cx - baseline.cpu.cx;
const p = (x) => `${(100 * x).toFixed(1)} %`;
const passes = steady.passes;
const table = [
  "| | monitor off (baseline) | monitor on | monitor's share | ratio on ÷ off |",
  '|---|---|---|---|---|',
  `| CPU of cx (one process: wfm, sm, sddc), of one core | ${p(baseline.cpu.cx)} | ${p(steady.cpu.cx)} | ${p(share)} | ${(steady.cpu.cx / baseline.cpu.cx).toFixed(1)} |`,
  `| CPU of its redis-server | ${p(baseline.cpu.redis)} | ${p(steady.cpu.redis)} | ${p(steady.cpu.redis - baseline.cpu.redis)} | ${(steady.cpu.redis / baseline.cpu.redis).toFixed(1)} |`,
  `| RSS of cx, mean (max) | ${baseline.rss.cx.mean.toFixed(0)} MiB (${baseline.rss.cx.max.toFixed(0)}) | ${steady.rss.cx.mean.toFixed(0)} MiB (${steady.rss.cx.max.toFixed(0)}) | ${(steady.rss.cx.mean - baseline.rss.cx.mean).toFixed(0)} MiB | ${(steady.rss.cx.mean / baseline.rss.cx.mean).toFixed(2)} |`,
  `| V8 heap used by cx, mean (max) | ${baseline.rss.heap.mean.toFixed(0)} MiB (${baseline.rss.heap.max.toFixed(0)}) | ${steady.rss.heap.mean.toFixed(0)} MiB (${steady.rss.heap.max.toFixed(0)}) | ${(steady.rss.heap.mean - baseline.rss.heap.mean).toFixed(0)} MiB | ${(steady.rss.heap.mean / baseline.rss.heap.mean).toFixed(2)} |`,
  `| RSS of redis-server, mean | ${baseline.rss.redis.mean.toFixed(0)} MiB | ${steady.rss.redis.mean.toFixed(0)} MiB | | |`,
].join('\n');
const passLine = `Passes over ${steady.watched.clusters} clusters / ${steady.watched.machines} machines: ${steady.passCount} in ${steady.wall.toFixed(0)} s (interval ${INTERVAL_S} s), duration p50 ${s(pct(passes, 50))}, p95 ${s(pct(passes, 95))}, max ${s(passes.length ? Math.max(...passes) : undefined)}; ${steady.skipped} skipped because the previous one still ran — ${steady.skipped === 0 && pct(passes, 95) < INTERVAL_S ? 'they keep up' : 'they do NOT keep up'}.`;
const detection = [
  '| from the power-off until | seen | p50 | p95 | max |',
  '|---|---|---|---|---|',
  row("the monitor's look that saw it (`checkedAt`)", look),
  row('`healthStatus` shows it (API polled every 0.25 s)', shown),
  row('its `node.remediate` workflow starts (audit)', remediated),
  row('the cluster is `Healthy` again, machine replaced', healthy),
].join('\n');
const details = [
  `- ${CLUSTERS} sim clusters × ${NODES} machines (1 control plane + ${NODES - 1} workers), ${created.reused ? `reused from ${dataDir}` : `created through the API in ${created.seconds.toFixed(0)} s`} (${created.failed} failed); sim latency 0; default health policy.`,
  `- A round of GETs of the victims' clusters took p50 ${(pct(polls, 50) ?? 0).toFixed(0)} ms, max ${(polls.length ? Math.max(...polls) : 0).toFixed(0)} ms (plus 250 ms between rounds).`,
  `- Each side: cx restarted on the same data, ${WARMUP} s warm-up, then ${SECONDS} s measured. ${deaths.length} deaths, one machine in each of ${deaths.length} random clusters, states first shown: ${[...new Set(seen.map((d) => d.state))].join(', ')}.`,
  `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; cx-server all-in-one, embedded default (SQLite, private redis-server).`,
].join('\n');
console.log(`\n${table}\n\n${passLine}\n\n${detection}\n\n${details}\n`);
if (!values['data-dir']) rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
